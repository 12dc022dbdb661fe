"""Rule hormone_changes: each controlled-study arm's hormone levels before and after."""

from analysis import steps

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with steps.logged(snakemake.log[0]):
    steps.hormone_changes(
        arm_outcomes=snakemake.input.arm_outcomes,
        arms=snakemake.input.arms,
        studies=snakemake.input.studies,
        contrasts=snakemake.input.contrasts,
        hormones=snakemake.output.hormones,
    )
