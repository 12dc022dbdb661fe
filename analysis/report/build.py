"""File edge of the figures and tables rules: read processed CSVs, draw, write PNG and markdown.

One function per workflow rule (``workflow/rules/figures.smk`` and ``report.smk``); each takes
paths and plain parameters and returns nothing.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from analysis import io
from analysis.plots import cases, forest, prisma, robplot, scatter
from analysis.plots.theme import OUTCOME_LABELS, line_label, line_order, outcome_label
from analysis.report import tables

log = logging.getLogger(__name__)
DPI = 200
#: Width of the PDF's text block (A4, pandoc's typst template: 1.25 in margins), inches.
TEXT_WIDTH_IN = 5.75
#: Width (inches) each figure is drawn at and placed at, so its type prints at the size it
#: was drawn (never below :data:`analysis.plots.theme.MIN_PRINT_PT`).
PLACEMENT = {
    "forest": TEXT_WIDTH_IN,
    "forest-summary": TEXT_WIDTH_IN,
    "prisma": TEXT_WIDTH_IN,
    "rob": TEXT_WIDTH_IN,
    "cases": TEXT_WIDTH_IN,
    "scatter": TEXT_WIDTH_IN,
}


def placed_width(kind: str) -> str:
    """The width attribute of a figure (``5.75in``): the size it was drawn at."""
    return f"{PLACEMENT[kind]:g}in"


def read_csv(path: str | os.PathLike) -> pd.DataFrame:
    """Read a processed or raw CSV; empty strings stay missing, ids stay strings."""
    frame = pd.read_csv(path, dtype={"study_id": str, "pmid": str, "patient_id": str})
    return io.restore_frame(frame)  # text neutralised against spreadsheet formulas


def _write(path: str | os.PathLike, text: str) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text, encoding="utf-8")


def _save(plot, path: str | os.PathLike) -> None:
    """Save a plotnine plot or a matplotlib figure as PNG (no time stamp: byte-identical)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    if hasattr(plot, "savefig"):
        import matplotlib.pyplot as plt

        plot.savefig(str(path), dpi=DPI, metadata={"Software": None})
        plt.close(plot)
    else:
        plot.save(str(path), dpi=DPI, verbose=False)
    log.info("wrote %s", path)


def figure_id(outcome: str, scale: str) -> str:
    """Cross-reference id of a forest plot: ``fig-forest-<outcome>-<scale>`` with hyphens."""
    return f"fig-forest-{outcome}-{scale}".replace("_", "-")


def effect_facts(effects: pd.DataFrame, pooled: pd.DataFrame) -> pd.DataFrame:
    """What the forest plots show, one row per evidence line x outcome x scale, for captions
    and alt texts.

    Built from ``effects.csv`` and ``pooled.csv`` (the files that exist now); when the
    findings table (``data/processed/findings/findings.csv``: evidence_line, outcome, scale,
    status, k, estimate, ci_low, ci_high, studies ...) is in the pipeline, this is the one
    function to switch to it.

    Returns
    -------
    pandas.DataFrame
        ``evidence_line, outcome, scale, unit, k, pooled, pooled_text, studies`` (texts as
        shown: "estimate [CI]", a log ratio as the ratio; ``studies``: "label estimate [CI]"
        per study, ``;``-separated).
    """
    rows = []
    for (line, outcome, scale), g in effects.groupby(
        ["evidence_line", "outcome", "scale"], sort=False
    ):
        sub = pooled.loc[
            (pooled["evidence_line"] == line)
            & (pooled["outcome"] == outcome)
            & (pooled["scale"] == scale)
        ]
        is_pooled = len(sub) > 0 and tables.truthy(sub.iloc[0]["pooled"])
        ratio = scale == "log_ratio"
        unit = "ratio of means" if ratio else tables.unit_text(g["unit"].iloc[0], scale)

        def ci(est, lo, hi, ratio=ratio):  # a log ratio is stated as the ratio
            if ratio:
                return tables.fmt_ci(*(math.exp(float(v)) for v in (est, lo, hi)), digits=2)
            return tables.fmt_ci(est, lo, hi)

        studies = "; ".join(
            f"{r['label']} {ci(r['yi'], r['ci_low'], r['ci_high'])}" for _, r in g.iterrows()
        )
        rows.append(
            {
                "evidence_line": line,
                "outcome": outcome,
                "scale": scale,
                "unit": unit,
                "k": len(g),
                "pooled": is_pooled,
                "pooled_text": (
                    ci(sub.iloc[0]["estimate"], sub.iloc[0]["ci_low"], sub.iloc[0]["ci_high"])
                    if is_pooled
                    else ""
                ),
                "studies": studies,
            }
        )
    return pd.DataFrame(rows)


def _fact_text(f: pd.Series) -> str:
    scale_text = forest.scale_text(f["scale"])
    head = (
        f"{line_label(f['evidence_line'])}, {outcome_label(f['outcome'])} "
        f"({scale_text}, {f['unit']})"
    )
    if f["pooled"]:
        return f"{head}: pooled over {f['k']} studies {f['pooled_text']}; studies {f['studies']}"
    return f"{head}: {f['studies']}"


#: Tallest figure (inches) that fits an A4 portrait text block with its caption.
MAX_FIGURE_HEIGHT_IN = 8.3


def _summary_parts(effects, pooled, weights, arm_text):
    """The summary forest plot as ``[("", None, plot)]``; when one plot would be taller than a
    page, consecutive parts ``[(evidence line, [(line, outcome, scale), ...], plot), ...]``,
    each as many whole outcome blocks as fit, a new part at least for each evidence line."""
    kw = {"fig_width": PLACEMENT["forest-summary"], "arm_text": arm_text}

    def tall(p) -> bool:
        return p.theme.getp("figure_size")[1] > MAX_FIGURE_HEIGHT_IN

    whole = forest.summary_plot(effects, pooled, weights, **kw)
    if not tall(whole):
        return [("", None, whole)]
    order = list(OUTCOME_LABELS)
    keys = effects[["evidence_line", "outcome", "scale"]].drop_duplicates()
    lines = line_order(keys["evidence_line"])
    keys = keys.assign(
        _l=[lines.index(x) for x in keys["evidence_line"]],
        _o=[order.index(o) if o in order else 99 for o in keys["outcome"]],
    ).sort_values(["_l", "_o", "outcome", "scale"])
    block = effects.set_index(["evidence_line", "outcome", "scale"]).index
    parts: list[tuple[str, list]] = []
    for key in keys[["evidence_line", "outcome", "scale"]].itertuples(index=False):
        if parts and parts[-1][0] == key[0]:
            trial = parts[-1][1] + [tuple(key)]
            if not tall(forest.summary_plot(effects.loc[block.isin(trial)], pooled, weights, **kw)):
                parts[-1][1].append(tuple(key))
                continue
        parts.append((key[0], [tuple(key)]))
    return [
        (
            line,
            members,
            forest.summary_plot(effects.loc[block.isin(members)], pooled, weights, **kw),
        )
        for line, members in parts
    ]


def forest_figures(
    effects_csv: str,
    pooled_csv: str,
    weights_csv: str,
    manifest_md: str,
    figures_dir: str = "reports/figures",
    favours: Mapping | None = None,
    arm_outcomes_csv: str | None = None,
    arms_csv: str | None = None,
) -> list[str]:
    """Draw the summary forest plot and one per outcome x scale pooled somewhere (k >= 2).

    Parameters
    ----------
    effects_csv, pooled_csv, weights_csv : str
        Processed files.
    manifest_md : str
        Markdown written here: one figure (caption, id, alt text) per PNG; the summary first.
    figures_dir : str
        Where ``forest-summary.png`` and ``forest-<outcome>-<scale>.png`` are written.
    favours : mapping, optional
        ``{outcome or "default": [left, right]}`` labels under the axis (config
        ``report.favours``); by default one convention, "Lower/Higher with treatment".
    arm_outcomes_csv, arms_csv : str, optional
        ``harmonize/arm_outcomes.csv`` and ``raw/arms.csv``: each arm's data as reported,
        shown under its study in the summary plot (:func:`analysis.plots.forest.arm_columns`).

    Returns
    -------
    list of str
        The PNG paths written.
    """
    effects, pooled, weights = read_csv(effects_csv), read_csv(pooled_csv), read_csv(weights_csv)
    facts = effect_facts(effects, pooled)
    written, blocks = [], []
    if len(effects):
        arm_text = (
            forest.arm_columns(effects, read_csv(arm_outcomes_csv), read_csv(arms_csv))
            if arm_outcomes_csv and arms_csv
            else None
        )
        parts = _summary_parts(effects, pooled, weights, arm_text)
        for i, (line, members, plot) in enumerate(parts):
            suffix = "" if i == 0 else f"-{i + 1}"
            name = f"forest-summary{suffix}.png"
            _save(plot, Path(figures_dir) / name)
            written.append(str(Path(figures_dir) / name))
            keys = facts.set_index(["evidence_line", "outcome", "scale"]).index
            part = facts if members is None else facts.loc[keys.isin(members)]
            n_pooled = int(part["pooled"].sum())
            scope = (
                "every effect"
                if line == ""
                else f"{tables.md_escape(line_label(line))} (part {i + 1} of {len(parts)})"
            )
            caption = (
                f"Summary forest plot: {scope}, grouped by evidence line and outcome; "
                "differences are treatment minus control"
                + (
                    "; ratios of means are follow-up over baseline within the treated arm "
                    "where no control arm reports the outcome. "
                    if (part["scale"] == "log_ratio").any()
                    else ". "
                )
                + (
                    f"{n_pooled} outcome(s) pooled within a line (diamonds)."
                    if n_pooled
                    else "No outcome has two or more studies in one line: nothing is pooled."
                )
            )
            alt = (
                "Summary forest plot of effects with 95% confidence intervals. "
                + ". ".join(_fact_text(f) for _, f in part.iterrows())
                + "."
            )
            blocks.append(
                tables.figure_md(
                    f"figures/{name}",
                    caption,
                    f"fig-forest-summary{suffix}",
                    alt,
                    width=placed_width("forest-summary"),
                )
            )
    order = list(OUTCOME_LABELS)
    combos = facts.loc[facts["pooled"], ["outcome", "scale"]].drop_duplicates()
    combos["rank"] = [order.index(o) if o in order else 99 for o in combos["outcome"]]
    for _, c in combos.sort_values(["rank", "outcome", "scale"]).iterrows():
        outcome, scale = str(c["outcome"]), str(c["scale"])
        studies, subtotals = forest.forest_data(effects, pooled, weights, outcome, scale)
        plot = forest.forest_plot(
            studies,
            subtotals,
            outcome=outcome,
            scale=scale,
            favours=forest.favours_for(outcome, favours),
            fig_width=PLACEMENT["forest"],
        )
        name = f"forest-{outcome}-{scale}.png"
        _save(plot, Path(figures_dir) / name)
        written.append(str(Path(figures_dir) / name))
        scale_text = forest.scale_text(scale)
        sel = facts.loc[(facts["outcome"] == outcome) & (facts["scale"] == scale)]
        alt = (
            f"Forest plot of {outcome_label(outcome)} ({scale_text}). "
            + ". ".join(_fact_text(f) for _, f in sel.iterrows())
            + "."
        )
        caption = (
            f"Forest plot: {tables.md_escape(outcome_label(outcome))}, {scale_text}. "
            "Pooled within each evidence line with two or more studies; never across lines."
            + (
                " Ratio of the mean after treatment to the mean before, in the treated arm "
                "(between arms where the control arm reports the hormone too); drawn on a "
                "log axis, written as ratios."
                if scale == "log_ratio"
                else ""
            )
        )
        blocks.append(
            tables.figure_md(
                f"figures/{name}",
                caption,
                figure_id(outcome, scale),
                alt,
                width=placed_width("forest"),
            )
        )
    if not blocks:
        blocks.append("No outcome had an effect estimate: no forest plot.\n")
    # a forest plot of an earlier run that is no longer drawn must not linger in reports/
    for old in Path(figures_dir).glob("forest-*.png"):
        if str(old) not in written:
            old.unlink()
            log.info("removed %s (no longer drawn)", old)
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
        width=placed_width("prisma"),
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
        "Risk of bias per study and domain: RoB 2 for randomised trials, ROBINS-I for "
        "non-randomised controlled studies, Murad 2018 for case reports, each in its own panel.",
        "fig-rob",
        alt,
        width=placed_width("rob"),
    )


def cases_figure(observations_csv: str, patients_csv: str, png: str, snippet_md: str) -> None:
    """Case courses (``fig-cases-bmd``) and the companion table of every visit per man."""
    course = cases.course_data(read_csv(observations_csv))
    patients = read_csv(patients_csv)
    ages = dict(zip(patients["patient_id"], patients["age_at_estrogen_start_years"], strict=True))
    fig = cases.cases_plot(course, width=PLACEMENT["cases"])
    _figure(
        fig,
        png,
        snippet_md,
        cases_caption(course),
        "fig-cases-bmd",
        cases_alt_text(course),
        width=placed_width("cases"),
    )
    blocks = [Path(snippet_md).read_text(encoding="utf-8")]
    for i, (man, table) in enumerate(cases.course_tables(course, ages).items(), start=1):
        rows = [[tables.md_escape(v) for v in r] for r in table.itertuples(index=False)]
        blocks.append(
            tables.md_table(
                rows,
                [tables.md_escape(c) for c in table.columns],
                caption=f"{tables.md_escape(man)}: every visit under estrogen (@fig-cases-bmd).",
                ident=f"tbl-course-{i}",
                align="".join("l" if c == "Dose" else "r" for c in table.columns),
            )
        )
    _write(snippet_md, "\n".join(blocks))


def cases_caption(course: pd.DataFrame) -> str:
    """Caption of the case courses: what is drawn and the rule for the dose band."""
    return (
        "Men with congenital aromatase deficiency: bone values at every reported visit under "
        "estrogen, with the dose (top; each printed dose drawn back to the previous visit "
        "unless the report names its months) and serum estradiol (bottom). Absolute values "
        "where reported, else the percent change from the start as the report gives it. "
        "The tables below list every visit."
    )


def cases_alt_text(course: pd.DataFrame) -> str:
    """Alt text naming each man and his course, visit by visit (values as in the table)."""
    parts = []
    for man, g in course.groupby("man", sort=False):
        sites = []
        for (outcome, unit), s in g.loc[g["outcome"] != "estradiol"].groupby(
            ["outcome", "unit"], sort=False
        ):
            values = ", ".join(
                f"{cases._fmt(v, unit)} at {m:g} mo"
                for m, v in zip(s["months"], s["value"], strict=True)
            )
            sites.append(f"{outcome_label(outcome)} ({cases.UNIT_TEXT.get(unit, unit)}) {values}")
        e2 = g.loc[g["outcome"] == "estradiol"]
        e2_text = (
            "estradiol "
            + ", ".join(
                f"{c}{v:.0f} at {m:g} mo"
                for m, v, c in zip(e2["months"], e2["value"], e2["censor"], strict=True)
            )
            + " pmol/L"
            if len(e2)
            else "estradiol not reported"
        )
        parts.append(f"{man}: " + "; ".join([*sites, e2_text]))
    return (
        f"Case courses of {course['man'].nunique()} men with aromatase deficiency under estrogen. "
        + ". ".join(parts)
        + "."
    )


def scatter_figure(
    bmd_vs_estradiol_csv: str, png: str, snippet_md: str, patient_changes_csv: str | None = None
) -> None:
    """BMD effect vs estradiol change and its markdown (``fig-bmd-vs-estradiol``)."""
    raw = read_csv(bmd_vs_estradiol_csv)
    changes = read_csv(patient_changes_csv) if patient_changes_csv else None
    df = scatter.scatter_data(raw, changes)
    missing = scatter.left_out(raw)
    points = "; ".join(
        f"{r['point_label'].strip()}, {r['outcome_name']}: BMD {tables.fmt_num(r['y'], 2)}, "
        + (
            f"estradiol change {tables.fmt_num(r['x'], 0)} pmol/L"
            if r["x_low"] == r["x_high"]
            else f"estradiol change between {tables.fmt_num(r['x_low'], 0)} and "
            f"{tables.fmt_num(r['x_high'], 0)} pmol/L (a value below the detection limit)"
        )
        for _, r in df.iterrows()
    )
    gone = (
        f" Left out: {', '.join(missing)} (treatment arm's estradiol change only)."
        if missing
        else ""
    )
    alt = (
        f"Scatter plot of the effect on BMD against the change in serum estradiol. {points}.{gone}"
    )
    months_x = sorted({f"{m:g}" for m in df.get("estradiol_months", pd.Series()).dropna()})
    timing = (
        f" Estradiol change at {', '.join(months_x)} months; BMD at the effect's own timepoint "
        "(a man's last visit for both)."
        if months_x
        else ""
    )
    caption = (
        "Effect on BMD against the change in serum estradiol (pmol/L). Trials: between-arm "
        "difference in both; men with aromatase deficiency: change within the man (squares)."
        + timing
        + (
            f" Left out: {tables.md_escape(', '.join(missing))} (estradiol change reported for the "
            "treatment arm only)."
            if missing
            else ""
        )
    )
    _figure(
        scatter.scatter_plot(df, missing, width=PLACEMENT["scatter"]),
        png,
        snippet_md,
        caption,
        "fig-bmd-vs-estradiol",
        alt,
        width=placed_width("scatter"),
    )


def report_tables(inputs: Mapping[str, str], outputs: Mapping[str, str], config: Mapping) -> None:
    """Write the markdown tables and generated text of the report.

    Every section that states a claim reads the findings table (or its inputs by the same
    keys), so a claim has the same status, n, estimate and certainty everywhere.

    Parameters
    ----------
    inputs : mapping
        Paths keyed ``findings, finding_sensitivity, checks, studies, screening, search_log,
        effects, derivations, reported_in_words, patient_changes, hormone_changes,
        arm_outcomes, contrasts, patient_observations``.
    outputs : mapping
        Paths keyed ``answer, studies, sof, grade, completeness, sensitivity, derivations,
        methods, consistency, references, limitations, search, metadata`` (any subset).
    config : mapping
        The workflow configuration (see :func:`analysis.report.tables.methods_text` and
        :func:`analysis.report.claims.grade_rules_md`).
    """
    from analysis.report import claims

    f = {k: read_csv(v) for k, v in inputs.items()}
    findings = f["findings"]
    makers = {
        "answer": lambda: claims.answer_text(findings),
        "studies": lambda: tables.studies_table(
            f["studies"], f["effects"], f["reported_in_words"], f["patient_changes"],
            f.get("hormone_changes"), findings=findings,
        ),
        "sof": lambda: claims.sof_table(findings),
        "grade": lambda: claims.grade_table(findings),
        "completeness": lambda: claims.completeness_table(
            findings, f["studies"], f["effects"], f["derivations"]
        ),
        "sensitivity": lambda: claims.sensitivity_table(findings, f["finding_sensitivity"]),
        "derivations": lambda: tables.derivations_table(f["derivations"]),
        "methods": lambda: tables.methods_text(config, None) + "\n" + claims.grade_rules_md(config),
        "consistency": lambda: claims.consistency_table(f["checks"]),
        "references": lambda: claims.references_md(f["studies"], f["screening"]),
        "limitations": lambda: claims.limitations_md(
            findings, f["screening"],
            [f["arm_outcomes"], f["contrasts"], f["patient_observations"]], f["checks"],
        ),
        "search": lambda: claims.search_md(f["search_log"], f["screening"]),
        "metadata": lambda: claims.metadata_yaml(config),
    }  # fmt: skip
    for key, path in outputs.items():
        _write(path, makers[key]())
