"""analysis.sensitivity on small frames: few-study rules, the grid's flags, BMD vs estradiol."""

import math

import numpy as np
import pandas as pd
import pytest

from analysis import sensitivity
from analysis.pooling import rma
from analysis.sensitivity import (
    bmd_vs_estradiol,
    effective_test,
    leave_one_out_by_group,
    pool_by_group,
    sensitivity_grid,
    small_study_tests,
)
from analysis.warnings import Tau2TruncatedWarning


def effects(yi, vi, *, line="ai_older_men", outcome="bmd_lumbar_spine", scale="absolute",
            rob=None, derived=None, ids=None):  # fmt: skip
    k = len(yi)
    return pd.DataFrame({
        "study_id": ids or [f"s{i}" for i in range(k)], "label": [f"S {i}" for i in range(k)],
        "evidence_line": line, "outcome": outcome, "scale": scale, "unit": "g/cm2",
        "yi": yi, "vi": vi, "sei": np.sqrt(vi), "rob_overall": rob or ["low"] * k,
        "derived": derived or [False] * k,
    })  # fmt: skip


def test_knha_becomes_adhoc_only_when_the_rule_is_on():
    assert effective_test("knha", True) == "adhoc"
    assert effective_test("knha", False) == "knha"
    assert effective_test("z", True) == "z"


def test_one_study_is_not_pooled_and_keeps_its_own_estimate():
    pooled, weights = pool_by_group(effects([-0.02], [1e-4]), method="REML", test="adhoc",
                                    level=0.95)  # fmt: skip
    row = pooled.iloc[0]
    assert not row["pooled"] and row["k"] == 1
    assert row["estimate"] == pytest.approx(-0.02)
    assert row["note"].startswith("k = 1: not pooled")
    assert weights["weight"].tolist() == [100.0]


def test_prediction_interval_only_from_three_studies():
    two = pool_by_group(effects([-0.02, -0.01], [1e-4, 2e-4]), method="REML", test="adhoc",
                        level=0.95)[0].iloc[0]  # fmt: skip
    three = pool_by_group(effects([-0.02, -0.01, -0.03], [1e-4, 2e-4, 1e-4]), method="REML",
                          test="adhoc", level=0.95)[0].iloc[0]  # fmt: skip
    assert math.isnan(two["pi_low"]) and "no prediction interval" in two["note"]
    assert three["pi_low"] <= three["ci_low"] <= three["estimate"] <= three["pi_high"]


def test_groups_are_pooled_separately_and_weights_sum_to_100_in_each():
    frame = pd.concat([
        effects([-0.02, -0.01, -0.03], [1e-4, 2e-4, 1e-4]),
        effects([0.05, 0.07], [1e-3, 1e-3], line="estrogen_aromatase_deficiency"),
    ])  # fmt: skip
    pooled, weights = pool_by_group(frame, method="REML", test="z", level=0.95)
    assert pooled["k"].tolist() == [3, 2]
    assert weights.groupby("evidence_line")["weight"].sum().tolist() == pytest.approx([100, 100])
    with pytest.warns(Tau2TruncatedWarning, match="truncated at 0"):
        alone = rma([0.05, 0.07], [1e-3, 1e-3], method="REML", test="z")
    assert pooled.iloc[1]["estimate"] == pytest.approx(alone.estimate)


def test_grid_flags_a_conclusion_that_changes_without_the_high_risk_studies():
    # Two high-risk studies drive a negative pooled effect; the low-risk ones are positive.
    frame = effects([-0.05, -0.06, 0.01, 0.012], [1e-4, 1e-4, 1e-4, 1e-4],
                    rob=["high", "high", "low", "low"])  # fmt: skip
    grid = sensitivity_grid(
        {0.5: frame}, primary={"method": "REML", "test": "knha", "r": 0.5, "inclusion": "all"},
        methods=["REML", "DL"], tests=["z", "knha"], inclusions=["all", "low_rob_only"],
        adhoc=True, level=0.95,
    )  # fmt: skip
    assert len(grid) == 2 * 2 * 2
    primary = grid.query("method == 'REML' and test == 'knha' and inclusion == 'all'").iloc[0]
    assert not primary["conclusion_changed"] and primary["direction"] == "negative"
    low = grid.loc[grid["inclusion"] == "low_rob_only"]
    assert (low["direction"] == "positive").all()
    assert low["conclusion_changed"].all()


def test_grid_r_axis_uses_the_effects_computed_with_that_r():
    base = effects([-0.02, -0.01, -0.03], [1e-4, 2e-4, 1e-4])
    wider = base.assign(vi=base["vi"] * 4)
    grid = sensitivity_grid(
        {0.2: wider, 0.8: base}, primary={"method": "REML", "test": "z", "r": 0.8,
                                          "inclusion": "all"},
        methods=["REML"], tests=["z"], inclusions=["all"], adhoc=False, level=0.95,
    )  # fmt: skip
    widths = (grid["ci_high"] - grid["ci_low"]).tolist()
    assert grid["r"].tolist() == [0.2, 0.8]
    assert widths[0] > widths[1]


def test_leave_one_out_only_where_k_reaches_the_minimum():
    frame = pd.concat([
        effects([-0.02, -0.01, -0.03], [1e-4, 2e-4, 1e-4]),
        effects([0.05, 0.07], [1e-3, 1e-3], outcome="bmd_femoral_neck"),
    ])  # fmt: skip
    loo = leave_one_out_by_group(frame, method="REML", test="z", level=0.95, min_k=3)
    assert loo["outcome"].unique().tolist() == ["bmd_lumbar_spine"]
    assert sorted(loo["omitted"]) == ["s0", "s1", "s2"]
    without_s0 = rma([-0.01, -0.03], [2e-4, 1e-4], method="REML", test="z")
    assert loo.set_index("omitted").loc["s0", "estimate"] == pytest.approx(without_s0.estimate)


def _changes(rows):
    columns = ["patient_id", "outcome", "change", "percent_change", "estradiol_before",
               "estradiol_after", "estradiol_before_censor", "estradiol_after_censor"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def test_bmd_vs_estradiol_tabulates_studies_and_men_and_regresses_only_from_three_studies():
    bmd = effects([-0.02, -0.01, -0.03], [1e-4, 2e-4, 1e-4])
    e2 = effects([-30.0, -10.0, -50.0], [25.0, 25.0, 25.0], outcome="estradiol")
    men = _changes([["p1", "bmd_lumbar_spine", 0.1, 10.0, 36.7, 150.0, "<", None],
                    ["p2", "bmd_lumbar_spine", 0.05, 5.0, None, 100.0, None, None]])  # fmt: skip
    table, fits = bmd_vs_estradiol(pd.concat([bmd, e2]), men, bmd_outcomes=["bmd_lumbar_spine"],
                                   method="REML", test="z", level=0.95)  # fmt: skip
    studies = table.loc[table["kind"] == "study"]
    assert studies["estradiol_change"].tolist() == [-30.0, -10.0, -50.0]
    patient = table.loc[table["kind"] == "patient"]
    assert patient["source_id"].unique().tolist() == ["p1"]  # p2 has no estradiol before
    assert patient["estradiol_censored"].all()
    assert patient["estradiol_change"].iloc[0] == pytest.approx(150.0 - 36.7)
    assert fits.iloc[0]["slope"] > 0  # less estradiol, more bone loss
    _, fits_two = bmd_vs_estradiol(pd.concat([bmd.iloc[:2], e2.iloc[:2]]), men.iloc[:0],
                                     bmd_outcomes=["bmd_lumbar_spine"], method="REML",
                                     test="z", level=0.95)  # fmt: skip
    assert math.isnan(fits_two.iloc[0]["slope"]) and "tabulated only" in fits_two.iloc[0]["note"]


def test_small_study_test_runs_only_from_ten_studies():
    rng = np.random.default_rng(3)
    vi = rng.uniform(1e-4, 1e-2, 12)
    frame = pd.concat([
        effects(list(rng.normal(-0.02, 0.01, 12)), list(vi)),
        effects([0.05] * 9, [1e-3] * 9, outcome="bmd_femoral_neck"),
    ])  # fmt: skip
    out = small_study_tests(frame, method="REML", test="z", level=0.95).set_index("outcome")
    assert out.loc["bmd_femoral_neck", "note"] == "not run: k = 9 < 10"
    assert math.isnan(out.loc["bmd_femoral_neck", "pvalue"])
    assert 0 < out.loc["bmd_lumbar_spine", "pvalue"] < 1


def _hormones(rows):
    """hormone_changes.csv rows: study_id, arm, role, compared, outcome, change, months."""
    return pd.DataFrame(rows, columns=["study_id", "arm", "role", "compared", "outcome",
                                       "change", "months"])  # fmt: skip


def test_bmd_vs_estradiol_takes_a_trials_estradiol_change_from_its_arms_and_says_how():
    bmd = effects([-0.02, -0.01, -0.03], [1e-4, 2e-4, 1e-4])
    e2 = effects([-30.0], [25.0], outcome="estradiol", ids=["s2"])
    hormones = _hormones([
        ["s0", "ai", "treatment", True, "estradiol", -11.0, 3.0],
        ["s1", "ai", "treatment", True, "estradiol", -40.0, 6.0],
        ["s1", "placebo", "control", True, "estradiol", -5.0, 6.0],
        ["s1", "ai_weekly", "treatment", False, "estradiol", -90.0, 6.0],
        ["s2", "ai", "treatment", True, "estradiol", -99.0, 6.0],
    ])  # fmt: skip
    table, _ = bmd_vs_estradiol(pd.concat([bmd, e2]), _changes([]).iloc[:0],
                                bmd_outcomes=["bmd_lumbar_spine"], method="REML", test="z",
                                level=0.95, hormones=hormones)  # fmt: skip
    rows = table.set_index("source_id")
    assert rows.loc["s0", "estradiol_change"] == -11.0
    assert "control arm not reported" in rows.loc["s0", "estradiol_basis"]
    assert rows.loc["s1", "estradiol_change"] == -35.0  # compared arms only: -40 - (-5)
    assert rows.loc["s1", "estradiol_basis"].startswith("treatment arm change minus control")
    assert rows.loc["s2", "estradiol_change"] == -30.0  # an estimated effect comes first
    assert rows.loc["s2", "estradiol_basis"].startswith("difference in change between arms")
    assert rows.loc["s0", "estradiol_months"] == 3.0


def _finding_inputs():
    import json

    effects = pd.DataFrame(
        [
            {
                "study_id": "bb",
                "label": "BB 2009",
                "evidence_line": "l",
                "outcome": "bmd",
                "scale": "percent",
                "yi": -2.46,
                "vi": 0.592,
                "sei": 0.769,
                "ci_low": -3.97,
                "ci_high": -0.95,
                "n_treatment": None,
                "n_control": None,
                "derived": True,
                "derivation_ids": "d1",
                "rob_overall": "some_concerns",
            },
        ]
    )
    ledger = pd.DataFrame(
        [
            {
                "derivation_id": "d1",
                "method": "se_from_p: SE = |estimate| / z",
                "assumptions": json.dumps(
                    {
                        "statistic": "z",
                        "se_with_t": 0.737,
                        "p_of": "assumed: the absolute-scale p applies",
                    }
                ),
            }
        ]
    )
    findings = pd.DataFrame(
        [
            {
                "evidence_line": "l",
                "outcome": "bmd",
                "scale": "percent",
                "status": "numeric",
                "ci_low": -3.97,
                "ci_high": -0.95,
            }
        ]
    )
    grid = pd.DataFrame(
        columns=[
            "evidence_line",
            "outcome",
            "scale",
            "method",
            "test",
            "r",
            "inclusion",
            "k",
            "estimate",
            "ci_low",
            "ci_high",
        ]
    )
    return findings, effects, ledger, grid


def test_finding_sensitivity_varies_only_the_assumptions_the_derivation_used():
    findings, effects, ledger, grid = _finding_inputs()
    out = sensitivity.finding_sensitivity(
        findings,
        effects,
        ledger,
        grid,
        method="REML",
        test="adhoc",
        level=0.95,
        inclusions=["all", "low_rob_only", "no_derived"],
    )
    analyses = list(out["analysis"])
    assert "BB 2009: SE from the p with t instead of z" in analyses
    # k = 1: no other estimator or CI method, and no pre-post r (no SD was imputed)
    assert not any(a.startswith(("estimator", "pre-post")) for a in analyses)
    t_row = out.loc[out["analysis"] == "BB 2009: SE from the p with t instead of z"].iloc[0]
    assert t_row["ci_low"] == pytest.approx(-2.46 - 1.959964 * 0.737, abs=1e-3)


def test_a_rule_that_leaves_no_study_is_reported_as_removing_all_evidence():
    findings, effects, ledger, grid = _finding_inputs()
    out = sensitivity.finding_sensitivity(
        findings,
        effects,
        ledger,
        grid,
        method="REML",
        test="adhoc",
        level=0.95,
        inclusions=["all", "low_rob_only", "no_derived"],
    )
    removed = out.loc[out["result"] == "removes all evidence", "analysis"]
    assert set(removed) == {
        "BB 2009: without the percent-scale assumption",
        "inclusion: only results at low risk of bias",
        "inclusion: only results used as reported (nothing derived)",
    }
    assert (out.loc[out["result"] == "removes all evidence", "k"] == 0).all()
