"""BMD effect against the change in estradiol, across studies and patients."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import pandas as pd
from plotnine import (
    aes,
    facet_wrap,
    geom_hline,
    geom_point,
    geom_segment,
    geom_text,
    geom_vline,
    ggplot,
    labs,
    scale_color_manual,
    scale_shape_manual,
    scale_x_continuous,
    scale_y_continuous,
    theme,
)

from analysis.plots.theme import LINE_COLOURS, line_label, outcome_label, plain, theme_report


def _column(df: pd.DataFrame, *prefixes: str) -> str:
    """The first column whose name starts with one of ``prefixes`` (names vary by writer)."""
    for prefix in prefixes:
        for col in df.columns:
            if col.startswith(prefix):
                return col
    raise KeyError(
        f"bmd_vs_estradiol.csv has no column starting with {prefixes}: {list(df.columns)}"
    )


#: Trial bases that are a between-arm difference in estradiol change (analysis/sensitivity.py).
BETWEEN_ARMS = ("difference in change between arms", "treatment arm change minus control arm")


def _between_arms(basis: object) -> bool:
    return isinstance(basis, str) and basis.startswith(BETWEEN_ARMS)


def left_out(bmd_vs_estradiol: pd.DataFrame) -> list[str]:
    """Trials left out of the figure: their estradiol change is not a between-arm difference
    (only the treatment arm's change is reported), named as ``Burnett Bowie 2009``."""
    df = bmd_vs_estradiol
    if "estradiol_basis" not in df.columns:
        return []
    kinds = df["kind"] if "kind" in df.columns else pd.Series("study", index=df.index)
    out = df.loc[(kinds == "study") & ~df["estradiol_basis"].map(_between_arms), "source_id"]
    return [source_label(s, "study") for s in dict.fromkeys(out)]


def _bounds(row: pd.Series, changes: pd.DataFrame | None) -> tuple[float, float]:
    """Interval of a man's estradiol change when a value is below a detection limit.

    Before "< L": before lies in [0, L], so the change lies in [after - L, after]; after
    "< L": [-before, L - before]; both: [-L_before, L_after]. Measured values: the point.
    """
    x = float(row["x"])
    if changes is None or row.get("kind") != "patient":
        return x, x
    sel = changes.loc[
        (changes["patient_id"] == row["source_id"]) & (changes["outcome"] == row["outcome"])
    ]
    if len(sel) == 0:
        return x, x
    c = sel.iloc[0]
    before, after = float(c["estradiol_before"]), float(c["estradiol_after"])
    b_cens = c.get("estradiol_before_censor") == "<"
    a_cens = c.get("estradiol_after_censor") == "<"
    if b_cens and a_cens:
        return -before, after
    if b_cens:
        return after - before, after
    if a_cens:
        return -before, after - before
    return x, x


def scatter_data(
    bmd_vs_estradiol: pd.DataFrame, patient_changes: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Standardize ``bmd_vs_estradiol.csv`` to ``x`` (estradiol change) and ``y`` (BMD effect).

    One definition per axis: for trials, x is the between-arm difference in estradiol change
    (a trial with only the treatment arm's change is left out: :func:`left_out`); for men
    with aromatase deficiency, x is the change within the man (after minus before estrogen),
    an interval ``x_low, x_high`` when a value was below a detection limit. Per outcome, the
    percent scale is kept when present, else the absolute scale.
    """
    df = bmd_vs_estradiol.copy()
    if "estradiol_basis" in df.columns:
        kinds = df["kind"] if "kind" in df.columns else pd.Series("study", index=df.index)
        df = df.loc[(kinds != "study") | df["estradiol_basis"].map(_between_arms)].copy()
    if "scale" in df.columns:
        # one panel per outcome: percent change (comparable across studies, men and units)
        # where the outcome has it, else the absolute scale
        has_percent = df.groupby("outcome")["scale"].transform(lambda s: (s == "percent").any())
        df = df.loc[(df["scale"] == "percent") | ~has_percent].copy()
    df["x"] = df[_column(df, "estradiol_change", "estradiol", "e2")].astype(float)
    df["y"] = df[_column(df, "bmd_effect", "bmd", "effect")].astype(float)
    df["line"] = [line_label(x) for x in df["evidence_line"]]
    scales = df["scale"] if "scale" in df.columns else pd.Series(["absolute"] * len(df))
    df["outcome_name"] = [
        f"{outcome_label(o)}, " + ("% change" if sc == "percent" else "absolute change")
        for o, sc in zip(df["outcome"], scales, strict=True)
    ]
    kinds = df["kind"] if "kind" in df.columns else pd.Series(["study"] * len(df), index=df.index)
    ids = df["source_id"] if "source_id" in df.columns else pd.Series([""] * len(df))
    df["point_label"] = [
        source_label(sid, kind) + "\n" for sid, kind in zip(ids, kinds, strict=True)
    ]
    df["who"] = [
        "man (within-man change)" if k == "patient" else "trial (between arms)" for k in kinds
    ]
    censored = df["estradiol_censored"] if "estradiol_censored" in df.columns else False
    df["estradiol_value"] = [
        "at a detection limit" if str(c).lower() == "true" else "measured"
        for c in (censored if isinstance(censored, pd.Series) else [False] * len(df))
    ]
    bounds = [_bounds(r, patient_changes) for _, r in df.iterrows()]
    df["x_low"] = [b[0] for b in bounds]
    df["x_high"] = [b[1] for b in bounds]
    return df


def source_label(source_id: object, kind: object = "study") -> str:
    """Short name of a point: ``Burnett Bowie 2009`` for a study id, ``man (Herrmann)`` for a
    patient id (``ad_<country>_<city>_<author>``), shown beside the point."""
    parts = [p for p in str(source_id).split("_") if p]
    if str(kind) == "patient":
        return plain(f"man ({parts[-1].capitalize()})" if parts else str(source_id))
    return plain(" ".join(p.capitalize() for p in parts))


def scatter_plot(df: pd.DataFrame, missing: Sequence[str] = (), width: float = 5.75):
    """Draw BMD effect (y) against change in estradiol (x), coloured by evidence line.

    Parameters
    ----------
    df : pandas.DataFrame
        From :func:`scatter_data`.
    missing : sequence of str
        Trials left out (:func:`left_out`), named in the caption.
    width : float
        Figure width in inches (the width it is placed at).

    Returns
    -------
    plotnine.ggplot
        Points per study or patient, zero lines, one facet per BMD outcome.
    """
    colours = {line_label(k): v for k, v in LINE_COLOURS.items()}
    n = max(1, df["outcome_name"].nunique())
    df = df.copy()
    lo = df.groupby("outcome_name", observed=True)["x"].transform(lambda v: min(v.min(), 0.0))
    hi = df.groupby("outcome_name", observed=True)["x"].transform(lambda v: max(v.max(), 0.0))
    middle = (lo + hi) / 2
    df["label_side"] = ["left" if x <= m else "right" for x, m in zip(df["x"], middle, strict=True)]
    return (
        ggplot(df, aes(x="x", y="y", color="line", shape="who"))
        + geom_hline(yintercept=0, color="#999999", size=0.4)
        + geom_vline(xintercept=0, color="#999999", size=0.4)
        # a change computed from a value below a detection limit: its whole interval
        + geom_segment(
            aes(x="x_low", xend="x_high", y="y", yend="y"),
            data=df.loc[df["x_low"] != df["x_high"]],
            size=0.8,
            show_legend=False,
        )
        + geom_point(size=2.6)
        # few points: name each one (study or man) just above it
        # (the label's trailing line break lifts it clear of the marker on any scale; a
        # label runs towards the middle of its panel so the panel edge does not cut it)
        + geom_text(
            aes(label="point_label"),
            data=df.loc[df["label_side"] == "left"],
            ha="left",
            va="bottom",
            size=8,
            show_legend=False,
        )
        + geom_text(
            aes(label="point_label"),
            data=df.loc[df["label_side"] == "right"],
            ha="right",
            va="bottom",
            size=8,
            show_legend=False,
        )
        + facet_wrap("outcome_name", scales="free", ncol=min(n, 2))
        + scale_x_continuous(expand=(0.08, 0))
        + scale_y_continuous(expand=(0.12, 0))
        + scale_color_manual(values=colours, name="Evidence line")
        + scale_shape_manual(
            values={"trial (between arms)": "o", "man (within-man change)": "s"}, name=""
        )
        + labs(
            x="Change in serum estradiol, pmol/L\n(trials: treatment minus control arm; "
            "men: under minus before estrogen)",
            y="Effect on BMD\n(trials: difference in change; men: change)",
            caption=textwrap.fill(
                "Bar: the range of a change computed from a value below the assay's detection "
                "limit (<)."
                + (
                    f" Left out (estradiol change of the treatment arm only): {', '.join(missing)}."
                    if missing
                    else ""
                ),
                int(width * 16),
            ),
            title="Does the BMD effect track the change in estradiol?",
            shape="Point",
        )
        + theme_report()
        + theme(
            figure_size=(width, 3.0 * ((n + 1) // 2) + 1.6),
            legend_direction="vertical",
            legend_box="horizontal",
        )
    )
