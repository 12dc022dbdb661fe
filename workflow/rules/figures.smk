# Stage 6: the figures of the report. Each rule writes a PNG into reports/figures/ and the
# markdown that places it (caption, cross-reference id, alt text) into reports/tables/.

FIGURE_CODE = ["analysis/plots/theme.py", "analysis/report/build.py"]


rule figure_forest:
    # One forest plot per outcome x scale with data; which ones exist depends on the data,
    # so the declared output is the markdown that lists them (forest-<outcome>-<scale>.png).
    input:
        effects="data/processed/effects/effects.csv",
        pooled="data/processed/pool/pooled.csv",
        weights="data/processed/pool/weights.csv",
        arm_outcomes=rules.harmonize_arms.output.harmonized,
        arms=raw_table("arms.csv"),
        code=[*FIGURE_CODE, "analysis/plots/forest.py"],
    output:
        manifest="reports/tables/forest-figures.md",
    log:
        "logs/figures/forest.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        figures_dir="reports/figures",
        favours=config.get("report", {}).get("favours", {}),
    script:
        "../scripts/figures_forest.py"


rule figure_prisma:
    input:
        validated=rules.validate.output.validated,
        screening=raw_table("screening.csv"),
        code=[*FIGURE_CODE, "analysis/plots/prisma.py"],
    output:
        png="reports/figures/prisma.png",
        snippet="reports/tables/fig-prisma.md",
    log:
        "logs/figures/prisma.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/figures_prisma.py"


rule figure_rob:
    input:
        validated=rules.validate_trials.output.validated,
        risk_of_bias=raw_table("risk_of_bias.csv"),
        studies=raw_table("studies.csv"),
        code=[*FIGURE_CODE, "analysis/plots/robplot.py"],
    output:
        png="reports/figures/rob.png",
        snippet="reports/tables/fig-rob.md",
    log:
        "logs/figures/rob.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/figures_rob.py"


rule figure_cases:
    input:
        observations=rules.harmonize_patients.output.harmonized,
        patients=raw_table("patients.csv"),
        code=[*FIGURE_CODE, "analysis/plots/cases.py"],
    output:
        png="reports/figures/cases-bmd.png",
        snippet="reports/tables/fig-cases-bmd.md",
    log:
        "logs/figures/cases.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/figures_cases.py"


rule figure_bmd_vs_estradiol:
    input:
        table="data/processed/regression/bmd_vs_estradiol.csv",
        changes="data/processed/cases/patient_changes.csv",
        code=[*FIGURE_CODE, "analysis/plots/scatter.py"],
    output:
        png="reports/figures/bmd-vs-estradiol.png",
        snippet="reports/tables/fig-bmd-vs-estradiol.md",
    log:
        "logs/figures/bmd_vs_estradiol.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/figures_scatter.py"
