"""Rule findings: the findings table with GRADE, and the sensitivity analyses per finding."""

from analysis import steps

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with steps.logged(snakemake.log[0]):
    steps.findings(
        **{k: v for k, v in snakemake.input.items() if k not in ("code", "validated")},
        **dict(snakemake.output.items()),
        config=snakemake.params.config,
    )
