"""Rules harmonize_arms and harmonize_patients: one raw table in canonical units."""

from analysis import steps

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with steps.logged(snakemake.log[0]):
    steps.harmonize_table(
        table=snakemake.input.table,
        harmonized=snakemake.output.harmonized,
        units=snakemake.params.units,
        value_columns=snakemake.params.value_columns,
    )
