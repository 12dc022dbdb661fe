# Stage 5b: the findings table, the one source of every claim in the report (status, k, n,
# estimate, certainty with each GRADE domain by the declared rules), and the sensitivity
# analyses generated per finding from the assumptions its derivation used.


rule findings:
    input:
        validated=rules.validate.output.validated,
        studies=raw_table("studies.csv"),
        arms=raw_table("arms.csv"),
        contrasts=raw_table("contrasts.csv"),
        measured=raw_table("outcomes_measured.csv"),
        risk_of_bias=raw_table("risk_of_bias.csv"),
        grade=raw_table("grade.csv"),
        observations=raw_table("patient_observations.csv"),
        effects=rules.effects.output.effects,
        derivations=rules.effects.output.derivations,
        reported_in_words=rules.effects.output.reported_in_words,
        not_estimable=rules.effects.output.not_estimable,
        pooled=rules.pool.output.pooled,
        patient_changes=rules.cases.output.changes,
        cases_summary=rules.cases.output.summary,
        checks=rules.consistency.output.checks,
        grid=rules.sensitivity.output.grid,
        code=[
            "analysis/findings.py",
            "analysis/grade.py",
            "analysis/sensitivity.py",
            "analysis/plots/theme.py",
        ],
    output:
        findings="data/processed/findings/findings.csv",
        sensitivity="data/processed/findings/sensitivity.csv",
    log:
        "logs/findings.log",
    conda:
        "../envs/analysis.yaml"
    params:
        config=config_subset("grade", "outcomes", "pooling", "sensitivity", "cases"),
    script:
        "../scripts/findings.py"
