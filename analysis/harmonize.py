"""From reported statistics to one effect per study x outcome x scale, with a ledger.

Pure functions: frames in, frames out. For every controlled study, outcome and scale
(``absolute``: difference in change from baseline in canonical units; ``percent``:
difference in percent change) the effect is the treatment-minus-control difference, taken
from the best statistic the report gives, in this order of preference:

a. a reported between-group difference with its SE or CI (``contrasts.csv``);
b. a reported change (mean with SD, SE, CI or within-arm p) in each arm -> MD of changes;
c. baseline and final mean/SD in each arm -> change with SD from the pre-post correlation r
   (Handbook 6.5.2.8), or percent change by the delta method -> MD;
d. final values only -> MD of final values (absolute scale only; flagged);
e. a between-group p-value with no SE or CI -> SE = |estimate| / z (Handbook 6.3.2 and
   6.5.2.3), the estimate being the reported difference or, when the arms' sample sizes
   are not reported (so routes b-d cannot weight the arms), the difference of the arm mean
   changes (final minus baseline mean, or the reported mean change) or percent changes.

Every step that turns reported numbers into the effect is a row of the derivation ledger
(method, the ``file:row:column`` cells it read, its assumptions as JSON, its value and its
reference). Results reported only in words are listed, never turned into numbers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis import conversions
from analysis.effect_sizes import escalc
from analysis.units import convert_unit

ROW = "source_row"
VALUE_COLUMNS = ("mean", "sd", "se", "ci_low", "ci_high", "median", "q1", "q3")
CONTRAST_VALUE_COLUMNS = ("estimate", "se", "ci_low", "ci_high")
HANDBOOK = "Higgins JPT et al. Cochrane Handbook for Systematic Reviews of Interventions v6.4"
#: How the pre-post correlation is recorded in the ledger: none of the reports gives it.
R_SOURCE = "assumed: config prepost_r (Handbook 6.5.2.8); varied in the sensitivity grid"
ROUTES = {
    "a": "reported between-group difference",
    "b": "difference in reported changes",
    "c": "difference in changes computed from baseline and final values",
    "d": "difference in final values (no change data)",
    "e": "between-group difference (reported, or from the arm means) with SE from its p-value",
}
#: Assumption recorded when a percent-scale effect borrows the p of the absolute change.
P_ON_PERCENT_SCALE = (
    "assumed: the reported p (difference in absolute change) applies to the difference in "
    "percent change too (same test statistic); exact only if every baseline were equal"
)
EFFECT_COLUMNS = [
    "study_id", "label", "year", "evidence_line", "design", "outcome", "scale", "unit",
    "yi", "vi", "sei", "ci_low", "ci_high", "n_treatment", "n_control", "derived",
    "derivation_ids", "rob_overall", "route", "timepoint_months", "note",
]  # fmt: skip
LEDGER_COLUMNS = [
    "derivation_id", "study_id", "outcome", "scale", "step", "method", "inputs",
    "assumptions", "value", "reference",
]  # fmt: skip
MISSING_COLUMNS = [
    "study_id", "label", "evidence_line", "outcome", "scale", "timepoint_months", "reason",
]  # fmt: skip
WORDS_COLUMNS = [
    "study_id", "label", "evidence_line", "outcome", "timepoint_months", "reported_text",
    "p_value", "p_value_bound", "source", "location",
]  # fmt: skip


# --------------------------------------------------------------------------- units
def _factor(from_unit: str, to_unit: str, analyte: str) -> float:
    """Multiplicative factor from ``from_unit`` to ``to_unit`` (all conversions are linear)."""
    return float(convert_unit(1.0, from_unit, to_unit, analyte).value)


def canonical_units(
    frame: pd.DataFrame,
    units: Mapping[str, str],
    *,
    value_columns: Sequence[str] = VALUE_COLUMNS,
) -> pd.DataFrame:
    """Convert values to the canonical unit of their outcome.

    Parameters
    ----------
    frame
        Rows with ``outcome``, ``unit`` and the value columns.
    units
        Canonical unit per outcome (``config['canonical_units']``); other outcomes and
        values in ``percent`` keep their unit.
    value_columns
        Columns scaled by the conversion factor (means, SDs, CIs, quantiles).

    Returns
    -------
    pandas.DataFrame
        A copy with ``unit_canonical`` added and the value columns converted; ``unit``
        keeps the reported unit so the conversion stays visible.

    Notes
    -----
    Conversions are linear (molar mass factors, g/mg), so SDs, SEs and differences scale
    by the same factor as means.
    """
    out = frame.copy()
    target = out["outcome"].map(dict(units)).astype(object)
    keep = target.isna() | out["unit"].isna() | (out["unit"] == "percent")
    target = target.where(~keep, out["unit"])
    out["unit_canonical"] = target.astype("string")
    pairs = out.loc[out["unit"] != out["unit_canonical"], ["unit", "unit_canonical", "outcome"]]
    factors = pd.Series(1.0, index=out.index)
    for (unit, canonical, outcome), rows in pairs.groupby(
        ["unit", "unit_canonical", "outcome"], sort=True
    ).groups.items():
        factors.loc[rows] = _factor(unit, canonical, outcome)
    for column in value_columns:
        if column in out:
            out[column] = out[column].astype("float64") * factors
    return out


# --------------------------------------------------------------------------- ledger
@dataclass
class _Trail:
    """The derivation steps of one effect, in order."""

    steps: list[dict[str, Any]] = field(default_factory=list)
    derived: bool = False

    def add(
        self,
        method: str,
        inputs: Sequence[str],
        value: float,
        *,
        assumptions: Mapping[str, Any] | None = None,
        reference: str = "",
        derived: bool = False,
    ) -> None:
        self.steps.append(
            {
                "method": method,
                "inputs": ";".join(inputs),
                "assumptions": json.dumps(dict(assumptions or {}), sort_keys=True),
                "value": float(value),
                "reference": reference,
            }
        )
        self.derived = self.derived or derived

    def extend(self, other: _Trail) -> None:
        self.steps.extend(other.steps)
        self.derived = self.derived or other.derived


def _cells(table: str, row: Mapping[str, Any], *columns: str) -> list[str]:
    return [f"{table}:{int(row[ROW])}:{c}" for c in columns]


def _num(row: Mapping[str, Any] | None, column: str) -> float | None:
    if row is None:
        return None
    value = row.get(column)
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def _req(row: Mapping[str, Any], column: str) -> float:
    """A number the caller has checked is there."""
    value = _num(row, column)
    if value is None:
        raise ValueError(f"{column} is blank")
    return value


def _p_usable(row: Mapping[str, Any], estimate: float) -> bool:
    """A p-value gives an SE only strictly inside (0, 1) and for a non-zero estimate."""
    p = _num(row, "p_value")
    return p is not None and 0 < p < 1 and estimate != 0


def _derived_value(result: Any, attribute: str = "value") -> float:
    return float(np.asarray(getattr(result, attribute)).ravel()[0])


# --------------------------------------------------------------------------- arm statistics
@dataclass
class _ArmStat:
    """Mean, SD and n of one arm's measure, with the steps that produced them."""

    mean: float
    sd: float
    n: float
    trail: _Trail
    cells: list[str]


@dataclass(frozen=True)
class _ArmN:
    """An arm's randomized n from arms.csv and the cell it came from."""

    value: float | None
    cells: tuple[str, ...] = ()


def _arm_n(
    row: Mapping[str, Any], arm_n: _ArmN | None, trail: _Trail, table: str
) -> tuple[float | None, list[str]]:
    """The arm's n and the cell it came from (this row's, else arms.csv's randomized n)."""
    n = _num(row, "n")
    if n is None and arm_n is not None and arm_n.value is not None:
        trail.add(
            "n_from_randomized",
            arm_n.cells,
            arm_n.value,
            assumptions={"n": "n randomized (arms.csv), as the report gives no analysed n"},
        )
        return arm_n.value, list(arm_n.cells)
    return n, _cells(table, row, "n")


def _arm_stat(
    row: Mapping[str, Any] | None, arm_n: _ArmN | None, table: str = "arm_outcomes.csv"
) -> _ArmStat | None:
    """Mean and SD of one reported arm statistic, back-calculating what is missing.

    Notes
    -----
    Preference for the SD: reported SD; SD from SE (SD = SE sqrt(n)); SE from a CI
    (Handbook 6.5.2.2, t quantile with n - 1 df); SE from the within-arm p-value of a change
    (Handbook 6.5.2.3). A median with quartiles gives mean and SD by Wan et al. (2014).
    """
    if row is None:
        return None
    trail = _Trail()
    n, n_cells = _arm_n(row, arm_n, trail, table)
    mean, sd = _num(row, "mean"), _num(row, "sd")
    cells = _cells(table, row, "mean") if mean is not None else []
    sd_cells = _cells(table, row, "sd") if sd is not None else []  # not an SD from quartiles
    quartiles = all(_num(row, c) is not None for c in ("median", "q1", "q3"))
    if mean is None and quartiles and n is not None and n >= 5:
        # Wan et al. need both quartiles (a median alone gives nothing) and n >= 5.
        result: Any = conversions.mean_sd_from_median(
            q1=_req(row, "q1"), median=_req(row, "median"), q3=_req(row, "q3"), n=n
        )
        mean = _derived_value(result)
        cells = _cells(table, row, "median", "q1", "q3")
        trail.add(
            result.method, cells, mean, assumptions=result.assumptions,
            reference=result.reference, derived=True,
        )  # fmt: skip
        if sd is None and getattr(result, "sd", None) is not None:
            sd = _derived_value(result, "sd")
            cells = cells + n_cells
    if mean is None or n is None or not math.isfinite(mean) or n < 2:
        return None  # one man's value has no SD or SE (_why_not names the reason)
    if sd is not None:
        return _ArmStat(mean, sd, n, trail, cells + sd_cells)
    se: float | None = None
    se_cells: list[str] = []
    if _num(row, "se") is not None:
        se, se_cells = _num(row, "se"), _cells(table, row, "se")
    elif _num(row, "ci_low") is not None and _num(row, "ci_high") is not None and n > 1:
        result = conversions.se_from_ci(_req(row, "ci_low"), _req(row, "ci_high"), df=n - 1)
        se, se_cells = _derived_value(result), _cells(table, row, "ci_low", "ci_high")
        trail.add(
            result.method, se_cells, se, assumptions=result.assumptions,
            reference=result.reference, derived=True,
        )  # fmt: skip
    elif row.get("measure") in ("change", "percent_change") and _p_usable(row, mean) and n > 1:
        # A within-arm p tests the change against zero; for levels it means nothing.
        result = conversions.se_from_p(mean, _req(row, "p_value"), df=n - 1)
        se, se_cells = _derived_value(result), _cells(table, row, "mean", "p_value")
        trail.add(
            result.method, se_cells, se, assumptions=result.assumptions,
            reference=result.reference, derived=True,
        )  # fmt: skip
    if se is None:
        return None
    result = conversions.sd_from_se(se, n)
    sd = _derived_value(result)
    trail.add(
        result.method, se_cells, sd, assumptions=result.assumptions,
        reference=result.reference, derived=True,
    )  # fmt: skip
    return _ArmStat(mean, sd, n, trail, cells + se_cells)


def _change_from_baseline_final(base: _ArmStat, final: _ArmStat, r: float) -> _ArmStat:
    """Change mean and its SD from baseline and final values (Handbook 6.5.2.8)."""
    trail = _Trail()
    trail.extend(base.trail)
    trail.extend(final.trail)
    result = conversions.sd_change(base.sd, final.sd, r, r_source=R_SOURCE)
    sd = _derived_value(result)
    cells = base.cells + final.cells
    trail.add(
        result.method, cells, sd, assumptions=result.assumptions,
        reference=result.reference, derived=True,
    )  # fmt: skip
    return _ArmStat(final.mean - base.mean, sd, min(base.n, final.n), trail, cells)


def _percent_from_baseline_final(
    base: _ArmStat, final: _ArmStat, r: float
) -> tuple[float, float, _Trail]:
    """Percent change and its SE by the delta method, from baseline and final means."""
    trail = _Trail()
    trail.extend(base.trail)
    trail.extend(final.trail)
    result = conversions.percent_change(
        base.mean,
        final.mean,
        base.sd / math.sqrt(base.n),
        final.sd / math.sqrt(final.n),
        r,
        r_source=R_SOURCE,
    )
    value, se = _derived_value(result), _derived_value(result, "se")
    trail.add(
        result.method, base.cells + final.cells, value, assumptions=result.assumptions,
        reference=result.reference, derived=True,
    )  # fmt: skip
    return value, se, trail


# --------------------------------------------------------------------------- routes
@dataclass
class _Effect:
    """One effect before the vectorised MD step fills ``yi``/``vi`` for routes b-d."""

    route: str
    trail: _Trail
    yi: float = math.nan
    vi: float = math.nan
    pair: tuple[_ArmStat, _ArmStat] | None = None
    note: str = ""
    # Route c with a between-group p reported beside the arm values: the p-value row and
    # (sd_baseline, sd_final, n) of each arm, to report the r the p-value implies.
    check: tuple[dict[str, Any], list[tuple[float, float, float]]] | None = None


@dataclass
class _Study:
    """Everything reported for one study x outcome, indexed for the routes."""

    rows: dict[tuple[str, float, str], dict[str, Any]]  # (role, timepoint, measure) -> row
    contrasts: list[dict[str, Any]]
    n: dict[str, _ArmN]  # role -> n randomized


def _contrast_effect(row: dict[str, Any], n_total: float | None, allow_p: bool) -> _Effect | None:
    """Route a (SE or CI reported) or, with ``allow_p``, route e (SE from the p-value)."""
    estimate = _num(row, "estimate")
    if estimate is None:
        return None
    trail = _Trail()
    cells = _cells("contrasts.csv", row, "estimate")
    df = n_total - 2 if n_total is not None and n_total > 2 else None
    se, route = _num(row, "se"), "a"
    if se is not None:
        cells = cells + _cells("contrasts.csv", row, "se")
    elif _num(row, "ci_low") is not None and _num(row, "ci_high") is not None:
        level = _num(row, "ci_level") or 0.95
        result: Any = conversions.se_from_ci(
            _req(row, "ci_low"), _req(row, "ci_high"), df=df, level=level
        )
        se = _derived_value(result)
        cells = cells + _cells("contrasts.csv", row, "ci_low", "ci_high")
        trail.add(result.method, cells, se, assumptions=result.assumptions,
                  reference=result.reference, derived=True)  # fmt: skip
    elif allow_p and _p_usable(row, estimate) and row.get("p_value_bound") != ">":
        # p < x gives an upper bound of the SE (a conservative weight); p > x would give a
        # lower bound, which would overstate the weight, so it is not used.
        bound = row.get("p_value_bound") or "="
        result = conversions.se_from_p(estimate, _req(row, "p_value"), df=df, bound=bound)
        se, route = _derived_value(result), "e"
        assumptions = {**result.assumptions, **_bound_note(bound)}
        cells = cells + _cells("contrasts.csv", row, "p_value")
        trail.add(result.method, cells, se, assumptions=assumptions,
                  reference=result.reference, derived=True)  # fmt: skip
    else:
        return None
    if not se > 0:
        return None
    trail.add("reported_difference", cells, estimate, assumptions={"route": route})
    return _Effect(route, trail, yi=estimate, vi=se * se)  # se**2 raises OverflowError near 1e200


def _pair(study: _Study, timepoint: float, measure: str) -> tuple[_ArmStat, _ArmStat] | None:
    stats = [
        _arm_stat(study.rows.get((role, timepoint, measure)), study.n.get(role))
        for role in ("treatment", "control")
    ]
    if stats[0] is None or stats[1] is None:
        return None
    return stats[0], stats[1]


def _baseline(study: _Study, role: str) -> dict[str, Any] | None:
    return study.rows.get((role, 0.0, "baseline")) or study.rows.get((role, 0.0, "final"))


def _effect_for(
    study: _Study, timepoint: float, scale: str, r: float, total_n: _TotalN | None = None
) -> _Effect | None:
    """Try routes a-e in order for one scale; ``None`` when nothing numeric is reported."""
    measure = {"absolute": "difference_in_change", "percent": "difference_in_percent_change"}
    arm_measure = {"absolute": "change", "percent": "percent_change"}[scale]
    contrasts = [
        c for c in study.contrasts
        if c["measure"] == measure[scale] and float(c["timepoint_months"]) == timepoint
    ]  # fmt: skip
    n_total = None
    n_t, n_c = study.n.get("treatment"), study.n.get("control")
    if n_t and n_c and n_t.value and n_c.value:
        n_total = n_t.value + n_c.value
    for row in contrasts:  # a
        effect = _contrast_effect(row, n_total, allow_p=False)
        if effect is not None:
            return effect
    pair = _pair(study, timepoint, arm_measure)  # b
    if pair is not None:
        trail = _Trail()
        trail.extend(pair[0].trail)
        trail.extend(pair[1].trail)
        return _Effect("b", trail, pair=pair)
    bases = [
        _arm_stat(_baseline(study, role), study.n.get(role)) for role in ("treatment", "control")
    ]
    finals = _pair(study, timepoint, "final")
    usable = bases[0] is not None and bases[1] is not None
    if usable and scale == "percent" and min(b.mean for b in bases if b is not None) <= 0:
        usable = False  # no percent change from a baseline <= 0 (_why_not says so)
    if finals is not None and usable:  # c
        if scale == "absolute":
            changes = (
                _change_from_baseline_final(bases[0], finals[0], r),
                _change_from_baseline_final(bases[1], finals[1], r),
            )
            trail = _Trail()
            trail.extend(changes[0].trail)
            trail.extend(changes[1].trail)
            reported_p = next((c for c in contrasts if _num(c, "estimate") is None
                               and _num(c, "p_value") is not None
                               and (c.get("p_value_bound") or "=") == "="), None)  # fmt: skip
            sds = [(b.sd, f.sd, min(b.n, f.n))
                   for b, f in ((bases[0], finals[0]), (bases[1], finals[1]))]  # fmt: skip
            check = (reported_p, sds) if reported_p is not None else None
            return _Effect("c", trail, pair=changes, check=check)
        (pt, set_, trail_t), (pc, sec, trail_c) = (
            _percent_from_baseline_final(bases[0], finals[0], r),
            _percent_from_baseline_final(bases[1], finals[1], r),
        )
        trail = _Trail()
        trail.extend(trail_t)
        trail.extend(trail_c)
        assumptions = {"route": "c", "vi": "se_t^2 + se_c^2 (independent arms)"}
        cells = [c for stat in (bases[0], finals[0], bases[1], finals[1]) for c in stat.cells]
        trail.add("difference_of_percent_changes", cells, pt - pc, assumptions=assumptions)
        return _Effect("c", trail, yi=pt - pc, vi=set_**2 + sec**2)
    effect = _means_with_p(study, timepoint, scale, n_total, total_n)  # e, no arm n
    if effect is not None:
        return effect
    if finals is not None and scale == "absolute":  # d
        trail = _Trail()
        trail.extend(finals[0].trail)
        trail.extend(finals[1].trail)
        note = "difference in final values: no baseline or change reported"
        return _Effect("d", trail, pair=finals, note=note)
    if scale == "absolute":
        for row in study.contrasts:  # a reported difference in final values
            if (
                row["measure"] == "difference_in_final"
                and float(row["timepoint_months"]) == timepoint
            ):
                effect = _contrast_effect(row, n_total, allow_p=True)
                if effect is not None:
                    effect.route, effect.note = "d", "reported difference in final values"
                    return effect
    for row in contrasts:  # e
        effect = _contrast_effect(row, n_total, allow_p=True)
        if effect is not None:
            return effect
    return None


@dataclass(frozen=True)
class _TotalN:
    """A total analysed n that a report gives for both arms together (contrasts.csv
    ``n_analysed``), not per arm."""

    n: float
    cells: tuple[str, ...] = ()
    source: str = ""


def _bound_note(bound: str) -> dict[str, str]:
    """Ledger note for a p-value given as a bound (only ``=`` and ``<`` are ever used)."""
    if bound == "<":
        text = ("p < x means |z| > z_x, so the true SE is at most |estimate| / z_x: the SE "
                "used is an upper bound (less weight)")  # fmt: skip
        return {"conservative": text}
    return {}


def _p_rows(study: _Study, timepoint: float, scale: str) -> list[tuple[dict[str, Any], bool]]:
    """Between-group p-values without an estimate, usable for ``scale`` at ``timepoint``.

    Returns ``(row, borrowed)`` pairs: a p of the same scale first; on the percent scale a
    p of the difference in absolute change follows, ``borrowed`` = True. A p given as a
    lower bound (``p > x``) would give an SE that overstates the weight and is never used.
    """
    same = {"absolute": "difference_in_change", "percent": "difference_in_percent_change"}
    usable = [
        c for c in study.contrasts
        if float(c["timepoint_months"]) == timepoint and _num(c, "estimate") is None
        and (p := _num(c, "p_value")) is not None and 0 < p < 1
        and (c.get("p_value_bound") or "=") in ("=", "<")
    ]  # fmt: skip
    rows = [(c, False) for c in usable if c["measure"] == same[scale]]
    if scale == "percent":
        rows += [(c, True) for c in usable if c["measure"] == "difference_in_change"]
    return rows


@dataclass(frozen=True)
class _ArmChange:
    """One arm's mean change (or percent change) from its reported means."""

    value: float
    cells: list[str]
    method: str
    assumptions: dict[str, Any]


def _arm_change_from_means(
    study: _Study, role: str, timepoint: float, scale: str
) -> _ArmChange | None:
    """An arm's mean change or percent change from means alone (no SD or n needed).

    Notes
    -----
    The mean of the changes equals the change of the means (final mean minus baseline mean)
    when both means are taken on the same men; the percent change of the arm means
    (100 (final - baseline) / baseline) is a ratio of means, not the mean of each man's
    percent change (the two differ when baselines vary between men).
    """
    measure = {"absolute": "change", "percent": "percent_change"}[scale]
    table = "arm_outcomes.csv"
    reported = study.rows.get((role, timepoint, measure))
    if reported is not None and _num(reported, "mean") is not None:
        return _ArmChange(_req(reported, "mean"), _cells(table, reported, "mean"),
                          f"reported_arm_mean_{measure}", {"arm_role": role})  # fmt: skip
    base, final = _baseline(study, role), study.rows.get((role, timepoint, "final"))
    b, f = _num(base, "mean"), _num(final, "mean")
    if base is None or final is None or b is None or f is None:
        return None
    cells = _cells(table, base, "mean") + _cells(table, final, "mean")
    same_men = "assumed: baseline and final means are of the same men (analysed sample)"
    if scale == "absolute":
        return _ArmChange(f - b, cells, "arm_change_from_means: final mean - baseline mean",
                          {"arm_role": role, "same_men": same_men})  # fmt: skip
    if b == 0:
        return None
    return _ArmChange(
        100 * (f - b) / b, cells,
        "arm_percent_change_from_means: 100 (final mean - baseline mean) / baseline mean",
        {"arm_role": role, "same_men": same_men,
         "ratio_of_means": "percent change of the arm means, not the mean of each man's "
                           "percent change"},
    )  # fmt: skip


def _means_with_p(
    study: _Study, timepoint: float, scale: str, n_total: float | None,
    total_n: _TotalN | None = None,
) -> _Effect | None:  # fmt: skip
    """Route e without arm sample sizes: difference of arm mean changes, SE from the p.

    The estimate is the treatment arm's mean change (or percent change) minus the control
    arm's, from the four arm means (or the reported mean changes); the SE is
    ``|estimate| / z`` with z the normal quantile of the reported between-group p
    (Handbook 6.3.2 and 6.5.2.3), or t with ``n_total - 2`` df when the arms' n are known.

    Notes
    -----
    Used only when routes a-c found nothing, i.e. when the arms give no n (or no SD) to
    weight them. With the df unknown the normal quantile is used: for a given p it is
    smaller than any t quantile, so the SE is the larger (conservative) one; when a total
    analysed n is known from free text (``total_n``) the ledger says by how much a t test
    on ``n - 2`` df would shrink the SE. On the percent scale a p reported for the
    absolute change is borrowed, and the ledger says so.

    References
    ----------
    Higgins JPT et al. (eds). Cochrane Handbook for Systematic Reviews of Interventions,
    version 6.4, sections 6.3.2, 6.5.2.3 and 6.5.2.8.
    """
    p_rows = _p_rows(study, timepoint, scale)
    if not p_rows:
        return None
    found = [_arm_change_from_means(study, role, timepoint, scale)
             for role in ("treatment", "control")]  # fmt: skip
    arms = [a for a in found if a is not None]
    if len(arms) != 2:
        return None
    estimate = arms[0].value - arms[1].value
    if estimate == 0 or not math.isfinite(estimate):
        return None
    direction = {"treatment_lower": -1, "treatment_higher": 1}
    p_rows = [(c, borrowed) for c, borrowed in p_rows
              if direction.get(c.get("direction") or "", 0) * estimate >= 0]  # fmt: skip
    if not p_rows:
        return None  # the means point the other way from the reported direction
    row, borrowed = p_rows[0]
    trail = _Trail()
    reference = f"{HANDBOOK}, sections 6.5.2.3 and 6.5.2.8"
    for arm in arms:
        trail.add(arm.method, arm.cells, arm.value, assumptions=arm.assumptions,
                  reference=reference)  # fmt: skip
    every_cell = arms[0].cells + arms[1].cells
    what = "change" if scale == "absolute" else "percent change"
    trail.add(
        f"difference_in_{what.replace(' ', '_')}_from_arm_means: treatment - control",
        every_cell, estimate,
        assumptions={"route": "e", "n_per_arm": "not reported: the arms cannot be weighted "
                     "by their SDs, so the SE comes from the between-group p"},
        reference=reference,
    )  # fmt: skip
    bound = row.get("p_value_bound") or "="
    p = _req(row, "p_value")
    df = n_total - 2 if n_total is not None and n_total > 2 else None
    result: Any = conversions.se_from_p(estimate, p, df=df, bound=bound)
    se = _derived_value(result)
    assumptions: dict[str, Any] = {**result.assumptions, **_bound_note(bound)}
    assumptions["p_of"] = P_ON_PERCENT_SCALE if borrowed else f"the difference in {what}"
    cells = _cells("contrasts.csv", row, "p_value")
    if bound == "<":
        cells += _cells("contrasts.csv", row, "p_value_bound")
    if df is None:
        note = "normal approximation, df unknown"
        if total_n is not None and total_n.n > 2:
            t_df = total_n.n - 2
            t_se = _derived_value(conversions.se_from_p(estimate, p, df=t_df))
            # a t quantile exceeds the normal one at every df, so the t SE is the smaller
            shrink = 100 * (1 - t_se / se)
            note += (f"; with t on {t_df:g} df (total analysed n = {total_n.n:g}, "
                     f"{total_n.source}) the SE would be {shrink:.1f}% smaller")  # fmt: skip
            assumptions["se_with_t"] = t_se
            cells += list(total_n.cells)
        assumptions["df_note"] = note
    else:
        assumptions["df_source"] = "n randomized per arm (arms.csv), n_total - 2"
    trail.add(result.method, cells, se, assumptions=assumptions,
              reference=f"{HANDBOOK}, sections 6.3.2 and 6.5.2.3", derived=True)  # fmt: skip
    note = (
        f"difference in {what} from the arm means (arm n not reported); SE from the "
        f"between-group p ({'z, df unknown' if df is None else f't, {df:g} df'})"
    )
    if borrowed:
        note += "; p of the absolute change assumed to hold on the percent scale"
    # se * se, not se**2: a float too large to square gives inf (listed by _why_unusable)
    # where ** raises OverflowError
    return _Effect("e", trail, yi=estimate, vi=se * se, note=note)


def _fill_mean_differences(effects: list[_Effect]) -> None:
    """Routes b-d: one vectorised ``escalc("MD")`` call for every arm pair."""
    pending = [(e, e.pair) for e in effects if e.pair is not None]
    if not pending:
        return
    t = [pair[0] for _, pair in pending]
    c = [pair[1] for _, pair in pending]
    es = escalc(
        "MD",
        m1i=np.array([a.mean for a in t]), sd1i=np.array([a.sd for a in t]),
        n1i=np.array([a.n for a in t]), m2i=np.array([a.mean for a in c]),
        sd2i=np.array([a.sd for a in c]), n2i=np.array([a.n for a in c]),
    )  # fmt: skip
    method = {"b": "md_of_changes", "c": "md_of_changes", "d": "md_of_final_values"}
    for (effect, (arm_t, arm_c)), yi, vi in zip(
        pending, np.asarray(es.yi), np.asarray(es.vi), strict=True
    ):
        effect.yi, effect.vi = float(yi), float(vi)
        effect.trail.add(
            method[effect.route],
            arm_t.cells + arm_c.cells,
            effect.yi,
            assumptions={
                "route": effect.route,
                "vi": "sd_t^2/n_t + sd_c^2/n_c",
                "n_treatment": arm_t.n,
                "n_control": arm_c.n,
            },
            reference="metafor escalc(measure='MD'); Handbook 6.5.1.1",
        )
        if effect.check is not None:
            _implied_r(effect, n_total=arm_t.n + arm_c.n)


def _implied_r(effect: _Effect, n_total: float) -> None:
    """Ledger step: the pre-post r at which route c's SE matches a reported p-value.

    Notes
    -----
    With the same r in both arms, ``vi(r) = sum_arms (sd_b^2 + sd_f^2 - 2 r sd_b sd_f) / n``
    is linear in r; the SE that the reported between-group p gives for the estimate
    (Handbook 6.5.2.3) fixes r. The step is a check on the imputed r (Handbook 6.5.2.8
    suggests borrowing r from such results); the effect keeps the configured r.
    """
    assert effect.check is not None
    row, sds = effect.check
    p = _num(row, "p_value")
    if p is None or not 0 < p < 1 or effect.yi == 0:
        return
    df = n_total - 2  # at least 2: _arm_stat gives no arm of fewer than 2 men
    se = _derived_value(conversions.se_from_p(effect.yi, p, df=df))
    constant = sum((sb**2 + sf**2) / n for sb, sf, n in sds)
    slope = sum(2 * sb * sf / n for sb, sf, n in sds)
    if slope <= 0:
        return
    effect.trail.add(
        "implied_r_check",
        _cells("contrasts.csv", row, "p_value"),
        (constant - se**2) / slope,
        assumptions={"used_for_effect": False, "same_r_in_both_arms": True,
                     "se_from_p": se, "test": "t", "df": df,
                     "r_in_range": bool(-1 <= (constant - se**2) / slope <= 1)},
        reference=f"{HANDBOOK}, sections 6.5.2.3 and 6.5.2.8",
    )  # fmt: skip


# --------------------------------------------------------------------------- effects
def _rob_overall(rob: pd.DataFrame) -> dict[str, str]:
    overall = rob.loc[rob["domain"] == "overall"]
    return dict(zip(overall["study_id"], overall["judgement"], strict=True))


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {k: (None if v is pd.NA else v) for k, v in rec.items()} for rec in frame.to_dict("records")
    ]


def compute_effects(
    arm_outcomes: pd.DataFrame,
    arms: pd.DataFrame,
    contrasts: pd.DataFrame,
    studies: pd.DataFrame,
    risk_of_bias: pd.DataFrame,
    *,
    r: float,
    outcomes: Sequence[str],
    scales: Sequence[str] = ("percent", "absolute"),
    units: Mapping[str, str] | None = None,
    level: float = 0.95,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """One treatment-minus-control effect per controlled study x outcome x scale.

    Parameters
    ----------
    arm_outcomes
        Arm-level statistics in canonical units (:func:`canonical_units`), with
        ``source_row``.
    arms, contrasts, studies, risk_of_bias
        Raw tables as read by :func:`analysis.io.read_table` (with ``source_row``).
        Contrasts are converted to canonical units here.
    r
        Pre-post correlation for route c (Handbook 6.5.2.8).
    outcomes, scales
        What to compute.
    units
        Canonical unit per outcome for the contrasts.
    level
        Level of the per-study CI written beside ``yi`` (normal quantile).

    A contrast's ``n_analysed`` (a total for both arms, when the report gives no arm n) is
    never used for an estimate or its SE; route e's ledger says how a t test on ``n - 2``
    df would change the SE, citing the cell.

    Returns
    -------
    effects, derivations, reported_in_words, not_estimable : pandas.DataFrame
        Columns as in docs/architecture.md ("Processed files"); ``effects`` also carries
        ``route`` (a-e), ``timepoint_months`` and ``note``. ``not_estimable`` lists each
        study x outcome x scale with numbers but no effect, and why (``MISSING_COLUMNS``).

    Notes
    -----
    The follow-up used is the latest timepoint with any numeric result for the outcome.
    ``derived`` is true when any value was imputed (r) or back-calculated (SD from SE, SE
    from CI or p, mean from median). Route d (final values only) estimates a different
    quantity from a change score; its effects carry a note and ``route = "d"``. Studies
    with several arms on one side use the first arm in sorted order (logged in the note).

    References
    ----------
    Higgins JPT et al. (eds). Cochrane Handbook for Systematic Reviews of Interventions,
    version 6.4, chapter 6 (6.5.2.2-6.5.2.3, 6.5.2.8).
    """
    units = dict(units or {})
    contrasts = canonical_units(contrasts, units, value_columns=CONTRAST_VALUE_COLUMNS)
    controlled = studies.loc[~studies["design"].isin(["case_report", "case_series"])]
    info = {rec["study_id"]: rec for rec in _records(controlled)}
    rob = _rob_overall(risk_of_bias)
    wanted = set(outcomes)

    roles, notes = _choose_arms(arms, contrasts)
    notes_n = _total_n_from_contrasts(contrasts)

    grouped: dict[tuple[str, str], _Study] = {}
    arm_role = {(s, a): role for s, v in roles.items() for role, (a, _) in v.items()}
    missing = []
    for rec in _records(arm_outcomes):
        role = arm_role.get((rec["study_id"], rec["arm"]))
        if rec["study_id"] not in info or role is None or rec["outcome"] not in wanted:
            continue
        key = (rec["study_id"], rec["outcome"])
        study = grouped.setdefault(key, _Study({}, [], {}))
        study.rows[(role, float(rec["timepoint_months"]), rec["measure"])] = rec
    words = []
    for rec in _records(contrasts):
        if rec["study_id"] not in info or rec["outcome"] not in wanted:
            continue
        if rec["measure"] == "reported_in_words":
            words.append(rec)
            continue
        key = (rec["study_id"], rec["outcome"])
        grouped.setdefault(key, _Study({}, [], {})).contrasts.append(rec)

    made: list[tuple[tuple[str, str, str], float, _Effect]] = []
    for (study_id, outcome), study in sorted(grouped.items()):
        study.n = {role: n for role, (_, n) in roles.get(study_id, {}).items()}
        times = [t for (_, t, m) in study.rows if t > 0 and m != "baseline"]
        times += [float(c["timepoint_months"]) for c in study.contrasts]
        if not times:
            continue
        timepoint = max(times)
        for scale in scales:
            effect = _effect_for(study, timepoint, scale, r, notes_n.get(study_id))
            if effect is not None:
                made.append(((study_id, outcome, scale), timepoint, effect))
            else:
                missing.append({"study_id": study_id, "label": info[study_id]["label"],
                                "evidence_line": info[study_id]["evidence_line"],
                                "outcome": outcome, "scale": scale, "timepoint_months": timepoint,
                                "reason": _why_not(study, timepoint, scale)})  # fmt: skip
    _fill_mean_differences([e for _, _, e in made])

    z = _normal_quantile(level)
    rows, ledger = [], []
    for (study_id, outcome, scale), timepoint, effect in made:
        unusable = _why_unusable(effect)
        if unusable:  # computed but without a usable variance: listed, never dropped
            missing.append({"study_id": study_id, "label": info[study_id]["label"],
                            "evidence_line": info[study_id]["evidence_line"],
                            "outcome": outcome, "scale": scale, "timepoint_months": timepoint,
                            "reason": unusable})  # fmt: skip
            continue
        ids = []
        for step, entry in enumerate(effect.trail.steps, start=1):
            derivation_id = f"{study_id}:{outcome}:{scale}:{step:02d}"
            ids.append(derivation_id)
            ledger.append({"derivation_id": derivation_id, "study_id": study_id,
                           "outcome": outcome, "scale": scale, "step": step, **entry})  # fmt: skip
        study = grouped[(study_id, outcome)]
        unit: str | None = "percent"
        if scale == "absolute":
            unit = next(
                (row.get("unit_canonical") for row in [*study.rows.values(), *study.contrasts]
                 if row.get("unit_canonical")), None,
            )  # fmt: skip
        n_t: float | None
        n_c: float | None
        if effect.pair:
            n_t, n_c = effect.pair[0].n, effect.pair[1].n
        else:
            n_t, n_c = (getattr(study.n.get(role), "value", None)
                        for role in ("treatment", "control"))  # fmt: skip
        sei = math.sqrt(effect.vi)
        meta = info[study_id]
        note = "; ".join(x for x in (effect.note, notes.get(study_id, "")) if x)
        rows.append({
            "study_id": study_id, "label": meta["label"], "year": meta["year"],
            "evidence_line": meta["evidence_line"], "design": meta["design"],
            "outcome": outcome, "scale": scale, "unit": unit, "yi": effect.yi,
            "vi": effect.vi, "sei": sei, "ci_low": effect.yi - z * sei,
            "ci_high": effect.yi + z * sei, "n_treatment": n_t, "n_control": n_c,
            "derived": effect.trail.derived, "derivation_ids": ";".join(ids),
            "rob_overall": rob.get(study_id), "route": effect.route,
            "timepoint_months": timepoint, "note": note,
        })  # fmt: skip
    effects = pd.DataFrame(rows, columns=EFFECT_COLUMNS)
    effects["n_treatment"] = effects["n_treatment"].astype("Int64")
    effects["n_control"] = effects["n_control"].astype("Int64")
    derivations = pd.DataFrame(ledger, columns=LEDGER_COLUMNS)
    in_words = pd.DataFrame(
        [{**{c: w.get(c) for c in WORDS_COLUMNS}, "label": info[w["study_id"]]["label"],
          "evidence_line": info[w["study_id"]]["evidence_line"]} for w in words],
        columns=WORDS_COLUMNS,
    )  # fmt: skip
    return effects, derivations, in_words, pd.DataFrame(missing, columns=MISSING_COLUMNS)


def _choose_arms(
    arms: pd.DataFrame, contrasts: pd.DataFrame
) -> tuple[dict[str, dict[str, tuple[str, _ArmN]]], dict[str, str]]:
    """The treatment and the control arm of each study, with notes on the choice.

    The arms a study's contrasts compare are used; otherwise the first arm of each role in
    sorted order. Other arms are left out (a note says which arm was used).
    """
    named: dict[str, tuple[Any, Any]] = {}
    for rec in _records(contrasts.sort_values(["study_id", ROW])):
        named.setdefault(rec["study_id"], (rec.get("treatment_arm"), rec.get("control_arm")))
    by_study: dict[str, list[dict[str, Any]]] = {}
    for rec in _records(arms.sort_values(["study_id", "arm"])):
        by_study.setdefault(rec["study_id"], []).append(rec)
    roles: dict[str, dict[str, tuple[str, _ArmN]]] = {}
    notes: dict[str, str] = {}
    for study_id, recs in by_study.items():
        pair = named.get(study_id, (None, None))
        chosen: dict[str, tuple[str, _ArmN]] = {}
        for role, name in zip(("treatment", "control"), pair, strict=True):
            candidates = [r for r in recs if r["role"] == role]
            if not candidates:
                continue
            pick = next((r for r in candidates if r["arm"] == name), candidates[0])
            if len(candidates) > 1:
                why = "named by its contrasts" if pick["arm"] == name else "first in sorted order"
                text = f"several {role} arms: {pick['arm']} used ({why})"
                notes[study_id] = "; ".join(x for x in (notes.get(study_id), text) if x)
            n = pick.get("n_randomized")
            cells = (f"arms.csv:{int(pick[ROW])}:n_randomized",) if ROW in pick else ()
            chosen[role] = (pick["arm"], _ArmN(None if n is None else float(n), cells))
        roles[study_id] = chosen
    return roles, notes


def _total_n_from_contrasts(contrasts: pd.DataFrame) -> dict[str, _TotalN]:
    """Each study's total analysed n (contrasts.csv ``n_analysed``), citing its cell; the
    first row in file order when a study states it on several contrasts."""
    out: dict[str, _TotalN] = {}
    if "n_analysed" not in contrasts:
        return out
    for rec in _records(contrasts.sort_values(ROW) if ROW in contrasts else contrasts):
        n = _num(rec, "n_analysed")
        if n is None or rec["study_id"] in out:
            continue
        cell = f"contrasts.csv:{int(rec[ROW])}:n_analysed" if ROW in rec else ""
        source = f"{rec.get('source', '')}, {rec.get('location', '')}".strip(", ")
        out[rec["study_id"]] = _TotalN(n, (cell,) if cell else (), source)
    return out


def _why_unusable(effect: _Effect) -> str:
    """Why a computed effect cannot be weighted ('' when it can)."""
    if not (math.isfinite(effect.yi) and math.isfinite(effect.vi)):
        return ("the effect or its variance is not a finite number (a value too large to "
                "compute with)")  # fmt: skip
    if effect.vi <= 0:
        return ("zero variance: the SDs or SEs of the arms are 0, so the effect has no "
                "weight (check the reported spread)")  # fmt: skip
    return ""


def _blocking_value(study: _Study, timepoint: float, scale: str) -> str:
    """A reported value that stops every route, named ('' when there is none).

    Checked before the generic reasons of :func:`_why_not`, so that an effect blocked by a
    p-value of 0 or 1, a zero baseline or an arm of one man is not reported as missing
    data."""
    contrasts = [c for c in study.contrasts if float(c["timepoint_months"]) == timepoint]
    rows = [r for (_, t, _), r in study.rows.items() if t == timepoint]
    spread = ("se", "ci_low", "sd")
    candidates = [c for c in contrasts if _num(c, "estimate") is not None]
    candidates += [r for r in rows if r.get("measure") in ("change", "percent_change")
                   and _num(r, "mean") is not None]  # fmt: skip
    for row in candidates:
        p = _num(row, "p_value")
        if p in (0.0, 1.0) and all(_num(row, c) is None for c in spread):
            return (f"a p-value of {p:g} gives no SE (only 0 < p < 1 does), and no SD, SE or "
                    "CI is reported beside it")  # fmt: skip
    for row in rows:
        n = _num(row, "n")
        if n is not None and n < 2:
            return f"an arm of n = {n:g}: no SD or SE can be estimated from fewer than 2 men"
    if scale == "percent":
        for role in ("treatment", "control"):
            base = _baseline(study, role)
            mean = _num(base, "mean")
            if mean is not None and mean <= 0:
                return (f"a baseline mean of {mean:g}: a percent change needs a baseline "
                        "above 0 (the absolute scale is unaffected)")  # fmt: skip
    return ""


def _why_not(study: _Study, timepoint: float, scale: str) -> str:
    """Why no effect could be computed for one study x outcome x scale (for the report)."""
    blocking = _blocking_value(study, timepoint, scale)
    if blocking:
        return blocking
    if any(_num(c, "estimate") is None and _num(c, "p_value") is not None
           for c in study.contrasts):  # fmt: skip
        words = "a between-group p-value without an estimate; "
    else:
        words = ""
    wanted = {"absolute": ("change", "final"), "percent": ("percent_change", "final")}[scale]
    rows = {role: [r for (rl, t, m), r in study.rows.items()
                   if rl == role and t == timepoint and m in wanted]
            for role in ("treatment", "control")}  # fmt: skip
    absent = [role for role, found in rows.items() if not found]
    if len(absent) == 2:
        return words + f"no arm-level {' or '.join(wanted)} values at {timepoint:g} months"
    if absent:
        return words + f"no {absent[0]} arm values at {timepoint:g} months"
    every = [r for found in rows.values() for r in found]
    no_n = [r for r in every if _num(r, "n") is None]
    arm_n = [study.n.get(role) for role in ("treatment", "control")]
    if no_n and not all(a is not None and a.value for a in arm_n):
        return words + "arm sample sizes not reported (arm_outcomes.csv n, arms.csv n_randomized)"
    spread = ("sd", "se", "ci_low", "p_value")
    if any(all(_num(r, c) is None for c in spread) for r in every):
        return words + "no SD, SE, CI or p-value for the arm values"
    if scale == "percent":
        return words + "no percent change and no baseline with final values"
    return words + "no baseline value for the final values"


def _normal_quantile(level: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + level / 2))


# --------------------------------------------------------------------------- hormones
HORMONE_COLUMNS = [
    "study_id", "label", "evidence_line", "arm", "role", "compared", "outcome", "unit",
    "unit_reported", "factor_baseline", "factor_follow_up", "baseline", "follow_up", "months",
    "change", "percent_change", "follow_up_measure", "source_rows", "sources",
]  # fmt: skip


def hormone_changes(
    arm_outcomes: pd.DataFrame,
    arms: pd.DataFrame,
    studies: pd.DataFrame,
    contrasts: pd.DataFrame,
    *,
    hormones: Sequence[str] = ("estradiol", "testosterone"),
) -> pd.DataFrame:
    """Each controlled-study arm's hormone level at baseline and at its last follow-up.

    Parameters
    ----------
    arm_outcomes
        Arm-level statistics in canonical units (:func:`canonical_units`, with ``unit``
        as reported, ``unit_canonical`` and ``source_row``).
    arms, studies, contrasts
        Raw tables (``contrasts`` names the arms a study's effects compare).
    hormones
        Outcomes tabulated.

    Returns
    -------
    pandas.DataFrame
        One row per study x arm x hormone with a baseline mean and a later one
        (``HORMONE_COLUMNS``): values in the canonical unit (``unit``), the reported unit
        and the factor that converted each value, months of the follow-up, change and
        percent change, and the ``arm_outcomes.csv`` rows used. ``compared`` is true for the
        arms the study's effects compare (:func:`compute_effects`).

    Notes
    -----
    The follow-up is the latest timepoint with a final mean (or, failing that, a reported
    mean change, follow-up = baseline + change). Arm means only: no SD or n is needed, so
    the table also covers arms that give no effect. Percent change is of the arm means.
    """
    controlled = studies.loc[~studies["design"].isin(["case_report", "case_series"])]
    info = {rec["study_id"]: rec for rec in _records(controlled)}
    role_of = {(r["study_id"], r["arm"]): r["role"] for r in _records(arms)}
    roles, _ = _choose_arms(arms, contrasts)
    compared = {(s, arm) for s, v in roles.items() for arm, _ in v.values()}
    wanted = set(hormones)
    by_arm: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for rec in _records(arm_outcomes):
        if rec["study_id"] in info and rec["outcome"] in wanted and _num(rec, "mean") is not None:
            by_arm.setdefault((rec["study_id"], rec["arm"], rec["outcome"]), []).append(rec)
    out = []
    for (study_id, arm, outcome), recs in sorted(by_arm.items()):
        base = next((r for r in recs if float(r["timepoint_months"]) == 0
                     and r["measure"] in ("baseline", "final")), None)  # fmt: skip
        later = [r for r in recs if float(r["timepoint_months"]) > 0
                 and r["measure"] in ("final", "change")]  # fmt: skip
        if base is None or not later:
            continue
        follow = max(later, key=lambda r: (float(r["timepoint_months"]), r["measure"] == "final"))
        b = _req(base, "mean")
        f = _req(follow, "mean") if follow["measure"] == "final" else b + _req(follow, "mean")
        unit = base.get("unit_canonical") or base.get("unit")
        reported = sorted({str(r.get("unit")) for r in (base, follow)})
        factors = [_factor(str(r["unit"]), str(unit), outcome)
                   if r.get("unit") != unit else 1.0 for r in (base, follow)]  # fmt: skip
        out.append({
            "study_id": study_id, "label": info[study_id]["label"],
            "evidence_line": info[study_id]["evidence_line"], "arm": arm,
            "role": role_of.get((study_id, arm)), "compared": (study_id, arm) in compared,
            "outcome": outcome, "unit": unit, "unit_reported": ";".join(reported),
            "factor_baseline": factors[0], "factor_follow_up": factors[1], "baseline": b,
            "follow_up": f, "months": float(follow["timepoint_months"]), "change": f - b,
            "percent_change": 100 * (f - b) / b if b else math.nan,
            "follow_up_measure": follow["measure"],
            "source_rows": ";".join(f"arm_outcomes.csv:{int(r[ROW])}" for r in (base, follow)),
            "sources": ";".join(sorted({str(r.get("source")) for r in (base, follow)
                                        if r.get("source")})),
        })  # fmt: skip
    return pd.DataFrame(out, columns=HORMONE_COLUMNS)
