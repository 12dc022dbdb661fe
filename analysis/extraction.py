"""Double extraction: every number the synthesis uses, compared with a second, independent
extraction, and every disagreement reconciled.

The first extraction is the raw tables themselves. The second (``extraction_2.csv``) holds
one row per number, keyed to the first extraction's cell by ``table``, ``row_key`` (the
row's key columns joined by ``|`` in contract order) and ``column``. ``reconciliation.csv``
holds one row per disagreement: the value kept and why.

A number *agrees* when both extractions give the same value (both blank counts as agreeing:
the source holds no number there). A spread the second extractor read as a *named*
statistic other than the first extraction's column (SD read where the first entered an SE, or
the reverse) is a disagreement too, even when the number is the same. Every disagreement
needs its reconciliation row; a used number with neither an agreeing second value nor a
reconciliation is *uncovered*. Cochrane Handbook 5.5.2 (two independent extractors,
disagreements resolved by discussion, the process recorded).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

__all__ = [
    "USED_COLUMNS",
    "ExtractionError",
    "compare",
    "first_cells",
    "item_key",
    "row_key",
    "summary",
]

#: The numeric columns of each raw table that the synthesis reads.
USED_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "arm_outcomes.csv": (
        "n",
        "mean",
        "sd",
        "se",
        "ci_low",
        "ci_high",
        "median",
        "q1",
        "q3",
        "p_value",
    ),
    "contrasts.csv": ("estimate", "se", "ci_low", "ci_high", "p_value", "n_analysed"),
    "arms.csv": ("n_randomized",),
    "patient_observations.csv": ("value", "age_years"),
    "arm_events.csv": ("events", "n"),
}
ITEM_COLUMNS = [
    "item_id",
    "table",
    "row_key",
    "column",
    "study_id",
    "first_value",
    "second_value",
    "first_statistic",
    "second_statistic",
    "status",
    "resolution",
    "source_row",
]
_NAMED = {"SD": "sd", "SE": "se"}


class ExtractionError(ValueError):
    """A used number without an agreeing second extraction or a reconciliation."""


def _fmt_key(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{float(value):g}"
    return str(value)


def row_key(record: Mapping[str, Any], key: list[str]) -> str:
    """The row's key columns joined by ``|`` (numbers as ``%g``: ``2.76``, ``0``)."""
    return "|".join(_fmt_key(record.get(c)) for c in key)


def _num(value: Any) -> float | None:
    if value is None or value is pd.NA:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) else out


def first_cells(tables: Mapping[str, pd.DataFrame], keys: Mapping[str, list[str]]) -> pd.DataFrame:
    """Every used number of the first extraction: table, row_key, column, value, source_row."""
    rows = []
    for table, columns in USED_COLUMNS.items():
        frame = tables.get(table)
        if frame is None:
            continue
        for rec in frame.to_dict("records"):
            for column in columns:
                value = _num(rec.get(column))
                if value is not None:
                    rows.append(
                        {
                            "table": table,
                            "row_key": row_key(rec, keys[table]),
                            "column": column,
                            "value": value,
                            "source_row": int(rec["source_row"]),
                        }
                    )
    return pd.DataFrame(rows, columns=["table", "row_key", "column", "value", "source_row"])


_PATTERNS = {
    "arm_outcomes": re.compile(
        r"arm '(?P<arm>[^']+)', outcome (?P<outcome>\w+), month (?P<time>[\d.]+), "
        r"(?P<measure>\w+) value; quantity: (?P<q>.+)$"
    ),
    "contrasts": re.compile(
        r"between-group comparison \S+ vs \S+, outcome (?P<outcome>\w+), month (?P<time>[\d.]+), "
        r"(?P<measure>\w+); quantity: (?P<q>\w+)"
    ),
    "patient_observations": re.compile(
        r"patient (?P<patient>\w+), outcome (?P<outcome>\w+), phase (?P<phase>\w+), "
        r"month (?P<time>[\d.]+); quantity: (?P<q>\w+)"
    ),
    "arms": re.compile(r"arm '(?P<arm>[^']+)' number randomised; quantity: (?P<q>\w+)"),
    "arm_events": re.compile(
        r"arm '(?P<arm>[^']+)', outcome (?P<outcome>\w+) .*?ascertained by (?P<imaging>\w+),"
        r".*quantity: (?P<q>\w+)"
    ),
}


def item_key(
    item_id: str, study_id: str, what: str, spread_column: Mapping[str, str]
) -> tuple[str, str, str]:
    """(table, row_key, column) of a template item, parsed from its description.

    ``spread_column`` maps an arm_outcomes row_key to the column ("sd" or "se") in which the
    first extraction entered the spread, for items that ask for "the spread after the mean".
    """
    prefix = item_id.split(":")[0]
    match = _PATTERNS[prefix].search(what)
    if match is None:
        raise ExtractionError(f"item {item_id}: description not understood: {what!r}")
    g = match.groupdict()
    t = f"{float(g['time']):g}" if "time" in g else ""
    if prefix == "arm_outcomes":
        key = "|".join([study_id, g["arm"], g["outcome"], t, g["measure"]])
        column = spread_column.get(key, "sd") if g["q"].startswith("spread") else g["q"]
    elif prefix == "contrasts":
        key, column = "|".join([study_id, g["outcome"], t, g["measure"]]), g["q"]
    elif prefix == "patient_observations":
        key = "|".join([study_id, g["patient"], g["outcome"], t, g["phase"]])
        column = g["q"]
    elif prefix == "arms":
        key, column = f"{study_id}|{g['arm']}", g["q"]
    else:
        key = "|".join([study_id, g["arm"], g["outcome"], g["imaging"].lower()])
        column = g["q"]
    return f"{prefix}.csv", key, column


def compare(
    first: pd.DataFrame, second: pd.DataFrame, reconciliation: pd.DataFrame
) -> pd.DataFrame:
    """One row per used number (and per second-extraction item): both values and a status.

    ``status`` is ``agreed``, ``resolved`` (a disagreement with its reconciliation row),
    ``unresolved`` (a disagreement without one) or ``uncovered`` (a used number with no
    second extraction). ``first_statistic`` is the column of a spread (sd/se);
    ``second_statistic`` what the second extractor read (SD, SE, unlabelled).
    """
    resolved = {r["item_id"]: r["resolution"] for r in reconciliation.to_dict("records")}
    by_cell = {(r["table"], r["row_key"], r["column"]): r for r in second.to_dict("records")}
    rows = []
    seen = set()
    for cell in first.to_dict("records"):
        key = (cell["table"], cell["row_key"], cell["column"])
        seen.add(key)
        rows.append(_status(cell, by_cell.get(key), resolved))
    for key, item in sorted(by_cell.items()):
        if key not in seen:  # the second extractor found a number the first left blank
            rows.append(
                _status(
                    {
                        "table": key[0],
                        "row_key": key[1],
                        "column": key[2],
                        "value": None,
                        "source_row": None,
                    },
                    item,
                    resolved,
                )
            )
    return pd.DataFrame(rows, columns=ITEM_COLUMNS)


def _status(
    cell: Mapping[str, Any], item: Mapping[str, Any] | None, resolved: Mapping[str, str]
) -> dict:
    first_value = _num(cell.get("value"))
    out = {
        "item_id": None,
        "table": cell["table"],
        "row_key": cell["row_key"],
        "column": cell["column"],
        "study_id": str(cell["row_key"]).split("|")[0],
        "first_value": first_value,
        "second_value": None,
        "first_statistic": cell["column"] if cell["column"] in ("sd", "se") else None,
        "second_statistic": None,
        "status": "uncovered",
        "resolution": None,
        "source_row": cell.get("source_row"),
    }
    if item is None:
        return out
    second_value = _num(item.get("value"))
    statistic = item.get("statistic")
    statistic = None if statistic is None or statistic is pd.NA or statistic == "" else statistic
    out.update(item_id=item["item_id"], second_value=second_value, second_statistic=statistic)
    same_value = (first_value is None and second_value is None) or (
        first_value is not None
        and second_value is not None
        and math.isclose(first_value, second_value, rel_tol=1e-9, abs_tol=1e-12)
    )
    named = _NAMED.get(str(statistic).upper()) if statistic else None
    same_label = named is None or out["first_statistic"] is None or named == out["first_statistic"]
    if same_value and same_label:
        out["status"] = "agreed"
    elif item["item_id"] in resolved:
        out["status"], out["resolution"] = "resolved", resolved[item["item_id"]]
    else:
        out["status"] = "unresolved"
    return out


def summary(items: pd.DataFrame) -> dict[str, Any]:
    """Counts for the report: cells used, compared, agreed, resolved (by how), open."""
    counts = items["status"].value_counts().to_dict()
    used = int(items["first_value"].notna().sum())
    compared = int(items["item_id"].notna().sum())
    resolutions = items.loc[items["status"] == "resolved", "resolution"].value_counts()
    return {
        "numbers_used": used,
        "cells_compared": compared,
        "agreed": int(counts.get("agreed", 0)),
        "disagreed": int(counts.get("resolved", 0) + counts.get("unresolved", 0)),
        "resolved": int(counts.get("resolved", 0)),
        "unresolved": int(counts.get("unresolved", 0)),
        "uncovered": int(counts.get("uncovered", 0)),
        "resolutions": {str(k): int(v) for k, v in sorted(resolutions.items())},
        # items both extractors left blank (the source prints no number there)
        "blank_both": int(
            (
                items["item_id"].notna()
                & items["first_value"].isna()
                & items["second_value"].isna()
            ).sum()
        ),
        # spreads printed as an unlabelled +/-: the numbers agree, and the first extraction's
        # reading as SD or SE is argued in the row's note
        "spreads_unlabelled": int(
            (items["second_statistic"].astype("string").str.lower() == "unlabelled").sum()
        ),
        "complete": bool(counts.get("unresolved", 0) == 0 and counts.get("uncovered", 0) == 0),
    }


def problems(items: pd.DataFrame) -> list[str]:
    """One message per used number that is neither agreed nor resolved."""
    out = []
    for r in items.loc[items["status"].isin(["uncovered", "unresolved"])].to_dict("records"):
        where = (
            f"data/raw/{r['table']} row {int(r['source_row'])}, column {r['column']}"
            if r["source_row"] is not None and not pd.isna(r["source_row"])
            else f"data/raw/{r['table']} {r['row_key']}, column {r['column']}"
        )
        first = (
            "blank"
            if r["first_value"] is None or pd.isna(r["first_value"])
            else f"{r['first_value']:g}"
        )
        if r["status"] == "uncovered":
            out.append(
                f"{where}: {first} has no second extraction in data/raw/extraction_2.csv; "
                "every number the synthesis uses needs an agreeing second value or a "
                "resolved disagreement"
            )
        else:
            second = (
                "blank"
                if r["second_value"] is None or pd.isna(r["second_value"])
                else f"{r['second_value']:g}"
            )
            out.append(
                f"{where}: {first} disagrees with the second extraction ({r['item_id']}: "
                f"{second}, statistic {r['second_statistic'] or 'not named'}) and "
                "data/raw/reconciliation.csv has no row for it"
            )
    return out
