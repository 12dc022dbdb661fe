"""Report text for the renewed search, the pooled hormone response, the binary skeletal
outcomes and the double extraction, each read from a processed or raw file.

Every sentence is built from the files by a declared rule: counts from the search log, the
pooled log ratios back-transformed (exp), the risk ratios and risk differences of
``effects/binary.csv`` and the agreement counts of ``validate/extraction_agreement.json``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from analysis.binary import PLURAL
from analysis.plots.theme import line_label, outcome_label
from analysis.report.tables import fmt_num, md_escape, md_table

__all__ = ["evidence_depth_md"]

RESOLUTION_TEXT = {
    "first_kept": "first extraction kept after re-reading",
    "corrected": "raw value corrected",
    "same_after_conversion": "same after unit conversion",
    "label_interpretation": "same number, statistic read differently",
    "not_in_source": "number not at the location; removed",
    "location_corrected": "value kept, location corrected",
}


def _search(search_log: pd.DataFrame) -> str:
    by_source = search_log.groupby("source")["records_found"].agg(["count", "sum"])
    parts = ", ".join(
        f"{int(r['count'])} in the {md_escape(src)} corpus ({int(r['sum'])} records)"
        for src, r in by_source.iterrows()
    )
    dates = sorted(set(search_log["date_searched"]))
    return (
        f"The search was renewed on {', '.join(dates)} with {len(search_log)} logged queries "
        f"({parts}); each query, its date and its record count are in "
        "`data/raw/search_log.csv`, and every record that looked relevant was screened "
        "with a reason (`data/raw/screening.csv`)."
    )


def _hormones(pooled: pd.DataFrame, effects: pd.DataFrame, r: float | None) -> str:
    rows = pooled.loc[pooled["scale"] == "log_ratio"].sort_values(["outcome", "evidence_line"])
    method = (
        "The hormone response was summarised as the ratio of the mean after treatment to the "
        "mean before (log ratio of means, metafor's ROMC; Lajeunesse 2011), between arms where "
        "the control arm reports the hormone too and otherwise within the treated arm, where "
        "its variance needs the correlation between a man's values before and after "
        f"treatment: r = {fmt_num(r, 1)}, varied in the sensitivity analyses. Trials with two "
        "treated arms (two doses) had them combined into one arm (Cochrane Handbook "
        "6.5.2.10), so no man is counted twice."
    )
    if rows.empty:
        return method + " No evidence line has a hormone response to pool."
    sentences = []
    for _, p in rows.iterrows():
        routes = set(
            effects.loc[
                (effects["scale"] == "log_ratio")
                & (effects["outcome"] == p["outcome"])
                & (effects["evidence_line"] == p["evidence_line"]),
                "route",
            ]
        )
        where = "within the treated arm" if routes == {"w"} else "between arms"
        est = " ".join(
            [
                f"{outcome_label(p['outcome'])} ({line_label(p['evidence_line'])}, k = "
                f"{int(p['k'])}, {where}): ratio {fmt_num(math.exp(p['estimate']), 2)}",
                f"(95% CI {fmt_num(math.exp(p['ci_low']), 2)} to "
                f"{fmt_num(math.exp(p['ci_high']), 2)}",
            ]
        )
        if str(p["pooled"]).lower() == "true" and pd.notna(p.get("pi_low")):
            est += (
                f"; I² {fmt_num(p['i2'], 0)}%, prediction interval "
                f"{fmt_num(math.exp(p['pi_low']), 2)} to {fmt_num(math.exp(p['pi_high']), 2)})"
            )
        else:
            est += ")"
        sentences.append(md_escape(est) + ".")
    return method + " " + " ".join(sentences)


def _binary(binary: pd.DataFrame) -> str:
    rows = []
    for _, b in binary.sort_values(["outcome", "evidence_line", "study_id", "imaging"]).iterrows():
        if b["status"] == "no_data":
            continue
        counts = (
            f"{int(b['events_treatment'])}/{fmt_num(b['n_treatment'], 0)} vs "
            f"{int(b['events_control'])}/{fmt_num(b['n_control'], 0)}"
            if pd.notna(b["n_control"]) and pd.notna(b["n_treatment"])
            else f"{int(b['events_treatment'])}/{fmt_num(b['n_treatment'], 0)} vs "
            f"{int(b['events_control'])}/? "
        )
        effect = (
            f"{fmt_num(b['estimate'], 2)} [{fmt_num(b['ci_low'], 2)}, {fmt_num(b['ci_high'], 2)}]"
            if b["status"] == "estimated"
            else md_escape(b["note"])
        )
        rows.append(
            [
                md_escape(b["label"]),
                md_escape(outcome_label(b["outcome"]).capitalize()),
                md_escape(str(b["imaging"]).upper()),
                counts.strip(),
                md_escape(b["measure"] if b["status"] == "estimated" else "–"),
                effect,
            ]
        )
    table = md_table(
        rows,
        [
            "Study",
            "Outcome",
            "Imaging",
            "Events (treated vs control)",
            "Measure",
            "Estimate [95% CI]",
        ],
        caption=(
            "Binary skeletal outcomes: risk ratio (RR) and risk difference (RD), treated vs "
            "control; 1/2 added to every cell of a table with a zero cell (metafor escalc, "
            'to = "only0").'
        ),
        ident="tbl-binary",
        align="llllll",
    )
    none = binary.loc[binary["status"] == "no_data"]
    lines = []
    for outcome, g in none.groupby("outcome", sort=True):
        names = ", ".join(line_label(x) for x in sorted(g["evidence_line"]))
        noun = PLURAL.get(outcome, outcome_label(outcome)).capitalize()
        lines.append(f"{noun}: no data ({md_escape(names)})")
    tail = (
        " No included study reported the following, stated as findings rather than left blank: "
        + "; ".join(lines)
        + "."
        if lines
        else ""
    )
    return table + "\n" + tail.strip() + "\n"


def _extraction(agreement: Mapping[str, Any], reconciliation: pd.DataFrame) -> str:
    a = agreement
    resolutions = ", ".join(
        f"{n} {RESOLUTION_TEXT.get(k, k)}" for k, n in sorted(a.get("resolutions", {}).items())
    )
    verb = "was extracted" if not a["uncovered"] else "was to be extracted"
    blank = (
        f" (including {a['blank_both']} that both extractions left blank: the source prints "
        "no number there)"
        if a.get("blank_both")
        else ""
    )
    text = (
        f"Every number the synthesis uses ({a['numbers_used']}) {verb} a second time, "
        "independently and without sight of the first extraction (Cochrane Handbook "
        f"5.5.2). {a['cells_compared']} cells were compared{blank}: {a['agreed']} agreed and "
        f"{a['disagreed']} disagreed, of which {a['resolved']} were resolved"
        + (f" ({resolutions})" if resolutions else "")
        + f" and {a['unresolved']} remain open (`data/raw/reconciliation.csv`)."
    )
    if a.get("spreads_unlabelled"):
        text += (
            f" For {a['spreads_unlabelled']} spreads the source prints an unlabelled ±: both "
            "extractions took the same number, and the first extraction's reading of it as an "
            "SD or an SE is argued in the row's note."
        )
    if a["uncovered"]:
        text += (
            f" {a['uncovered']} numbers added in this update have no second extraction yet, "
            "so the rule that refuses a number without an agreeing second value or a resolved "
            "disagreement is switched off (`extraction.require_second`)."
        )
    else:
        state = "on" if a.get("require_second") else "off"
        text += (
            " Every used number has an agreeing second value or a resolved disagreement; the "
            f"rule that enforces this (`extraction.require_second`) is {state}."
        )
    return text


def evidence_depth_md(
    *,
    search_log: pd.DataFrame,
    pooled: pd.DataFrame,
    effects: pd.DataFrame,
    binary: pd.DataFrame,
    agreement: Mapping[str, Any],
    reconciliation: pd.DataFrame,
    prepost_r: float | None,
) -> str:
    """The methods-and-results partial (markdown) of the renewed search, the hormone
    response, the binary outcomes and the double extraction."""
    return (
        "\n\n".join(
            [
                _search(search_log),
                _hormones(pooled, effects, prepost_r),
                _binary(binary),
                _extraction(agreement, reconciliation),
            ]
        )
        + "\n"
    )
