# Stage 3: effects. Controlled studies: one treatment-minus-control effect per study x
# outcome x scale with its derivation ledger. Case reports: change under estrogen per man.


rule effects:
    input:
        validated=rules.validate_trials.output.validated,
        arm_outcomes=rules.harmonize_arms.output.harmonized,
        arms="data/raw/arms.csv",
        contrasts="data/raw/contrasts.csv",
        studies="data/raw/studies.csv",
        risk_of_bias="data/raw/risk_of_bias.csv",
        code=EFFECTS_CODE,
    output:
        effects="data/processed/effects/effects.csv",
        derivations="data/processed/effects/derivations.csv",
        reported_in_words="data/processed/effects/reported_in_words.csv",
        not_estimable="data/processed/effects/not_estimable.csv",
    log:
        "logs/effects.log",
    conda:
        "../envs/analysis.yaml"
    params:
        config=config_subset(
            "outcomes",
            "scales",
            "canonical_units",
            "prepost_r",
            "pooling",
        ),
    script:
        "../scripts/effects.py"


rule cases:
    input:
        validated=rules.validate_cases.output.validated,
        observations=rules.harmonize_patients.output.harmonized,
        patients="data/raw/patients.csv",
        code="analysis/cases.py",
    output:
        changes="data/processed/cases/patient_changes.csv",
        summary="data/processed/cases/summary.csv",
    log:
        "logs/cases.log",
    conda:
        "../envs/analysis.yaml"
    params:
        config=config_subset("cases"),
    script:
        "../scripts/cases.py"


rule hormone_changes:
    # Each controlled-study arm's estradiol and testosterone at baseline and last follow-up
    # (canonical units), for the study table and BMD against estradiol.
    input:
        validated=rules.validate_trials.output.validated,
        arm_outcomes=rules.harmonize_arms.output.harmonized,
        arms="data/raw/arms.csv",
        contrasts="data/raw/contrasts.csv",
        studies="data/raw/studies.csv",
        code=["analysis/harmonize.py", "analysis/units.py"],
    output:
        hormones="data/processed/effects/hormone_changes.csv",
    log:
        "logs/hormone_changes.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/hormone_changes.py"


rule binary_outcomes:
    # Vertebral deformities (and fractures): risk ratio and risk difference per study, zero
    # cells as metafor; "no data" where an evidence line reports none.
    input:
        validated=rules.validate.output.validated,
        events="data/raw/arm_events.csv",
        arms="data/raw/arms.csv",
        studies="data/raw/studies.csv",
        code=["analysis/binary.py", "analysis/effect_sizes.py"],
    output:
        binary="data/processed/effects/binary.csv",
    log:
        "logs/binary_outcomes.log",
    conda:
        "../envs/analysis.yaml"
    params:
        config=config_subset("pooling"),
    script:
        "../scripts/binary_outcomes.py"
