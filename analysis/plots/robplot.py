"""Risk-of-bias traffic-light plot (RoB 2 for trials, Murad 2018 for case reports).

Layout as in robvis (McGuinness & Higgins, Res Synth Methods 2021;12:55-61): one row per
study, one column per domain, a coloured disc with a symbol per judgement, one panel per tool.
"""

from __future__ import annotations

import pandas as pd
from plotnine import (
    aes,
    element_blank,
    element_text,
    facet_wrap,
    geom_blank,
    geom_point,
    geom_text,
    ggplot,
    labs,
    scale_fill_manual,
    scale_y_discrete,
    theme,
)

from analysis.plots.theme import JUDGEMENT_COLOURS, plain, theme_report

TOOL_NAMES = {"rob2": "RoB 2 (randomized trials)", "murad2018": "Murad 2018 (case reports)"}
DOMAIN_NAMES = {
    "randomization": "Randomization",
    "deviations": "Deviations",
    "missing_data": "Missing data",
    "measurement": "Measurement",
    "selection_of_result": "Selection of\nresult",
    "selection": "Selection",
    "ascertainment": "Ascertainment",
    "causality": "Causality",
    "reporting": "Reporting",
    "overall": "Overall",
}
JUDGEMENT_NAMES = {
    "low": "Low",
    "some_concerns": "Some concerns",
    "high": "High",
    "unclear": "Unclear",
}
SYMBOLS = {"low": "+", "some_concerns": "!", "high": "−", "unclear": "?"}


def rob_data(risk_of_bias: pd.DataFrame, studies: pd.DataFrame) -> pd.DataFrame:
    """Join study labels to ``risk_of_bias.csv`` and order studies and domains for display."""
    df = risk_of_bias.merge(studies[["study_id", "label", "year"]], on="study_id", how="left")
    df["label"] = [plain(x, 40) for x in df["label"].fillna(df["study_id"])]
    return df


def rob_plot(df: pd.DataFrame):
    """Draw the traffic-light plot.

    Parameters
    ----------
    df : pandas.DataFrame
        From :func:`rob_data`: ``study_id, label, year, tool, domain, judgement``.

    Returns
    -------
    plotnine.ggplot
        Discs coloured by judgement with its symbol, faceted by tool; "Overall" last.
    """
    df = df.copy()
    domains = [d for d in DOMAIN_NAMES if d in set(df["domain"])]
    domains += sorted(set(df["domain"]) - set(domains))
    df["domain_name"] = pd.Categorical(
        [DOMAIN_NAMES.get(d, d) for d in df["domain"]],
        categories=list(dict.fromkeys(DOMAIN_NAMES.get(d, d) for d in domains)),
    )
    order = df.sort_values(["year", "label"], ascending=[False, False])["label"].drop_duplicates()
    df["study"] = pd.Categorical(df["label"], categories=list(order))
    df["tool_name"] = [TOOL_NAMES.get(t, t) for t in df["tool"]]
    df["judgement_name"] = pd.Categorical(
        [JUDGEMENT_NAMES.get(j, j) for j in df["judgement"]],
        categories=list(JUDGEMENT_NAMES.values()),
    )
    df["symbol"] = [SYMBOLS.get(j, "") for j in df["judgement"]]
    # Each tool's panel gets as many rows as the largest one (blank rows at the bottom), so
    # the rows are equally spaced in both panels instead of stretched to the panel height.
    per_tool = df.groupby("tool_name")["study"].nunique()
    n_rows = int(per_tool.max()) if len(per_tool) else 0
    pads = []
    for tool, n in per_tool.items():
        first = df.loc[df["tool_name"] == tool, "domain_name"].iloc[0]
        pads += [
            {"tool_name": tool, "study": "\u2007" * (i + 1) + tool, "domain_name": first}
            for i in range(n_rows - int(n))
        ]
    pad = pd.DataFrame(pads, columns=["tool_name", "study", "domain_name"])
    categories = list(pad["study"]) + list(order)
    df["study"] = pd.Categorical(df["label"], categories=categories)
    pad["study"] = pd.Categorical(pad["study"], categories=categories)
    pad["domain_name"] = pd.Categorical(
        pad["domain_name"], categories=df["domain_name"].cat.categories
    )
    padded = set(pad["study"])
    n_studies = df["study"].nunique()
    return (
        ggplot(df, aes(x="domain_name", y="study"))
        + geom_blank(data=pad)
        + scale_y_discrete(labels=lambda xs: ["" if x in padded else str(x) for x in xs])
        + geom_point(aes(fill="judgement_name"), size=5.5, shape="o", color="#333333", stroke=0.3)
        + geom_text(aes(label="symbol"), size=7.5, fontweight="bold", color="white")
        + facet_wrap("tool_name", scales="free", ncol=2)
        + scale_fill_manual(
            values={JUDGEMENT_NAMES[k]: v for k, v in JUDGEMENT_COLOURS.items()},
            name="Judgement",
            drop=False,
        )
        + labs(x="", y="", title="Risk of bias by domain")
        + theme_report()
        + theme(
            panel_grid_major=element_blank(),
            axis_text_x=element_text(rotation=35, ha="right"),
            axis_ticks=element_blank(),
            figure_size=(5.75, max(2.6, 0.21 * n_studies + 1.8)),
        )
    )
