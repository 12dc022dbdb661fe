# Stage 2: values in canonical units. Every rule that reads data/raw takes the validation
# record of its chain as input, so it runs only after the tables it reads passed.


rule harmonize_arms:
    input:
        validated=rules.validate_trials.output.validated,
        table=raw_table("arm_outcomes.csv"),
        code=["analysis/harmonize.py", "analysis/units.py"],
    output:
        harmonized="data/processed/harmonize/arm_outcomes.csv",
    log:
        "logs/harmonize_arms.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        units=config["canonical_units"],
        value_columns=["mean", "sd", "se", "ci_low", "ci_high", "median", "q1", "q3"],
    script:
        "../scripts/harmonize_table.py"


rule harmonize_patients:
    input:
        validated=rules.validate_cases.output.validated,
        table=raw_table("patient_observations.csv"),
        code=["analysis/harmonize.py", "analysis/units.py"],
    output:
        harmonized="data/processed/harmonize/patient_observations.csv",
    log:
        "logs/harmonize_patients.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        units=config["canonical_units"],
        value_columns=["value"],
    script:
        "../scripts/harmonize_table.py"
