"""Rule cases: change in bone under estrogen per man with aromatase deficiency."""

from analysis import steps

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with steps.logged(snakemake.log[0]):
    steps.patient_changes(
        observations=snakemake.input.observations,
        patients=snakemake.input.patients,
        changes=snakemake.output.changes,
        summary=snakemake.output.summary,
        config=snakemake.params.config,
    )
