"""Pooling by group, the sensitivity grid, leave-one-out and BMD against estradiol.

Pure functions on the effects frame (one row per study x outcome x scale, see
:func:`analysis.harmonize.compute_effects`). Each evidence line is pooled only with its own
kind: groups are evidence_line x outcome x scale.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from analysis.batch import rma_batch
from analysis.influence import leave_one_out as _leave_one_out
from analysis.pooling import rma
from analysis.warnings import MetaAnalysisWarning

GROUP = ["evidence_line", "outcome", "scale"]
POOLED_COLUMNS = [
    "evidence_line", "outcome", "scale", "unit", "k", "pooled", "method", "test", "level",
    "estimate", "se", "ci_low", "ci_high", "pvalue", "tau2", "tau2_ci_low", "tau2_ci_high",
    "i2", "h2", "q", "q_df", "q_pvalue", "pi_low", "pi_high", "converged", "note",
]  # fmt: skip
WEIGHT_COLUMNS = [*GROUP, "study_id", "label", "weight"]
GRID_COLUMNS = [
    "outcome", "evidence_line", "scale", "method", "test", "r", "inclusion", "k", "estimate",
    "ci_low", "ci_high", "direction", "excludes_zero", "conclusion_changed",
]  # fmt: skip
INCLUSION = {
    "all": lambda e: e,
    "low_rob_only": lambda e: e.loc[e["rob_overall"] == "low"],
    "no_derived": lambda e: e.loc[~e["derived"].astype(bool)],
}


def effective_test(test: str, adhoc: bool) -> str:
    """The ``rma`` test: Knapp-Hartung with the ad hoc rule becomes ``"adhoc"``.

    Notes
    -----
    The ad hoc rule (Knapp & Hartung 2003; Röver, Knapp & Friede 2015) keeps the
    Knapp-Hartung scale factor from going below 1, so the interval is never narrower than
    the Wald interval, which plain Knapp-Hartung can be when the studies agree more than
    their variances predict.
    """
    return "adhoc" if test == "knha" and adhoc else test


def _fit(yi: np.ndarray, vi: np.ndarray, slab: Sequence[str], **kwargs: Any) -> Any:
    # Recoverable events (tau2 truncated, k = 1) are kept on the result's ``warnings``.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetaAnalysisWarning)
        return rma(yi, vi, slab=list(slab), **kwargs)


def _groups(effects: pd.DataFrame):
    ordered = effects.sort_values([*GROUP, "study_id"], kind="mergesort")
    return ordered.groupby(GROUP, sort=True)


def pool_by_group(
    effects: pd.DataFrame,
    *,
    method: str,
    test: str,
    level: float,
    min_k_prediction_interval: int = 3,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Random-effects meta-analysis of every evidence_line x outcome x scale.

    Parameters
    ----------
    effects
        One row per study x outcome x scale with ``yi`` and ``vi``.
    method, test, level
        Passed to :func:`analysis.pooling.rma` (``test`` already made ``"adhoc"`` by
        :func:`effective_test` where configured).
    min_k_prediction_interval
        Below this k the prediction interval is left empty: tau2 from one or two studies
        says nothing about the distribution of true effects (Handbook 10.10.4.3).

    Returns
    -------
    pooled, weights : pandas.DataFrame
        ``POOLED_COLUMNS`` (k = 1: ``pooled = false`` with the study's own estimate and a
        note) and ``WEIGHT_COLUMNS`` (percent, summing to 100 within a group).

    Notes
    -----
    Case reports never reach this function: only controlled studies have effects, and
    each evidence line is a group of its own, so lines answering different contrasts are
    never pooled together.

    References
    ----------
    Viechtbauer W (2005). J Educ Behav Stat 30:261-293 (REML).
    Knapp G, Hartung J (2003). Stat Med 22:2693-2710.
    IntHout J, Ioannidis JPA, Rovers MM, Goeman JJ (2016). BMJ Open 6:e010247
    (prediction intervals).
    """
    pooled, weights = [], []
    for (line, outcome, scale), group in _groups(effects):
        fit = _fit(group["yi"].to_numpy(float), group["vi"].to_numpy(float),
                   group["study_id"], method=method, test=test, level=level)  # fmt: skip
        notes = list(fit.warnings)
        if not fit.pooled:
            notes.insert(0, "k = 1: not pooled; the study's own estimate and CI")
        pi_low, pi_high = fit.pi_low, fit.pi_high
        if fit.k < min_k_prediction_interval:
            pi_low = pi_high = math.nan
            if fit.pooled:
                notes.append(f"no prediction interval below k = {min_k_prediction_interval}")
        row = {key: getattr(fit, key) for key in POOLED_COLUMNS if hasattr(fit, key)}
        row.update(
            evidence_line=line, outcome=outcome, scale=scale, unit=group["unit"].iloc[0],
            pi_low=pi_low, pi_high=pi_high, note="; ".join(notes), pooled=bool(fit.pooled),
            converged=bool(fit.converged),
        )  # fmt: skip
        pooled.append(row)
        weights.append(
            pd.DataFrame(
                {
                    "evidence_line": line,
                    "outcome": outcome,
                    "scale": scale,
                    "study_id": group["study_id"].to_numpy(),
                    "label": group["label"].to_numpy(),
                    "weight": np.asarray(fit.weights, dtype=float),
                }
            )
        )
    weight_frame = pd.concat(weights) if weights else pd.DataFrame(columns=WEIGHT_COLUMNS)
    return pd.DataFrame(pooled, columns=POOLED_COLUMNS), weight_frame[WEIGHT_COLUMNS]


def small_study_tests(
    effects: pd.DataFrame, *, method: str, test: str, level: float, min_k: int = 10
) -> pd.DataFrame:
    """Egger's regression test (metafor's ``regtest``) in every group with k >= ``min_k``.

    Returns
    -------
    pandas.DataFrame
        evidence_line, outcome, scale, k, stat, pvalue, slope, limit_estimate,
        limit_ci_low, limit_ci_high, note; groups below ``min_k`` get a row saying the test
        was not run.

    Notes
    -----
    Below ten studies the test has too little power to tell asymmetry from chance
    (Handbook 13.3.5.4; Sterne et al. 2011), so it is not run.

    References
    ----------
    Egger M, Davey Smith G, Schneider M, Minder C (1997). BMJ 315:629-634.
    Sterne JAC et al. (2011). BMJ 343:d4002.
    """
    from analysis.bias import egger_test

    rows = []
    for (line, outcome, scale), group in _groups(effects):
        row: dict[str, Any] = {"evidence_line": line, "outcome": outcome, "scale": scale,
                               "k": len(group)}  # fmt: skip
        if len(group) < min_k:
            row["note"] = f"not run: k = {len(group)} < {min_k}"
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", MetaAnalysisWarning)
                fit = egger_test(group["yi"].to_numpy(float), group["vi"].to_numpy(float),
                                 method=method, test=test, level=level)  # fmt: skip
            row.update(stat=fit.stat, pvalue=fit.pvalue, slope=fit.slope,
                       limit_estimate=fit.limit_estimate, limit_ci_low=fit.limit_ci_low,
                       limit_ci_high=fit.limit_ci_high, note="; ".join(fit.warnings))  # fmt: skip
        rows.append(row)
    return pd.DataFrame(rows, columns=[*GROUP, "k", "stat", "pvalue", "slope", "limit_estimate",
                                       "limit_ci_low", "limit_ci_high", "note"])  # fmt: skip


def _direction(estimate: float) -> str:
    if not math.isfinite(estimate):
        return ""
    return "positive" if estimate > 0 else "negative" if estimate < 0 else "zero"


def sensitivity_grid(
    effects_by_r: Mapping[float, pd.DataFrame],
    *,
    primary: Mapping[str, Any],
    methods: Sequence[str],
    tests: Sequence[str],
    inclusions: Sequence[str],
    adhoc: bool,
    level: float,
) -> pd.DataFrame:
    """Repeat every pooled analysis over estimators, tests, r and inclusion sets.

    Parameters
    ----------
    effects_by_r
        Effects computed with each pre-post correlation r of the grid.
    primary
        The primary analysis: ``method``, ``test`` (as configured, ``knha`` or ``z``),
        ``r`` and ``inclusion`` (``"all"``).
    methods, tests, inclusions
        The grid's other axes; ``knha`` follows the ad hoc rule when ``adhoc``.
    adhoc, level
        As in the primary analysis.

    Returns
    -------
    pandas.DataFrame
        ``GRID_COLUMNS``: one row per group and setting with k >= 1. ``direction`` is the
        sign of the estimate, ``excludes_zero`` whether the CI excludes 0, and
        ``conclusion_changed`` whether either differs from the primary analysis of the same
        group (the primary's own row is false).
    """
    cells = []  # every r x inclusion x group, in the grid's row order
    for r, effects in sorted(effects_by_r.items()):
        for inclusion in inclusions:
            subset = INCLUSION[inclusion](effects)
            for (line, outcome, scale), group in _groups(subset):
                cells.append((r, inclusion, line, outcome, scale, group["yi"].to_numpy(float),
                              group["vi"].to_numpy(float)))  # fmt: skip
    # one batch fit (analysis.batch: rma's answers, vectorised) per estimator x test
    fits = {}
    for method in methods:
        for test in tests:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", MetaAnalysisWarning)
                fits[method, test] = rma_batch(
                    [c[5] for c in cells], [c[6] for c in cells], method=method, level=level,
                    test=effective_test(test, adhoc),
                ) if cells else None  # fmt: skip
    rows = []
    for i, (r, inclusion, line, outcome, scale, _yi, _vi) in enumerate(cells):
        for method in methods:
            for test in tests:
                fit = fits[method, test]
                low, high = float(fit.ci_low[i]), float(fit.ci_high[i])
                rows.append({
                    "outcome": outcome, "evidence_line": line, "scale": scale,
                    "method": method, "test": test, "r": r, "inclusion": inclusion,
                    "k": int(fit.k[i]), "estimate": float(fit.estimate[i]), "ci_low": low,
                    "ci_high": high, "direction": _direction(float(fit.estimate[i])),
                    "excludes_zero": bool(low > 0 or high < 0),
                })  # fmt: skip
    grid = pd.DataFrame(rows, columns=GRID_COLUMNS)
    is_primary = (
        (grid["method"] == primary["method"]) & (grid["test"] == primary["test"])
        & np.isclose(grid["r"], primary["r"]) & (grid["inclusion"] == primary["inclusion"])
    )  # fmt: skip
    reference = grid.loc[is_primary, [*GROUP, "direction", "excludes_zero"]]
    joined = grid.merge(reference, on=GROUP, how="left", suffixes=("", "_primary"))
    changed = (joined["direction"] != joined["direction_primary"]) | (
        joined["excludes_zero"] != joined["excludes_zero_primary"]
    )
    grid["conclusion_changed"] = changed.where(joined["direction_primary"].notna(), pd.NA)
    return grid


def leave_one_out_by_group(
    effects: pd.DataFrame, *, method: str, test: str, level: float, min_k: int = 3
) -> pd.DataFrame:
    """Leave-one-out refits (metafor's ``leave1out``) of every group with k >= ``min_k``.

    Returns
    -------
    pandas.DataFrame
        evidence_line, outcome, scale, omitted (study_id), then the columns of
        :func:`analysis.influence.leave_one_out`.
    """
    frames = []
    for (line, outcome, scale), group in _groups(effects):
        if len(group) < min_k:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MetaAnalysisWarning)
            loo = _leave_one_out(
                group["yi"].to_numpy(float), group["vi"].to_numpy(float),
                slab=list(group["study_id"]), method=method, test=test, level=level,
            )  # fmt: skip
        loo.insert(0, "scale", scale)
        loo.insert(0, "outcome", outcome)
        loo.insert(0, "evidence_line", line)
        frames.append(loo)
    if not frames:
        return pd.DataFrame(columns=[*GROUP, "omitted", "k", "estimate", "ci_low", "ci_high"])
    return pd.concat(frames, ignore_index=True)


#: How a trial's estradiol change was obtained (``estradiol_basis`` in bmd_vs_estradiol.csv).
BASIS_EFFECT = "difference in change between arms (effects.csv)"
BASIS_ARMS = "treatment arm change minus control arm change (hormone_changes.csv)"
BASIS_TREATMENT = "treatment arm change only; control arm not reported (hormone_changes.csv)"


def _trial_estradiol_changes(effects: pd.DataFrame, hormones: pd.DataFrame | None) -> pd.DataFrame:
    """Per study: estradiol change (pmol/L), its basis and months; index study_id.

    An estimated estradiol effect comes first; else the compared treatment arm's change
    minus the compared control arm's, or the treatment arm's alone.
    """
    rows: dict[str, dict[str, Any]] = {}
    e2 = effects.loc[(effects["outcome"] == "estradiol") & (effects["scale"] == "absolute")]
    for rec in e2.to_dict("records"):
        rows[rec["study_id"]] = {"change": rec["yi"], "basis": BASIS_EFFECT,
                                 "months": rec.get("timepoint_months", math.nan)}  # fmt: skip
    if hormones is not None and len(hormones):
        arm = hormones.loc[(hormones["outcome"] == "estradiol") & hormones["compared"].astype(bool)]
        for study_id, group in arm.groupby("study_id", sort=True):
            if study_id in rows:
                continue
            treated = group.loc[group["role"] == "treatment"]
            control = group.loc[group["role"] == "control"]
            if treated.empty:
                continue
            t = treated.iloc[0]
            if control.empty:
                rows[study_id] = {"change": t["change"], "basis": BASIS_TREATMENT,
                                  "months": t["months"]}  # fmt: skip
            else:
                rows[study_id] = {"change": t["change"] - control.iloc[0]["change"],
                                  "basis": BASIS_ARMS, "months": t["months"]}  # fmt: skip
    return pd.DataFrame.from_dict(rows, orient="index", columns=["change", "basis", "months"])


def bmd_vs_estradiol(
    effects: pd.DataFrame,
    changes: pd.DataFrame,
    *,
    bmd_outcomes: Sequence[str],
    method: str,
    test: str,
    level: float,
    min_k: int = 3,
    hormones: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The effect on BMD against the change in estradiol, for every study and man.

    Parameters
    ----------
    effects
        Controlled-study effects; a study enters when it has a BMD effect and either an
        absolute-scale estradiol effect (difference in change, pmol/L) or, in ``hormones``,
        an estradiol change in the treatment arm its effects compare.
    changes
        Per-patient changes (:func:`analysis.cases.patient_changes`); a man enters when his
        estradiol before and after are both known.
    bmd_outcomes
        BMD outcomes to tabulate.
    hormones
        ``effects/hormone_changes.csv`` (:func:`analysis.harmonize.hormone_changes`): the
        treatment arm's estradiol change minus the control arm's where both are reported,
        else the treatment arm's alone; ``estradiol_basis`` says which.
    method, test, level, min_k
        Meta-regression of the study BMD effects on the estradiol difference (estimate's
        sampling error in estradiol ignored), only with at least ``min_k`` distinct studies
        in an outcome x scale; otherwise tabulated only.

    Returns
    -------
    table, regression : pandas.DataFrame
        ``table``: evidence_line, source_id, kind (study/patient), outcome, scale,
        bmd_effect, bmd_se, estradiol_change (pmol/L), estradiol_censored,
        estradiol_basis (how the change was obtained), estradiol_months (its timepoint;
        for a man, months under estrogen).
        ``regression``: outcome, scale, k, intercept, slope, slope_se, slope_ci_low,
        slope_ci_high, slope_pvalue, tau2, note.
    """
    e2 = _trial_estradiol_changes(effects, hormones)
    bmd = effects.loc[effects["outcome"].isin(bmd_outcomes) & effects["study_id"].isin(e2.index)]
    studies = pd.DataFrame({
        "evidence_line": bmd["evidence_line"], "source_id": bmd["study_id"], "kind": "study",
        "outcome": bmd["outcome"], "scale": bmd["scale"], "bmd_effect": bmd["yi"],
        "bmd_se": bmd["sei"],
        "estradiol_change": bmd["study_id"].map(e2["change"]).to_numpy(float),
        "estradiol_censored": False,
        "estradiol_basis": bmd["study_id"].map(e2["basis"]).to_numpy(object),
        "estradiol_months": bmd["study_id"].map(e2["months"]).to_numpy(float),
    })  # fmt: skip
    known = changes.loc[
        changes["outcome"].isin(bmd_outcomes)
        & changes["estradiol_before"].notna() & changes["estradiol_after"].notna()
        & changes["change"].notna()
    ]  # fmt: skip
    censored = known["estradiol_before_censor"].notna() | known["estradiol_after_censor"].notna()
    patient_rows = []
    for scale, column in (("absolute", "change"), ("percent", "percent_change")):
        patient_rows.append(pd.DataFrame({
            "evidence_line": "estrogen_aromatase_deficiency", "source_id": known["patient_id"],
            "kind": "patient", "outcome": known["outcome"], "scale": scale,
            "bmd_effect": known[column], "bmd_se": math.nan,
            "estradiol_change": known["estradiol_after"] - known["estradiol_before"],
            "estradiol_censored": censored,
            "estradiol_basis": "after minus before estrogen, per man",
            "estradiol_months": known.get("months", math.nan),
        }))  # fmt: skip
    table = pd.concat([studies, *patient_rows], ignore_index=True)
    regression = []
    for (outcome, scale), group in studies.groupby(["outcome", "scale"], sort=True):
        row: dict[str, Any] = {"outcome": outcome, "scale": scale, "k": len(group)}
        if group["source_id"].nunique() < min_k:
            row["note"] = f"k = {len(group)} < {min_k} studies: tabulated only"
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", MetaAnalysisWarning)
                fit: Any = rma(group["bmd_effect"].to_numpy(float),
                          group["bmd_se"].to_numpy(float) ** 2,
                          mods=group["estradiol_change"].to_numpy(float)[:, None],
                          method=method, test=test, level=level)  # fmt: skip
            row.update(
                intercept=fit.beta[0], slope=fit.beta[1], slope_se=fit.se[1],
                slope_ci_low=fit.ci_low[1], slope_ci_high=fit.ci_high[1],
                slope_pvalue=fit.pvalue[1], tau2=fit.tau2, note="",
            )  # fmt: skip
        regression.append(row)
    columns = ["outcome", "scale", "k", "intercept", "slope", "slope_se", "slope_ci_low",
               "slope_ci_high", "slope_pvalue", "tau2", "note"]  # fmt: skip
    return table, pd.DataFrame(regression, columns=columns)
