# Stage 1: the raw tables against the data contract. Each job validates the whole raw
# directory (tables reference each other) and records the sha256 of the tables it covers.
# `validate` covers every table; `validate_trials` and `validate_cases` cover the tables
# of the controlled-study and case-report chains, so editing a table reruns only the
# chain that reads it; each record holds only its own tables' hashes and row counts. A
# failed validation leaves no record (Snakemake deletes the output of a failed job), so
# every later run validates again and fails the same way until the data are fixed.


rule validate:
    input:
        tables=get_raw_tables(),
        contract="analysis/schema/raw_tables.yaml",
        code="analysis/validate.py",
    output:
        validated="data/processed/validate/validated.json",
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
            raw_table("studies.csv"),
            raw_table("arms.csv"),
            raw_table("arm_outcomes.csv"),
            raw_table("contrasts.csv"),
            raw_table("risk_of_bias.csv"),
        ],
        contract="analysis/schema/raw_tables.yaml",
        code="analysis/validate.py",
    output:
        validated="data/processed/validate/trials.json",
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
            raw_table("studies.csv"),
            raw_table("patients.csv"),
            raw_table("patient_observations.csv"),
        ],
        contract="analysis/schema/raw_tables.yaml",
        code="analysis/validate.py",
    output:
        validated="data/processed/validate/cases.json",
    log:
        "logs/validate_cases.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/validate.py"


rule extraction_agreement:
    # Every number the synthesis uses against the second, independent extraction; with
    # extraction.require_second on, an uncovered or unreconciled number stops the run.
    input:
        validated=rules.validate.output.validated,
        arm_outcomes=raw_table("arm_outcomes.csv"),
        contrasts=raw_table("contrasts.csv"),
        arms=raw_table("arms.csv"),
        patient_observations=raw_table("patient_observations.csv"),
        arm_events=raw_table("arm_events.csv"),
        second=raw_table("extraction_2.csv"),
        reconciliation=raw_table("reconciliation.csv"),
        code="analysis/extraction.py",
    output:
        agreement="data/processed/validate/extraction_agreement.json",
        compared="data/processed/validate/extraction_items.csv",
    log:
        "logs/extraction_agreement.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        config=config_subset("extraction"),
    script:
        "../scripts/extraction_agreement.py"
