# Stage 4: random-effects meta-analysis of each evidence line x outcome x scale, and
# small-study tests where k allows, and the Bayesian model where 2-5 studies pool.


rule pool:
    input:
        effects=rules.effects.output.effects,
        code=[*POOLING_CODE, "analysis/bias.py", "analysis/bayes.py"],
    output:
        pooled="data/processed/pool/pooled.csv",
        weights="data/processed/pool/weights.csv",
        small_study="data/processed/pool/small_study.csv",
        bayes="data/processed/pool/bayes.csv",
    log:
        "logs/pool.log",
    conda:
        "../envs/analysis.yaml"
    params:
        config=config_subset("pooling", "few_studies"),
    script:
        "../scripts/pool.py"
