"""Every derivation route of analysis.harmonize against values computed outside the code.

Each expected number was computed in R 4.2 with metafor 3.8-1 from the published formula
(the R expression is in the comment beside it) and is written out here, so a wrong df, a
dropped term or a wrong quantile in the code cannot also be in the expectation. The inputs
make every term matter: unequal arms, q1 + q3 != 2 median, a 90 % CI, baseline and final n
that differ, two follow-ups. Closed forms: relative tolerance 1e-12.
"""

import math

import pandas as pd
import pytest
from harmonize_tables import TIGHT, arm, contrast, effects_of

from analysis.harmonize import canonical_units

Z975 = 1.9599639845400536  # qnorm(0.975)
Z95 = 1.6448536269514715  # qnorm(0.95)


# --- route a: a reported difference -------------------------------------------------------


def test_a_reported_90_percent_ci_gives_the_se_with_t_on_the_arms_total_n_minus_2_df():
    effects, *_ = effects_of(
        contrast_rows=[contrast(estimate=-0.027, ci_low=-0.041, ci_high=-0.013, ci_level=0.90)],
        n=(36, 35),
    )
    e = effects.loc["absolute"]
    assert e["route"] == "a" and e["derived"]
    assert e["yi"] == -0.027
    # ((-0.013 + 0.041) / (2 * qt(0.95, 36 + 35 - 2)))^2
    assert e["vi"] == pytest.approx(7.0511602518444374e-05, rel=TIGHT)


def test_a_reported_90_percent_ci_without_arm_n_uses_the_normal_quantile():
    effects, *_ = effects_of(
        contrast_rows=[contrast(estimate=-0.027, ci_low=-0.041, ci_high=-0.013, ci_level=0.90)]
    )
    # ((-0.013 + 0.041) / (2 * qnorm(0.95)))^2
    assert effects.loc["absolute", "vi"] == pytest.approx(7.2443855855766341e-05, rel=TIGHT)


def test_a_ci_without_a_level_is_taken_as_95_percent():
    effects, *_ = effects_of(
        contrast_rows=[contrast(estimate=-0.027, ci_low=-0.041, ci_high=-0.013)], n=(36, 35)
    )
    # ((-0.013 + 0.041) / (2 * qt(0.975, 69)))^2
    assert effects.loc["absolute", "vi"] == pytest.approx(4.9248616753114678e-05, rel=TIGHT)


def test_a_reported_difference_in_final_values_with_its_se_is_route_d():
    effects, *_ = effects_of(
        contrast_rows=[contrast("difference_in_final", estimate=-0.031, se=0.012)], n=(30, 31)
    )
    e = effects.loc["absolute"]
    assert (e["route"], e["yi"]) == ("d", -0.031)
    assert e["vi"] == pytest.approx(0.012**2, rel=TIGHT)
    assert e["note"] == "reported difference in final values"


@pytest.mark.parametrize(
    ("reported", "vi"),
    [
        # ((0.002 + 0.06) / (2 * qt(0.975, 10 + 10 - 2)))^2
        ({"ci_low": -0.06, "ci_high": 0.002}, 0.00021772260070398357),
        # (0.029 / qt(1 - 0.03 / 2, 10 + 10 - 2))^2
        ({"p_value": 0.03}, 0.00015148828976412082),
    ],
    ids=["ci", "p-only"],
)
def test_a_reported_difference_in_final_values_with_a_ci_or_only_a_p_uses_t_on_n_minus_2_df(
    reported, vi
):
    effects, *_ = effects_of(
        contrast_rows=[contrast("difference_in_final", estimate=-0.029, **reported)], n=(10, 10)
    )
    e = effects.loc["absolute"]
    assert (e["route"], e["yi"]) == ("d", -0.029)
    assert e["note"] == "reported difference in final values"
    assert e["vi"] == pytest.approx(vi, rel=TIGHT)


def test_canonical_units_leave_an_outcome_without_a_canonical_unit_or_a_blank_unit_as_reported():
    # The docstring: other outcomes and values in percent keep their unit; a blank unit is
    # not claimed to be the canonical one. No row is converted (factor 1).
    rows = pd.DataFrame({
        "outcome": ["testosterone", "bmd_lumbar_spine", "bmd_lumbar_spine", "bmd_lumbar_spine"],
        "unit": ["ng/dL", None, "percent", "g/cm2"],
        "mean": [310.0, 1.05, -2.1, 1.02],
    })  # fmt: skip
    out = canonical_units(rows, {"bmd_lumbar_spine": "g/cm2"}, value_columns=["mean"])
    assert out["unit_canonical"].isna().tolist() == [False, True, False, False]
    assert out["unit_canonical"].dropna().tolist() == ["ng/dL", "percent", "g/cm2"]
    assert out["mean"].tolist() == [310.0, 1.05, -2.1, 1.02]
    pd.testing.assert_series_equal(out["unit"], rows["unit"])  # the reported unit stays


def test_a_reported_difference_with_a_p_value_and_arm_n_uses_t_on_n_minus_2_df():
    effects, *_ = effects_of(
        contrast_rows=[contrast(estimate=1.9, p_value=0.04, p_value_bound="=")], n=(30, 31)
    )
    e = effects.loc["absolute"]
    assert e["route"] == "e"
    # (1.9 / qt(1 - 0.04 / 2, 59))^2
    assert e["vi"] == pytest.approx(0.81847496436224987, rel=TIGHT)


# --- route b: reported changes ------------------------------------------------------------


def test_change_means_with_95_percent_cis_give_the_sd_with_t_on_n_minus_1_df():
    effects, *_ = effects_of([
        arm("ai", "change", 12, n=18, mean=-0.020, ci_low=-0.034, ci_high=-0.006),
        arm("placebo", "change", 12, n=20, mean=0.002, ci_low=-0.010, ci_high=0.014),
    ])  # fmt: skip
    e = effects.loc["absolute"]
    assert e["route"] == "b" and e["derived"]
    assert e["yi"] == pytest.approx(-0.022, rel=TIGHT)
    # se_i = (hi - lo) / (2 qt(0.975, n - 1)); escalc("MD", sd = se sqrt(n))
    assert e["vi"] == pytest.approx(7.6902951171617737e-05, rel=TIGHT)


def test_a_change_mean_with_a_within_arm_p_gives_the_se_with_t_on_n_minus_1_df():
    effects, ledger, _ = effects_of([
        arm("ai", "change", 12, n=25, mean=-0.02, p_value=0.01),
        arm("placebo", "change", 12, n=27, mean=0.01, sd=0.05),
    ])  # fmt: skip
    e = effects.loc["absolute"]
    assert e["route"] == "b" and e["derived"]
    # se = 0.02 / qt(1 - 0.01 / 2, 24); escalc("MD", -0.02, 5 se, 25, 0.01, 0.05, 27)
    assert e["vi"] == pytest.approx(0.00014372471797110897, rel=TIGHT)
    assert "arm_outcomes.csv:2:p_value" in ";".join(ledger["inputs"])


def test_a_median_with_unequal_quartiles_gives_the_luo_mean_and_wan_sd():
    effects, *_ = effects_of([
        arm("ai", "change", 12, n=30, median=-0.028, q1=-0.044, q3=-0.017),
        arm("placebo", "change", 12, n=29, median=0.003, q1=-0.009, q3=0.013),
    ])  # fmt: skip
    e = effects.loc["absolute"]
    # mean = w (q1 + q3) / 2 + (1 - w) m, w = 0.7 + 0.39 / n (Luo 2018):
    #   -0.0297825 and 0.002286551724137931
    # SD = (q3 - q1) / (2 qnorm((0.75 n - 0.125) / (n + 0.25))) (Wan 2014)
    assert e["yi"] == pytest.approx(-0.029782500000000000 - 0.002286551724137931, rel=TIGHT)
    assert e["vi"] == pytest.approx(2.4871529776526148e-05, rel=TIGHT)


def test_percent_changes_reported_per_arm_give_their_mean_difference():
    effects, *_ = effects_of([
        arm("ai", "percent_change", 12, n=25, mean=-0.8, se=0.55, unit="percent"),
        arm("placebo", "percent_change", 12, n=27, mean=0.5, se=0.50, unit="percent"),
    ])  # fmt: skip
    e = effects.loc["percent"]
    assert (e["route"], e["unit"]) == ("b", "percent")
    assert e["yi"] == pytest.approx(-1.3, rel=TIGHT)
    assert e["vi"] == pytest.approx(0.55**2 + 0.50**2, rel=TIGHT)
    assert "absolute" not in effects.index


# --- route c: baseline and final values ---------------------------------------------------

DOGWOOD = [
    arm("ai", "baseline", 0, n=34, mean=1.104, sd=0.142),
    arm("ai", "final", 12, n=31, mean=1.081, sd=0.139),
    arm("placebo", "baseline", 0, n=33, mean=1.097, sd=0.151),
    arm("placebo", "final", 12, n=32, mean=1.103, sd=0.148),
]


def test_baseline_and_final_values_give_the_change_with_the_smaller_n():
    effects, *_ = effects_of(DOGWOOD)
    e = effects.loc["absolute"]
    assert e["route"] == "c"
    assert (e["n_treatment"], e["n_control"]) == (31, 32)
    # sd_change = sqrt(sb^2 + sf^2 - 2 r sb sf), r = 0.5; escalc("MD", ..., n = min(nb, nf))
    assert e["yi"] == pytest.approx(-0.029, rel=1e-9)
    assert e["vi"] == pytest.approx(0.00133565625, rel=TIGHT)


def test_baseline_and_final_values_give_the_delta_method_percent_change_of_both_arms():
    effects, *_ = effects_of(DOGWOOD)
    e = effects.loc["percent"]
    assert e["route"] == "c"
    # per arm: 100 (mf / mb - 1) and Var = 100^2 (sef^2/mb^2 + mf^2 seb^2/mb^4
    #   - 2 r mf sef seb / mb^3), se = sd / sqrt(n) of each mean; variances added
    assert e["yi"] == pytest.approx(-2.6302795502886722, rel=TIGHT)
    assert e["vi"] == pytest.approx(10.6411216335920642, rel=TIGHT)


def test_the_pre_post_correlation_enters_the_change_variance():
    low, *_ = effects_of(DOGWOOD, r=0.2)
    high, *_ = effects_of(DOGWOOD, r=0.8)

    def vi(r):
        v = (0.142**2 + 0.139**2 - 2 * r * 0.142 * 0.139) / 31
        return v + (0.151**2 + 0.148**2 - 2 * r * 0.151 * 0.148) / 32

    assert low.loc["absolute", "vi"] == pytest.approx(vi(0.2), rel=TIGHT)
    assert high.loc["absolute", "vi"] == pytest.approx(vi(0.8), rel=TIGHT)


# --- route d: final values only -----------------------------------------------------------


def test_final_values_only_give_the_mean_difference_of_finals_with_its_variance():
    effects, *_ = effects_of([
        arm("ai", "final", 12, n=40, mean=162.5, sd=7.9),
        arm("placebo", "final", 12, n=38, mean=158.9, sd=8.4),
    ])  # fmt: skip
    e = effects.loc["absolute"]
    assert e["route"] == "d"
    # escalc("MD", 162.5, 7.9, 40, 158.9, 8.4, 38)
    assert e["yi"] == pytest.approx(3.5999999999999943, rel=1e-12)
    assert e["vi"] == pytest.approx(3.4170921052631580, rel=TIGHT)


# --- across routes ------------------------------------------------------------------------


def test_the_latest_follow_up_is_used_not_an_earlier_one():
    effects, *_ = effects_of([
        arm("ai", "change", 6, n=30, mean=-0.010, sd=0.025),
        arm("placebo", "change", 6, n=30, mean=0.002, sd=0.024),
        arm("ai", "change", 12, n=28, mean=-0.032, sd=0.031),
        arm("placebo", "change", 12, n=29, mean=0.004, sd=0.028),
    ])  # fmt: skip
    e = effects.loc["absolute"]
    assert e["timepoint_months"] == 12
    assert e["yi"] == pytest.approx(-0.036, rel=TIGHT)
    assert e["vi"] == pytest.approx(0.031**2 / 28 + 0.028**2 / 29, rel=TIGHT)


@pytest.mark.parametrize(("level", "z"), [(0.95, Z975), (0.90, Z95)])
def test_the_per_study_ci_uses_the_normal_quantile_at_half_plus_half_the_level(level, z):
    effects, *_ = effects_of([
        arm("ai", "change", 12, n=42, mean=-0.032, sd=0.031),
        arm("placebo", "change", 12, n=40, mean=0.004, sd=0.028),
    ], level=level)  # fmt: skip
    e = effects.loc["absolute"]
    sei = math.sqrt(0.031**2 / 42 + 0.028**2 / 40)
    assert e["sei"] == pytest.approx(sei, rel=TIGHT)
    assert e["ci_low"] == pytest.approx(-0.036 - z * sei, rel=TIGHT)
    assert e["ci_high"] == pytest.approx(-0.036 + z * sei, rel=TIGHT)
