"""Rule consistency: numeric consistency checks of the extracted data."""

from analysis import steps

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with steps.logged(snakemake.log[0]):
    steps.consistency_checks(
        arm_outcomes=snakemake.input.arm_outcomes,
        contrasts=snakemake.input.contrasts,
        observations=snakemake.input.observations,
        changes=snakemake.input.changes,
        checks=snakemake.output.checks,
        config=snakemake.params.config,
    )
