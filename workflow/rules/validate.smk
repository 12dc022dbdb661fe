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
    script:
        "../scripts/validate.py"


rule extraction_agreement:
    # Every number the synthesis uses against the second, independent extraction; with
    # extraction.require_second on, an uncovered or unreconciled number stops the run.
    input:
        validated=rules.validate.output.validated,
        arm_outcomes="data/raw/arm_outcomes.csv",
        contrasts="data/raw/contrasts.csv",
        arms="data/raw/arms.csv",
        patient_observations="data/raw/patient_observations.csv",
        arm_events="data/raw/arm_events.csv",
        second="data/raw/extraction_2.csv",
        reconciliation="data/raw/reconciliation.csv",
        code="analysis/extraction.py",
    output:
        agreement="data/processed/validate/extraction_agreement.json",
        compared="data/processed/validate/extraction_items.csv",
    log:
        "logs/extraction_agreement.log",
    conda:
        "../envs/analysis.yaml"
    params:
        config=config_subset("extraction"),
    script:
        "../scripts/extraction_agreement.py"
