"""Rule figure_prisma: PRISMA 2020 flow diagram from the screening table."""

from analysis import steps
from analysis.report import build

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with steps.logged(snakemake.log[0]):
    build.prisma_figure(
        screening_csv=snakemake.input.screening,
        png=snakemake.output.png,
        snippet_md=snakemake.output.snippet,
    )
