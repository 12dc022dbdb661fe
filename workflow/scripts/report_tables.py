"""Rule report_tables: markdown tables and generated text of the report."""

from analysis import steps
from analysis.report import build

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with steps.logged(snakemake.log[0]):
    build.report_tables(
        inputs={k: v for k, v in snakemake.input.items() if k not in ("code", "validated")},
        outputs=dict(snakemake.output.items()),
        config=snakemake.params.config,
    )
