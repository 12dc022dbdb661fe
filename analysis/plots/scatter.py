"""BMD effect against the change in estradiol, across studies and patients."""

from __future__ import annotations

import pandas as pd
from plotnine import (
    aes,
    facet_wrap,
    geom_hline,
    geom_point,
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


def scatter_data(bmd_vs_estradiol: pd.DataFrame) -> pd.DataFrame:
    """Standardize ``bmd_vs_estradiol.csv`` to ``x`` (estradiol change) and ``y`` (BMD effect).

    Per outcome, the percent scale is kept when present, else the absolute scale.
    """
    df = bmd_vs_estradiol.copy()
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
    censored = df["estradiol_censored"] if "estradiol_censored" in df.columns else False
    df["estradiol_value"] = [
        "at a detection limit" if str(c).lower() == "true" else "measured"
        for c in (censored if isinstance(censored, pd.Series) else [False] * len(df))
    ]
    return df


def source_label(source_id: object, kind: object = "study") -> str:
    """Short name of a point: ``Burnett Bowie 2009`` for a study id, ``man (Herrmann)`` for a
    patient id (``ad_<country>_<city>_<author>``), shown beside the point."""
    parts = [p for p in str(source_id).split("_") if p]
    if str(kind) == "patient":
        return plain(f"man ({parts[-1].capitalize()})" if parts else str(source_id))
    return plain(" ".join(p.capitalize() for p in parts))


def scatter_plot(df: pd.DataFrame):
    """Draw BMD effect (y) against change in estradiol (x), coloured by evidence line.

    Parameters
    ----------
    df : pandas.DataFrame
        From :func:`scatter_data`.

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
        ggplot(df, aes(x="x", y="y", color="line", shape="estradiol_value"))
        + geom_hline(yintercept=0, color="#999999", size=0.4)
        + geom_vline(xintercept=0, color="#999999", size=0.4)
        + geom_point(size=2.6, alpha=0.85)
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
            values={"measured": "o", "at a detection limit": "^"}, name="Estradiol change"
        )
        + labs(
            x="Change in serum estradiol (pmol/L)",
            y="Effect on BMD (difference in change)",
            caption="Trials: difference between arms; case reports: change within the man. "
            "Triangles: estradiol before or after at an assay's detection limit.",
            title="Does the BMD effect track the change in estradiol?",
        )
        + theme_report()
        + theme(
            figure_size=(5.75, 3.0 * ((n + 1) // 2) + 1.4),
            legend_direction="vertical",
            legend_box="horizontal",
        )
    )
