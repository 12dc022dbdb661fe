"""Rule report_bayes: the few-study table (Bayesian beside REML + Knapp-Hartung)."""

from pathlib import Path

from analysis import io, steps
from analysis.bayes import bayes_table

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with steps.logged(snakemake.log[0]):
    text = bayes_table(io.read_processed(snakemake.input.bayes))
    Path(snakemake.output.table).write_text(text, encoding="utf-8")
