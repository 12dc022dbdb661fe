"""Rule binary_outcomes: risk ratio and risk difference of binary skeletal outcomes."""

from analysis import steps

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with steps.logged(snakemake.log[0]):
    steps.binary_outcomes(
        events=snakemake.input.events,
        arms=snakemake.input.arms,
        studies=snakemake.input.studies,
        binary=snakemake.output.binary,
        config=snakemake.params.config,
    )
