"""Rule figure_bmd_vs_estradiol: effect on BMD against the change in estradiol."""

from analysis import steps
from analysis.report import build

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with steps.logged(snakemake.log[0]):
    build.scatter_figure(
        bmd_vs_estradiol_csv=snakemake.input.table,
        patient_changes_csv=snakemake.input.changes,
        png=snakemake.output.png,
        snippet_md=snakemake.output.snippet,
    )
