"""Rule regression: BMD effect against the change in estradiol, studies and men."""

from analysis import steps

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with steps.logged(snakemake.log[0]):
    steps.regression(
        effects=snakemake.input.effects,
        changes=snakemake.input.changes,
        hormones=snakemake.input.hormones,
        table=snakemake.output.table,
        metareg=snakemake.output.metareg,
        config=snakemake.params.config,
    )
