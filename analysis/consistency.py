"""Numeric consistency checks of the extracted data, in the spirit of statcheck and GRIM.

Each check compares numbers a report gives with numbers they imply:

``p_implied``
    the between-group p implied by the arms' mean changes, SDs and n (z, pooled-variance t
    and Welch t) against the reported p (statcheck's idea without a printed statistic);
``sd_ratio``
    the SDs of the arms of one measurement: a ratio above ``sd_ratio_max`` is implausible
    for the same measurement in comparable groups (a mislabelled SE is the usual cause);
``se_vs_sd``
    a row with both SD and SE: n * SE^2 must equal SD^2 (within 10%);
``percent_vs_means``
    a reported percent change against 100 (final - baseline) / baseline of the same arm;
``p_bound``
    a p printed as "P < x" must be stored as the bound x with ``p_value_bound = "<"``;
``censored``
    a value below detection (``censor = "<"``) must keep its bound through the pipeline.

A declared rule (``consistency.on_conflict`` in the config) decides what a conflict does;
the row says so in ``decision``. With ``se_from_reported_p`` the effect's SE comes from the
reported p (:func:`apply_decisions`), and the arm-SD route is kept as a sensitivity analysis.

References
----------
Epskamp S, Nuijten MB (2016). statcheck: extract statistics from articles and recompute
p values. R package. Nuijten MB et al. (2016). Behav Res Methods 48:1205-1226.
Brown NJL, Heathers JAJ (2017). The GRIM test. Soc Psychol Personal Sci 8:363-369.
Cochrane Handbook v6.4, section 6.5.2.3 (SE from a p-value).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

import pandas as pd
from scipy import stats

COLUMNS = [
    "check",
    "study_id",
    "outcome",
    "timepoint_months",
    "status",
    "reported",
    "implied",
    "detail",
    "decision",
]
KEY = ["check", "study_id", "outcome", "timepoint_months"]
_P_TEXT = re.compile(r"\bp\s*([<=>])\s*(0?\.\d+)", re.IGNORECASE)


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _arm_sd(row: Mapping[str, Any]) -> float | None:
    sd, se, n = _num(row.get("sd")), _num(row.get("se")), _num(row.get("n"))
    if sd is not None:
        return sd
    if se is not None and n is not None:
        return se * math.sqrt(n)
    return None


def implied_p(
    mean_t: float, sd_t: float, n_t: float, mean_c: float, sd_c: float, n_c: float
) -> dict[str, float]:
    """Two-sided p of the difference in means under z, pooled-variance t and Welch t."""
    diff = mean_t - mean_c
    vt, vc = sd_t**2 / n_t, sd_c**2 / n_c
    se = math.sqrt(vt + vc)
    sp2 = ((n_t - 1) * sd_t**2 + (n_c - 1) * sd_c**2) / (n_t + n_c - 2)
    se_pooled = math.sqrt(sp2 * (1 / n_t + 1 / n_c))
    df_welch = (vt + vc) ** 2 / (vt**2 / (n_t - 1) + vc**2 / (n_c - 1))
    return {
        "z": float(2 * stats.norm.sf(abs(diff) / se)),
        "t_pooled": float(2 * stats.t.sf(abs(diff) / se_pooled, n_t + n_c - 2)),
        "t_welch": float(2 * stats.t.sf(abs(diff) / se, df_welch)),
    }


def p_conflict(reported: float, implied: Mapping[str, float], tolerance: float) -> tuple[bool, str]:
    """Whether a reported p conflicts with every implied p.

    The comparison is on the normal-quantile scale, ``q(p) = Phi^-1(1 - p/2)``: conflict when
    ``|q(reported) / q(implied) - 1| > tolerance`` for the closest implied p. The quantile
    scale treats p = .04 vs .02 and p = .0004 vs .0002 alike in what they imply for an SE.
    """
    q_rep = stats.norm.isf(reported / 2)
    best_name, best = min(
        ((k, abs(q_rep / stats.norm.isf(v / 2) - 1)) for k, v in implied.items()),
        key=lambda kv: kv[1],
    )
    return best > tolerance, f"closest: {best_name} (quantiles differ by {100 * best:.0f}%)"


def check_p_implied(
    arm_outcomes: pd.DataFrame, contrasts: pd.DataFrame, tolerance: float
) -> list[dict[str, Any]]:
    rows = []
    usable = contrasts.loc[
        contrasts["p_value"].notna()
        & (contrasts["p_value_bound"].fillna("=") == "=")
        & contrasts["measure"].isin(["difference_in_change", "difference_in_final"])
    ]
    for _, c in usable.iterrows():
        measure = "change" if c["measure"] == "difference_in_change" else "final"
        arms = arm_outcomes.loc[
            (arm_outcomes["study_id"] == c["study_id"])
            & (arm_outcomes["outcome"] == c["outcome"])
            & (arm_outcomes["measure"] == measure)
            & (arm_outcomes["timepoint_months"].astype(float) == float(c["timepoint_months"]))
        ]
        t = arms.loc[arms["arm"] == c["treatment_arm"]]
        k = arms.loc[arms["arm"] == c["control_arm"]]
        if t.empty or k.empty:
            continue
        t, k = t.iloc[0].to_dict(), k.iloc[0].to_dict()
        vals = [
            _num(t["mean"]),
            _arm_sd(t),
            _num(t["n"]),
            _num(k["mean"]),
            _arm_sd(k),
            _num(k["n"]),
        ]
        if any(v is None for v in vals) or (vals[1] == 0 and vals[4] == 0):
            continue
        implied = implied_p(*vals)
        conflict, detail = p_conflict(float(c["p_value"]), implied, tolerance)
        rows.append(
            {
                "check": "p_implied",
                "study_id": c["study_id"],
                "outcome": c["outcome"],
                "timepoint_months": c["timepoint_months"],
                "status": "conflict" if conflict else "ok",
                "reported": f"p = {c['p_value']:g}",
                "implied": "; ".join(f"{name} p = {v:.2g}" for name, v in implied.items()),
                "detail": (
                    f"arm means/SDs/n as extracted: difference {vals[0] - vals[3]:.4g}; {detail}"
                ),
            }
        )
    return rows


def check_sd_ratio(arm_outcomes: pd.DataFrame, ratio_max: float) -> list[dict[str, Any]]:
    rows = []
    group = ["study_id", "outcome", "timepoint_months", "measure"]
    for (study, outcome, time, measure), g in arm_outcomes.groupby(group, sort=True):
        sds = [
            (r["arm"], _arm_sd(r), "SD" if _num(r.get("sd")) is not None else "SE*sqrt(n)")
            for r in g.to_dict("records")
        ]
        sds = [s for s in sds if s[1] is not None and s[1] > 0]
        if len(sds) < 2:
            continue
        hi, lo = max(sds, key=lambda s: s[1]), min(sds, key=lambda s: s[1])
        ratio = hi[1] / lo[1]
        rows.append(
            {
                "check": "sd_ratio",
                "study_id": study,
                "outcome": outcome,
                "timepoint_months": time,
                "status": "flag" if ratio > ratio_max else "ok",
                "reported": "; ".join(f"{a}: {v:.3g} ({how})" for a, v, how in sds),
                "implied": f"ratio {ratio:.3g} (limit {ratio_max:g})",
                "detail": f"{measure} values of the arms of one measurement",
            }
        )
    return rows


def check_se_vs_sd(arm_outcomes: pd.DataFrame) -> list[dict[str, Any]]:
    rows = []
    both = arm_outcomes.loc[
        arm_outcomes["sd"].notna() & arm_outcomes["se"].notna() & arm_outcomes["n"].notna()
    ]
    for r in both.to_dict("records"):
        implied = float(r["n"]) * float(r["se"]) ** 2
        ok = abs(implied / float(r["sd"]) ** 2 - 1) <= 0.10
        rows.append(
            {
                "check": "se_vs_sd",
                "study_id": r["study_id"],
                "outcome": r["outcome"],
                "timepoint_months": r["timepoint_months"],
                "status": "ok" if ok else "flag",
                "reported": f"SD^2 = {float(r['sd']) ** 2:.4g}",
                "implied": f"n*SE^2 = {implied:.4g}",
                "detail": f"arm {r['arm']}",
            }
        )
    return rows


def check_percent_vs_means(arm_outcomes: pd.DataFrame) -> list[dict[str, Any]]:
    rows = []
    pct = arm_outcomes.loc[
        (arm_outcomes["measure"] == "percent_change") & arm_outcomes["mean"].notna()
    ]
    for r in pct.to_dict("records"):
        same = arm_outcomes.loc[
            (arm_outcomes["study_id"] == r["study_id"])
            & (arm_outcomes["arm"] == r["arm"])
            & (arm_outcomes["outcome"] == r["outcome"])
        ]
        base = same.loc[same["measure"] == "baseline", "mean"]
        final = same.loc[
            (same["measure"] == "final") & (same["timepoint_months"] == r["timepoint_months"]),
            "mean",
        ]
        if base.empty or final.empty:
            continue
        implied = 100 * (float(final.iloc[0]) - float(base.iloc[0])) / float(base.iloc[0])
        ok = abs(implied - float(r["mean"])) <= 1.0
        rows.append(
            {
                "check": "percent_vs_means",
                "study_id": r["study_id"],
                "outcome": r["outcome"],
                "timepoint_months": r["timepoint_months"],
                "status": "ok" if ok else "flag",
                "reported": f"{float(r['mean']):.3g}%",
                "implied": f"{implied:.3g}% from the means",
                "detail": (
                    f"arm {r['arm']}; a mean of percent changes may differ from the "
                    "percent change of the means"
                ),
            }
        )
    return rows


def check_p_bounds(arm_outcomes: pd.DataFrame, contrasts: pd.DataFrame) -> list[dict[str, Any]]:
    """A p printed with '<' (reported text or note) must be stored with bound '<'."""
    rows = []
    for table, frame, text_cols in (
        ("arm_outcomes.csv", arm_outcomes, ["note"]),
        ("contrasts.csv", contrasts, ["reported_text", "note"]),
    ):
        for r in frame.loc[frame["p_value"].notna()].to_dict("records"):
            printed = [m for col in text_cols for m in _P_TEXT.findall(str(r.get(col) or ""))]
            match = [
                sign for sign, value in printed if abs(float(value) - float(r["p_value"])) < 1e-12
            ]
            if not match:
                continue
            stored = r.get("p_value_bound") if isinstance(r.get("p_value_bound"), str) else "="
            ok = stored == match[0]
            rows.append(
                {
                    "check": "p_bound",
                    "study_id": r["study_id"],
                    "outcome": r["outcome"],
                    "timepoint_months": r["timepoint_months"],
                    "status": "ok" if ok else "conflict",
                    "reported": f"printed p {match[0]} {r['p_value']:g}",
                    "implied": f"stored bound '{stored}'",
                    "detail": table,
                }
            )
    return rows


def check_censored(observations: pd.DataFrame, changes: pd.DataFrame) -> list[dict[str, Any]]:
    """Each censored estradiol observation keeps its bound in the case-report changes."""
    rows = []
    cens = observations.loc[observations["censor"].fillna("") != ""]
    for r in cens.to_dict("records"):
        ch = changes.loc[changes["patient_id"] == r["patient_id"]]
        cols = [c for c in ("estradiol_before_censor", "estradiol_after_censor") if c in ch]
        kept = any((ch[c].fillna("") == r["censor"]).any() for c in cols) if len(ch) else True
        rows.append(
            {
                "check": "censored",
                "study_id": r["study_id"],
                "outcome": r["outcome"],
                "timepoint_months": r["timepoint_months"],
                "status": "ok" if kept else "conflict",
                "reported": f"{r['censor']} {r['value']:g} {r['unit']}",
                "implied": "bound kept" if kept else "bound lost in cases/patient_changes.csv",
                "detail": f"patient {r['patient_id']}",
            }
        )
    return rows


def run_checks(
    arm_outcomes: pd.DataFrame,
    contrasts: pd.DataFrame,
    observations: pd.DataFrame,
    changes: pd.DataFrame,
    *,
    config: Mapping[str, Any],
) -> pd.DataFrame:
    """All checks, with the declared decision on each conflict or flag.

    Returns
    -------
    pandas.DataFrame
        ``COLUMNS``; ``status`` is ``ok``, ``flag`` (implausible, decided by another check)
        or ``conflict``; ``decision`` says what the pipeline does about it.
    """
    rules = config["consistency"]
    rows = (
        check_p_implied(arm_outcomes, contrasts, rules["quantile_tolerance"])
        + check_sd_ratio(arm_outcomes, rules["sd_ratio_max"])
        + check_se_vs_sd(arm_outcomes)
        + check_percent_vs_means(arm_outcomes)
        + check_p_bounds(arm_outcomes, contrasts)
        + check_censored(observations, changes)
    )
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["decision"] = [decision(r, rules["on_conflict"]) for r in frame.to_dict("records")]
    return frame.sort_values(KEY, kind="mergesort").reset_index(drop=True)


def decision(row: Mapping[str, Any], on_conflict: str) -> str:
    """What the declared rule does with one check row."""
    if row["status"] == "ok":
        return "none needed"
    if row["check"] == "p_implied":
        if on_conflict == "se_from_reported_p":
            return (
                "SE taken from the reported p (z), the conservative route; the SE from "
                "the arm SDs is shown as a sensitivity analysis"
            )
        return "flagged only; the SE from the arm SDs is kept"
    if row["check"] == "sd_ratio":
        return "flagged; the p check of the same result decides which SE is used"
    return "flagged for the extraction to be checked against the source"


def apply_decisions(
    effects: pd.DataFrame,
    ledger: pd.DataFrame,
    checks: pd.DataFrame,
    contrasts: pd.DataFrame,
    level: float,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Replace the SE of effects whose p check conflicts, when the rule says so.

    The new SE is ``|estimate| / z(1 - p/2)`` (Handbook 6.5.2.3) with the reported p; the
    CI is rebuilt at ``level``; a ledger step records the replaced SE and the reason.
    """
    conflicts = checks.loc[
        (checks["check"] == "p_implied")
        & (checks["status"] == "conflict")
        & checks["decision"].str.startswith("SE taken from the reported p")
    ]
    effects, new_rows = effects.copy(), []
    z_level = stats.norm.isf((1 - level) / 2)
    for c in conflicts.to_dict("records"):
        p = contrasts.loc[
            (contrasts["study_id"] == c["study_id"])
            & (contrasts["outcome"] == c["outcome"])
            & contrasts["p_value"].notna(),
            "p_value",
        ].iloc[0]
        mask = (
            (effects["study_id"] == c["study_id"])
            & (effects["outcome"] == c["outcome"])
            & (effects["scale"] == "absolute")
        )
        for i in effects.index[mask]:
            yi, old_se = float(effects.loc[i, "yi"]), float(effects.loc[i, "sei"])
            se = abs(yi) / stats.norm.isf(float(p) / 2)
            ids = str(effects.loc[i, "derivation_ids"]).split(";")
            step = len(ids) + 1
            did = f"{c['study_id']}:{c['outcome']}:absolute:{step:02d}"
            effects.loc[i, ["sei", "vi", "ci_low", "ci_high"]] = [
                se,
                se**2,
                yi - z_level * se,
                yi + z_level * se,
            ]
            effects.loc[i, "derivation_ids"] = ";".join([*ids, did])
            effects.loc[i, "derived"] = True
            effects.loc[i, "note"] = "; ".join(
                x
                for x in [
                    str(effects.loc[i, "note"]) if isinstance(effects.loc[i, "note"], str) else "",
                    "SE from the reported p (consistency rule: the arm SDs imply a smaller p)",
                ]
                if x
            )
            row = (
                contrasts.index[
                    (contrasts["study_id"] == c["study_id"])
                    & (contrasts["outcome"] == c["outcome"])
                ][0]
                + 2
            )
            new_rows.append(
                {
                    "derivation_id": did,
                    "study_id": c["study_id"],
                    "outcome": c["outcome"],
                    "scale": "absolute",
                    "step": step,
                    "method": "se_from_p: SE = |estimate| / z",
                    "inputs": f"contrasts.csv:{row}:p_value",
                    "assumptions": json.dumps(
                        {
                            "consistency_rule": "se_from_reported_p",
                            "replaced_se_from_arm_sds": old_se,
                            "check": c["implied"],
                            "statistic": "z",
                            "two_sided": True,
                        },
                        sort_keys=True,
                    ),
                    "value": se,
                    "reference": "Cochrane Handbook v6.4, section 6.5.2.3",
                }
            )
    if new_rows:
        ledger = pd.concat([ledger, pd.DataFrame(new_rows)], ignore_index=True)
    return effects, ledger
