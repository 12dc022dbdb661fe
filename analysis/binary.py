"""Binary skeletal outcomes per study: risk ratio and risk difference of vertebral
deformities (and fractures), with metafor's handling of zero cells; outcomes no study
reports are stated as "no data".

Each study x outcome x imaging method with events and the number assessed in a treated and
a control arm gets two rows: the risk ratio (``measure = "RR"``, ``yi`` on the log scale,
``estimate``/CI back-transformed) and the risk difference (``"RD"``). Cells follow
``escalc(measure, ai, n1i, ci, n2i, add = 1/2, to = "only0")``: 1/2 is added to every cell
of a table with a zero cell, none otherwise; a table with no events in either arm keeps its
RD (0) and gets the RR of the corrected table, as metafor does. An arm without the number
assessed gives ``status = "not_estimable"`` with the reason. Each outcome of ``required``
that no included controlled study of an evidence line reports (no arm_events row) is one
``status = "no_data"`` row for that line: the absence of data is a finding, not a blank.
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import NormalDist

import numpy as np
import pandas as pd

from analysis.effect_sizes import escalc

__all__ = ["BINARY_COLUMNS", "binary_effects"]

#: How an outcome is named in a "no data" note.
PLURAL = {"vertebral_deformity": "vertebral deformities", "fracture": "fractures"}
BINARY_COLUMNS = [
    "evidence_line",
    "study_id",
    "label",
    "outcome",
    "imaging",
    "measure",
    "events_treatment",
    "n_treatment",
    "events_control",
    "n_control",
    "yi",
    "vi",
    "estimate",
    "ci_low",
    "ci_high",
    "status",
    "note",
]


def _get(arm: dict | None, column: str):
    return None if arm is None else arm.get(column)


def _int(value) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def binary_effects(
    events: pd.DataFrame,
    arms: pd.DataFrame,
    studies: pd.DataFrame,
    *,
    required: Sequence[str] = ("vertebral_deformity", "fracture"),
    add: float = 0.5,
    to: str = "only0",
    level: float = 0.95,
) -> pd.DataFrame:
    """Risk ratio and risk difference per study x outcome x imaging, and "no data" rows.

    Parameters
    ----------
    events
        ``arm_events.csv`` (study_id, arm, outcome, imaging, events, n, ...).
    arms, studies
        ``arms.csv`` (roles) and ``studies.csv`` (labels, evidence lines, designs).
    required
        Outcomes stated as "no data" for every evidence line without a study reporting them.
    add, to
        metafor's zero-cell correction (defaults as in ``escalc``).
    level
        Confidence level (normal quantile, as metafor's Wald intervals).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`BINARY_COLUMNS`.

    References
    ----------
    Viechtbauer W (2010). J Stat Softw 36(3) (escalc, measures RR and RD). Higgins JPT et al.
    (eds). Cochrane Handbook v6.4, 10.4.4.1 (zero cells).
    """
    z = NormalDist().inv_cdf(0.5 + level / 2)
    role = {(r["study_id"], r["arm"]): r["role"] for r in arms.to_dict("records")}
    meta = studies.set_index("study_id")
    rows = []
    for (sid, outcome, imaging), group in events.groupby(
        ["study_id", "outcome", "imaging"], sort=True
    ):
        by_role = {role.get((sid, r["arm"])): r for r in group.to_dict("records")}
        t, c = by_role.get("treatment"), by_role.get("control")
        base = {
            "evidence_line": meta.loc[sid, "evidence_line"],
            "study_id": sid,
            "label": meta.loc[sid, "label"],
            "outcome": outcome,
            "imaging": imaging,
            "events_treatment": _int(_get(t, "events")),
            "n_treatment": _int(_get(t, "n")),
            "events_control": _int(_get(c, "events")),
            "n_control": _int(_get(c, "n")),
        }
        missing = [
            f"{name} arm: {what}"
            for name, arm in (("treated", t), ("control", c))
            for what in ("events", "n")
            if arm is None or pd.isna(arm[what])
        ]
        if missing:
            rows.append(
                {
                    **base,
                    "measure": "RR",
                    "status": "not_estimable",
                    "note": "not estimable: " + "; ".join(missing) + " not reported",
                }
            )
            continue
        assert t is not None and c is not None  # both arms checked above
        for measure in ("RR", "RD"):
            es = escalc(
                measure, ai=t["events"], n1i=t["n"], ci=c["events"], n2i=c["n"], add=add, to=to
            )
            yi, vi = float(es.yi[0]), float(es.vi[0])
            lo, hi = yi - z * np.sqrt(vi), yi + z * np.sqrt(vi)
            back = np.exp if measure == "RR" else (lambda x: x)
            rows.append(
                {
                    **base,
                    "measure": measure,
                    "yi": yi,
                    "vi": vi,
                    "estimate": float(back(yi)),
                    "ci_low": float(back(lo)),
                    "ci_high": float(back(hi)),
                    "status": "estimated",
                    "note": "; ".join(es.notes),
                }
            )
    line_of = meta["evidence_line"].to_dict()
    pairs = zip(events["study_id"], events["outcome"], strict=True)
    reported = {(line_of.get(sid), outcome) for sid, outcome in pairs}
    controlled = studies.loc[~studies["design"].isin(["case_report", "case_series"])]
    for outcome in required:
        for line in sorted(set(controlled["evidence_line"])):
            if (line, outcome) in reported:
                continue
            rows.append(
                {
                    "evidence_line": line,
                    "outcome": outcome,
                    "status": "no_data",
                    "note": (
                        "no included study of this line reports "
                        f"{PLURAL.get(outcome, outcome)} (no row in arm_events.csv)"
                    ),
                }
            )
    return pd.DataFrame(rows, columns=BINARY_COLUMNS)
