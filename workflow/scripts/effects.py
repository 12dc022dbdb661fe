"""Rule effects: one effect per study x outcome x scale, ledger, words, not estimable."""

from analysis import steps

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with steps.logged(snakemake.log[0]):
    steps.effects(
        arm_outcomes=snakemake.input.arm_outcomes,
        arms=snakemake.input.arms,
        contrasts=snakemake.input.contrasts,
        studies=snakemake.input.studies,
        risk_of_bias=snakemake.input.risk_of_bias,
        checks=snakemake.input.checks,
        effects=snakemake.output.effects,
        derivations=snakemake.output.derivations,
        reported_in_words=snakemake.output.reported_in_words,
        not_estimable=snakemake.output.not_estimable,
        config=snakemake.params.config,
    )
