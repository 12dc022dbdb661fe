"""Rule report: render report.qmd to self-contained HTML and PDF."""

from analysis import steps
from analysis.report import render

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with steps.logged(snakemake.log[0]):
    render.render_report(
        qmd=snakemake.input.qmd,
        html=snakemake.output.html,
        pdf=snakemake.output.pdf,
        engine=snakemake.params.engine,
    )
