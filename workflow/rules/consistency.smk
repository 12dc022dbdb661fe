# Stage 2b: numeric consistency checks of the extracted data (statcheck/GRIM-like). The
# declared rule (config consistency.on_conflict) decides what a conflict does; the effects
# stage applies it.


rule consistency:
    input:
        validated=rules.validate.output.validated,
        arm_outcomes=rules.harmonize_arms.output.harmonized,
        contrasts=raw_table("contrasts.csv"),
        observations=rules.harmonize_patients.output.harmonized,
        changes="data/processed/cases/patient_changes.csv",
        code="analysis/consistency.py",
    output:
        checks="data/processed/consistency/checks.csv",
    log:
        "logs/consistency.log",
    conda:
        "../envs/analysis.yaml"
    params:
        config=config_subset("consistency"),
    script:
        "../scripts/consistency.py"
