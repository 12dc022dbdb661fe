"""PRISMA 2020 flow diagram from ``data/raw/screening.csv``.

Page et al. BMJ 2021;372:n71 (PRISMA 2020), flow diagram for new systematic reviews which
included searches of databases, registers and other sources. Records of all sources are
counted in one column, with the count per source in the identification box.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import pandas as pd
from plotnine import (
    aes,
    arrow,
    element_blank,
    geom_rect,
    geom_segment,
    geom_text,
    ggplot,
    labs,
    scale_x_continuous,
    scale_y_continuous,
    theme,
)
from plotnine.geoms import annotate

from analysis.plots.theme import theme_report

SOURCE_NAMES = {"database": "Databases", "citation": "Citation searching", "other": "Other methods"}


@dataclass(frozen=True)
class PrismaCounts:
    """Counts of the PRISMA 2020 boxes (records unless named reports/studies)."""

    identified: dict[str, int]
    duplicates: int
    screened: int
    excluded_screening: int
    sought: int
    not_retrieved: int
    assessed: int
    excluded_reasons: dict[str, int]
    reports_included: int
    studies_included: int

    @property
    def excluded_full_text(self) -> int:
        return sum(self.excluded_reasons.values())


def prisma_counts(screening: pd.DataFrame) -> PrismaCounts:
    """Count the records at each PRISMA stage.

    Parameters
    ----------
    screening : pandas.DataFrame
        ``screening.csv``: one row per record with ``source_of_record``, ``stage`` (last
        stage reached), ``decision`` and ``reason``.

    Returns
    -------
    PrismaCounts
        Duplicates are removed before screening; records excluded at identification or
        screening are title/abstract exclusions; ``not_retrieved`` reports were sought but
        not assessed; full-text exclusions are counted by reason.
    """
    df = screening.fillna({"reason": "", "study_id": ""})
    counts = df["source_of_record"].value_counts()
    identified = {name: int(counts[k]) for k, name in SOURCE_NAMES.items() if k in counts.index}
    duplicates = int((df["decision"] == "duplicate").sum())
    screened = len(df) - duplicates
    excluded_screening = int(
        ((df["decision"] == "excluded") & df["stage"].isin(["identification", "screening"])).sum()
    )
    sought = screened - excluded_screening
    not_retrieved = int((df["decision"] == "not_retrieved").sum())
    full = df.loc[(df["decision"] == "excluded") & (df["stage"] == "eligibility")]
    reasons = full["reason"].replace("", "no reason given").value_counts()
    excluded_reasons = {
        str(k): int(v) for k, v in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    }
    inc = df.loc[df["decision"] == "included"]
    studies = inc["study_id"].astype(str)
    return PrismaCounts(
        identified=identified,
        duplicates=duplicates,
        screened=screened,
        excluded_screening=excluded_screening,
        sought=sought,
        not_retrieved=not_retrieved,
        assessed=sought - not_retrieved,
        excluded_reasons=excluded_reasons,
        reports_included=len(inc),
        studies_included=int(studies[studies != ""].nunique()),
    )


def prisma_alt_text(c: PrismaCounts) -> str:
    """One-sentence description of the diagram for the figure's alt text."""
    total = sum(c.identified.values())
    return (
        f"PRISMA 2020 flow diagram: {total} records identified, {c.duplicates} duplicates removed, "
        f"{c.screened} screened, {c.excluded_screening} excluded on title and abstract, "
        f"{c.sought} reports sought, {c.not_retrieved} not retrieved, {c.assessed} assessed in "
        f"full text, {c.excluded_full_text} excluded, {c.studies_included} studies in "
        f"{c.reports_included} reports included."
    )


def _wrap(text: str, width: int = 38) -> str:
    return "\n".join(textwrap.fill(part, width) for part in text.split("\n"))


def prisma_plot(c: PrismaCounts):
    """Draw the PRISMA 2020 flow diagram.

    Parameters
    ----------
    c : PrismaCounts
        From :func:`prisma_counts`.

    Returns
    -------
    plotnine.ggplot
        Boxes for identification, screening and inclusion on the left, exclusions on the
        right, arrows between them, and the stage names down the left edge.
    """
    ident = "\n".join(f"{k} (n = {v})" for k, v in c.identified.items())
    # one bullet per reason, a blank line apart, so multi-line reasons stay readable
    reasons = "\n\n".join("• " + _wrap(f"{k} (n = {v})", 40) for k, v in c.excluded_reasons.items())
    h_ex = max(1.0, 0.3 * (reasons.count("\n") + 2) + 0.3)
    # (x centre, y centre, height, text); main column at x = 3, side column at x = 8.
    boxes = [
        (3, 9.0, 1.5, f"Records identified (n = {sum(c.identified.values())}):\n{ident}"),
        (8, 9.0, 1.5, f"Records removed before screening:\nDuplicate records (n = {c.duplicates})"),
        (3, 7.0, 1.0, f"Records screened\n(n = {c.screened})"),
        (8, 7.0, 1.0, f"Records excluded\n(n = {c.excluded_screening})"),
        (3, 5.3, 1.0, f"Reports sought for retrieval\n(n = {c.sought})"),
        (8, 5.3, 1.0, f"Reports not retrieved\n(n = {c.not_retrieved})"),
        (3, 3.4, 1.0, f"Reports assessed for eligibility\n(n = {c.assessed})"),
        (8, 3.9 - h_ex / 2, h_ex, f"Reports excluded (n = {c.excluded_full_text}):\n{reasons}"),
        (
            3,
            0.8,
            1.1,
            f"Studies included in review\n(n = {c.studies_included})\n"
            f"Reports of included studies\n(n = {c.reports_included})",
        ),
    ]
    half_w = 2.2
    rects = pd.DataFrame(
        {
            "xmin": [b[0] - half_w for b in boxes],
            "xmax": [b[0] + half_w for b in boxes],
            "ymin": [b[1] - b[2] / 2 for b in boxes],
            "ymax": [b[1] + b[2] / 2 for b in boxes],
            "x": [b[0] for b in boxes],
            "y": [b[1] for b in boxes],
            "label": [b[3] for b in boxes],
        }
    )
    down = pd.DataFrame({"x": [3] * 4, "y": [8.25, 6.5, 4.8, 2.9], "yend": [7.5, 5.8, 3.9, 1.35]})
    side = pd.DataFrame({"y": [9.0, 7.0, 5.3, 3.4], "x": [5.2] * 4, "xend": [5.8] * 4})
    stages = pd.DataFrame(
        {"y": [9.0, 5.2, 0.8], "label": ["Identification", "Screening", "Included"]}
    )
    arr = arrow(length=0.08, type="closed")
    p = (
        ggplot()
        + geom_rect(
            aes(xmin="xmin", xmax="xmax", ymin="ymin", ymax="ymax"),
            data=rects,
            fill="white",
            color="#333333",
            size=0.5,
        )
        + geom_text(aes(x="x", y="y", label="label"), data=rects, size=7.5)
        + geom_segment(aes(x="x", xend="x", y="y", yend="yend"), data=down, arrow=arr, size=0.5)
        + geom_segment(aes(x="x", xend="xend", y="y", yend="y"), data=side, arrow=arr, size=0.5)
        + annotate(
            "rect",
            xmin=-0.2,
            xmax=0.5,
            ymin=[8.0, 2.1, 0.1],
            ymax=[9.9, 8.0, 1.5],
            fill="#dbe7f3",
            color="#8fb1d6",
        )
        + geom_text(
            aes(x="x", y="y", label="label"),
            data=stages.assign(x=0.15),
            angle=90,
            size=8,
            fontweight="bold",
        )
        + scale_x_continuous(limits=(-0.3, 10.4), expand=(0, 0))
        + scale_y_continuous(
            limits=(min(-0.2, float(rects["ymin"].min()) - 0.1), 10.0), expand=(0, 0)
        )
        + labs(title="PRISMA 2020 flow diagram", x="", y="")
        + theme_report()
        + theme(
            axis_text=element_blank(),
            axis_ticks=element_blank(),
            panel_grid=element_blank(),
            panel_border=element_blank(),
            figure_size=(5.75, 5.4),
        )
    )
    return p
