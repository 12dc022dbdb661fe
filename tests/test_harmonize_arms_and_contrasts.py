"""Arm statistics, reported differences and the hormone table of analysis.harmonize.

The derivation ledger is checked step by step (method, the cells read, assumptions, value,
reference) because it is what a reader of data/processed/derivations.csv relies on. Every
expected number comes from R 4.2.2 with metafor 3.8-1 or from the published formula (the
R expression is beside it); strings are the documented method names and references.
Closed forms: relative tolerance 1e-12.
"""

import json
import math

import numpy as np
import pandas as pd
import pytest
from harmonize_tables import TIGHT, arm, contrast, effects_of

from analysis.harmonize import canonical_units, hormone_changes

HANDBOOK = (
    "Higgins JPT, Li T, Deeks JJ (eds). Chapter 6: Choosing effect measures and computing "
    "estimates of effect. Cochrane Handbook for Systematic Reviews of Interventions v6.4, 2023"
)
MD_REFERENCE = "metafor escalc(measure='MD'); Handbook 6.5.1.1"
MD_VI = "sd_t^2/n_t + sd_c^2/n_c"
LUO = (
    "Luo D, Wan X, Liu J, Tong T. Optimally estimating the sample mean from the sample size, "
    "median, mid-range, and/or mid-quartile range. Stat Methods Med Res 2018;27:1785-1805"
)
WAN = (
    "Wan X, Wang W, Liu J, Tong T. Estimating the sample mean and standard deviation from the "
    "sample size, median, range and/or interquartile range. BMC Med Res Methodol 2014;14:135"
)
SKEW = (
    "Shi J, Luo D, Wan X, et al. Detecting the skewness of data from the five-number summary "
    "and its application in meta-analysis. Stat Methods Med Res 2023;32:1338-1360 "
    "(criteria as in metafor >= 4.0 conv.fivenum)"
)
SD_FROM_SE = "sd_from_se: SD = SE * sqrt(n)"
SE_FROM_CI = "se_from_ci: SE = (high - low) / (2 q)"


def step(method, inputs, value, assumptions, reference=""):
    return {"method": method, "inputs": ";".join(inputs), "value": value,
            "assumptions": assumptions, "reference": reference}  # fmt: skip


def assert_ledger(ledger, scale, expected):
    """The ledger rows of one scale, in order, equal ``expected``; assumptions are JSON
    objects with sorted keys (so the file diffs cleanly between runs)."""
    rows = ledger.loc[ledger["scale"] == scale].sort_values("step")
    assert list(rows["step"]) == list(range(1, len(expected) + 1))
    for (_, got), want in zip(rows.iterrows(), expected, strict=True):
        assert got["method"] == want["method"]
        assert got["inputs"] == want["inputs"]
        assert got["reference"] == want["reference"]
        assert got["value"] == pytest.approx(want["value"], rel=TIGHT)
        assumptions = json.loads(got["assumptions"])
        assert list(assumptions) == sorted(assumptions)
        assert set(assumptions) == set(want["assumptions"])
        for key, value in want["assumptions"].items():
            if isinstance(value, float):
                assert assumptions[key] == pytest.approx(value, rel=TIGHT), key
            else:
                assert assumptions[key] == value, key


def cells(row, *columns, table="arm_outcomes.csv"):
    return [f"{table}:{row}:{c}" for c in columns]


# --- route a: a reported difference and its SE or CI ---------------------------------------


def test_a_reported_difference_with_its_se_is_one_ledger_step_citing_both_cells():
    effects, ledger, _ = effects_of(contrast_rows=[contrast(estimate=-0.027, se=0.012)], n=(36, 35))
    e = effects.loc["absolute"]
    assert (e["route"], e["yi"], bool(e["derived"])) == ("a", -0.027, False)
    assert e["vi"] == pytest.approx(0.012**2, rel=TIGHT)
    assert_ledger(ledger, "absolute", [
        step("reported_difference", cells(2, "estimate", "se", table="contrasts.csv"), -0.027,
             {"route": "a"}),
    ])  # fmt: skip


def test_a_reported_90_percent_ci_is_recorded_with_its_t_quantile_and_both_limits():
    effects, ledger, _ = effects_of(
        contrast_rows=[contrast(estimate=-0.027, ci_low=-0.041, ci_high=-0.013, ci_level=0.90)],
        n=(36, 35),
    )
    read = cells(2, "estimate", "ci_low", "ci_high", table="contrasts.csv")
    assert_ledger(ledger, "absolute", [
        # qt(0.95, 69); 0.028 / (2 * qt(0.95, 69))
        step(SE_FROM_CI, read, 0.0083971187033675052,
             {"distribution": "t", "df": 69, "df_source": "given", "q": 1.667238548668553,
              "level": 0.9, "log_scale": False},
             f"{HANDBOOK}, sections 6.3.2 and 6.5.2.2"),
        step("reported_difference", read, -0.027, {"route": "a"}),
    ])  # fmt: skip
    assert bool(effects.loc["absolute", "derived"])


@pytest.mark.parametrize(
    ("n", "vi"),
    [
        # two men in all: no df left, the normal quantile; (0.028 / (2 * qnorm(0.975)))^2
        ((1, 1), 5.1022283238893155e-05),
        # three men: t on 3 - 2 = 1 df; (0.028 / (2 * qt(0.975, 1)))^2
        ((2, 1), 1.2140158967932082e-06),
    ],
)
def test_a_reported_ci_uses_t_on_total_n_minus_2_df_only_when_that_leaves_a_df(n, vi):
    effects, *_ = effects_of(
        contrast_rows=[contrast(estimate=-0.027, ci_low=-0.041, ci_high=-0.013)], n=n
    )
    assert effects.loc["absolute", "vi"] == pytest.approx(vi, rel=TIGHT)


def test_a_reported_difference_with_an_se_of_zero_gives_way_to_the_arm_changes():
    effects, *_ = effects_of(
        [arm("ai", "change", 12, n=30, mean=-0.02, sd=0.04),
         arm("placebo", "change", 12, n=32, mean=0.01, sd=0.05)],
        [contrast(estimate=-0.027, se=0.0)],
    )  # fmt: skip
    e = effects.loc["absolute"]
    assert e["route"] == "b"
    assert e["yi"] == pytest.approx(-0.03, rel=TIGHT)
    assert e["vi"] == pytest.approx(0.04**2 / 30 + 0.05**2 / 32, rel=TIGHT)


# --- route e: a reported difference with a p-value only ------------------------------------

P_BELOW = (
    "p < x means |z| > z_x, so the true SE is at most |estimate| / z_x: the SE used is an "
    "upper bound (less weight)"
)


@pytest.mark.parametrize(
    ("bound", "extra"),
    [
        ("<", {"bound": "<", "se_is": "upper bound", "conservative": P_BELOW}),
        (None, {"bound": "=", "se_is": "exact"}),  # a blank bound is an exact p
    ],
)
def test_a_reported_difference_with_a_p_records_the_bound_and_the_t_statistic(bound, extra):
    effects, ledger, _ = effects_of(
        contrast_rows=[contrast(estimate=1.9, p_value=0.04, p_value_bound=bound)], n=(30, 31)
    )
    e = effects.loc["absolute"]
    assert e["route"] == "e"
    # (1.9 / qt(1 - 0.04 / 2, 59))^2
    assert e["vi"] == pytest.approx(0.81847496436224987, rel=TIGHT)
    read = cells(2, "estimate", "p_value", table="contrasts.csv")
    assert_ledger(ledger, "absolute", [
        # 1.9 / qt(0.98, 59), qt(0.98, 59)
        step("se_from_p: SE = |estimate| / t", read, 0.90469606186953744,
             {"statistic": "t", "df": 59, "two_sided": True, "stat": 2.1001528359410404,
              **extra},
             f"{HANDBOOK}, sections 6.3.2 and 6.5.2.3"),
        step("reported_difference", read, 1.9, {"route": "e"}),
    ])  # fmt: skip


@pytest.mark.parametrize(
    ("arm_rows", "contrast_rows"),
    [
        # p > x bounds the SE from below: using it would overstate the weight
        ((), [contrast(estimate=1.9, p_value=0.2, p_value_bound=">")]),
        # an estimate of 0 says nothing about its SE, whatever the p
        ((), [contrast(estimate=0.0, p_value=0.5, p_value_bound="=")]),
        # a CI with one limit only
        ((), [contrast(estimate=-0.027, ci_low=-0.041)]),
        (
            [arm("ai", "change", 12, n=20, mean=-0.02, ci_low=-0.03),
             arm("placebo", "change", 12, n=20, mean=0.01, sd=0.05)],
            (),
        ),
    ],
    ids=["p-above-a-bound", "zero-estimate", "contrast-ci-low-only", "arm-ci-low-only"],
)  # fmt: skip
def test_statistics_that_give_no_se_leave_the_effect_listed_as_not_estimable(
    arm_rows, contrast_rows
):
    effects, _, missing = effects_of(arm_rows, contrast_rows, n=(30, 31))
    assert "absolute" not in effects.index
    assert list(missing.loc[missing["scale"] == "absolute", "study_id"]) == ["s1"]


# --- arm statistics: the SD from what the arm reports --------------------------------------


def test_arm_sds_from_an_se_and_from_a_ci_are_each_a_ledger_step():
    effects, ledger, _ = effects_of([
        arm("ai", "change", 12, n=18, mean=-0.020, se=0.004),
        arm("placebo", "change", 12, n=20, mean=0.002, ci_low=-0.010, ci_high=0.014),
    ])  # fmt: skip
    e = effects.loc["absolute"]
    assert (e["route"], bool(e["derived"])) == ("b", True)
    # escalc("MD", m1i=-0.02, sd1i=0.004*sqrt(18), n1i=18, m2i=0.002,
    #        sd2i=0.024/(2*qt(0.975,19))*sqrt(20), n2i=20)
    assert e["yi"] == pytest.approx(-0.022, rel=TIGHT)
    assert e["vi"] == pytest.approx(4.8871086027138728e-05, rel=TIGHT)
    section = f"{HANDBOOK}, section 6.5.2.2"
    assert_ledger(ledger, "absolute", [
        # 0.004 sqrt(18)
        step(SD_FROM_SE, cells(2, "se"), 0.016970562748477139, {"n": 18}, section),
        # 0.024 / (2 qt(0.975, 19)), then * sqrt(20)
        step(SE_FROM_CI, cells(3, "ci_low", "ci_high"), 0.005733331145777185,
             {"distribution": "t", "df": 19, "df_source": "given", "q": 2.0930240544083092,
              "level": 0.95, "log_scale": False},
             f"{HANDBOOK}, sections 6.3.2 and 6.5.2.2"),
        step(SD_FROM_SE, cells(3, "ci_low", "ci_high"), 0.025640236358949086, {"n": 20},
             section),
        step("md_of_changes", cells(2, "mean", "se") + cells(3, "mean", "ci_low", "ci_high"),
             -0.022, {"route": "b", "vi": MD_VI, "n_treatment": 18, "n_control": 20},
             MD_REFERENCE),
    ])  # fmt: skip


def test_a_within_arm_p_of_a_percent_change_gives_its_se_with_t_on_n_minus_1_df():
    effects, ledger, _ = effects_of([
        arm("ai", "percent_change", 12, n=25, mean=-2.5, p_value=0.01, unit="percent"),
        arm("placebo", "percent_change", 12, n=27, mean=0.4, sd=3.0, unit="percent"),
    ])  # fmt: skip
    e = effects.loc["percent"]
    assert e["route"] == "b"
    # se = 2.5 / qt(0.995, 24); escalc("MD", -2.5, 5 se, 25, 0.4, 3, 27)
    assert e["yi"] == pytest.approx(-2.9, rel=TIGHT)
    assert e["vi"] == pytest.approx(1.1322727923726512, rel=TIGHT)
    read = cells(2, "mean", "p_value")
    rows = ledger.loc[ledger["scale"] == "percent"]
    assert_ledger(rows.loc[rows["step"] <= 2], "percent", [
        step("se_from_p: SE = |estimate| / t", read, 0.89383413396408062,
             {"statistic": "t", "df": 24, "two_sided": True, "bound": "=", "se_is": "exact",
              "stat": 2.7969395047744556},  # qt(0.995, 24)
             f"{HANDBOOK}, sections 6.3.2 and 6.5.2.3"),
        step(SD_FROM_SE, read, 4.4691706698204028, {"n": 25}, f"{HANDBOOK}, section 6.5.2.2"),
    ])  # fmt: skip


def test_arms_of_two_men_give_an_sd_from_a_ci_and_from_a_p_with_one_df():
    effects, *_ = effects_of([
        arm("ai", "change", 12, n=2, mean=-0.02, ci_low=-0.05, ci_high=0.01),
        arm("placebo", "change", 12, n=2, mean=0.01, p_value=0.3),
    ])  # fmt: skip
    e = effects.loc["absolute"]
    assert e["yi"] == pytest.approx(-0.03, rel=TIGHT)
    # se_t = 0.06 / (2 qt(0.975, 1)), se_c = 0.01 / qt(0.85, 1); vi = se_t^2 + se_c^2
    assert e["vi"] == pytest.approx(3.1536181159647367e-05, rel=TIGHT)


def test_a_median_with_quartiles_from_five_men_gives_the_luo_mean_and_wan_sd_cited_cell_by_cell():
    effects, ledger, _ = effects_of([
        arm("ai", "change", 12, n=5, median=-0.028, q1=-0.044, q3=-0.017),
        arm("placebo", "change", 12, n=5, mean=0.002, sd=0.02),
    ])  # fmt: skip
    e = effects.loc["absolute"]
    # w = 0.7 + 0.39 / 5; mean = w (q1 + q3) / 2 + (1 - w) median = -0.029945
    # sd = (q3 - q1) / (2 qnorm((0.75 * 5 - 0.125) / 5.25)) = 0.027152020323497277
    # escalc("MD", -0.029945, 0.027152020323497277, 5, 0.002, 0.02, 5)
    assert e["yi"] == pytest.approx(-0.031945, rel=TIGHT)
    assert e["vi"] == pytest.approx(0.00022744644152952184, rel=TIGHT)
    quartiles = cells(2, "median", "q1", "q3")
    assert_ledger(ledger, "absolute", [
        step("mean_sd_from_median: mean by Luo 2018, SD by Wan 2014 (S2)", quartiles, -0.029945,
             {"distribution": "normal", "scenario": "S2: q1, median, q3",
              "skew_stat": 0.18518518518518512,  # |q1 + q3 - 2 median| / (q3 - q1)
              "skew_crit": 0.94511602807488848,  # 2.65 / sqrt(5) - 6 / 5^2
              "skewed": False, "skew_reference": SKEW},
             f"{LUO}; {WAN}"),
        # the SD was computed from the quartiles and n: the blank sd cell is not cited
        step("md_of_changes", quartiles + cells(2, "n") + cells(3, "mean", "sd"), -0.031945,
             {"route": "b", "vi": MD_VI, "n_treatment": 5, "n_control": 5}, MD_REFERENCE),
    ])  # fmt: skip


def test_a_reported_sd_beside_a_median_and_quartiles_is_used_as_reported():
    effects, ledger, _ = effects_of([
        arm("ai", "change", 12, n=30, median=-0.028, q1=-0.044, q3=-0.017, sd=0.03),
        arm("placebo", "change", 12, n=29, mean=0.002, sd=0.02),
    ])  # fmt: skip
    e = effects.loc["absolute"]
    # mean: w = 0.7 + 0.39 / 30, -0.0297825; escalc("MD", -0.0297825, 0.03, 30, 0.002, 0.02, 29)
    assert e["yi"] == pytest.approx(-0.0317825, rel=TIGHT)
    assert e["vi"] == pytest.approx(4.3793103448275864e-05, rel=TIGHT)
    md = ledger.loc[ledger["method"] == "md_of_changes", "inputs"].item()
    assert md == ";".join(cells(2, "median", "q1", "q3", "sd") + cells(3, "mean", "sd"))


# --- hormone_changes ------------------------------------------------------------------------

HORMONE_COLUMNS = [
    "study_id", "label", "evidence_line", "arm", "role", "compared", "outcome", "unit",
    "unit_reported", "factor_baseline", "factor_follow_up", "baseline", "follow_up", "months",
    "change", "percent_change", "follow_up_measure", "source_rows", "sources",
]  # fmt: skip
PG_ML = 1000 / 272.38  # pmol/L per pg/mL: 1e-9 g/L / 272.38 g/mol = 3.6713 pmol/L
NG_DL = 10 / 288.42  # nmol/L per ng/dL: 1e-8 g/L / 288.42 g/mol = 0.034671 nmol/L


def hormone_rows(*rows):
    keys = ["study_id", "arm", "outcome", "timepoint_months", "measure", "mean", "unit",
            "source"]  # fmt: skip
    frame = pd.DataFrame([dict(zip(keys, r, strict=True)) for r in rows], columns=keys)
    frame["timepoint_months"] = frame["timepoint_months"].astype(float)
    frame["mean"] = frame["mean"].astype(float)
    frame["source"] = frame["source"].astype("string")  # a blank source is <NA>, as read
    frame["source_row"] = np.arange(2, len(frame) + 2)
    return frame


def hormone_design():
    studies = pd.DataFrame({
        "study_id": ["s0", "s1", "s2", "s3"], "label": ["S0 2001", "S1 2009", "S2", "S3"],
        "year": [2001, 2009, 2012, 2014],
        "design": ["rct", "rct", "case_report", "case_series"],
        "evidence_line": ["ai_older_men", "ai_older_men", "ai_boys", "ai_boys"],
    })  # fmt: skip
    arms = pd.DataFrame({
        "study_id": ["s0", "s0", "s1", "s1", "s1", "s2", "s3"],
        "arm": ["ai", "placebo", "ai", "high_dose", "placebo", "ai", "ai"],
        "role": ["treatment", "control", "treatment", "treatment", "control", "treatment",
                 "treatment"],
        "n_randomized": [None] * 7, "source_row": [2, 3, 4, 5, 6, 7, 8],
    })  # fmt: skip
    contrasts = pd.DataFrame({"study_id": ["s1"], "treatment_arm": ["ai"],
                              "control_arm": ["placebo"], "source_row": [2]})  # fmt: skip
    return arms, studies, contrasts


def test_hormone_changes_tabulate_each_arm_from_baseline_to_its_latest_follow_up():
    ao = canonical_units(hormone_rows(
        # s0: nothing to tabulate (sorted first, so a skipped arm must not end the loop)
        ("s0", "ai", "estradiol", 0, "final", 14.0, "pg/mL", "PMID:9"),  # 2: no follow-up
        ("s0", "ai", "testosterone", 6, "final", 15.0, "nmol/L", "PMID:9"),  # 3: no baseline
        ("s0", "placebo", "estradiol", 0, "baseline", 14.0, "pg/mL", "PMID:9"),  # 4
        ("s0", "placebo", "estradiol", 6, "percent_change", -3.0, "percent", "PMID:9"),  # 5
        # s1 ai: a change and a final at 12 months (the final is used), listed before the
        # baseline
        ("s1", "ai", "estradiol", 12, "change", -2.0, "pg/mL", "PMID:1"),  # 6
        ("s1", "ai", "estradiol", 12, "final", 12.0, "pg/mL", "PMID:2"),  # 7
        ("s1", "ai", "estradiol", 0, "baseline", 15.0, "pg/mL", "PMID:1"),  # 8
        ("s1", "ai", "estradiol", 6, "final", 13.0, "pg/mL", "PMID:1"),  # 9
        # s1 ai testosterone: baseline in ng/dL, a change at one month in nmol/L
        ("s1", "ai", "testosterone", 0, "baseline", 319.0, "ng/dL", "PMID:1"),  # 10
        ("s1", "ai", "testosterone", 1, "change", -1.5, "nmol/L", "PMID:1"),  # 11
        ("s1", "ai", "bmd_lumbar_spine", 0, "baseline", 1.0, "g/cm2", "PMID:1"),  # 12
        ("s1", "ai", "bmd_lumbar_spine", 12, "final", 1.1, "g/cm2", "PMID:1"),  # 13
        # s1 high_dose: a treatment arm the effects do not compare
        ("s1", "high_dose", "estradiol", 0, "baseline", 16.0, "pg/mL", "PMID:1"),  # 14
        ("s1", "high_dose", "estradiol", 12, "final", 8.0, "pg/mL", "PMID:1"),  # 15
        # s1 placebo: the baseline is a final value at month 0; a testosterone of 0
        ("s1", "placebo", "estradiol", 0, "final", 14.0, "pg/mL", "PMID:1"),  # 16
        ("s1", "placebo", "estradiol", 12, "final", 14.5, "pg/mL", "PMID:1"),  # 17
        ("s1", "placebo", "testosterone", 0, "baseline", 0.0, "nmol/L", None),  # 18
        ("s1", "placebo", "testosterone", 12, "final", 1.0, "nmol/L", None),  # 19
        # case reports and case series are not controlled studies
        ("s2", "ai", "estradiol", 0, "baseline", 20.0, "pg/mL", "PMID:3"),  # 20
        ("s2", "ai", "estradiol", 6, "final", 10.0, "pg/mL", "PMID:3"),  # 21
        ("s3", "ai", "estradiol", 0, "baseline", 20.0, "pg/mL", "PMID:4"),  # 22
        ("s3", "ai", "estradiol", 6, "final", 10.0, "pg/mL", "PMID:4"),  # 23
    ), {"estradiol": "pmol/L", "testosterone": "nmol/L"})  # fmt: skip
    arms, studies, contrasts = hormone_design()
    out = hormone_changes(ao, arms, studies, contrasts)
    t_base = 319 * NG_DL
    common = {"study_id": "s1", "label": "S1 2009", "evidence_line": "ai_older_men"}
    expected = pd.DataFrame([
        {**common, "arm": "ai", "role": "treatment", "compared": True, "outcome": "estradiol",
         "unit": "pmol/L", "unit_reported": "pg/mL", "factor_baseline": PG_ML,
         "factor_follow_up": PG_ML, "baseline": 15 * PG_ML, "follow_up": 12 * PG_ML,
         "months": 12.0, "change": -3 * PG_ML, "percent_change": -20.0,
         "follow_up_measure": "final", "source_rows": "arm_outcomes.csv:8;arm_outcomes.csv:7",
         "sources": "PMID:1;PMID:2"},
        {**common, "arm": "ai", "role": "treatment", "compared": True, "outcome": "testosterone",
         "unit": "nmol/L", "unit_reported": "ng/dL;nmol/L", "factor_baseline": NG_DL,
         "factor_follow_up": 1.0, "baseline": t_base, "follow_up": t_base - 1.5,
         "months": 1.0, "change": -1.5, "percent_change": -150 / t_base,
         "follow_up_measure": "change",
         "source_rows": "arm_outcomes.csv:10;arm_outcomes.csv:11", "sources": "PMID:1"},
        {**common, "arm": "high_dose", "role": "treatment", "compared": False,
         "outcome": "estradiol", "unit": "pmol/L", "unit_reported": "pg/mL",
         "factor_baseline": PG_ML, "factor_follow_up": PG_ML, "baseline": 16 * PG_ML,
         "follow_up": 8 * PG_ML, "months": 12.0, "change": -8 * PG_ML, "percent_change": -50.0,
         "follow_up_measure": "final",
         "source_rows": "arm_outcomes.csv:14;arm_outcomes.csv:15", "sources": "PMID:1"},
        {**common, "arm": "placebo", "role": "control", "compared": True, "outcome": "estradiol",
         "unit": "pmol/L", "unit_reported": "pg/mL", "factor_baseline": PG_ML,
         "factor_follow_up": PG_ML, "baseline": 14 * PG_ML, "follow_up": 14.5 * PG_ML,
         "months": 12.0, "change": 0.5 * PG_ML, "percent_change": 50 / 14,
         "follow_up_measure": "final",
         "source_rows": "arm_outcomes.csv:16;arm_outcomes.csv:17", "sources": "PMID:1"},
        {**common, "arm": "placebo", "role": "control", "compared": True,
         "outcome": "testosterone", "unit": "nmol/L", "unit_reported": "nmol/L",
         "factor_baseline": 1.0, "factor_follow_up": 1.0, "baseline": 0.0, "follow_up": 1.0,
         "months": 12.0, "change": 1.0, "percent_change": math.nan,  # no % of a zero baseline
         "follow_up_measure": "final",
         "source_rows": "arm_outcomes.csv:18;arm_outcomes.csv:19", "sources": ""},
    ], columns=HORMONE_COLUMNS)  # fmt: skip
    pd.testing.assert_frame_equal(
        out.reset_index(drop=True), expected, check_dtype=False, rtol=TIGHT, atol=0
    )


def test_hormone_changes_of_an_outcome_without_a_unit_table_keep_the_reported_unit():
    ao = canonical_units(hormone_rows(
        ("s1", "ai", "dht", 0, "baseline", 1.2, "nmol/L", "PMID:1"),
        ("s1", "ai", "dht", 12, "final", 0.9, "nmol/L", "PMID:1"),
    ), {})  # fmt: skip
    arms, studies, contrasts = hormone_design()
    row = hormone_changes(ao, arms, studies, contrasts, hormones=("dht",)).iloc[0]
    assert (row["unit"], row["factor_baseline"], row["factor_follow_up"]) == ("nmol/L", 1.0, 1.0)
    assert row["percent_change"] == pytest.approx(-25.0, rel=TIGHT)


def test_hormone_changes_of_rows_without_a_canonical_unit_use_the_reported_unit():
    frame = hormone_rows(
        ("s1", "ai", "testosterone", 0, "baseline", 12.0, "nmol/L", "PMID:1"),
        ("s1", "ai", "testosterone", 6, "final", 9.0, "nmol/L", "PMID:1"),
    )  # no unit_canonical column: canonical_units was not applied
    arms, studies, contrasts = hormone_design()
    row = hormone_changes(frame, arms, studies, contrasts).iloc[0]
    assert (row["unit"], row["unit_reported"]) == ("nmol/L", "nmol/L")
    assert (row["factor_baseline"], row["factor_follow_up"]) == (1.0, 1.0)
    assert (row["change"], row["percent_change"]) == (-3.0, -25.0)


def test_hormone_changes_with_nothing_to_tabulate_give_an_empty_table_with_every_column():
    arms, studies, contrasts = hormone_design()
    ao = canonical_units(hormone_rows(
        ("s1", "ai", "bmd_lumbar_spine", 0, "baseline", 1.0, "g/cm2", "PMID:1"),
        ("s1", "ai", "bmd_lumbar_spine", 12, "final", 1.1, "g/cm2", "PMID:1"),
    ), {})  # fmt: skip
    out = hormone_changes(ao, arms, studies, contrasts)
    assert out.empty and list(out.columns) == HORMONE_COLUMNS
