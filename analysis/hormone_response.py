"""Hormone response to an aromatase inhibitor: the log ratio of means of estradiol and
testosterone, one effect per controlled study x hormone, with its derivation ledger.

The question rests on a mechanism: an aromatase inhibitor lowers estradiol and raises
testosterone. Most trials report the hormones as arm means before and after treatment,
often only in the treated arm. The effect is the log ratio of means (``scale = "log_ratio"``;
back-transformed, the ratio of the mean after treatment to the mean before), which needs no
common unit across studies and is what metafor calls ``ROMC`` (Lajeunesse 2011):

* **between arms** (``route = "r"``), when the treated and the control arm both give baseline
  and follow-up means at the same time point: ``yi = ROMC(treated) - ROMC(control)``,
  ``vi = vi(treated) + vi(control)`` (the arms are independent samples);
* **within the treated arm** (``route = "w"``), otherwise: ``yi = ROMC(treated)``. Its
  variance needs the correlation between the baseline and follow-up values of the same men,
  which no report gives: it is the configured ``prepost_r``, written in the ledger and varied
  in the sensitivity grid like every other pre-post correlation.

Multi-arm trials follow the Cochrane Handbook (6.5.2.10, 23.3.4): several treated arms of the
same trial (two doses of one drug) are **combined** into one arm before the effect is computed
(sample size, mean and SD of the combined sample, at baseline and at follow-up), so one trial
contributes one effect and no man is counted twice.

Arm statistics are read in canonical units (:func:`analysis.harmonize.canonical_units`),
though the ratio itself is unit-free. A spread entered as an SE is used as such
(``vi = se_f²/m_f² + se_b²/m_b² - 2 r se_f se_b/(m_f m_b)``, which needs no n). A spread
entered as an SD needs the arm's n: the row's ``n``, else the arm's ``n_randomized``, else --
stated as an assumption in the ledger -- the study's total ``n_analysed`` (contrasts.csv)
shared equally between its arms.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from analysis import conversions
from analysis.effect_sizes import escalc

__all__ = ["HORMONES", "SCALE", "hormone_response"]

HORMONES = ("estradiol", "testosterone")
SCALE = "log_ratio"
ROW = "source_row"
LAJEUNESSE = (
    "Lajeunesse MJ. Ecology 2011;92:2049-55 (metafor escalc measure ROMC); "
    "Higgins JPT et al. Cochrane Handbook v6.4, section 6.5.2.8"
)
COMBINE_REF = "Higgins JPT et al. Cochrane Handbook v6.4, sections 6.5.2.10 and 23.3.4"
R_NOTE = "assumed: config prepost_r (no report gives it); varied in the sensitivity grid"


@dataclass
class _Steps:
    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(
        self,
        method: str,
        inputs: Sequence[str],
        value: float,
        assumptions: Mapping[str, Any] | None = None,
        reference: str = "",
    ) -> None:
        self.rows.append(
            {
                "method": method,
                "inputs": ";".join(inputs),
                "assumptions": json.dumps(dict(assumptions or {}), sort_keys=True),
                "value": float(value),
                "reference": reference,
            }
        )


@dataclass
class _Moment:
    """One arm's mean and spread at one time, with the cells it came from."""

    mean: float
    sd: float | None
    se: float | None
    n: float | None
    cells: list[str]


def _num(rec: Mapping[str, Any], column: str) -> float | None:
    value = rec.get(column)
    if value is None or value is pd.NA:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def _moment(rec: Mapping[str, Any], n_fallback: float | None) -> _Moment | None:
    mean, sd, se = _num(rec, "mean"), _num(rec, "sd"), _num(rec, "se")
    if mean is None or mean <= 0 or (sd is None and se is None):
        return None
    row = int(rec[ROW])
    spread = "sd" if sd is not None else "se"
    n = _num(rec, "n")
    return _Moment(
        mean,
        sd,
        se if sd is None else None,
        n if n is not None else n_fallback,
        [f"arm_outcomes.csv:{row}:mean", f"arm_outcomes.csv:{row}:{spread}"],
    )


def _arm_pair(
    rows: pd.DataFrame, arm: str, n_arm: float | None
) -> tuple[float, _Moment, _Moment] | None:
    """Baseline and the latest follow-up of one arm (both with a mean and a spread)."""
    mine = rows.loc[rows["arm"] == arm]
    base = mine.loc[mine["measure"] == "baseline"]
    finals = mine.loc[(mine["measure"] == "final") & (mine["timepoint_months"] > 0)]
    if base.empty or finals.empty:
        return None
    b = _moment(base.iloc[0].to_dict(), n_arm)
    last = finals.sort_values("timepoint_months").iloc[-1].to_dict()
    f = _moment(last, n_arm)
    if b is None or f is None:
        return None
    return float(last["timepoint_months"]), b, f


def _romc(b: _Moment, f: _Moment, r: float) -> tuple[float, float, str]:
    """ROMC of one arm: SEs used directly, or SDs with the arm's n."""
    if b.se is not None and f.se is not None:
        es = escalc("ROMC", m1i=f.mean, m2i=b.mean, sd1i=f.se, sd2i=b.se, ri=r, ni=1)
        how = "SEs as reported: vi = se_f^2/m_f^2 + se_b^2/m_b^2 - 2 r se_f se_b/(m_f m_b)"
    else:
        if b.n is None or f.n is None:
            raise ValueError("an SD-based ROMC needs the arm's n")
        sd_b = b.sd if b.sd is not None else float(b.se or 0) * math.sqrt(b.n)
        sd_f = f.sd if f.sd is not None else float(f.se or 0) * math.sqrt(f.n)
        es = escalc("ROMC", m1i=f.mean, m2i=b.mean, sd1i=sd_f, sd2i=sd_b, ri=r, ni=b.n)
        how = "SDs with the arm's n: vi = (sd_f^2/m_f^2 + sd_b^2/m_b^2 - 2 r sd_f sd_b/(m_f m_b))/n"
    return float(es.yi[0]), float(es.vi[0]), how


def _arm_n(
    study_arms: pd.DataFrame, arm: str, total: tuple[float, int] | None
) -> tuple[float | None, str | None, dict[str, Any]]:
    rec = study_arms.loc[study_arms["arm"] == arm].iloc[0].to_dict()
    n = _num(rec, "n_randomized")
    if n is not None:
        return n, f"arms.csv:{int(rec[ROW])}:n_randomized", {}
    if total is not None:
        value, row = total
        k = len(study_arms)
        return (
            value / k,
            f"contrasts.csv:{row}:n_analysed",
            {
                "arm_n": f"assumed: the arm's n is not reported; the {value:g} men analysed "
                f"in the study are shared equally between its {k} arms"
            },
        )
    return None, None, {}


def _combine(moments: list[_Moment]) -> _Moment:
    """Combine several arms' moments into one (Handbook 6.5.2.10)."""
    out = moments[0]
    for nxt in moments[1:]:
        # the caller has checked that every arm gives its n and an SD
        assert out.n is not None and out.sd is not None and nxt.n is not None and nxt.sd is not None
        merged = conversions.combine_groups(out.n, out.mean, out.sd, nxt.n, nxt.mean, nxt.sd)
        out = _Moment(
            float(merged.value), float(merged.sd), None, float(merged.n), out.cells + nxt.cells
        )
    return out


def hormone_response(
    arm_outcomes: pd.DataFrame,
    arms: pd.DataFrame,
    studies: pd.DataFrame,
    contrasts: pd.DataFrame,
    risk_of_bias: pd.DataFrame,
    *,
    r: float,
    columns: Sequence[str],
    ledger_columns: Sequence[str],
    level: float = 0.95,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Log ratio of means of each hormone under an aromatase inhibitor, per controlled study.

    Parameters
    ----------
    arm_outcomes
        Harmonized arm statistics (canonical units, with ``source_row``).
    arms, studies, contrasts, risk_of_bias
        Raw tables as read by :func:`analysis.io.read_table` (with ``source_row``).
    r
        Pre-post correlation of a hormone within the same men (config ``prepost_r``).
    columns, ledger_columns
        Columns of the effects frame and of the derivation ledger (those of
        :func:`analysis.harmonize.compute_effects`, so the rows join its output).
    level
        Level of the per-study CI (normal quantile).

    Returns
    -------
    effects, ledger : pandas.DataFrame
        One row per study x hormone with ``scale = "log_ratio"``, ``unit = "ratio"``,
        ``route`` ``"r"`` (between arms) or ``"w"`` (within the treated arm); the ledger's
        steps name every cell used and every assumption.

    Notes
    -----
    A study enters only if its treated arm(s) give a baseline and a follow-up mean, each with
    an SD or SE; several treated arms must share the follow-up time and report their n.

    References
    ----------
    Lajeunesse MJ (2011). Ecology 92:2049-55. Higgins JPT et al. (eds). Cochrane Handbook for
    Systematic Reviews of Interventions v6.4, 6.5.2.8, 6.5.2.10 and 23.3.4.
    """
    from statistics import NormalDist

    z = NormalDist().inv_cdf(0.5 + level / 2)
    controlled = studies.loc[~studies["design"].isin(["case_report", "case_series"])]
    rob = (
        risk_of_bias.loc[risk_of_bias["domain"] == "overall"]
        .set_index("study_id")["judgement"]
        .to_dict()
    )
    totals: dict[str, tuple[float, int]] = {}
    for rec in contrasts.to_dict("records"):
        n = _num(rec, "n_analysed")
        if n is not None and rec["study_id"] not in totals:
            totals[rec["study_id"]] = (n, int(rec[ROW]))
    rows, ledger = [], []
    for meta in controlled.sort_values("study_id").to_dict("records"):
        sid = meta["study_id"]
        study_arms = arms.loc[arms["study_id"] == sid]
        for outcome in HORMONES:
            data = arm_outcomes.loc[
                (arm_outcomes["study_id"] == sid) & (arm_outcomes["outcome"] == outcome)
            ]
            if data.empty:
                continue
            made = _study_effect(sid, outcome, data, study_arms, totals.get(sid), r)
            if made is None:
                continue
            yi, vi, route, months, n_t, n_c, steps, note = made
            ids = []
            for i, step in enumerate(steps.rows, start=1):
                did = f"{sid}:{outcome}:{SCALE}:{i:02d}"
                ids.append(did)
                ledger.append(
                    {
                        "derivation_id": did,
                        "study_id": sid,
                        "outcome": outcome,
                        "scale": SCALE,
                        "step": i,
                        **step,
                    }
                )
            se = math.sqrt(vi)
            rows.append(
                {
                    "study_id": sid,
                    "label": meta["label"],
                    "year": meta["year"],
                    "evidence_line": meta["evidence_line"],
                    "design": meta["design"],
                    "outcome": outcome,
                    "scale": SCALE,
                    "unit": "ratio",
                    "yi": yi,
                    "vi": vi,
                    "sei": se,
                    "ci_low": yi - z * se,
                    "ci_high": yi + z * se,
                    "n_treatment": n_t,
                    "n_control": n_c,
                    "derived": True,
                    "derivation_ids": ";".join(ids),
                    "rob_overall": rob.get(sid),
                    "route": route,
                    "timepoint_months": months,
                    "note": note,
                }
            )
    effects = pd.DataFrame(rows, columns=list(columns))
    for col in ("n_treatment", "n_control"):
        effects[col] = pd.to_numeric(effects[col]).round().astype("Int64")
    return effects, pd.DataFrame(ledger, columns=list(ledger_columns))


def _study_effect(
    sid: str,
    outcome: str,
    data: pd.DataFrame,
    study_arms: pd.DataFrame,
    total: tuple[float, int] | None,
    r: float,
):
    """The effect of one study x hormone, or None when the arms do not allow one."""
    steps = _Steps()
    by_role: dict[str, list[tuple[str, float, _Moment, _Moment, str | None, dict]]] = {}
    for arm_rec in study_arms.sort_values("arm").to_dict("records"):
        arm = arm_rec["arm"]
        n, n_cell, n_assumption = _arm_n(study_arms, arm, total)
        pair = _arm_pair(data, arm, n)
        if pair is not None:
            by_role.setdefault(arm_rec["role"], []).append((arm, *pair, n_cell, n_assumption))
    treated = by_role.get("treatment", [])
    if not treated:
        return None
    months = {t for _, t, *_ in treated}
    if len(treated) > 1:
        if len(months) > 1 or any(
            b.n is None or b.sd is None or f.sd is None for _, _, b, f, *_ in treated
        ):
            return None
        base = _combine([b for _, _, b, _, *_ in treated])
        fin = _combine([f for _, _, _, f, *_ in treated])
        names = ", ".join(a for a, *_ in treated)
        steps.add(
            "combine_groups: treated arms merged at baseline (n, mean, SD)",
            base.cells,
            base.mean,
            {"arms": names, "n": base.n},
            COMBINE_REF,
        )
        steps.add(
            "combine_groups: treated arms merged at follow-up (n, mean, SD)",
            fin.cells,
            fin.mean,
            {"arms": names, "n": fin.n},
            COMBINE_REF,
        )
        t_arm: tuple[str, float, _Moment, _Moment, str | None, dict[str, Any]] = (
            names,
            months.pop(),
            base,
            fin,
            None,
            {},
        )
    else:
        t_arm = (
            treated[0][0],
            treated[0][1],
            treated[0][2],
            treated[0][3],
            treated[0][4],
            treated[0][5],
        )
    arm_name, when, b, f, n_cell, n_assumption = t_arm
    if b.sd is not None and b.n is None:
        return None
    yi_t, vi_t, how = _romc(b, f, r)
    inputs = b.cells + f.cells + ([n_cell] if n_cell and b.sd is not None else [])
    assumptions = {
        "arm": arm_name,
        "months": when,
        "prepost_r": r,
        "r_source": R_NOTE,
        **(n_assumption if b.sd is not None else {}),
    }
    steps.add(
        f"ROMC of the treated arm: log(follow-up mean / baseline mean); {how}",
        inputs,
        yi_t,
        assumptions,
        LAJEUNESSE,
    )
    # An n shared out by assumption weighted the variance; it is not shown as a count.
    n_t = None if n_assumption else b.n
    control = [c for c in by_role.get("control", []) if c[1] == when]
    if control:
        c_arm, _, cb, cf, c_cell, c_assumption = control[0]
        if cb.sd is None or cb.n is not None:
            yi_c, vi_c, how_c = _romc(cb, cf, r)
            steps.add(
                f"ROMC of the control arm; {how_c}",
                cb.cells + cf.cells + ([c_cell] if c_cell and cb.sd is not None else []),
                yi_c,
                {
                    "arm": c_arm,
                    "months": when,
                    "prepost_r": r,
                    "r_source": R_NOTE,
                    **(c_assumption if cb.sd is not None else {}),
                },
                LAJEUNESSE,
            )
            yi, vi = yi_t - yi_c, vi_t + vi_c
            steps.add(
                "between arms: ROMC(treated) - ROMC(control); vi = vi_t + vi_c",
                [],
                yi,
                {"independent_arms": "the arms are separate groups of men"},
                LAJEUNESSE,
            )
            note = (
                f"ratio of means between arms at month {when:g}: treated change over "
                f"control change ({arm_name} vs {c_arm})"
            )
            return yi, vi, "r", when, n_t, cb.n, steps, note
    note = (
        f"within the treated arm ({arm_name}) at month {when:g}: follow-up mean over "
        f"baseline mean; the control arm gives no {outcome} values at that time"
    )
    return yi_t, vi_t, "w", when, n_t, None, steps, note
