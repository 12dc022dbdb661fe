"""Forest plot in the RevMan / R ``meta`` layout, drawn with plotnine.

The picture is one panel whose x axis is in effect units; the text columns (study, n per arm,
effect [95% CI], weight) are placed left and right of the effect range in the same units, and
the effect axis, its ticks and the "favours" labels are drawn by hand so that they span only
the effect range. The functions here lay out rows and format numbers; every number comes from
``effects.csv``, ``pooled.csv`` and ``weights.csv``.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from mizani.breaks import breaks_extended
from plotnine import (
    aes,
    annotate,
    element_blank,
    geom_point,
    geom_polygon,
    geom_segment,
    geom_text,
    ggplot,
    labs,
    scale_color_identity,
    scale_size_identity,
    scale_x_continuous,
    scale_y_continuous,
    theme,
)

from analysis.plots.theme import line_label, line_order, outcome_label, plain, theme_report

#: Outcomes for which a higher value is better for bone (right of zero favours treatment).
HIGHER_IS_BETTER = ("bmd_", "bmc_", "vbmd_")
#: Bone-resorption markers, for which a lower value is better.
LOWER_IS_BETTER = ("ctx", "ntx", "dpd", "pyd")

ESTIMATORS = {
    "FE": "fixed-effect (inverse variance)",
    "DL": "random-effects, DerSimonian-Laird τ²",
    "REML": "random-effects, REML τ²",
    "PM": "random-effects, Paule-Mandel τ²",
    "ML": "random-effects, ML τ²",
    "HS": "random-effects, Hunter-Schmidt τ²",
    "SJ": "random-effects, Sidik-Jonkman τ²",
    "HE": "random-effects, Hedges τ²",
    "EB": "random-effects, empirical Bayes τ²",
}
TESTS = {
    "z": "Wald-type (normal) CI",
    "knha": "Knapp-Hartung CI (t, k - 1 df)",
    "adhoc": "Knapp-Hartung CI, never narrower than Wald",
}

# Column positions in units of the effect range's width W (the panel is ~2.9 in of 9 in).
_X_LABEL, _X_NT, _X_NC, _X_EFFECT, _X_WEIGHT = -1.22, -0.36, -0.06, 0.04, 1.02
_LABEL_CHARS = 22
#: Type size (pt) of every text in the plot: the figure is drawn at its printed width.
FS = 7.5


def default_favours(outcome: str) -> tuple[str, str]:
    """Return the (left, right) labels under the axis: one convention for every outcome.

    Parameters
    ----------
    outcome : str
        Outcome code of the vocabulary (the labels do not depend on it; which side is good
        for bone is stated by :func:`direction_text`).

    Returns
    -------
    tuple of str
        ``("Lower with treatment", "Higher with treatment")``: every difference is treatment
        minus control, so the sides name the sign, whatever the outcome.
    """
    return ("Lower with treatment", "Higher with treatment")


def direction_text(outcome: str) -> str:
    """Which side of zero is better for bone, stated per outcome under the axis."""
    if outcome.startswith(HIGHER_IS_BETTER):
        return "Higher is better for bone"
    if outcome in LOWER_IS_BETTER:
        return "Lower is better for bone"
    return "Neither side is better in itself"


#: Ticks of a ratio axis (log scale): round ratios.
RATIO_TICKS = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 10.0)


def axis_ticks(lo: float, hi: float, ratio: bool = False) -> tuple[list[float], list[str]]:
    """Breaks within ``[lo, hi]`` and their labels: on a log-ratio axis round ratios labelled
    as ratios, else :func:`tick_labels` of the extended breaks."""
    if ratio:
        breaks = [math.log(t) for t in RATIO_TICKS if lo <= math.log(t) <= hi]
        return breaks, [f"{t:g}" for t in RATIO_TICKS if lo <= math.log(t) <= hi]
    breaks = [t for t in breaks_extended(n=5)((lo, hi)) if lo <= t <= hi]
    return breaks, tick_labels(breaks)


def tick_labels(breaks: Sequence[float]) -> list[str]:
    """Labels written from the break values themselves: the fewest decimals that give back
    every break exactly (0.025 stays 0.025, never "0.03"), one count of decimals for all."""
    decimals = 0
    for b in breaks:
        while decimals < 10 and abs(float(f"{b:.{decimals}f}") - b) > 1e-9 * max(1.0, abs(b)):
            decimals += 1
    return [_fmt(float(b), decimals) for b in breaks]


def favours_for(outcome: str, favours: Mapping[str, Sequence[str]] | None) -> tuple[str, str]:
    """Pick the favours labels from a config mapping (outcome or ``default`` key)."""
    favours = favours or {}
    pair = favours.get(outcome) or favours.get("default")
    if pair is None:
        return default_favours(outcome)
    return (str(pair[0]), str(pair[1]))


def forest_data(
    effects: pd.DataFrame, pooled: pd.DataFrame, weights: pd.DataFrame, outcome: str, scale: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Select the rows of one outcome x scale and attach each study's weight.

    Parameters
    ----------
    effects, pooled, weights : pandas.DataFrame
        ``effects.csv``, ``pooled.csv`` and ``weights.csv`` as read.
    outcome, scale : str
        The outcome code and ``absolute`` or ``percent``.

    Returns
    -------
    (studies, subtotals) : tuple of pandas.DataFrame
        Study rows with a ``weight`` column (NaN where the line was not pooled) and the
        pooled rows of the same outcome x scale, one per evidence line.
    """
    sel = (effects["outcome"] == outcome) & (effects["scale"] == scale)
    studies = effects.loc[sel].copy()
    w = weights.loc[(weights["outcome"] == outcome) & (weights["scale"] == scale)]
    studies = studies.merge(
        w[["evidence_line", "study_id", "weight"]], on=["evidence_line", "study_id"], how="left"
    )
    subtotals = pooled.loc[(pooled["outcome"] == outcome) & (pooled["scale"] == scale)].copy()
    return studies, subtotals


def _digits(values: Sequence[float]) -> int:
    """Decimals to show: about three significant digits of the largest absolute value."""
    finite = [abs(v) for v in values if v is not None and np.isfinite(v)]
    top = max(finite, default=1.0)
    if top < 1:
        return 3
    if top < 10:
        return 2
    return 1


def _fmt(x: float, d: int) -> str:
    if x is None or not np.isfinite(x):
        return ""
    s = f"{x:.{d}f}"
    return s.replace("-", "−") if not s.startswith("-0") or float(s) != 0 else s[1:]


def _fmt_p(p: float) -> str:
    if p is None or not np.isfinite(p):
        return "NA"
    if p < 0.001:
        return "< 0.001"
    return f"= {p:.3f}" if p < 0.1 else f"= {p:.2f}"


def _fmt_n(n) -> str:
    if n is None or (isinstance(n, float) and not np.isfinite(n)) or pd.isna(n):
        return "–"
    return str(int(n))


def _truthy(x) -> bool:
    if isinstance(x, str):
        return x.strip().lower() in {"true", "1", "yes"}
    return bool(x) and not pd.isna(x)


def _short(text: str) -> str:
    return plain(text, _LABEL_CHARS)


#: How each scale is named after the outcome (titles, captions, alt text).
SCALE_TEXT = {
    "percent": "percent change",
    "absolute": "absolute change",
    "log_ratio": "ratio of means",
}


def scale_text(scale: str) -> str:
    """The words for a scale after an outcome's name ("Estradiol: ratio of means")."""
    return SCALE_TEXT.get(scale, scale)


def axis_title(scale: str, unit: str) -> str:
    """Name of the effect measure as shown under the axis and in the column header."""
    if scale == "percent":
        return "Difference in percent change (percentage points)"
    if scale == "log_ratio":
        return "Ratio of means (log scale)"
    return f"Mean difference ({unit.replace('cm2', 'cm²').replace('cm3', 'cm³')})"


def footnote(subtotals: pd.DataFrame) -> str:
    """Footnote naming the estimator, the CI method and the level from ``pooled.csv``."""
    pooled_rows = subtotals.loc[subtotals["pooled"].map(_truthy)] if len(subtotals) else subtotals
    if len(pooled_rows) == 0:
        return (
            "No evidence line has k ≥ 2: nothing pooled, so no weights, diamond or "
            "heterogeneity. Squares: single-study estimates with their 95% CIs."
        )
    row = pooled_rows.iloc[0]
    level = float(row.get("level", 0.95))
    est = ESTIMATORS.get(str(row["method"]), str(row["method"]))
    test = TESTS.get(str(row["test"]), str(row["test"]))
    return (
        f"Pooled within each evidence line only ({est}; {test}); {level:.0%} CIs. "
        "Squares sized by weight within the line; diamonds: subtotals; bars below them: "
        "prediction intervals. Case reports are never pooled with trials."
    )


def _layout(
    studies: pd.DataFrame, subtotals: pd.DataFrame, d: int, ratio: bool = False
) -> dict[str, pd.DataFrame]:
    """Rows of the plot, top to bottom, as frames per layer. With ``ratio`` the effects are
    log ratios, drawn on the log axis and written back-transformed (exp)."""
    texts, squares, cis, diamonds, pis = [], [], [], [], []
    y = 0.0

    def eff(x: float, d: int) -> str:
        """An effect as written: a ratio's text columns show exp(x), two decimals."""
        if ratio and x is not None and np.isfinite(x):
            return _fmt(math.exp(x), 2)
        return _fmt(x, d)

    def text(x, label, ha="left", bold=False, italic=False, size=FS, col="#222222"):
        texts.append(
            {
                "x": x,
                "y": y,
                "label": label,
                "ha": ha,
                "weight": "bold" if bold else "normal",
                "style": "italic" if italic else "normal",
                "size": size,
                "colour": col,
            }
        )

    lines = line_order(list(studies["evidence_line"]) + list(subtotals["evidence_line"]))
    for line in lines:
        y -= 1
        text(_X_LABEL, line_label(line), bold=True)
        rows = studies.loc[studies["evidence_line"] == line].sort_values(["year", "label"])
        wmax = max(float(np.nanmax(studies["weight"])) if studies["weight"].notna().any() else 1, 1)
        sub = subtotals.loc[subtotals["evidence_line"] == line]
        line_pooled = len(sub) > 0 and _truthy(sub.iloc[0]["pooled"])
        for _, r in rows.iterrows():
            y -= 1
            text(_X_LABEL + 0.02, _short(r["label"]))
            text(_X_NT, _fmt_n(r["n_treatment"]), ha="right")
            text(_X_NC, _fmt_n(r["n_control"]), ha="right")
            text(_X_EFFECT, f"{eff(r['yi'], d)} [{eff(r['ci_low'], d)}, {eff(r['ci_high'], d)}]")
            # a weight means something only inside a pooled line (k = 1 would show "100%")
            w = r.get("weight") if line_pooled else float("nan")
            text(_X_WEIGHT, "" if pd.isna(w) else f"{w:.1f}%", ha="right")
            cis.append({"x": r["ci_low"], "xend": r["ci_high"], "y": y})
            size = 2.8 if pd.isna(w) else 1.5 + 3.5 * math.sqrt(float(w) / wmax)
            squares.append({"x": r["yi"], "y": y, "size": size})
        if len(sub) == 0:
            y -= 1
            text(_X_LABEL + 0.02, "No pooled result in pooled.csv", italic=True, size=FS)
        else:
            s = sub.iloc[0]
            k = int(s["k"])
            if not _truthy(s["pooled"]):
                y -= 1
                text(_X_LABEL + 0.02, f"Not pooled (k = {k})", italic=True)
            else:
                y -= 1
                text(_X_LABEL + 0.02, f"Subtotal (k = {k})", bold=True)
                est, lo, hi = float(s["estimate"]), float(s["ci_low"]), float(s["ci_high"])
                text(_X_EFFECT, f"{eff(est, d)} [{eff(lo, d)}, {eff(hi, d)}]", bold=True)
                text(_X_WEIGHT, "100.0%", ha="right", bold=True)
                diamonds += [
                    {"x": lo, "y": y, "g": line},
                    {"x": est, "y": y + 0.35, "g": line},
                    {"x": hi, "y": y, "g": line},
                    {"x": est, "y": y - 0.35, "g": line},
                ]
                if pd.notna(s.get("pi_low")) and pd.notna(s.get("pi_high")):
                    y -= 1
                    text(_X_LABEL + 0.02, "Prediction interval", italic=True, size=FS)
                    text(
                        _X_EFFECT,
                        f"[{eff(s['pi_low'], d)}, {eff(s['pi_high'], d)}]",
                        italic=True,
                        size=FS,
                    )
                    pis.append({"x": float(s["pi_low"]), "xend": float(s["pi_high"]), "y": y})
                y -= 1
                tau2 = s.get("tau2")
                tau2_text = _fmt(float(tau2), max(d, 3)) if pd.notna(tau2) else "NA"
                q_p = _fmt_p(float(s["q_pvalue"]))
                het = (
                    f"Heterogeneity: τ² = {tau2_text}; "
                    f"Q = {float(s['q']):.2f}, df = {int(s['q_df'])} (p {q_p}); "
                    f"I² = {float(s['i2']):.0f}%"
                )
                text(_X_LABEL + 0.02, het, size=FS, col="#444444")
                y -= 1
                se = float(s["se"])
                stat = est / se if se > 0 else float("nan")
                name = "z" if str(s["test"]) == "z" else f"t({k - 1})"
                p_text = _fmt_p(float(s["pvalue"]))
                text(
                    _X_LABEL + 0.02,
                    f"Test for overall effect: {name} = {_fmt(stat, 2)} (p {p_text})",
                    size=FS,
                    col="#444444",
                )
        y -= 0.6
    frames = {
        "texts": pd.DataFrame(texts),
        "squares": pd.DataFrame(squares, columns=["x", "y", "size"]),
        "cis": pd.DataFrame(cis, columns=["x", "xend", "y"]),
        "diamonds": pd.DataFrame(diamonds, columns=["x", "y", "g"]),
        "pis": pd.DataFrame(pis, columns=["x", "xend", "y"]),
    }
    frames["bottom"] = pd.DataFrame({"y": [y]})
    return frames


def forest_plot(
    studies: pd.DataFrame,
    subtotals: pd.DataFrame,
    *,
    outcome: str,
    scale: str,
    unit: str = "",
    favours: tuple[str, str] | None = None,
    treatment_name: str = "Treatment",
    control_name: str = "Control",
    fig_width: float = 5.75,
):
    """Draw a forest plot of one outcome x scale with a subtotal per evidence line.

    Parameters
    ----------
    studies : pandas.DataFrame
        Rows of ``effects.csv`` with a ``weight`` column (see :func:`forest_data`).
    subtotals : pandas.DataFrame
        Rows of ``pooled.csv`` for the same outcome and scale (one per evidence line).
    outcome, scale, unit : str
        For the title, the axis title and the number of decimals.
    favours : tuple of str, optional
        Labels under the axis, left and right of zero; default :func:`default_favours`.
    treatment_name, control_name : str
        Column headers of the n columns.
    fig_width : float
        Figure width in inches: the width it is placed at, so type prints at its drawn size.

    Returns
    -------
    plotnine.ggplot
        With attribute-free layers: text columns, null line, CIs, weight-sized squares,
        diamonds, prediction intervals, a hand-drawn axis and the favours labels.

    Notes
    -----
    Weights and heterogeneity statistics are those of the model fitted within each evidence
    line (``pooled.csv``, ``weights.csv``); lines with k = 1 show "Not pooled".
    """
    favours = favours or default_favours(outcome)
    if not unit and len(studies):
        unit = str(studies["unit"].iloc[0])
    vals = pd.concat(
        [
            studies[["ci_low", "ci_high", "yi"]].melt()["value"],
            subtotals[["ci_low", "ci_high", "pi_low", "pi_high"]].melt()["value"],
        ]
    ).astype(float)
    vals = vals[np.isfinite(vals)]
    # An axis symmetric about no effect (as RevMan draws it): both "favours" labels get
    # half the axis, and the eye reads distance from zero the same on both sides.
    half = max(abs(float(vals.min())), abs(float(vals.max())), 0.0) or 1.0
    lo, hi = -1.05 * half, 1.05 * half
    d = _digits(list(vals))
    width = hi - lo
    ratio = scale == "log_ratio"
    frames = _layout(studies, subtotals, d, ratio=ratio)

    def X(u):  # column position -> data x
        return (lo + u * width) if u < 0 else (hi + u * width)

    texts = frames["texts"].copy()
    texts["x"] = [X(u) for u in texts["x"]]
    header = pd.DataFrame(
        {
            "x": [X(_X_LABEL), X(_X_NT), X(_X_NC), X(_X_EFFECT), X(_X_WEIGHT)],
            "label": [
                "Study",
                f"n\n{treatment_name.lower()}",
                f"n\n{control_name.lower()}",
                "Estimate [95% CI]",
                "Weight",
            ],
            "ha": ["left", "right", "right", "left", "right"],
        }
    )
    header["y"] = 0.2
    y_bottom = float(frames["bottom"]["y"].iloc[0])
    y_axis = y_bottom + 0.2
    ticks, labels = axis_ticks(lo, hi, ratio)
    tick_df = pd.DataFrame({"x": ticks, "label": labels})
    top = -0.5

    p = (
        ggplot()
        + annotate("segment", x=0, xend=0, y=top, yend=y_axis, color="#666666", size=0.4)
        + geom_segment(aes(x="x", xend="xend", y="y", yend="y"), data=frames["cis"], size=0.5)
        + geom_point(
            aes(x="x", y="y", size="size"),
            data=frames["squares"],
            shape="s",
            fill="#1f4e79",
            color="#1f4e79",
        )
        + scale_size_identity()
        + annotate("segment", x=lo, xend=hi, y=y_axis, yend=y_axis, size=0.4)
        + geom_segment(aes(x="x", xend="x", y=y_axis, yend=y_axis - 0.2), data=tick_df, size=0.4)
        + geom_text(aes(x="x", label="label"), y=y_axis - 0.35, data=tick_df, size=FS, va="top")
        + annotate(
            "text",
            x=-0.02 * width,
            y=y_axis - 1.2,
            label=f"← {favours[0]}",
            size=FS,
            ha="right",
            va="top",
            fontstyle="italic",
        )
        + annotate(
            "text",
            x=0.02 * width,
            y=y_axis - 1.2,
            label=f"{favours[1]} →",
            size=FS,
            ha="left",
            va="top",
            fontstyle="italic",
        )
        + annotate(
            "text",
            x=(lo + hi) / 2,
            y=y_axis - 2.0,
            label=axis_title(scale, unit),
            size=FS,
            va="top",
        )
        + annotate(
            "text",
            x=(lo + hi) / 2,
            y=y_axis - 2.8,
            label=direction_text(outcome),
            size=FS,
            va="top",
            color="#444444",
        )
        + geom_text(
            aes(x="x", y="y", label="label", ha="ha"),
            data=header,
            size=FS,
            fontweight="bold",
            va="bottom",
        )
        + annotate(
            "segment", x=X(_X_LABEL), xend=X(_X_WEIGHT), y=0, yend=0, size=0.4, color="#888888"
        )
    )
    if len(frames["diamonds"]):
        p += geom_polygon(
            aes(x="x", y="y", group="g"),
            data=frames["diamonds"],
            fill="#b22222",
            color="#7a1414",
            size=0.3,
        )
    if len(frames["pis"]):
        p += geom_segment(
            aes(x="x", xend="xend", y="y", yend="y"),
            data=frames["pis"],
            size=2.2,
            color="#b22222",
            alpha=0.55,
        )
    for (ha, weight, style), g in texts.groupby(["ha", "weight", "style"]):
        p += geom_text(
            aes(x="x", y="y", label="label", size="size", color="colour"),
            data=g,
            ha=ha,
            fontweight=weight,
            fontstyle=style,
        )
    n_rows = -y_bottom + 3.5
    p += scale_color_identity()
    p += scale_x_continuous(
        limits=(X(_X_LABEL) - 0.01 * width, X(_X_WEIGHT) + 0.01 * width), expand=(0, 0)
    )
    p += scale_y_continuous(limits=(y_axis - 3.6, 1.7), expand=(0, 0))
    p += labs(
        title=f"{outcome_label(outcome)}: {scale_text(scale)}",
        caption=textwrap.fill(footnote(subtotals), int(fig_width * 17)),
        x="",
        y="",
    )
    return p + _table_theme(fig_width, max(2.4, 0.2 * (n_rows + 0.8) + 1.0))


def _table_theme(width: float, height: float):
    """The report theme for a forest plot drawn as a table: no axes, grid or legend."""
    return theme_report(FS) + theme(
        axis_text=element_blank(),
        axis_ticks=element_blank(),
        axis_title=element_blank(),
        panel_grid=element_blank(),
        panel_border=element_blank(),
        figure_size=(width, height),
        legend_position="none",
    )


def arm_columns(
    effects: pd.DataFrame, arm_outcomes: pd.DataFrame, arms: pd.DataFrame
) -> pd.DataFrame:
    """Per-arm data (mean, SD or SE, n) behind each absolute-scale effect, as printed.

    A study's arms are its one ``treatment`` and one ``control`` arm of ``arms.csv`` (a study
    with more arms of a role shows none: which pair an effect compares is not in the table);
    the values are the arm's row of ``arm_outcomes.csv`` at the effect's outcome and
    timepoint, a change from baseline ("Δ") where reported, else the value at follow-up.
    Percent-scale effects are derived from these, so they show none.

    Returns
    -------
    pandas.DataFrame
        ``study_id, outcome, scale, treatment_text, control_text`` (empty text: none).
    """
    rows = []
    roles = arms.groupby(["study_id", "role"])["arm"].agg(list) if len(arms) else pd.Series()
    for _, e in effects.iterrows():
        texts = {"treatment": "", "control": ""}
        if e["scale"] == "absolute":
            for role in texts:
                names = roles.get((e["study_id"], role), [])
                if len(names) != 1:
                    continue
                sel = arm_outcomes.loc[
                    (arm_outcomes["study_id"] == e["study_id"])
                    & (arm_outcomes["arm"] == names[0])
                    & (arm_outcomes["outcome"] == e["outcome"])
                    & (arm_outcomes["timepoint_months"].astype(float)
                       == float(e.get("timepoint_months", np.nan)))
                ]  # fmt: skip
                if len(sel) == 0:
                    continue
                ordered = sel.assign(_c=sel["measure"] != "change").sort_values("_c")
                texts[role] = _arm_text(ordered.iloc[0])
        rows.append(
            {
                "study_id": e["study_id"],
                "outcome": e["outcome"],
                "scale": e["scale"],
                "treatment_text": texts["treatment"],
                "control_text": texts["control"],
            }
        )
    cols = ["study_id", "outcome", "scale", "treatment_text", "control_text"]
    return pd.DataFrame(rows, columns=cols)


def _arm_lines(arm_text: pd.DataFrame | None, study_id: str, outcome: str, scale: str) -> list[str]:
    """``["treatment 1.102 (0.138)", "control 1.189 (0.146)"]`` for a study, [] without data."""
    if arm_text is None:
        return []
    a = arm_text.loc[
        (arm_text["study_id"] == study_id)
        & (arm_text["outcome"] == outcome)
        & (arm_text["scale"] == scale)
    ]
    if len(a) == 0 or not (a.iloc[0]["treatment_text"] or a.iloc[0]["control_text"]):
        return []
    t, c = (
        a.iloc[0]["treatment_text"] or "not reported",
        a.iloc[0]["control_text"] or "not reported",
    )
    return [f"treatment {t}", f"control {c}"]


def _arm_text(r: pd.Series) -> str:
    """``Δ −1.8 (1)``: mean (SD, or "SE x" when only an SE is given); n is in its column."""

    def g(x: float) -> str:  # as printed: at most 4 significant digits (unit conversions)
        return f"{float(x):.4g}".replace("-", "−")

    spread = ""
    if pd.notna(r.get("sd")):
        spread = f" ({g(r['sd'])})"
    elif pd.notna(r.get("se")):
        spread = f" (SE {g(r['se'])})"
    delta = "Δ " if r["measure"] == "change" else ""
    return f"{delta}{g(r['mean'])}{spread}"


def _model_sentence(pooled: pd.DataFrame) -> str:
    """`` Pooled with <estimator>; <CI method>; 95% CIs.`` from the first pooled row, or ''."""
    rows = pooled.loc[pooled["pooled"].map(_truthy)] if len(pooled) else pooled
    if len(rows) == 0:
        return ""
    r = rows.iloc[0]
    est = ESTIMATORS.get(str(r["method"]), str(r["method"]))
    test = TESTS.get(str(r["test"]), str(r["test"]))
    return f" Pooled: {est}; {test}; {float(r.get('level', 0.95)):.0%} CIs."


def summary_plot(
    effects: pd.DataFrame,
    pooled: pd.DataFrame,
    weights: pd.DataFrame,
    *,
    fig_width: float = 5.75,
    outcome_order: Sequence[str] | None = None,
    arm_text: pd.DataFrame | None = None,
):
    """One overview forest plot of every effect, grouped by evidence line and outcome.

    The layout of RevMan's overview: a block per evidence line x outcome x scale, with the
    studies (n per arm, effect [95% CI], weight), and a diamond, heterogeneity and the test for
    the overall effect only where the block was pooled (k >= 2). Each block has its own axis
    (units differ between outcomes), symmetric about no effect, with ticks labelled from the
    break values (:func:`tick_labels`); one sign convention throughout: treatment minus
    control, "lower" left and "higher" right, with the side that is better for bone stated
    per block (:func:`direction_text`).

    Parameters
    ----------
    effects, pooled, weights : pandas.DataFrame
        ``effects.csv``, ``pooled.csv`` and ``weights.csv``.
    fig_width : float
        Width in inches it is placed at.
    outcome_order : sequence of str, optional
        Outcome codes in display order (default: the vocabulary's order).
    arm_text : pandas.DataFrame, optional
        From :func:`arm_columns`: each arm's mean (SD) as reported, on grey lines under the
        study (the n per arm is in its column, from ``effects.csv``).

    Returns
    -------
    plotnine.ggplot
    """
    from analysis.plots.theme import OUTCOME_LABELS

    order = list(outcome_order or OUTCOME_LABELS)
    blocks = effects[["evidence_line", "outcome", "scale"]].drop_duplicates()
    lines = line_order(blocks["evidence_line"])
    blocks = blocks.assign(
        _l=[lines.index(x) for x in blocks["evidence_line"]],
        _o=[order.index(o) if o in order else 99 for o in blocks["outcome"]],
    ).sort_values(["_l", "_o", "outcome", "scale"])
    # graph column u in [0, 1]; text columns left and right of it, in the same units
    xl, xnt, xnc, xe, xw = -1.5, -0.42, -0.06, 1.04, 2.2
    texts, squares, cis, diamonds, nulls, axes, ticks = [], [], [], [], [], [], []
    y = 0.0

    def text(x, label, ha="left", bold=False, italic=False, col="#222222"):
        texts.append(
            {
                "x": x,
                "y": y,
                "label": label,
                "ha": ha,
                "weight": "bold" if bold else "normal",
                "style": "italic" if italic else "normal",
                "colour": col,
            }
        )

    current_line = None
    for _, b in blocks.iterrows():
        line, outcome, scale = b["evidence_line"], b["outcome"], b["scale"]
        studies, sub = forest_data(effects, pooled, weights, outcome, scale)
        studies = studies.loc[studies["evidence_line"] == line].sort_values(["year", "label"])
        sub = sub.loc[sub["evidence_line"] == line]
        pooled_here = len(sub) > 0 and _truthy(sub.iloc[0]["pooled"])
        vals = pd.concat(
            [studies[["yi", "ci_low", "ci_high"]].melt()["value"]]
            + (
                [sub[["ci_low", "ci_high", "pi_low", "pi_high"]].melt()["value"]]
                if pooled_here
                else []
            )
        ).astype(float)
        vals = vals[np.isfinite(vals)]
        half = max(abs(float(vals.min())), abs(float(vals.max())), 0.0) or 1.0
        lo, hi = -1.05 * half, 1.05 * half

        def u(v, lo=lo, hi=hi):
            return (float(v) - lo) / (hi - lo)

        d = _digits(list(vals))
        ratio = scale == "log_ratio"

        def eff(x, d=d, ratio=ratio) -> str:  # a log ratio is written as the ratio
            return _fmt(math.exp(float(x)), 2) if ratio else _fmt(float(x), d)

        if line != current_line:
            y -= 1.2
            text(xl, line_label(line), bold=True)
            current_line = line
        y -= 1
        unit = str(studies["unit"].iloc[0]) if len(studies) else ""
        measure = {"percent": "% points", "log_ratio": "log axis"}.get(
            scale, unit.replace("cm2", "cm²").replace("cm3", "cm³")
        )
        text(
            xl + 0.04,
            f"{outcome_label(outcome)}, {scale_text(scale)} ({measure}); "
            f"{direction_text(outcome).lower()}",
            italic=True,
        )
        top = y - 0.5
        for _, r in studies.iterrows():
            y -= 1
            text(xl + 0.08, _short(r["label"]))
            text(xnt, _fmt_n(r["n_treatment"]), ha="right")
            text(xnc, _fmt_n(r["n_control"]), ha="right")
            text(xe, f"{eff(r['yi'])} [{eff(r['ci_low'])}, {eff(r['ci_high'])}]")
            w = r.get("weight") if pooled_here else float("nan")
            text(xw, "" if pd.isna(w) else f"{w:.1f}%", ha="right")
            cis.append({"x": u(r["ci_low"]), "xend": u(r["ci_high"]), "y": y})
            size = 2.4 if pd.isna(w) else 1.5 + 3.0 * math.sqrt(float(w) / 100)
            squares.append({"x": u(r["yi"]), "y": y, "size": size})
            for arm_line in _arm_lines(arm_text, r["study_id"], outcome, scale):
                y -= 0.8
                text(xl + 0.16, arm_line, col="#444444")
        if pooled_here:
            s = sub.iloc[0]
            k = int(s["k"])
            y -= 1
            est, clo, chi = float(s["estimate"]), float(s["ci_low"]), float(s["ci_high"])
            text(xl + 0.08, f"Pooled (k = {k})", bold=True)
            text(xe, f"{eff(est)} [{eff(clo)}, {eff(chi)}]", bold=True)
            text(xw, "100.0%", ha="right", bold=True)
            g = f"{line}:{outcome}:{scale}"
            diamonds += [
                {"x": u(clo), "y": y, "g": g},
                {"x": u(est), "y": y + 0.35, "g": g},
                {"x": u(chi), "y": y, "g": g},
                {"x": u(est), "y": y - 0.35, "g": g},
            ]
            y -= 1
            se = float(s["se"])
            name = "z" if str(s["test"]) == "z" else f"t({k - 1})"
            stat = _fmt(est / se, 2) if se > 0 else "NA"
            text(
                xl + 0.08,
                f"I² = {float(s['i2']):.0f}%; test for overall effect {name} = {stat} "
                f"(p {_fmt_p(float(s['pvalue']))})",
                col="#444444",
            )
        nulls.append({"x": u(0), "y": top, "yend": y - 0.5})
        y -= 0.9
        axes.append({"x": 0.0, "xend": 1.0, "y": y + 0.35})
        breaks, labels = axis_ticks(lo, hi, ratio)
        for t, lab in zip(breaks, labels, strict=True):
            ticks.append({"x": u(t), "y": y + 0.35, "label": lab})
        y -= 0.5
    y -= 0.8
    favours = default_favours("")
    p = ggplot()
    tx = pd.DataFrame(texts)
    header = pd.DataFrame(
        {
            "x": [xl, xnt, xnc, xe, xw],
            "label": ["Study", "n\ntreatment", "n\ncontrol", "Estimate [95% CI]", "Weight"],
            "ha": ["left", "right", "right", "left", "right"],
        }
    )
    nulls_df = pd.DataFrame(nulls, columns=["x", "y", "yend"])
    p += geom_segment(
        aes(x="x", xend="x", y="y", yend="yend"), data=nulls_df, color="#666666", size=0.4
    )
    p += geom_segment(
        aes(x="x", xend="xend", y="y", yend="y"),
        data=pd.DataFrame(cis, columns=["x", "xend", "y"]),
        size=0.5,
    )
    p += geom_point(
        aes(x="x", y="y", size="size"),
        data=pd.DataFrame(squares, columns=["x", "y", "size"]),
        shape="s",
        fill="#1f4e79",
        color="#1f4e79",
    )
    p += scale_size_identity()
    if diamonds:
        p += geom_polygon(
            aes(x="x", y="y", group="g"),
            data=pd.DataFrame(diamonds),
            fill="#b22222",
            color="#7a1414",
            size=0.3,
        )
    axes_df = pd.DataFrame(axes, columns=["x", "xend", "y"])
    p += geom_segment(aes(x="x", xend="xend", y="y", yend="y"), data=axes_df, size=0.4)
    tick_df = pd.DataFrame(ticks, columns=["x", "y", "label"])
    p += geom_segment(aes(x="x", xend="x", y="y", yend="y - 0.2"), data=tick_df, size=0.4)
    p += geom_text(aes(x="x", y="y - 0.25", label="label"), data=tick_df, size=FS, va="top")
    p += geom_text(
        aes(x="x", y=0.2, label="label", ha="ha"),
        data=header,
        size=FS,
        fontweight="bold",
        va="bottom",
    )
    p += annotate("segment", x=xl, xend=xw, y=0, yend=0, size=0.4, color="#888888")
    for (ha, weight, style), g in tx.groupby(["ha", "weight", "style"]):
        p += geom_text(
            aes(x="x", y="y", label="label", color="colour"),
            data=g,
            ha=ha,
            fontweight=weight,
            fontstyle=style,
            size=FS,
        )
    p += annotate(
        "text", x=0.48, y=y + 0.3, label=f"← {favours[0]}", ha="right", size=FS, fontstyle="italic"
    )
    p += annotate(
        "text", x=0.52, y=y + 0.3, label=f"{favours[1]} →", ha="left", size=FS, fontstyle="italic"
    )
    p += scale_color_identity()
    p += scale_x_continuous(limits=(xl - 0.02, xw + 0.02), expand=(0, 0))
    p += scale_y_continuous(limits=(y - 0.3, 1.7), expand=(0, 0))
    p += labs(
        title="All effects by evidence line and outcome",
        caption=textwrap.fill(
            "Differences are treatment minus control (case reports: under minus before "
            "estrogen, within the man); each block has its own axis, symmetric about no effect. "
            + (
                "Grey lines under a study: its arms as reported, mean (SD, or SE where only "
                "that is given); Δ: change from baseline, else the value at follow-up. "
                if arm_text is not None
                else ""
            )
            + "Squares: single studies (sized by weight where pooled); diamonds: pooled results "
            "only, within one evidence line, never across lines."
            + (
                " Ratios of means on a log axis, written as ratios (1: no difference)"
                + (
                    "; where no control arm reports the outcome (route w) the ratio is "
                    "follow-up over baseline within the treated arm, not treatment over control."
                    if "route" in effects
                    and ((effects["scale"] == "log_ratio") & (effects["route"] == "w")).any()
                    else "."
                )
                if (effects["scale"] == "log_ratio").any()
                else ""
            )
            + _model_sentence(pooled),
            int(fig_width * 17),
        ),
        x="",
        y="",
    )
    return p + _table_theme(fig_width, 0.19 * (-y + 2) + 1.2)
