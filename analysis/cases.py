"""Case reports of men with aromatase deficiency: change in bone under estrogen, per man.

Pure functions. A man described in several reports has one ``patient_id`` (patients.csv),
so his observations are merged and he is counted once. For each man and bone outcome the
change is taken from the last value before estrogen to the last follow-up value under
estrogen, with the months between, the regimen and dose, and estradiol before and after.
Values reported as below a detection limit (``censor = "<"``) are never treated as
measured: a censored bone value gives no change, and a censored estradiol is carried with
its censor flag (the limit is an upper bound of the true value).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

PRE_ESTROGEN_PHASES = ("testosterone", "untreated")  # searched in this order
CHANGE_COLUMNS = [
    "patient_id", "study_ids", "outcome", "unit", "value_before", "value_after", "months",
    "change", "percent_change", "regimen", "dose", "estradiol_before", "estradiol_after",
    "estradiol_unit", "estradiol_before_censor", "estradiol_after_censor", "phase",
    "n_reports", "note",
]  # fmt: skip
SUMMARY_COLUMNS = [
    "outcome", "unit", "n_patients", "n_change", "n_percent_change", "change_median",
    "change_min", "change_max", "percent_change_median", "percent_change_min",
    "percent_change_max", "months_median", "months_min", "months_max",
]  # fmt: skip


def _is_censored(row: dict[str, Any] | None) -> bool:
    return row is not None and row.get("censor") in ("<", ">")


def _dedupe(rows: list[dict[str, Any]], first_report: str | None) -> list[dict[str, Any]]:
    """One observation per (outcome, phase, timepoint): the same man in two reports.

    The first report's value is kept (then the lowest study_id), so a value repeated in a
    later report is not counted twice.
    """
    chosen: dict[tuple[str, str, float], dict[str, Any]] = {}
    for row in sorted(rows, key=lambda r: (r["study_id"] != first_report, r["study_id"])):
        key = (row["outcome"], row["phase"], float(row["timepoint_months"]))
        chosen.setdefault(key, row)
    return list(chosen.values())


def _before(rows: list[dict[str, Any]], phase: str) -> dict[str, Any] | None:
    """Last value before estrogen: the phase's own baseline (t <= 0), else the latest value
    of the testosterone phase, else of the untreated phase."""
    own = [r for r in rows if r["phase"] == phase and r["timepoint_months"] <= 0]
    if own:
        return max(own, key=lambda r: r["timepoint_months"])
    for earlier in PRE_ESTROGEN_PHASES:
        candidates = [r for r in rows if r["phase"] == earlier]
        if candidates:
            return max(candidates, key=lambda r: r["timepoint_months"])
    return None


def _numeric(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if r.get("value") is not None and not math.isnan(r["value"])]


def _closest(rows: list[dict[str, Any]], months: float) -> dict[str, Any] | None:
    if not rows:
        return None
    return min(rows, key=lambda r: (abs(r["timepoint_months"] - months), -r["timepoint_months"]))


def patient_changes(
    observations: pd.DataFrame,
    patients: pd.DataFrame,
    *,
    outcomes: Sequence[str],
    estrogen_phases: Sequence[str] = ("estrogen", "estrogen_plus_testosterone"),
) -> pd.DataFrame:
    """Change in each bone outcome under estrogen, one row per man and outcome.

    Parameters
    ----------
    observations
        Patient observations in canonical units (``unit_canonical``), as harmonized.
    patients
        patients.csv: one row per man, whichever reports describe him.
    outcomes
        Bone outcomes to summarise.
    estrogen_phases
        Phases counted as "under estrogen", in order of preference: the first with a
        follow-up value (timepoint > 0) is used.

    Returns
    -------
    pandas.DataFrame
        Columns ``CHANGE_COLUMNS``: value before and after, months under estrogen, change
        and percent change, regimen and dose of the follow-up, estradiol before (same rule
        as the bone value) and after (closest to the bone follow-up) with censor flags.

    Notes
    -----
    Months count from the start of the estrogen phase used; a man first given estrogen
    alone and later estrogen plus testosterone is summarised over the estrogen-alone phase.
    """
    first = dict(zip(patients["patient_id"], patients["first_report"], strict=True))
    records = [
        {k: (None if v is pd.NA else v) for k, v in rec.items()}
        for rec in observations.to_dict("records")
    ]
    by_patient: dict[str, list[dict[str, Any]]] = {}
    for rec in records:
        by_patient.setdefault(str(rec["patient_id"]), []).append(rec)
    out = []
    for patient_id, rows in sorted(by_patient.items()):
        rows = _dedupe(rows, first.get(patient_id))
        estradiol = _numeric([r for r in rows if r["outcome"] == "estradiol"])
        for outcome in outcomes:
            rows_ = _numeric([r for r in rows if r["outcome"] == outcome])
            bone = [r for r in rows_ if r.get("unit") != "percent"]
            reported = [r for r in rows_ if r.get("unit") == "percent"]
            row = _level_change(patient_id, outcome, bone, rows, estradiol, estrogen_phases)
            if row is None:
                row = _reported_percent(patient_id, outcome, reported, rows, estradiol,
                                        estrogen_phases)  # fmt: skip
            if row is not None:
                out.append(row)
    frame = pd.DataFrame(out, columns=CHANGE_COLUMNS)
    return frame


def _follow_up(
    values: list[dict[str, Any]], estrogen_phases: Sequence[str]
) -> tuple[str, dict[str, Any]] | None:
    """The first estrogen phase with a value after its start, and its last such value."""
    for phase in estrogen_phases:
        after = [r for r in values if r["phase"] == phase and r["timepoint_months"] > 0]
        if after:
            return phase, max(after, key=lambda r: r["timepoint_months"])
    return None


def _level_change(
    patient_id: str,
    outcome: str,
    bone: list[dict[str, Any]],
    rows: list[dict[str, Any]],
    estradiol: list[dict[str, Any]],
    estrogen_phases: Sequence[str],
) -> dict[str, Any] | None:
    """Change from measured values before and after estrogen."""
    found = _follow_up(bone, estrogen_phases)
    if found is None:
        return None
    phase, after = found
    before = _before(bone, phase)
    if before is None:
        return None
    return _change_row(patient_id, outcome, phase, before, after, rows, estradiol)


def _reported_percent(
    patient_id: str,
    outcome: str,
    reported: list[dict[str, Any]],
    rows: list[dict[str, Any]],
    estradiol: list[dict[str, Any]],
    estrogen_phases: Sequence[str],
) -> dict[str, Any] | None:
    """A percent change from the start of estrogen as the report gives it (unit percent)."""
    found = _follow_up(reported, estrogen_phases)
    if found is None:
        return None
    phase, after = found
    row = _change_row(patient_id, outcome, phase, None, after, rows, estradiol)
    row.update(
        unit=None, value_before=math.nan, value_after=math.nan, change=math.nan,
        percent_change=after["value"],
        note="percent change from the start of estrogen as reported; no measured values",
    )  # fmt: skip
    return row


def _change_row(
    patient_id: str,
    outcome: str,
    phase: str,
    before: dict[str, Any] | None,
    after: dict[str, Any],
    rows: list[dict[str, Any]],
    estradiol: list[dict[str, Any]],
) -> dict[str, Any]:
    months = float(after["timepoint_months"])
    notes = []
    if before is None:
        change = percent = math.nan
    elif _is_censored(before) or _is_censored(after):
        # A detection limit is not a measurement: no change is computed from it.
        change = percent = math.nan
        notes.append("bone value censored at a detection limit: change not computed")
    else:
        change = after["value"] - before["value"]
        percent = 100 * change / before["value"] if before["value"] else math.nan
    e_before = _before(estradiol, phase)
    e_after = _closest(
        [r for r in estradiol if r["phase"] == phase and r["timepoint_months"] > 0], months
    )
    dosing = after if after.get("dose") or after.get("regimen") else (e_after or {})
    if not (dosing.get("dose") or dosing.get("regimen")):
        dosing = next((r for r in rows if r["phase"] == phase and r.get("dose")), {})
    study_ids = sorted({r["study_id"] for r in rows})
    return {
        "patient_id": patient_id,
        "study_ids": ";".join(study_ids),
        "outcome": outcome,
        "unit": after.get("unit_canonical") or after.get("unit"),
        "value_before": before["value"] if before else math.nan,
        "value_after": after["value"],
        "months": months,
        "change": change,
        "percent_change": percent,
        "regimen": dosing.get("regimen"),
        "dose": dosing.get("dose"),
        "estradiol_before": e_before["value"] if e_before else math.nan,
        "estradiol_after": e_after["value"] if e_after else math.nan,
        "estradiol_unit": (e_before or e_after or {}).get("unit_canonical"),
        "estradiol_before_censor": e_before.get("censor") if e_before else None,
        "estradiol_after_censor": e_after.get("censor") if e_after else None,
        "phase": phase,
        "n_reports": len(study_ids),
        "note": "; ".join(notes),
    }


def summarise_changes(changes: pd.DataFrame) -> pd.DataFrame:
    """Median and range of change across distinct men, per outcome.

    Returns
    -------
    pandas.DataFrame
        Columns ``SUMMARY_COLUMNS``. ``n_patients`` counts men with a change or a percent
        change; ``n_change`` and ``n_percent_change`` how many each statistic rests on (a
        report giving only a percent change adds to the second). Censored changes (NaN)
        are not counted.
    """
    rows = []
    usable = changes.loc[changes["change"].notna() | changes["percent_change"].notna()]
    for outcome, group in usable.groupby("outcome", sort=True):
        units = group["unit"].dropna()
        row: dict[str, Any] = {
            "outcome": outcome,
            "unit": units.iloc[0] if len(units) else None,
            "n_patients": group["patient_id"].nunique(),
            "n_change": int(group["change"].notna().sum()),
            "n_percent_change": int(group["percent_change"].notna().sum()),
        }
        for column in ("change", "percent_change", "months"):
            values = group[column].astype(float)
            row[f"{column}_median"] = values.median()
            row[f"{column}_min"] = values.min()
            row[f"{column}_max"] = values.max()
        rows.append(row)
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
