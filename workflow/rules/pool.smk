# Stage 4: random-effects meta-analysis of each evidence line x outcome x scale.


rule pool:
    input:
        effects=rules.effects.output.effects,
        code=POOLING_CODE,
    output:
        pooled="data/processed/pool/pooled.csv",
        weights="data/processed/pool/weights.csv",
    log:
        "logs/pool.log",
    conda:
        "../envs/analysis.yaml"
    params:
        config=config_subset("pooling", "few_studies"),
    script:
        "../scripts/pool.py"
