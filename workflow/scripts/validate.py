"""Rule validate: check data/raw against the contract; record the files that passed.

A RawDataError (every problem, one per line) stops the job before anything is written. It
goes to the job's log, not to a traceback on the terminal: the run's onerror handler
(Snakefile) prints the validator's report once, at the end.
"""

import sys

from analysis import steps
from analysis.validate import RawDataError

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

try:
    with steps.logged(snakemake.log[0]):
        steps.validate(
            tables=snakemake.input.tables,
            validated=snakemake.output.validated,
        )
except RawDataError:
    sys.exit(1)
