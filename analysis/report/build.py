"""File edge of the figures and tables rules: read processed CSVs, draw, write PNG and markdown.

One function per workflow rule (``workflow/rules/figures.smk`` and ``report.smk``); each takes
paths and plain parameters and returns nothing.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from analysis.plots import cases, forest, prisma, robplot, scatter
from analysis.plots.theme import OUTCOME_LABELS, line_label, outcome_label
from analysis.report import tables

log = logging.getLogger(__name__)
DPI = 150


def read_csv(path: str | os.PathLike) -> pd.DataFrame:
    """Read a processed or raw CSV; empty strings stay missing, ids stay strings."""
    return pd.read_csv(path, dtype={"study_id": str, "pmid": str, "patient_id": str})


def _write(path: str | os.PathLike, text: str) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text, encoding="utf-8")


def _save(plot, path: str | os.PathLike) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    plot.save(str(path), dpi=DPI, verbose=False)
    log.info("wrote %s", path)


def figure_id(outcome: str, scale: str) -> str:
    """Cross-reference id of a forest plot: ``fig-forest-<outcome>-<scale>`` with hyphens."""
    return f"fig-forest-{outcome}-{scale}".replace("_", "-")


def forest_figures(
    effects_csv: str,
    pooled_csv: str,
    weights_csv: str,
    manifest_md: str,
    figures_dir: str = "reports/figures",
    favours: Mapping | None = None,
) -> list[str]:
    """Draw one forest plot per outcome x scale with data and write the figures' markdown.

    Parameters
    ----------
    effects_csv, pooled_csv, weights_csv : str
        Processed files.
    manifest_md : str
        Markdown written here: one figure (caption, id, alt text) per PNG, in outcome order.
    figures_dir : str
        Where ``forest-<outcome>-<scale>.png`` are written.
    favours : mapping, optional
        ``{outcome or "default": [left, right]}`` labels under the axis (config
        ``report.favours``).

    Returns
    -------
    list of str
        The PNG paths written.
    """
    effects, pooled, weights = read_csv(effects_csv), read_csv(pooled_csv), read_csv(weights_csv)
    order = list(OUTCOME_LABELS)
    combos = effects[["outcome", "scale"]].drop_duplicates()
    combos["rank"] = [order.index(o) if o in order else 99 for o in combos["outcome"]]
    written, blocks = [], []
    for _, c in combos.sort_values(["rank", "outcome", "scale"]).iterrows():
        outcome, scale = str(c["outcome"]), str(c["scale"])
        studies, subtotals = forest.forest_data(effects, pooled, weights, outcome, scale)
        plot = forest.forest_plot(
            studies,
            subtotals,
            outcome=outcome,
            scale=scale,
            favours=forest.favours_for(outcome, favours),
        )
        name = f"forest-{outcome}-{scale}.png"
        _save(plot, Path(figures_dir) / name)
        written.append(str(Path(figures_dir) / name))
        scale_text = forest.scale_text(scale)
        lines = ", ".join(line_label(x) for x in subtotals["evidence_line"]) or "none"
        alt = (
            f"Forest plot of {outcome_label(outcome)} ({scale_text}): {len(studies)} study "
            f"estimates with 95% confidence intervals, grouped by evidence line ({lines}), "
            "with a subtotal diamond where a line has two or more studies."
        )
        caption = (
            f"Forest plot: {tables.md_escape(outcome_label(outcome))}, {scale_text}. "
            "Subtotals within each evidence line; never pooled across lines."
            + (
                " Ratio of the mean after treatment to the mean before, in the treated arm "
                "(between arms where the control arm reports the hormone too); drawn on a "
                "log axis, written as ratios."
                if scale == "log_ratio"
                else ""
            )
        )
        blocks.append(tables.figure_md(f"figures/{name}", caption, figure_id(outcome, scale), alt))
    if not blocks:
        blocks.append("No outcome had an effect estimate: no forest plot.\n")
    _write(manifest_md, "\n".join(blocks))
    return written


def _figure(plot, png: str, snippet_md: str, caption: str, ident: str, alt: str, **kw) -> None:
    """Save a figure and write the markdown that places it (caption, id, alt text)."""
    _save(plot, png)
    _write(snippet_md, tables.figure_md("figures/" + Path(png).name, caption, ident, alt, **kw))


def prisma_figure(screening_csv: str, png: str, snippet_md: str) -> None:
    """PRISMA 2020 flow diagram and its markdown (``fig-prisma``)."""
    counts = prisma.prisma_counts(read_csv(screening_csv))
    _figure(
        prisma.prisma_plot(counts),
        png,
        snippet_md,
        "PRISMA 2020 flow diagram of the search and selection.",
        "fig-prisma",
        prisma.prisma_alt_text(counts),
        width="80%",
    )


def rob_figure(rob_csv: str, studies_csv: str, png: str, snippet_md: str) -> None:
    """Risk-of-bias traffic light and its markdown (``fig-rob``)."""
    df = robplot.rob_data(read_csv(rob_csv), read_csv(studies_csv))
    overall = df.loc[df["domain"] == "overall", "judgement"].value_counts()
    summary = ", ".join(f"{n} {j.replace('_', ' ')}" for j, n in overall.items()) or "none"
    alt = (
        f"Traffic-light plot of risk of bias for {df['study_id'].nunique()} studies by domain; "
        f"overall judgements: {summary}."
    )
    _figure(
        robplot.rob_plot(df),
        png,
        snippet_md,
        "Risk of bias per study and domain (RoB 2 for trials, Murad 2018 for case reports).",
        "fig-rob",
        alt,
    )


def cases_figure(patient_changes_csv: str, png: str, snippet_md: str) -> None:
    """Case-report panel and its markdown (``fig-cases-bmd``)."""
    df = cases.cases_data(read_csv(patient_changes_csv))
    alt = (
        f"Line chart of BMD before and under estrogen for {df['patient_id'].nunique()} men "
        f"with aromatase deficiency at {df['outcome'].nunique()} skeletal sites, "
        "labelled with estrogen dose and serum estradiol before and under treatment."
    )
    _figure(
        cases.cases_plot(df),
        png,
        snippet_md,
        "Men with congenital aromatase deficiency: BMD before and under estrogen, per patient.",
        "fig-cases-bmd",
        alt,
    )


def scatter_figure(bmd_vs_estradiol_csv: str, png: str, snippet_md: str) -> None:
    """BMD effect vs estradiol change and its markdown (``fig-bmd-vs-estradiol``)."""
    df = scatter.scatter_data(read_csv(bmd_vs_estradiol_csv))
    alt = (
        f"Scatter plot of the effect on BMD against the change in serum estradiol for "
        f"{len(df)} studies or patients, coloured by evidence line."
    )
    _figure(
        scatter.scatter_plot(df),
        png,
        snippet_md,
        "Effect on BMD against the change in serum estradiol (pmol/L), by evidence line.",
        "fig-bmd-vs-estradiol",
        alt,
    )


def report_tables(inputs: Mapping[str, str], outputs: Mapping[str, str], config: Mapping) -> None:
    """Write the markdown tables and generated text of the report.

    Parameters
    ----------
    inputs : mapping
        Paths keyed ``studies, effects, derivations, reported_in_words, pooled, grade, grid,
        patient_changes, cases_summary`` and optionally ``not_estimable``.
    outputs : mapping
        Paths keyed ``answer, studies, sof, grade, completeness, sensitivity, derivations,
        methods`` (any subset).
    config : mapping
        The workflow configuration (see :func:`analysis.report.tables.methods_text`).
    """
    f = {k: read_csv(v) for k, v in inputs.items()}
    texts = {
        "answer": tables.answer_text(
            f["pooled"],
            f["grade"],
            f["cases_summary"],
            f["reported_in_words"],
            f.get("not_estimable"),
            f["effects"],
            f["studies"],
        ),
        "studies": tables.studies_table(
            f["studies"],
            f["effects"],
            f["reported_in_words"],
            f["patient_changes"],
            f.get("hormone_changes"),
        ),
        "sof": tables.sof_table(f["pooled"], f["grade"], f["effects"]),
        "grade": tables.grade_table(f["grade"]),
        "completeness": tables.completeness_table(
            f["effects"],
            f["derivations"],
            f["reported_in_words"],
            f["studies"],
            f.get("not_estimable"),
        ),
        "sensitivity": tables.sensitivity_table(f["grid"], f["pooled"]),
        "derivations": tables.derivations_table(f["derivations"]),
        "methods": tables.methods_text(config, f["pooled"]),
    }
    for key, path in outputs.items():
        _write(path, texts[key])
