"""Rule validate: check data/raw against the contract; record the files that passed.

A RawDataError (every problem, one per line) stops the run before anything is written.
"""

from analysis import steps

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with steps.logged(snakemake.log[0]):
    steps.validate(
        tables=snakemake.input.tables,
        validated=snakemake.output.validated,
    )
