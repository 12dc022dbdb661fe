# Meta-analysis of estradiol suppression and restoration and bone in males.
# Table of contents: the stages in pipeline order; `rule all` is the rendered report (and
# the record that every raw table passed validation).
from snakemake.utils import min_version

min_version("9.0")

# config/config.yaml is loaded by workflow/rules/common.smk with a strict YAML reader (no
# `configfile:`: Snakemake's loader would evaluate YTE templates in it).


include: "workflow/rules/common.smk"
include: "workflow/rules/validate.smk"
include: "workflow/rules/harmonize.smk"
include: "workflow/rules/consistency.smk"
include: "workflow/rules/effects.smk"
include: "workflow/rules/pool.smk"
include: "workflow/rules/sensitivity.smk"
include: "workflow/rules/findings.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        "reports/report.html",
        "reports/report.pdf",
        "data/processed/validate/validated.json",


onerror:
    # One readable report when data/raw breaks the contract: the validator's located
    # messages, once, at the end of the run (each validate job's log holds them too).
    from analysis.validate import report_for_pipeline

    report_for_pipeline(config["paths"]["raw"])
