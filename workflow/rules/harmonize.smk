# Stage 2: values in canonical units. Later rules take the validation record as ancient()
# input: it orders them after validation without rerunning them when an unrelated raw
# table changed (each rule also takes the raw tables it reads, which decide its reruns).


rule harmonize_arms:
    input:
        validated=ancient(rules.validate.output.validated),
        table="data/raw/arm_outcomes.csv",
        code=["analysis/harmonize.py", "analysis/units.py"],
    output:
        harmonized="data/processed/harmonize/arm_outcomes.csv",
    log:
        "logs/harmonize_arms.log",
    conda:
        "../envs/analysis.yaml"
    params:
        units=config["canonical_units"],
        value_columns=["mean", "sd", "se", "ci_low", "ci_high", "median", "q1", "q3"],
    script:
        "../scripts/harmonize_table.py"


rule harmonize_patients:
    input:
        validated=ancient(rules.validate.output.validated),
        table="data/raw/patient_observations.csv",
        code=["analysis/harmonize.py", "analysis/units.py"],
    output:
        harmonized="data/processed/harmonize/patient_observations.csv",
    log:
        "logs/harmonize_patients.log",
    conda:
        "../envs/analysis.yaml"
    params:
        units=config["canonical_units"],
        value_columns=["value"],
    script:
        "../scripts/harmonize_table.py"
