"""Rule figure_cases: each man's BMD change under estrogen (case reports)."""

from analysis import steps
from analysis.report import build

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with steps.logged(snakemake.log[0]):
    build.cases_figure(
        patient_changes_csv=snakemake.input.changes,
        png=snakemake.output.png,
        snippet_md=snakemake.output.snippet,
    )
