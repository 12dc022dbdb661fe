"""Rule figure_forest: one forest plot per outcome x scale, and the markdown placing them."""

from analysis import steps
from analysis.report import build

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with steps.logged(snakemake.log[0]):
    build.forest_figures(
        effects_csv=snakemake.input.effects,
        pooled_csv=snakemake.input.pooled,
        weights_csv=snakemake.input.weights,
        manifest_md=snakemake.output.manifest,
        figures_dir=snakemake.params.figures_dir,
        favours=snakemake.params.favours,
        arm_outcomes_csv=snakemake.input.arm_outcomes,
        arms_csv=snakemake.input.arms,
    )
