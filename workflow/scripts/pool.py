"""Rule pool: random-effects meta-analysis per evidence line x outcome x scale."""

from analysis import steps

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with steps.logged(snakemake.log[0]):
    steps.pool(
        effects=snakemake.input.effects,
        pooled=snakemake.output.pooled,
        weights=snakemake.output.weights,
        small_study=snakemake.output.small_study,
        bayes=snakemake.output.bayes,
        config=snakemake.params.config,
    )
