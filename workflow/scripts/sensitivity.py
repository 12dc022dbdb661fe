"""Rule sensitivity: estimators x tests x pre-post r x inclusion sets; leave-one-out."""

from analysis import steps

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with steps.logged(snakemake.log[0]):
    steps.sensitivity_grid(
        effects=snakemake.input.effects,
        arm_outcomes=snakemake.input.arm_outcomes,
        arms=snakemake.input.arms,
        contrasts=snakemake.input.contrasts,
        studies=snakemake.input.studies,
        risk_of_bias=snakemake.input.risk_of_bias,
        checks=snakemake.input.checks,
        grid=snakemake.output.grid,
        leave_one_out=snakemake.output.leave_one_out,
        config=snakemake.params.config,
    )
