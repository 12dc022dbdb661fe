"""Rule report_evidence_depth: search, hormone response, binary outcomes, double extraction."""

from analysis import steps

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with steps.logged(snakemake.log[0]):
    steps.evidence_depth(
        search_log=snakemake.input.search_log,
        pooled=snakemake.input.pooled,
        effects=snakemake.input.effects,
        binary=snakemake.input.binary,
        agreement=snakemake.input.agreement,
        reconciliation=snakemake.input.reconciliation,
        out=snakemake.output.md,
        config=snakemake.params.config,
    )
