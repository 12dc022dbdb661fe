"""Rule report_provenance: software versions and SHA-256 of every input file."""

from analysis import steps
from analysis.report import provenance

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with steps.logged(snakemake.log[0]):
    provenance.write_provenance(snakemake.input.files, snakemake.output.provenance)
