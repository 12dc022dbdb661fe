# Stage 7: the report. Tables and generated text are files made here from the processed
# files; the render rule only renders (Quarto if on PATH, else pandoc + typst).

REPORT_TABLES = [
    "answer",
    "studies",
    "sof",
    "grade",
    "completeness",
    "sensitivity",
    "derivations",
    "methods",
    "bayes",
]
REPORT_FIGURES = ["prisma", "rob", "cases-bmd", "bmd-vs-estradiol"]
PROCESSED_FOR_REPORT = [
    "data/processed/effects/effects.csv",
    "data/processed/effects/derivations.csv",
    "data/processed/effects/reported_in_words.csv",
    "data/processed/effects/not_estimable.csv",
    "data/processed/effects/hormone_changes.csv",
    "data/processed/pool/pooled.csv",
    "data/processed/pool/weights.csv",
    "data/processed/pool/bayes.csv",
    "data/processed/cases/patient_changes.csv",
    "data/processed/cases/summary.csv",
    "data/processed/regression/bmd_vs_estradiol.csv",
    "data/processed/sensitivity/grid.csv",
    "data/processed/effects/binary.csv",
    "data/processed/validate/extraction_agreement.json",
]


rule report_tables:
    input:
        validated=rules.validate.output.validated,
        studies="data/raw/studies.csv",
        grade="data/raw/grade.csv",
        effects="data/processed/effects/effects.csv",
        derivations="data/processed/effects/derivations.csv",
        reported_in_words="data/processed/effects/reported_in_words.csv",
        not_estimable="data/processed/effects/not_estimable.csv",
        hormone_changes="data/processed/effects/hormone_changes.csv",
        pooled="data/processed/pool/pooled.csv",
        grid="data/processed/sensitivity/grid.csv",
        patient_changes="data/processed/cases/patient_changes.csv",
        cases_summary="data/processed/cases/summary.csv",
        code=["analysis/report/tables.py", "analysis/report/build.py"],
    output:
        answer="reports/tables/answer.md",
        studies="reports/tables/studies.md",
        sof="reports/tables/sof.md",
        grade="reports/tables/grade.md",
        completeness="reports/tables/completeness.md",
        sensitivity="reports/tables/sensitivity.md",
        derivations="reports/tables/derivations.md",
        methods="reports/tables/methods.md",
    log:
        "logs/report/tables.log",
    conda:
        "../envs/analysis.yaml"
    params:
        config=config_subset(
            "pooling", "prepost_r", "sensitivity", "outcomes", "few_studies"
        ),
    script:
        "../scripts/report_tables.py"


rule report_evidence_depth:
    input:
        validated=rules.validate.output.validated,
        search_log="data/raw/search_log.csv",
        reconciliation="data/raw/reconciliation.csv",
        pooled="data/processed/pool/pooled.csv",
        effects="data/processed/effects/effects.csv",
        binary=rules.binary_outcomes.output.binary,
        agreement=rules.extraction_agreement.output.agreement,
        code="analysis/report/evidence_depth.py",
    output:
        md="reports/tables/evidence-depth.md",
    log:
        "logs/report/evidence_depth.log",
    conda:
        "../envs/analysis.yaml"
    params:
        config=config_subset("prepost_r"),
    script:
        "../scripts/report_evidence_depth.py"


rule report_bayes:
    input:
        bayes=rules.pool.output.bayes,
        code="analysis/bayes.py",
    output:
        table="reports/tables/bayes.md",
    log:
        "logs/report/bayes.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/report_bayes.py"


rule report_provenance:
    # The SHA-256 of every input of the analysis: raw tables, configuration, processed files.
    input:
        validated=rules.validate.output.validated,
        files=[*get_raw_tables(), "config/config.yaml", *PROCESSED_FOR_REPORT],
        code="analysis/report/provenance.py",
    output:
        provenance="reports/tables/provenance.md",
    log:
        "logs/report/provenance.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/report_provenance.py"


rule report:
    input:
        qmd="reports/report.qmd",
        quarto_yml="reports/_quarto.yml",
        methods="reports/_methods.qmd",
        filters=[
            "reports/filters/include.lua",
            "reports/filters/crossref.lua",
            "reports/filters/callout.lua",
            "reports/filters/layout.lua",
        ],
        templates=["reports/templates/report.css", "reports/templates/typst-header.typ"],
        tables=expand("reports/tables/{name}.md", name=REPORT_TABLES),
        provenance=rules.report_provenance.output.provenance,
        evidence_depth=rules.report_evidence_depth.output.md,
        forest=rules.figure_forest.output.manifest,
        snippets=expand("reports/tables/fig-{name}.md", name=REPORT_FIGURES),
        figures=expand("reports/figures/{name}.png", name=REPORT_FIGURES),
        code="analysis/report/render.py",
    output:
        html="reports/report.html",
        pdf="reports/report.pdf",
    log:
        "logs/report/render.log",
    conda:
        "../envs/analysis.yaml"
    params:
        engine="auto",
    script:
        "../scripts/report_render.py"
