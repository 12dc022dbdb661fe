"""analysis.harmonize: which route a study x outcome x scale takes, and why none when none does.

The reasons in ``not_estimable`` are what a reader of the report sees for a study that gives
no effect, so each case below states the exact sentence, written out by hand from the
data: the reason must name what is missing (or the reported value that blocks every route),
not a generic one. Numbers come from the published formula, computed in R (the expression
is beside each).
"""

import json
import math

import numpy as np
import pandas as pd
import pytest
from harmonize_tables import (
    AO_COLUMNS,
    CONTRAST_COLUMNS,
    TIGHT,
    UNITS,
    arm,
    compute,
    contrast,
    frame,
)

from analysis.harmonize import canonical_units, compute_effects


def run(arm_rows=(), contrast_rows=(), *, n=(30, 30), r=0.5):
    """compute_effects on the trial, with 30 men randomized per arm unless ``n`` says not."""
    return compute(arm_rows, contrast_rows, n=n, r=r)


def outcome_by_scale(effects, missing):
    """{scale: ("effect", route) or ("missing", reason)} for both scales."""
    out = {}
    for scale in ("absolute", "percent"):
        made = effects.loc[effects["scale"] == scale]
        lost = missing.loc[missing["scale"] == scale]
        assert len(made) + len(lost) == 1, f"{scale}: {len(made)} effects, {len(lost)} reasons"
        out[scale] = (
            ("effect", made["route"].iloc[0]) if len(made) else ("missing", lost["reason"].iloc[0])
        )
    return out


P_WITHOUT_ESTIMATE = "a between-group p-value without an estimate; "
NO_SPREAD = "no SD, SE, CI or p-value for the arm values"
NO_PERCENT_ROWS = "no arm-level percent_change or final values at 12 months"
NO_PERCENT_CHANGE = "no percent change and no baseline with final values"
NO_BASELINE = "no baseline value for the final values"
NO_SIZES = "arm sample sizes not reported (arm_outcomes.csv n, arms.csv n_randomized)"


def _blocked_by_p(p):
    return (f"a p-value of {p} gives no SE (only 0 < p < 1 does), and no SD, SE or CI is "
            "reported beside it")  # fmt: skip


SPREADS = {
    "sd": {"sd": 0.04},
    "se": {"se": 0.008},
    "ci": {"ci_low": -0.035, "ci_high": -0.005},
}

REASONS = {
    "a p-value without an estimate, no arm value at the follow-up": (
        [arm("ai", "baseline", 0, n=30, mean=1.00, sd=0.10),
         arm("placebo", "baseline", 0, n=30, mean=1.01, sd=0.11)],
        [contrast(p_value=0.03)],
        (30, 30),
        {"absolute": ("missing", P_WITHOUT_ESTIMATE
                      + "no arm-level change or final values at 12 months"),
         "percent": ("missing", P_WITHOUT_ESTIMATE + NO_PERCENT_ROWS)},
    ),
    "an estimate with its p at an earlier follow-up is not a p without an estimate": (
        [arm("ai", "change", 12, n=30, mean=-0.02), arm("placebo", "change", 12, n=30, mean=0.01)],
        [contrast(t=6, estimate=-0.02, p_value=0.03)],
        (30, 30),
        {"absolute": ("missing", NO_SPREAD), "percent": ("missing", NO_PERCENT_ROWS)},
    ),
    "the control arm reports only at an earlier follow-up": (
        [arm("ai", "change", 12, n=30, mean=-0.02, sd=0.04),
         arm("placebo", "change", 6, n=30, mean=0.01, sd=0.05)],
        [],
        (30, 30),
        {"absolute": ("missing", "no control arm values at 12 months"),
         "percent": ("missing", NO_PERCENT_ROWS)},
    ),
    "the treatment arm reports only at an earlier follow-up": (
        [arm("ai", "change", 6, n=30, mean=-0.02, sd=0.04),
         arm("placebo", "change", 12, n=30, mean=0.01, sd=0.05)],
        [],
        (30, 30),
        {"absolute": ("missing", "no treatment arm values at 12 months"),
         "percent": ("missing", NO_PERCENT_ROWS)},
    ),
    "arm n reported, no n randomized, no spread: the spread is what is missing": (
        [arm("ai", "change", 12, n=30, mean=-0.02), arm("placebo", "change", 12, n=30, mean=0.01)],
        [],
        (None, None),
        {"absolute": ("missing", NO_SPREAD), "percent": ("missing", NO_PERCENT_ROWS)},
    ),
    "n randomized but no arm n, no spread: the spread is what is missing": (
        [arm("ai", "change", 12, mean=-0.02), arm("placebo", "change", 12, mean=0.01)],
        [],
        (30, 30),
        {"absolute": ("missing", NO_SPREAD), "percent": ("missing", NO_PERCENT_ROWS)},
    ),
    "final values with SDs and no n anywhere": (
        [arm("ai", "final", 12, mean=0.98, sd=0.12),
         arm("placebo", "final", 12, mean=1.02, sd=0.11)],
        [],
        (None, None),
        {"absolute": ("missing", NO_SIZES), "percent": ("missing", NO_SIZES)},
    ),
    "percent changes without any spread": (
        [arm("ai", "percent_change", 12, n=30, mean=-2.0),
         arm("placebo", "percent_change", 12, n=30, mean=1.0)],
        [],
        (30, 30),
        {"absolute": ("missing", "no arm-level change or final values at 12 months"),
         "percent": ("missing", NO_SPREAD)},
    ),
    "a final value with only a p-value beside it": (
        [arm("ai", "final", 12, n=30, mean=0.98, p_value=0.04),
         arm("placebo", "final", 12, n=30, mean=1.02, sd=0.11)],
        [],
        (30, 30),
        {"absolute": ("missing", NO_BASELINE), "percent": ("missing", NO_PERCENT_CHANGE)},
    ),
    "a final value with a p of 0 is not blamed (no route uses a final value's p)": (
        [arm("ai", "final", 12, n=30, mean=0.98, p_value=0.0),
         arm("placebo", "final", 12, n=30, mean=1.02, sd=0.11)],
        [],
        (30, 30),
        {"absolute": ("missing", NO_BASELINE), "percent": ("missing", NO_PERCENT_CHANGE)},
    ),
    "a within-arm p of 1 for a change with no spread blocks every route": (
        [arm("ai", "change", 12, n=30, mean=-0.02, p_value=1.0),
         arm("placebo", "change", 12, n=30, mean=0.01, sd=0.05)],
        [],
        (30, 30),
        {"absolute": ("missing", _blocked_by_p(1)), "percent": ("missing", _blocked_by_p(1))},
    ),
    "a within-arm p of 0 for a percent change with no spread blocks every route": (
        [arm("ai", "percent_change", 12, n=30, mean=-2.0, p_value=0.0),
         arm("placebo", "percent_change", 12, n=30, mean=1.0, sd=4.0)],
        [],
        (30, 30),
        {"absolute": ("missing", _blocked_by_p(0)), "percent": ("missing", _blocked_by_p(0))},
    ),
    "an arm of two men is not blamed": (
        [arm("ai", "change", 12, n=2, mean=-0.02, sd=0.04),
         arm("placebo", "change", 12, n=30, mean=0.01)],
        [],
        (30, 30),
        {"absolute": ("missing", NO_SPREAD), "percent": ("missing", NO_PERCENT_ROWS)},
    ),
    "a control baseline of 0 stops the percent scale only": (
        [arm("ai", "baseline", 0, n=30, mean=1.00, sd=0.10),
         arm("ai", "final", 12, n=30, mean=0.98, sd=0.12),
         arm("placebo", "baseline", 0, n=30, mean=0.0, sd=0.11),
         arm("placebo", "final", 12, n=30, mean=1.02, sd=0.11)],
        [],
        (30, 30),
        {"absolute": ("effect", "c"),
         "percent": ("missing", "a baseline mean of 0: a percent change needs a baseline "
                                "above 0 (the absolute scale is unaffected)")},
    ),
    "a baseline mean below 1 (but above 0) is not blamed": (
        [arm("ai", "baseline", 0, n=30, mean=0.9, sd=0.10),
         arm("ai", "final", 12, n=30, mean=0.88),
         arm("placebo", "baseline", 0, n=30, mean=0.9, sd=0.11),
         arm("placebo", "final", 12, n=30, mean=0.91)],
        [],
        (30, 30),
        {"absolute": ("missing", NO_SPREAD), "percent": ("missing", NO_SPREAD)},
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(REASONS))
def test_each_study_without_an_effect_names_what_is_missing(case):
    arm_rows, contrast_rows, n, expected = REASONS[case]
    effects, _, _, missing = run(arm_rows, contrast_rows, n=n)
    assert outcome_by_scale(effects, missing) == expected
    assert (missing["timepoint_months"] == 12).all()


@pytest.mark.parametrize("spread", list(SPREADS))
def test_a_p_of_zero_beside_a_reported_spread_is_not_the_reason(spread):
    # the treated arm's SD, SE or CI makes its p of 0 harmless; the control arm lacks a spread
    effects, _, _, missing = run([
        arm("ai", "change", 12, n=30, mean=-0.02, p_value=0.0, **SPREADS[spread]),
        arm("placebo", "change", 12, n=30, mean=0.01),
    ])  # fmt: skip
    assert outcome_by_scale(effects, missing) == {
        "absolute": ("missing", NO_SPREAD), "percent": ("missing", NO_PERCENT_ROWS),
    }  # fmt: skip


@pytest.mark.parametrize("spread", ["sd", "se", "ci", "p_value"])
def test_final_values_with_any_spread_lack_a_baseline_for_the_percent_scale(spread):
    extra = SPREADS.get(spread, {"p_value": 0.04})
    effects, _, _, missing = run([
        arm("ai", "final", 12, n=30, mean=0.98, **extra),
        arm("placebo", "final", 12, n=30, mean=1.02, **extra),
    ])  # fmt: skip
    expected_absolute = ("missing", NO_BASELINE) if spread == "p_value" else ("effect", "d")
    assert outcome_by_scale(effects, missing) == {
        "absolute": expected_absolute, "percent": ("missing", NO_PERCENT_CHANGE),
    }  # fmt: skip


# --- which route is taken


def test_a_reported_difference_in_percent_change_is_route_a_on_the_percent_scale():
    effects, ledger, _, missing = run([], [
        contrast("difference_in_percent_change", estimate=-2.5, se=0.8),
        contrast(estimate=-0.03, se=0.01),
    ])  # fmt: skip
    assert missing.empty
    got = effects.set_index("scale").loc[["absolute", "percent"], ["route", "yi", "vi"]]
    assert got.to_numpy().tolist() == [
        ["a", -0.03, pytest.approx(0.01**2, rel=TIGHT)],
        ["a", -2.5, pytest.approx(0.8**2, rel=TIGHT)],
    ]
    percent = ledger.loc[ledger["scale"] == "percent"]
    assert percent["inputs"].tolist() == ["contrasts.csv:2:estimate;contrasts.csv:2:se"]


def test_a_difference_with_only_a_p_waits_until_the_arm_routes_find_nothing():
    # the arms give changes with SDs: route b is preferred to an SE from the p (route e)
    effects, *_ = run([
        arm("ai", "change", 12, n=30, mean=-0.02, sd=0.04),
        arm("placebo", "change", 12, n=32, mean=0.01, sd=0.05),
    ], [contrast(estimate=-0.025, p_value=0.01)])  # fmt: skip
    e = effects.set_index("scale").loc["absolute"]
    assert e["route"] == "b"
    assert e["yi"] == pytest.approx(-0.03, rel=TIGHT)
    assert e["vi"] == pytest.approx(0.04**2 / 30 + 0.05**2 / 32, rel=TIGHT)


@pytest.mark.parametrize("n", [(None, 40), (40, None)])
def test_one_arm_without_n_randomized_gives_a_normal_quantile_for_a_p_value(n):
    effects, *_ = run([], [contrast(estimate=-0.03, p_value=0.01)], n=n)
    e = effects.set_index("scale").loc["absolute"]
    assert e["route"] == "e"
    assert e["sei"] == pytest.approx(0.03 / 2.5758293035488999, rel=TIGHT)  # qnorm(0.995)


def test_baseline_rows_without_n_take_the_n_randomized():
    effects, ledger, *_ = run([
        arm("ai", "baseline", 0, mean=1.00, sd=0.10),
        arm("ai", "final", 12, n=36, mean=0.98, sd=0.12),
        arm("placebo", "baseline", 0, mean=1.01, sd=0.11),
        arm("placebo", "final", 12, n=34, mean=1.02, sd=0.11),
    ], n=(40, 40))  # fmt: skip
    e = effects.set_index("scale").loc["absolute"]
    assert e["route"] == "c"
    # the change n is the smaller of baseline (40 randomized) and final (36, 34) n
    assert (e["n_treatment"], e["n_control"]) == (36, 34)
    # R: sdt <- sqrt(.1^2 + .12^2 - 2*.5*.1*.12); sdc <- sqrt(.11^2 + .11^2 - 2*.5*.11*.11)
    #    c(yi = (.98 - 1) - (1.02 - 1.01), vi = sdt^2/36 + sdc^2/34)
    assert e["yi"] == pytest.approx(-0.03, rel=1e-12)
    assert e["vi"] == pytest.approx(0.00070032679738562089, rel=1e-12)
    steps = ledger.loc[ledger["method"] == "n_from_randomized", "inputs"].tolist()
    assert steps == ["arms.csv:2:n_randomized", "arms.csv:3:n_randomized"] * 2  # both scales


@pytest.mark.parametrize("missing_role", ["ai", "placebo"])
def test_one_arm_without_a_baseline_gives_final_values_not_a_change(missing_role):
    rows = [
        arm("ai", "baseline", 0, n=30, mean=1.00, sd=0.10),
        arm("ai", "final", 12, n=30, mean=0.98, sd=0.12),
        arm("placebo", "baseline", 0, n=30, mean=1.01, sd=0.11),
        arm("placebo", "final", 12, n=30, mean=1.02, sd=0.11),
    ]
    rows = [r for r in rows if not (r["arm"] == missing_role and r["measure"] == "baseline")]
    effects, _, _, missing = run(rows)
    assert outcome_by_scale(effects, missing) == {
        "absolute": ("effect", "d"), "percent": ("missing", NO_PERCENT_CHANGE),
    }  # fmt: skip
    assert effects["yi"].iloc[0] == pytest.approx(0.98 - 1.02, rel=TIGHT)


# --- route c: the ledger and the implied-r check


def route_c_rows():
    """Unequal SDs and n in every cell, so a swapped arm or time changes the numbers."""
    return [
        arm("ai", "baseline", 0, n=30, mean=1.00, sd=0.10),
        arm("ai", "final", 12, n=28, mean=0.97, sd=0.14),
        arm("placebo", "baseline", 0, n=32, mean=1.02, sd=0.12),
        arm("placebo", "final", 12, n=31, mean=1.03, sd=0.11),
    ]


# R: vi <- (.1^2 + .14^2 - 2*.7*.1*.14)/28 + (.12^2 + .11^2 - 2*.7*.12*.11)/31
#    2 * pt(-0.04 / sqrt(vi), df = 28 + 31 - 2)  # the p a t test gives if r were 0.7
P_AT_R_07 = 0.112520999761406421


def test_route_c_ledger_lists_each_arm_change_then_the_mean_difference():
    _, ledger, *_ = run(route_c_rows())
    steps = ledger.loc[ledger["scale"] == "absolute"].sort_values("step")
    sd_change = "sd_change: sqrt(SD_B² + SD_F² - 2 r SD_B SD_F)"
    assert steps[["method", "inputs"]].to_numpy().tolist() == [
        [sd_change, "arm_outcomes.csv:2:mean;arm_outcomes.csv:2:sd;"
                    "arm_outcomes.csv:3:mean;arm_outcomes.csv:3:sd"],
        [sd_change, "arm_outcomes.csv:4:mean;arm_outcomes.csv:4:sd;"
                    "arm_outcomes.csv:5:mean;arm_outcomes.csv:5:sd"],
        ["md_of_changes", "arm_outcomes.csv:2:mean;arm_outcomes.csv:2:sd;"
                          "arm_outcomes.csv:3:mean;arm_outcomes.csv:3:sd;"
                          "arm_outcomes.csv:4:mean;arm_outcomes.csv:4:sd;"
                          "arm_outcomes.csv:5:mean;arm_outcomes.csv:5:sd"],
    ]  # fmt: skip
    # R: sqrt(.1^2 + .14^2 - 2*.5*.1*.14); sqrt(.12^2 + .11^2 - 2*.5*.12*.11)
    assert steps["value"].iloc[0] == pytest.approx(math.sqrt(0.0156), rel=TIGHT)
    assert steps["value"].iloc[1] == pytest.approx(math.sqrt(0.0133), rel=TIGHT)


@pytest.mark.parametrize("bound", ["=", None])
def test_route_c_reports_the_r_implied_by_a_p_given_as_equal_or_without_bound(bound):
    p = contrast(p_value=P_AT_R_07, p_value_bound=bound)
    effects, ledger, *_ = run(route_c_rows(), [p])
    assert effects.set_index("scale").loc["absolute", "route"] == "c"
    check = ledger.loc[ledger["method"] == "implied_r_check"]
    assert check["inputs"].tolist() == ["contrasts.csv:2:p_value"]
    assert check["value"].iloc[0] == pytest.approx(0.7, abs=1e-9)
    assumptions = json.loads(check["assumptions"].iloc[0])
    assert assumptions["df"] == 57 and assumptions["r_in_range"]


@pytest.mark.parametrize(
    "statistic",
    [{"p_value": 0.01, "p_value_bound": "<"}, {"estimate": -0.04, "p_value": P_AT_R_07}],
    ids=["p below a bound", "p beside an estimate"],
)
def test_route_c_reports_no_implied_r_from_a_bounded_p_or_a_p_with_its_estimate(statistic):
    effects, ledger, *_ = run(route_c_rows(), [contrast(**statistic)])
    assert effects.set_index("scale").loc["absolute", "route"] == "c"
    assert "implied_r_check" not in set(ledger["method"])


def test_route_c_on_the_percent_scale_records_the_difference_of_percent_changes():
    effects, ledger, *_ = run(route_c_rows())
    last = ledger.loc[ledger["scale"] == "percent"].sort_values("step").iloc[-1]
    assert last["method"] == "difference_of_percent_changes"
    assert last["inputs"] == ";".join(
        f"arm_outcomes.csv:{i}:{c}" for i in (2, 3, 4, 5) for c in ("mean", "sd")
    )
    assert json.loads(last["assumptions"]) == {
        "route": "c", "vi": "se_t^2 + se_c^2 (independent arms)",
    }  # fmt: skip
    # R: 100 * (0.97 / 1.00 - 1) - 100 * (1.03 / 1.02 - 1)
    assert last["value"] == pytest.approx(-3.98039215686274428, rel=1e-12)
    assert effects.set_index("scale").loc["percent", "yi"] == last["value"]


# --- compute_effects: the records it writes, and what it reads from which study


def tables(studies, arms, risk, arm_rows, contrast_rows, outcomes=("bmd_lumbar_spine",)):
    """compute_effects on several studies; ``studies``: (id, design), ``arms``:
    (study, arm, role, n randomized), ``risk``: (study, domain, judgement)."""
    study_frame = pd.DataFrame([{"study_id": s, "label": f"{s.upper()} 2010", "year": 2010,
                                 "design": d, "evidence_line": "ai_older_men"}
                                for s, d in studies])  # fmt: skip
    arm_frame = pd.DataFrame(arms, columns=["study_id", "arm", "role", "n_randomized"])
    arm_frame["n_randomized"] = arm_frame["n_randomized"].astype("Int64")
    arm_frame["source_row"] = np.arange(2, len(arm_frame) + 2)
    risk_frame = pd.DataFrame(risk, columns=["study_id", "domain", "judgement"])
    units = {"bmd_lumbar_spine": "g/cm2", "estradiol": "pmol/L"}
    con = frame(contrast_rows, [*CONTRAST_COLUMNS, "reported_text"])
    return compute_effects(
        canonical_units(frame(arm_rows, AO_COLUMNS), units), arm_frame, con, study_frame,
        risk_frame, r=0.5, outcomes=list(outcomes), units=units,
    )  # fmt: skip


def test_an_effect_record_carries_the_study_the_converted_values_and_the_overall_risk():
    # a reported difference in estradiol in pg/mL, converted to pmol/L: 1 pg/mL = 1000 / 272.38
    # pmol/L (estradiol 272.38 g/mol, PubChem CID 5757)
    difference = contrast(outcome="estradiol", unit="pg/mL", estimate=-5.0, se=2.0)
    effects, ledger, _, missing = tables(
        [("s1", "rct")], [("s1", "ai", "treatment", 40), ("s1", "placebo", "control", 38)],
        [("s1", "randomization", "low"), ("s1", "overall", "some_concerns"),
         ("s1", "missing_data", "high")],
        [], [difference], outcomes=["estradiol"],
    )  # fmt: skip
    assert effects.to_dict("records") == [{
        "study_id": "s1", "label": "S1 2010", "year": 2010, "evidence_line": "ai_older_men",
        "design": "rct", "outcome": "estradiol", "scale": "absolute", "unit": "pmol/L",
        # R: f <- 1000/272.38; c(-5*f, (2*f)^2, 2*f, -5*f - qnorm(.975)*2*f, -5*f + qnorm(.975)*2*f)
        "yi": pytest.approx(-18.356707540935457, rel=TIGHT),
        "vi": pytest.approx(53.914993878949872, rel=TIGHT),
        "sei": pytest.approx(7.342683016374183, rel=TIGHT),
        "ci_low": pytest.approx(-32.748101802922776, rel=TIGHT),
        "ci_high": pytest.approx(-3.965313278948134, rel=TIGHT),
        "n_treatment": 40, "n_control": 38, "derived": False,
        "derivation_ids": "s1:estradiol:absolute:01", "rob_overall": "some_concerns",
        "route": "a", "timepoint_months": 12.0, "note": "",
    }]  # fmt: skip
    assert (effects["n_treatment"].dtype, effects["n_control"].dtype) == ("Int64", "Int64")
    assert ledger.to_dict("records") == [{
        "derivation_id": "s1:estradiol:absolute:01", "study_id": "s1", "outcome": "estradiol",
        "scale": "absolute", "step": 1, "method": "reported_difference",
        "inputs": "contrasts.csv:2:estimate;contrasts.csv:2:se",
        "assumptions": '{"route": "a"}', "value": pytest.approx(-18.356707540935457, rel=TIGHT),
        "reference": "",
    }]  # fmt: skip
    assert missing.to_dict("records") == [{
        "study_id": "s1", "label": "S1 2010", "evidence_line": "ai_older_men",
        "outcome": "estradiol", "scale": "percent", "timepoint_months": 12.0,
        "reason": NO_PERCENT_ROWS,
    }]  # fmt: skip


def test_an_effect_without_weight_is_listed_with_the_study_and_its_reason():
    # s1's arms report SDs of 0; s2, after it, reports a usable difference
    effects, _, _, missing = tables(
        [("s1", "rct"), ("s2", "rct")],
        [("s1", "ai", "treatment", 30), ("s1", "placebo", "control", 30)],
        [("s1", "overall", "low")],
        [arm("ai", "change", 12, n=30, mean=-0.02, sd=0.0),
         arm("placebo", "change", 12, n=30, mean=0.01, sd=0.0)],
        [{**contrast(estimate=-0.02, se=0.01), "study_id": "s2"}],
    )  # fmt: skip
    assert effects[["study_id", "scale", "yi"]].to_numpy().tolist() == [["s2", "absolute", -0.02]]
    assert missing.loc[missing["study_id"] == "s1"].sort_values("scale").to_dict("records") == [
        {"study_id": "s1", "label": "S1 2010", "evidence_line": "ai_older_men",
         "outcome": "bmd_lumbar_spine", "scale": "absolute", "timepoint_months": 12.0,
         "reason": "zero variance: the SDs or SEs of the arms are 0, so the effect has no "
                   "weight (check the reported spread)"},
        {"study_id": "s1", "label": "S1 2010", "evidence_line": "ai_older_men",
         "outcome": "bmd_lumbar_spine", "scale": "percent", "timepoint_months": 12.0,
         "reason": NO_PERCENT_ROWS},
    ]  # fmt: skip


def test_only_controlled_studies_chosen_arms_and_wanted_outcomes_are_read():
    def at(study, arm_name, measure, t, outcome="bmd_lumbar_spine", **values):
        unit = "pmol/L" if outcome == "estradiol" else "g/cm2"
        return {**arm(arm_name, measure, t, unit=unit, **values), "study_id": study,
                "outcome": outcome}  # fmt: skip

    def between(study, outcome="bmd_lumbar_spine", **values):
        unit = "pmol/L" if outcome == "estradiol" else "g/cm2"
        return {**contrast(unit=unit, **values), "study_id": study, "outcome": outcome}

    effects, _, words, missing = tables(
        [("s0", "rct"), ("s1", "rct"), ("s2", "case_series"), ("s3", "rct"), ("s4", "rct")],
        [("s0", "ai", "treatment", 30), ("s0", "placebo", "control", 30),
         ("s1", "ai", "treatment", 30), ("s1", "ai_high", "treatment", 30),
         ("s1", "placebo", "control", 30), ("s2", "ai", "treatment", 5),
         ("s3", "ai", "treatment", 20), ("s3", "placebo", "control", 20)],
        [("s1", "overall", "low")],
        [  # s0: only the values at the start (a baseline given as a final value at 0)
         at("s0", "ai", "final", 0, n=30, mean=1.0, sd=0.1),
         at("s0", "placebo", "final", 0, n=30, mean=1.0, sd=0.1),
         # s1: an outcome not asked for, and an arm its contrasts do not compare
         at("s1", "ai", "change", 12, "estradiol", n=30, mean=-20.0, sd=5.0),
         at("s1", "placebo", "change", 12, "estradiol", n=30, mean=1.0, sd=5.0),
         at("s1", "ai_high", "change", 24, n=30, mean=-0.05, sd=0.04),
         # s3: a follow-up of one month
         at("s3", "ai", "change", 1, n=20, mean=-0.01, sd=0.02),
         at("s3", "placebo", "change", 1, n=20, mean=0.0, sd=0.02)],
        [between("s1", "estradiol", estimate=-20.0, se=3.0),
         {**between("s1", measure="reported_in_words"), "reported_text": "BMD fell",
          "source": "PMID:1", "location": "Results"},
         between("s1", estimate=-0.03, se=0.01),
         between("s2", estimate=-0.04, se=0.01),
         between("s4", t=6, estimate=-0.02, se=0.01)],  # s4: no arms listed
    )  # fmt: skip
    got = effects[["study_id", "scale", "route", "timepoint_months", "n_treatment", "note"]]
    assert got.astype(object).where(got.notna(), None).to_numpy().tolist() == [
        ["s1", "absolute", "a", 12.0, 30, "several treatment arms: ai used (named by its "
                                          "contrasts)"],
        ["s3", "absolute", "b", 1.0, 20, ""],
        ["s4", "absolute", "a", 6.0, None, ""],
    ]  # fmt: skip
    assert set(effects["outcome"]) == {"bmd_lumbar_spine"}
    assert missing[["study_id", "outcome", "scale", "reason"]].to_numpy().tolist() == [
        ["s1", "bmd_lumbar_spine", "percent", NO_PERCENT_ROWS],
        ["s3", "bmd_lumbar_spine", "percent",
         "no arm-level percent_change or final values at 1 months"],
        ["s4", "bmd_lumbar_spine", "percent",
         "no arm-level percent_change or final values at 6 months"],
    ]  # fmt: skip
    assert words.drop(columns="p_value").to_dict("records") == [{
        "study_id": "s1", "label": "S1 2010", "evidence_line": "ai_older_men",
        "outcome": "bmd_lumbar_spine", "timepoint_months": 12.0, "reported_text": "BMD fell",
        "p_value_bound": None, "source": "PMID:1", "location": "Results",
    }]  # fmt: skip
    assert words["p_value"].isna().all()


MD_REFERENCE = "metafor escalc(measure='MD'); Handbook 6.5.1.1"


@pytest.mark.parametrize(
    ("route", "arm_rows", "method", "n"),
    [
        ("b", [arm("ai", "change", 12, n=30, mean=-0.02, sd=0.04),
               arm("placebo", "change", 12, n=32, mean=0.01, sd=0.05)], "md_of_changes", (30, 32)),
        ("c", route_c_rows(), "md_of_changes", (28, 31)),
        ("d", [arm("ai", "final", 12, n=30, mean=0.98, sd=0.12),
               arm("placebo", "final", 12, n=29, mean=1.02, sd=0.11)], "md_of_final_values",
         (30, 29)),
    ],
)  # fmt: skip
def test_the_mean_difference_step_names_its_route_method_and_arm_sizes(route, arm_rows, method, n):
    effects, ledger, *_ = run(arm_rows)
    e = effects.set_index("scale").loc["absolute"]
    assert e["route"] == route
    step = ledger.set_index("derivation_id").loc[e["derivation_ids"].split(";")[-1]]
    assert (step["method"], step["reference"]) == (method, MD_REFERENCE)
    assert json.loads(step["assumptions"]) == {
        "route": route, "vi": "sd_t^2/n_t + sd_c^2/n_c", "n_treatment": n[0], "n_control": n[1],
    }  # fmt: skip


# --- which arms are compared when a side has several


ARM_MEANS = {"ai_a": -0.01, "ai_b": -0.03, "placebo_a": 0.0, "placebo_b": 0.02}


def several_arms(contrast_rows):
    """Two treatment and two control arms, listed out of order, arm n only in arms.csv."""
    rows = [arm(a, "change", 12, mean=m, sd=0.04) for a, m in ARM_MEANS.items()]
    arms = [("s1", "placebo_b", "control", 34), ("s1", "ai_b", "treatment", 32),
            ("s1", "ai_a", "treatment", 31), ("s1", "placebo_a", "control", 33)]  # fmt: skip
    return tables([("s1", "rct")], arms, [("s1", "overall", "low")], rows, contrast_rows)


def words(treatment, control):
    return {**contrast(measure="reported_in_words"), "treatment_arm": treatment,
            "control_arm": control, "reported_text": "no difference"}  # fmt: skip


@pytest.mark.parametrize(
    ("contrast_rows", "expected"),
    [
        ([], ("ai_a", "placebo_a", "first in sorted order")),
        ([words("ai_b", "placebo_b"), words("ai_a", "placebo_a")],
         ("ai_b", "placebo_b", "named by its contrasts")),
    ],
    ids=["no contrast names an arm", "the first contrast in the file names them"],
)  # fmt: skip
def test_with_several_arms_per_side_one_of_each_is_compared_and_the_note_says_which(
    contrast_rows, expected
):
    treatment, control, why = expected
    mean = ARM_MEANS
    n = {"placebo_b": 34, "ai_b": 32, "ai_a": 31, "placebo_a": 33}
    row = {"placebo_b": 2, "ai_b": 3, "ai_a": 4, "placebo_a": 5}  # arms.csv lines
    effects, ledger, *_ = several_arms(contrast_rows)
    e = effects.set_index("scale").loc["absolute"]
    assert e["yi"] == pytest.approx(mean[treatment] - mean[control], rel=TIGHT)
    assert e["vi"] == pytest.approx(0.04**2 / n[treatment] + 0.04**2 / n[control], rel=TIGHT)
    assert (e["n_treatment"], e["n_control"]) == (n[treatment], n[control])
    assert e["note"] == (
        f"several treatment arms: {treatment} used ({why}); "
        f"several control arms: {control} used ({why})"
    )
    steps = ledger.loc[(ledger["scale"] == "absolute") & (ledger["method"] == "n_from_randomized")]
    assert steps["inputs"].tolist() == [
        f"arms.csv:{row[treatment]}:n_randomized", f"arms.csv:{row[control]}:n_randomized",
    ]  # fmt: skip


def test_the_named_arms_come_from_the_first_contrast_by_line_not_by_frame_order():
    first, second = words("ai_a", "placebo_a"), words("ai_b", "placebo_b")
    studies = pd.DataFrame({"study_id": ["s1"], "label": ["S"], "year": [2010],
                            "design": ["rct"], "evidence_line": ["ai_older_men"]})  # fmt: skip
    arms = pd.DataFrame({"study_id": ["s1"] * 4, "arm": ["ai_a", "ai_b", "placebo_a", "placebo_b"],
                         "role": ["treatment", "treatment", "control", "control"],
                         "n_randomized": pd.array([31, 32, 33, 34], dtype="Int64"),
                         "source_row": [2, 3, 4, 5]})  # fmt: skip
    risk = pd.DataFrame({"study_id": ["s1"], "domain": ["overall"], "judgement": ["low"]})
    con = frame([second, first], CONTRAST_COLUMNS).assign(source_row=[9, 4])
    rows = [arm(a, "change", 12, mean=m, sd=0.04) for a, m in ARM_MEANS.items()]
    ao = canonical_units(frame(rows, AO_COLUMNS), UNITS)
    effects, *_ = compute_effects(ao, arms, con, studies, risk, r=0.5,
                                  outcomes=["bmd_lumbar_spine"], units=UNITS)  # fmt: skip
    assert effects.set_index("scale").loc["absolute", "yi"] == pytest.approx(-0.01, rel=TIGHT)


# --- a total analysed n (for both arms) in contrasts.csv


@pytest.mark.parametrize(
    ("dropped", "cited"),
    [(None, "PMID:1, Table IX"), ("location", "PMID:1"), ("source", "Table IX")],
)
def test_the_total_analysed_n_cited_is_the_first_given_by_line_with_its_source(dropped, cited):
    studies = pd.DataFrame({"study_id": ["s1"], "label": ["S"], "year": [2010],
                            "design": ["rct"], "evidence_line": ["ai_older_men"]})  # fmt: skip
    arms = pd.DataFrame({"study_id": ["s1", "s1"], "arm": ["ai", "placebo"],
                         "role": ["treatment", "control"],
                         "n_randomized": pd.array([None, None], dtype="Int64"),
                         "source_row": [2, 3]})  # fmt: skip
    risk = pd.DataFrame({"study_id": ["s1"], "domain": ["overall"], "judgement": ["low"]})
    rows = [
        arm("ai", "baseline", 0, mean=1.121),
        arm("ai", "final", 12, mean=1.102),
        arm("placebo", "baseline", 0, mean=1.180),
        arm("placebo", "final", 12, mean=1.189),
    ]
    p = contrast(p_value=0.0014, p_value_bound="=", direction="treatment_lower")
    words_at = [contrast(measure="reported_in_words", t=t) for t in (3, 6)]
    # file lines 2 (no total), 3 (69) and 7 (80), listed out of line order
    con = (
        frame([words_at[1], p, words_at[0]], CONTRAST_COLUMNS)
        .assign(source_row=[7, 3, 2], n_analysed=[80.0, 69.0, None],
                source=["PMID:1"] * 3, location=["Table 3", "Table IX", "Table 1"])
    )  # fmt: skip
    if dropped:
        con = con.drop(columns=dropped)
    ao = canonical_units(frame(rows, AO_COLUMNS), UNITS)
    _, ledger, *_ = compute_effects(ao, arms, con, studies, risk, r=0.5,
                                    outcomes=["bmd_lumbar_spine"], units=UNITS)  # fmt: skip
    step = ledger.loc[ledger["scale"] == "absolute"].sort_values("step").iloc[-1]
    assert step["inputs"] == "contrasts.csv:3:p_value;contrasts.csv:3:n_analysed"
    # R: 100 * (1 - qnorm(1 - 0.0007) / qt(1 - 0.0007, 67))
    assert json.loads(step["assumptions"])["df_note"] == (
        f"normal approximation, df unknown; with t on 67 df (total analysed n = 69, {cited}) "
        "the SE would be 4.2% smaller"
    )


def test_the_route_note_and_the_arm_note_are_both_kept():
    effects, *_ = tables(
        [("s1", "rct")],
        [("s1", "ai_a", "treatment", 30), ("s1", "ai_b", "treatment", 30),
         ("s1", "placebo", "control", 30)],
        [("s1", "overall", "low")],
        [arm("ai_a", "final", 12, n=30, mean=0.98, sd=0.12),
         arm("placebo", "final", 12, n=30, mean=1.02, sd=0.11)],
        [],
    )  # fmt: skip
    assert effects["note"].tolist() == [
        "difference in final values: no baseline or change reported; "
        "several treatment arms: ai_a used (first in sorted order)"
    ]


def test_a_study_listing_no_treatment_arm_still_reads_its_control_arm():
    effects, _, _, missing = tables(
        [("s1", "rct")], [("s1", "placebo", "control", 30)], [("s1", "overall", "low")],
        [arm("placebo", "change", 12, n=30, mean=0.01, sd=0.05)], [],
    )  # fmt: skip
    assert effects.empty
    assert missing[["scale", "reason"]].to_numpy().tolist() == [
        ["percent", NO_PERCENT_ROWS], ["absolute", "no treatment arm values at 12 months"],
    ]  # fmt: skip


def test_with_nothing_to_report_every_output_still_has_its_columns():
    # the columns of data/processed/effects/*.csv (docs/architecture.md, "Processed files")
    effects, ledger, words, missing = run([], [])
    assert [list(t.columns) for t in (ledger, words, missing)] == [
        ["derivation_id", "study_id", "outcome", "scale", "step", "method", "inputs",
         "assumptions", "value", "reference"],
        ["study_id", "label", "evidence_line", "outcome", "timepoint_months", "reported_text",
         "p_value", "p_value_bound", "source", "location"],
        ["study_id", "label", "evidence_line", "outcome", "scale", "timepoint_months", "reason"],
    ]  # fmt: skip
    assert effects.empty and ledger.empty and words.empty and missing.empty
    assert {"study_id", "yi", "vi", "n_treatment", "n_control", "route"} <= set(effects.columns)
