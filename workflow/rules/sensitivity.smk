# Stage 5: how much the conclusions depend on the choices (the sensitivity grid and
# leave-one-out), and BMD against the change in estradiol across studies and men.


rule sensitivity:
    input:
        validated=rules.validate_trials.output.validated,
        effects=rules.effects.output.effects,
        arm_outcomes=rules.harmonize_arms.output.harmonized,
        arms=raw_table("arms.csv"),
        contrasts=raw_table("contrasts.csv"),
        studies=raw_table("studies.csv"),
        risk_of_bias=raw_table("risk_of_bias.csv"),
        checks="data/processed/consistency/checks.csv",
        code=[
            *EFFECTS_CODE,
            *POOLING_CODE,
            "analysis/influence.py",
            "analysis/consistency.py",
        ],
    output:
        grid="data/processed/sensitivity/grid.csv",
        leave_one_out="data/processed/sensitivity/leave_one_out.csv",
    log:
        "logs/sensitivity.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        mem_mb=1500,
        runtime=20,
    params:
        config=config_subset(
            "outcomes",
            "scales",
            "canonical_units",
            "prepost_r",
            "pooling",
            "sensitivity",
            "few_studies",
        ),
    script:
        "../scripts/sensitivity.py"


rule regression:
    input:
        effects=rules.effects.output.effects,
        changes=rules.cases.output.changes,
        hormones=rules.hormone_changes.output.hormones,
        code=POOLING_CODE,
    output:
        table="data/processed/regression/bmd_vs_estradiol.csv",
        metareg="data/processed/regression/metareg.csv",
    log:
        "logs/regression.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        config=config_subset("outcomes", "pooling", "few_studies"),
    script:
        "../scripts/regression.py"
