"""Rule extraction_agreement: the first extraction (the raw tables) against the second."""

from analysis import steps

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with steps.logged(snakemake.log[0]):
    steps.extraction_agreement(
        tables={
            name: snakemake.input[name]
            for name in ("arm_outcomes", "contrasts", "arms", "patient_observations", "arm_events")
        },
        second=snakemake.input.second,
        reconciliation=snakemake.input.reconciliation,
        agreement=snakemake.output.agreement,
        items=snakemake.output.compared,
        config=snakemake.params.config,
    )
