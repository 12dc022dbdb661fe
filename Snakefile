# Meta-analysis of estradiol suppression and restoration and bone in males.
# Table of contents: the stages in pipeline order; `rule all` is the rendered report (and
# the record that every raw table passed validation).
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


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
