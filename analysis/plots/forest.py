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
_X_LABEL, _X_NT, _X_NC, _X_EFFECT, _X_WEIGHT = -1.31, -0.30, -0.05, 0.05, 0.80
_LABEL_CHARS = 34


def default_favours(outcome: str) -> tuple[str, str]:
    """Return the (left, right) labels under the axis for an outcome.

    Parameters
    ----------
    outcome : str
        Outcome code of the vocabulary.

    Returns
    -------
    tuple of str
        Left label (negative differences) and right label (positive differences). For bone
        mass a positive difference (treatment minus control) favours treatment; for resorption
        markers the reverse; for hormones neither side "favours" anything.
    """
    if outcome.startswith(HIGHER_IS_BETTER):
        return ("Favours control", "Favours treatment")
    if outcome in LOWER_IS_BETTER:
        return ("Favours treatment", "Favours control")
    return ("Lower with treatment", "Higher with treatment")


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

    def text(x, label, ha="left", bold=False, italic=False, size=9.0, col="#222222"):
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
            size = 3.5 if pd.isna(w) else 2.0 + 5.0 * math.sqrt(float(w) / wmax)
            squares.append({"x": r["yi"], "y": y, "size": size})
        if len(sub) == 0:
            y -= 1
            text(_X_LABEL + 0.02, "No pooled result in pooled.csv", italic=True, size=8.5)
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
                    text(_X_LABEL + 0.02, "Prediction interval", italic=True, size=8.5)
                    text(
                        _X_EFFECT,
                        f"[{eff(s['pi_low'], d)}, {eff(s['pi_high'], d)}]",
                        italic=True,
                        size=8.5,
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
                text(_X_LABEL + 0.02, het, size=8.0, col="#444444")
                y -= 1
                se = float(s["se"])
                stat = est / se if se > 0 else float("nan")
                name = "z" if str(s["test"]) == "z" else f"t({k - 1})"
                p_text = _fmt_p(float(s["pvalue"]))
                text(
                    _X_LABEL + 0.02,
                    f"Test for overall effect: {name} = {_fmt(stat, 2)} (p {p_text})",
                    size=8.0,
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
                f"{treatment_name}\nn",
                f"{control_name}\nn",
                "Estimate [95% CI]",
                "Weight",
            ],
            "ha": ["left", "right", "right", "left", "right"],
        }
    )
    header["y"] = 0.2
    y_bottom = float(frames["bottom"]["y"].iloc[0])
    y_axis = y_bottom + 0.2
    if ratio:  # log axis, ticks at round ratios, labelled as ratios
        nice = [0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 10.0]
        ticks = [math.log(t) for t in nice if lo <= math.log(t) <= hi]
        labels = [f"{math.exp(t):g}" for t in ticks]
    else:
        ticks = [t for t in breaks_extended(n=5)((lo, hi)) if lo <= t <= hi]
        labels = [_fmt(t, max(0, d - 1)) for t in ticks]
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
        + geom_text(aes(x="x", label="label"), y=y_axis - 0.35, data=tick_df, size=8.5, va="top")
        + annotate(
            "text",
            x=-0.02 * width,
            y=y_axis - 1.2,
            label=f"← {favours[0]}",
            size=8.5,
            ha="right",
            va="top",
            fontstyle="italic",
        )
        + annotate(
            "text",
            x=0.02 * width,
            y=y_axis - 1.2,
            label=f"{favours[1]} →",
            size=8.5,
            ha="left",
            va="top",
            fontstyle="italic",
        )
        + annotate(
            "text", x=(lo + hi) / 2, y=y_axis - 2.0, label=axis_title(scale, unit), size=9, va="top"
        )
        + geom_text(
            aes(x="x", y="y", label="label", ha="ha"),
            data=header,
            size=9,
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
    p += scale_y_continuous(limits=(y_axis - 2.8, 1.7), expand=(0, 0))
    p += labs(
        title=f"{outcome_label(outcome)}: {scale_text(scale)}",
        caption=textwrap.fill(footnote(subtotals), 130),
        x="",
        y="",
    )
    p += theme_report() + theme(
        axis_text=element_blank(),
        axis_ticks=element_blank(),
        axis_title=element_blank(),
        panel_grid=element_blank(),
        panel_border=element_blank(),
        figure_size=(9, max(2.8, 0.26 * n_rows + 1.0)),
        legend_position="none",
    )
    return p
