"""Rule figure_cases: each man's course under estrogen, visit by visit (case reports)."""

from analysis import steps
from analysis.report import build

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with steps.logged(snakemake.log[0]):
    build.cases_figure(
        observations_csv=snakemake.input.observations,
        patients_csv=snakemake.input.patients,
        png=snakemake.output.png,
        snippet_md=snakemake.output.snippet,
    )
