# Stage 1: the raw tables against the data contract. Every other rule depends on this one.
# The output is flagged update() so Snakemake neither deletes it before the job nor leaves
# it deleted when validation fails: a failed validation changes nothing in data/processed.


rule validate:
    input:
        tables=get_raw_tables(),
        contract="analysis/schema/raw_tables.yaml",
        code="analysis/validate.py",
    output:
        validated=update("data/processed/validate/validated.json"),
    log:
        "logs/validate.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/validate.py"
