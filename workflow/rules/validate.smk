# Stage 1: the raw tables against the data contract. Each job validates the whole raw
# directory (tables reference each other) and records the sha256 of the tables it covers.
# `validate` covers every table; `validate_trials` and `validate_cases` cover the tables
# of the controlled-study and case-report chains, so editing a table reruns only the
# chain that reads it. Outputs are flagged update(): Snakemake does not delete them before
# the job, so a failed validation leaves data/processed as it was.


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
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/validate.py"


rule validate_trials:
    input:
        tables=[
            "data/raw/studies.csv",
            "data/raw/arms.csv",
            "data/raw/arm_outcomes.csv",
            "data/raw/contrasts.csv",
            "data/raw/risk_of_bias.csv",
        ],
        contract="analysis/schema/raw_tables.yaml",
        code="analysis/validate.py",
    output:
        validated=update("data/processed/validate/trials.json"),
    log:
        "logs/validate_trials.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/validate.py"


rule validate_cases:
    input:
        tables=[
            "data/raw/studies.csv",
            "data/raw/patients.csv",
            "data/raw/patient_observations.csv",
        ],
        contract="analysis/schema/raw_tables.yaml",
        code="analysis/validate.py",
    output:
        validated=update("data/processed/validate/cases.json"),
    log:
        "logs/validate_cases.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/validate.py"
