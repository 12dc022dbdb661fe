"""Rule figure_rob: risk-of-bias traffic-light plot."""

from analysis import steps
from analysis.report import build

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with steps.logged(snakemake.log[0]):
    build.rob_figure(
        rob_csv=snakemake.input.risk_of_bias,
        studies_csv=snakemake.input.studies,
        png=snakemake.output.png,
        snippet_md=snakemake.output.snippet,
    )
