"""Tests of analysis.conversions (Cochrane Handbook ch. 6) against R and known values."""

import json
import math
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from reference import load_reference
from scipy import stats

from analysis import conversions as cv
from analysis.warnings import DataWarning

REFERENCE = load_reference("metafor_escalc")
# Closed forms and R's quantile functions: rounding plus jsonlite's 15 significant digits.
RTOL = 1e-10


def _num(values):
    return np.array([math.nan if isinstance(v, str) else v for v in values], dtype=float)


def _inputs(section):
    return {k: _num(v) if isinstance(v, list) else v for k, v in section["inputs"].items()}


# --- SE, SD, CI, p --------------------------------------------------------------------------


def test_sd_from_se_and_se_from_sd_are_inverse():
    sd = cv.sd_from_se(0.5, 36)
    assert sd.value == pytest.approx(3.0)
    assert cv.se_from_sd(sd.value, 36).value == pytest.approx(0.5)
    assert sd.se is None
    assert "6.5.2.2" in sd.reference


def test_se_from_ci_matches_r_quantiles():
    ref = REFERENCE["conversions"]["se_from_ci"]
    x = _inputs(ref)
    for i in range(len(x["n"])):
        result = cv.se_from_ci(x["low"][i], x["high"][i], n=x["n"][i], level=x["level"][i])
        assert result.value == pytest.approx(ref["se"][i], rel=RTOL)
        assert result.assumptions["q"] == pytest.approx(ref["q"][i], rel=RTOL)


def test_se_from_ci_uses_t_below_sixty_as_handbook_example():
    # Handbook 6.5.2.2: n = 25 gives the t quantile 2.0639 instead of 1.96.
    small = cv.se_from_ci(46, 58, n=25)
    assert small.assumptions["distribution"] == "t"
    assert small.assumptions["df"] == 24
    assert small.assumptions["q"] == pytest.approx(2.0639, abs=1e-4)
    large = cv.se_from_ci(46, 58, n=60)
    assert large.assumptions["distribution"] == "normal"
    assert large.value == pytest.approx(12 / 3.92, rel=1e-3)


def test_se_from_ci_records_that_normal_was_assumed_without_n():
    result = cv.se_from_ci(1.0, 3.0)
    assert result.assumptions["distribution"] == "normal"
    assert "assumed" in result.assumptions["df_source"]


def test_se_from_ci_given_df_overrides_n():
    result = cv.se_from_ci(-1.0, 1.0, n=100, df=18)
    assert result.assumptions["distribution"] == "t"
    assert result.value == pytest.approx(1 / stats.t.ppf(0.975, 18))


def test_se_from_ci_on_log_scale_for_ratios():
    result = cv.se_from_ci(0.5, 2.0, log_scale=True)
    assert result.value == pytest.approx(math.log(4) / (2 * stats.norm.ppf(0.975)))
    assert result.assumptions["log_scale"] is True


def test_se_from_ci_handles_arrays_with_mixed_distributions():
    result = cv.se_from_ci([46, 46], [58, 58], n=[25, 100])
    assert result.assumptions["distribution"] == ["t", "normal"]
    # The wider t quantile turns the same CI into a smaller SE.
    assert result.value[0] < result.value[1]


@settings(max_examples=100, deadline=None)
@given(
    estimate=st.floats(-1e3, 1e3),
    se=st.floats(1e-3, 1e2),
    n=st.integers(2, 500),
    level=st.sampled_from([0.8, 0.9, 0.95, 0.99]),
)
def test_se_from_ci_recovers_the_se_a_ci_was_built_from(estimate, se, n, level):
    q = stats.t.ppf((1 + level) / 2, n - 1) if n < 60 else stats.norm.ppf((1 + level) / 2)
    result = cv.se_from_ci(estimate - q * se, estimate + q * se, n=n, level=level)
    assert result.value == pytest.approx(se, rel=1e-9)


def test_se_from_p_matches_r_quantiles():
    ref = REFERENCE["conversions"]["se_from_p"]
    x = _inputs(ref)
    for i in range(len(x["p"])):
        df = None if math.isnan(x["df"][i]) else x["df"][i]
        result = cv.se_from_p(x["estimate"][i], x["p"][i], df=df)
        assert result.value == pytest.approx(ref["se"][i], rel=RTOL)


def test_se_from_p_handbook_example_statistic():
    # Handbook 6.3.2: a two-sided p of 0.008 corresponds to Z = 2.652.
    result = cv.se_from_p(-0.05, 0.008)
    assert result.assumptions["stat"] == pytest.approx(2.652, abs=1e-3)
    assert result.assumptions["statistic"] == "z"


def test_se_from_p_records_bounds():
    assert cv.se_from_p(1.0, 0.05, bound="<").assumptions["se_is"] == "upper bound"
    assert cv.se_from_p(1.0, 0.05, bound=">").assumptions["se_is"] == "lower bound"
    assert cv.se_from_p(1.0, 0.05).assumptions["se_is"] == "exact"


def test_one_sided_p_gives_smaller_statistic_and_larger_se_than_two_sided():
    two = cv.se_from_p(1.0, 0.04)
    one = cv.se_from_p(1.0, 0.04, two_sided=False)
    assert one.assumptions["stat"] == pytest.approx(stats.norm.isf(0.04))
    assert one.value > two.value


@settings(max_examples=100, deadline=None)
@given(estimate=st.floats(0.01, 100), se=st.floats(0.01, 100), df=st.integers(3, 200))
def test_se_from_p_inverts_the_p_of_a_t_test(estimate, se, df):
    p = 2 * stats.t.sf(estimate / se, df)
    assume(1e-300 < p < 1)  # a p that underflows to 0 carries no SE
    assert cv.se_from_p(-estimate, p, df=df).value == pytest.approx(se, rel=1e-6)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: cv.se_from_ci(5, 3), r"high = 3: the upper CI limit is below the lower limit"),
        (lambda: cv.se_from_ci(1, 3, level=95), r"level: 95 must lie strictly between 0 and 1"),
        (lambda: cv.se_from_ci(-1, 3, log_scale=True), r"low = -1: a ratio's CI limit must be"),
        (lambda: cv.se_from_ci(1, 3, n=1), r"n = 1: a CI needs n >= 2"),
        (lambda: cv.se_from_p(1.0, 1.5), r"p = 1.5: a p-value must lie strictly between"),
        (lambda: cv.se_from_p(0.0, 0.2), r"estimate = 0: an estimate of 0 carries no"),
        (lambda: cv.se_from_p(1.0, 0.2, bound="<="), r"bound: '<=' is not one of"),
        (lambda: cv.sd_from_se([0.1, -0.2], 10), r"se\[1\] = -0.2: must be >= 0"),
        (lambda: cv.se_from_sd(1.0, 0), r"n = 0: must be > 0"),
        (lambda: cv.sd_change(1, 1, 1.5), r"r = 1.5: a correlation must lie in \[-1, 1\]"),
        (lambda: cv.percent_change(0, 1, 0.1, 0.1, 0.5), r"mean_baseline = 0: a percent"),
        (lambda: cv.se_from_sd("x", 3), r"sd: 'x' is not numeric"),
    ],
)
def test_impossible_inputs_are_refused_by_name(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_missing_values_propagate():
    result = cv.sd_from_se([0.5, np.nan], 36)
    assert result.value[0] == pytest.approx(3.0) and np.isnan(result.value[1])


# --- change from baseline ---------------------------------------------------------------------


def test_sd_change_handbook_formula_and_extremes():
    assert cv.sd_change(3.0, 4.0, 0.0).value == pytest.approx(5.0)
    assert cv.sd_change(3.0, 4.0, 1.0).value == pytest.approx(1.0)
    result = cv.sd_change(3.0, 4.0, 0.5, r_source="assumed, config r")
    assert result.assumptions == {"r": 0.5, "r_source": "assumed, config r"}


@settings(max_examples=100, deadline=None)
@given(sdb=st.floats(0.01, 100), sdf=st.floats(0.01, 100), r=st.floats(-1, 1))
def test_correlation_from_sds_inverts_sd_change(sdb, sdf, r):
    sdc = cv.sd_change(sdb, sdf, r).value
    assert cv.correlation_from_sds(sdb, sdf, sdc).value == pytest.approx(r, abs=1e-6)


def test_inconsistent_sds_warn_and_are_not_clipped():
    with pytest.warns(DataWarning, match=r"outside \[-1, 1\]"):
        result = cv.correlation_from_sds(1.0, 1.0, 3.0)
    assert result.value == pytest.approx(-3.5)
    assert result.assumptions["outside_minus1_1"] is True


def test_difference_in_change_of_independent_arms():
    result = cv.difference_in_change(-0.02, 0.003, 0.01, 0.004)
    assert result.value == pytest.approx(-0.03)
    assert result.se == pytest.approx(0.005)
    assert cv.se_difference(0.003, 0.004).value == pytest.approx(0.005)


def test_percent_change_matches_metafor_romc():
    ref = REFERENCE["conversions"]["percent_change"]
    x = _inputs(ref)
    result = cv.percent_change(
        x["mean_baseline"], x["mean_final"], x["se_baseline"], x["se_final"], x["r"]
    )
    np.testing.assert_allclose(result.value, ref["value"], rtol=RTOL)
    np.testing.assert_allclose(result.se, ref["se"], rtol=RTOL)


def test_percent_change_se_falls_as_correlation_rises():
    low = cv.percent_change(1.0, 0.95, 0.02, 0.02, 0.0)
    high = cv.percent_change(1.0, 0.95, 0.02, 0.02, 0.9)
    assert high.se < low.se
    assert high.assumptions["r"] == 0.9


# --- medians and quartiles --------------------------------------------------------------------

FIVENUM = REFERENCE["fivenum"]
FN = {k: np.array(v, dtype=float) for k, v in FIVENUM["inputs"].items()}


@pytest.mark.parametrize(
    ("scenario", "keys"),
    [
        ("min_median_max", ("minimum", "maximum")),
        ("q1_median_q3", ("q1", "q3")),
        ("five_numbers", ("minimum", "q1", "q3", "maximum")),
    ],
)
def test_mean_sd_from_median_matches_published_formulas_coded_in_r(scenario, keys):
    kwargs = {k: FN[k] for k in keys}
    with warnings.catch_warnings():
        # Some of the summaries are skewed; the warning is tested separately.
        warnings.simplefilter("ignore", DataWarning)
        result = cv.mean_sd_from_median(n=FN["n"], median=FN["median"], **kwargs)
    np.testing.assert_allclose(result.value, FIVENUM[scenario]["mean"], rtol=RTOL)
    np.testing.assert_allclose(result.sd, FIVENUM[scenario]["sd"], rtol=RTOL)
    assert result.se is None


def test_mean_sd_from_median_names_scenario_and_references():
    result = cv.mean_sd_from_median(n=50, median=0.2, q1=-1.0, q3=1.0)
    assert result.assumptions["scenario"].startswith("S2")
    assert result.assumptions["distribution"] == "normal"
    assert "Luo" in result.reference and "Wan" in result.reference
    five = cv.mean_sd_from_median(n=50, median=0.2, q1=-1, q3=1, minimum=-3.1, maximum=2.9)
    assert "Shi" in five.reference and five.n == 50


def test_symmetric_normal_quartiles_give_median_and_iqr_over_1_35():
    # For large n, eta(n) -> 2 * 1.349 and the mean -> median of a symmetric summary.
    result = cv.mean_sd_from_median(n=100000, median=10.0, q1=10 - 0.6745, q3=10 + 0.6745)
    assert result.value == pytest.approx(10.0)
    assert result.sd == pytest.approx(1.0, rel=1e-3)


def test_skewed_summary_warns_and_is_recorded():
    with pytest.warns(DataWarning, match="skewness test rejects normality"):
        result = cv.mean_sd_from_median(n=40, median=1.0, q1=0.9, q3=3.0)
    assert result.assumptions["skewed"] is True


# Critical values of the skewness test (Shi et al. 2023, as metafor >= 4.0 conv.fivenum
# codes them), for n = 30: S1 1/log(n + 9) + 2.5/(n + 1), S2 2.65/sqrt(n) - 6/n^2,
# S3 3/sqrt(n) - 40/n^3; values from R.
@pytest.mark.parametrize(
    ("keys", "crit", "stat"),
    [
        # |min + max - 2 m| / (max - min) = |-0.07 + 0.03 + 0.056| / 0.1
        (("minimum", "maximum"), 0.35360358169971995, 0.16),
        # |q1 + q3 - 2 m| / (q3 - q1) = |-0.044 - 0.017 + 0.056| / 0.027
        (("q1", "q3"), 0.47715492579623003, 0.005 / 0.027),
        # max(2.65 log(0.6 n) / sqrt(n) * 0.16, 0.005 / 0.027)
        (("minimum", "q1", "q3", "maximum"), 0.54624107602368455,
         max(2.65 * math.log(18) / math.sqrt(30) * 0.16, 0.005 / 0.027)),
    ],
)  # fmt: skip
def test_skewness_test_uses_the_published_critical_value_for_each_scenario(keys, crit, stat):
    summary = {"minimum": -0.07, "q1": -0.044, "q3": -0.017, "maximum": 0.03}
    result = cv.mean_sd_from_median(n=30, median=-0.028, **{k: summary[k] for k in keys})
    assert result.assumptions["skew_crit"] == pytest.approx(crit, rel=1e-12)
    assert result.assumptions["skew_stat"] == pytest.approx(stat, rel=1e-12)
    assert result.assumptions["skewed"] is False


@pytest.mark.parametrize(
    ("keys", "summary"),
    [
        # stat 0.36 just above the S1 critical value 0.3536 (n = 30)
        (("minimum", "maximum"), {"minimum": -0.06, "maximum": 0.04}),
        # stat 0.48 just above the S2 critical value 0.4772
        (("q1", "q3"), {"q1": -0.0465, "q3": -0.0215}),
    ],
)
def test_a_statistic_just_above_the_critical_value_is_skewed(keys, summary):
    with pytest.warns(DataWarning, match="skewness test rejects normality"):
        result = cv.mean_sd_from_median(n=30, median=-0.028, **summary)
    assert result.assumptions["skewed"] is True


def test_small_n_gives_nan_with_warning():
    with pytest.warns(DataWarning, match="n < 5"):
        result = cv.mean_sd_from_median(n=4, median=1.0, q1=0.5, q3=1.5)
    assert math.isnan(result.value) and math.isnan(result.sd)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 20, "median": 1.0}, r"needs minimum and maximum, or q1 and q3.*got none of them"),
        ({"n": 20, "median": 1.0, "q1": 0.5}, r"got q1$"),
        ({"n": 20, "median": 1.0, "q1": 1.2, "q3": 2.0}, r"q1 = 1.2 exceeds median = 1"),
        ({"n": 20, "median": 1.0, "minimum": 2.0, "maximum": 3.0}, r"minimum = 2 exceeds median"),
    ],
)
def test_mean_sd_from_median_refuses_incomplete_or_unordered_summaries(kwargs, message):
    with pytest.raises(ValueError, match=message):
        cv.mean_sd_from_median(**kwargs)


# --- combining groups -------------------------------------------------------------------------


def test_combine_groups_reproduces_pooled_raw_data_from_r():
    ref = REFERENCE["conversions"]["combine_groups"]
    result = cv.combine_groups(**ref["inputs"])
    assert result.n == ref["n"]
    assert result.value == pytest.approx(ref["mean"], rel=RTOL)
    assert result.sd == pytest.approx(ref["sd"], rel=RTOL)
    assert "Table 6.5.a" in result.reference


@st.composite
def two_groups(draw):
    """A sample of 4-30 values split into two groups of at least two each."""
    data = draw(st.lists(st.floats(-100, 100), min_size=4, max_size=30))
    split = draw(st.integers(2, len(data) - 2))
    return data, split


@settings(max_examples=50, deadline=None)
@given(groups=two_groups())
def test_combine_groups_equals_statistics_of_concatenated_samples(groups):
    data, split = groups
    g1, g2 = np.array(data[:split]), np.array(data[split:])
    result = cv.combine_groups(
        len(g1), g1.mean(), g1.std(ddof=1), len(g2), g2.mean(), g2.std(ddof=1)
    )
    both = np.concatenate([g1, g2])
    assert result.value == pytest.approx(both.mean(), abs=1e-9)
    assert result.sd == pytest.approx(both.std(ddof=1), rel=1e-7, abs=1e-7)


# --- Derived ----------------------------------------------------------------------------------


def test_derived_is_frozen_and_assumptions_serialise_to_json():
    result = cv.se_from_ci([1.0, 2.0], [3.0, 5.0], n=[10, 100])
    with pytest.raises(AttributeError, match="cannot assign"):
        result.value = 1.0
    decoded = json.loads(result.assumptions_json())
    assert decoded["distribution"] == ["t", "normal"]
    assert decoded["df"] == [9.0, None]


def test_convert_unit_is_reachable_from_conversions():
    result = cv.convert_unit(1.0, "nmol/L", "ng/dL", "testosterone")
    assert result.value == pytest.approx(28.842)


# --- the derivation ledger ----------------------------------------------------------------------

# The citations the ledger (data/processed/effects/derivations.csv) carries, as a reader sees them.
HANDBOOK = (
    "Higgins JPT, Li T, Deeks JJ (eds). Chapter 6: Choosing effect measures and computing "
    "estimates of effect. Cochrane Handbook for Systematic Reviews of Interventions v6.4, 2023"
)
WAN = (
    "Wan X, Wang W, Liu J, Tong T. Estimating the sample mean and standard deviation from the "
    "sample size, median, range and/or interquartile range. BMC Med Res Methodol 2014;14:135"
)
LUO = (
    "Luo D, Wan X, Liu J, Tong T. Optimally estimating the sample mean from the sample size, "
    "median, mid-range, and/or mid-quartile range. Stat Methods Med Res 2018;27:1785-1805"
)
SHI = (
    "Shi J, Luo D, Weng H, et al. Optimally estimating the sample standard deviation from the "
    "five-number summary. Res Synth Methods 2020;11:641-654"
)
SKEW = (
    "Shi J, Luo D, Wan X, et al. Detecting the skewness of data from the five-number summary "
    "and its application in meta-analysis. Stat Methods Med Res 2023;32:1338-1360 "
    "(criteria as in metafor >= 4.0 conv.fivenum)"
)
# The n = 30 summary of the skewness tests above, with its statistics and critical values.
SUMMARY30 = {
    "n": 30,
    "median": -0.028,
    "minimum": -0.07,
    "q1": -0.044,
    "q3": -0.017,
    "maximum": 0.03,
}
S3_STAT30 = max(2.65 * math.log(18) / math.sqrt(30) * 0.16, 0.005 / 0.027)

LEDGER = [
    pytest.param(
        lambda: cv.se_from_sd(2.0, 16),
        "se_from_sd: SE = SD / sqrt(n)",
        {"n": 16.0},
        f"{HANDBOOK}, section 6.5.2.2",
        id="se_from_sd",
    ),
    pytest.param(
        lambda: cv.sd_from_se(0.5, 16),
        "sd_from_se: SD = SE * sqrt(n)",
        {"n": 16.0},
        f"{HANDBOOK}, section 6.5.2.2",
        id="sd_from_se",
    ),
    pytest.param(
        lambda: cv.se_from_ci(46, 58, n=25),
        "se_from_ci: SE = (high - low) / (2 q)",
        # qt(0.975, 24)
        {"distribution": "t", "df": 24.0, "df_source": "n - 1 when n < 60, else normal",
         "q": 2.0638985616280254, "level": 0.95, "log_scale": False},
        f"{HANDBOOK}, sections 6.3.2 and 6.5.2.2",
        id="se_from_ci-n",
    ),
    pytest.param(
        lambda: cv.se_from_ci(0.5, 0.8, df=10, level=0.9, log_scale=True),
        "se_from_ci: SE = (high - low) / (2 q)",
        # qt(0.95, 10)
        {"distribution": "t", "df": 10.0, "df_source": "given", "q": 1.8124611228116756,
         "level": 0.9, "log_scale": True},
        f"{HANDBOOK}, sections 6.3.2 and 6.5.2.2",
        id="se_from_ci-df-log",
    ),
    pytest.param(
        lambda: cv.se_from_ci(1.0, 3.0),
        "se_from_ci: SE = (high - low) / (2 q)",
        # qnorm(0.975)
        {"distribution": "normal", "df": None,
         "df_source": "no n or df given: normal quantile assumed", "q": 1.9599639845400536,
         "level": 0.95, "log_scale": False},
        f"{HANDBOOK}, sections 6.3.2 and 6.5.2.2",
        id="se_from_ci-assumed",
    ),
    pytest.param(
        lambda: cv.se_from_p(0.5, 0.01, df=20, two_sided=False, bound="<"),
        "se_from_p: SE = |estimate| / t",
        # qt(0.99, 20)
        {"statistic": "t", "df": 20.0, "two_sided": False, "bound": "<", "se_is": "upper bound",
         "stat": 2.5279770027415736},
        f"{HANDBOOK}, sections 6.3.2 and 6.5.2.3",
        id="se_from_p-t",
    ),
    pytest.param(
        lambda: cv.se_from_p(-0.05, 0.008),
        "se_from_p: SE = |estimate| / z",
        # qnorm(1 - 0.008 / 2)
        {"statistic": "z", "df": None, "two_sided": True, "bound": "=", "se_is": "exact",
         "stat": 2.6520698079021954},
        f"{HANDBOOK}, sections 6.3.2 and 6.5.2.3",
        id="se_from_p-z",
    ),
    pytest.param(
        lambda: cv.sd_change(3.0, 4.0, 0.5),
        "sd_change: sqrt(SD_B² + SD_F² - 2 r SD_B SD_F)",
        {"r": 0.5, "r_source": "not stated"},
        f"{HANDBOOK}, section 6.5.2.8",
        id="sd_change",
    ),
    pytest.param(
        lambda: cv.correlation_from_sds(3.0, 4.0, 1.0),
        "correlation_from_sds: (SD_B² + SD_F² - SD_change²) / (2 SD_B SD_F)",
        {"outside_minus1_1": False},
        f"{HANDBOOK}, section 6.5.2.8",
        id="correlation_from_sds",
    ),
    pytest.param(
        lambda: cv.se_difference(0.003, 0.004),
        "se_difference: sqrt(SE1² + SE2²)",
        {"independent": True},
        f"{HANDBOOK}, section 6.5.2.3",
        id="se_difference",
    ),
    pytest.param(
        lambda: cv.difference_in_change(-0.02, 0.003, 0.01, 0.004),
        "difference_in_change: change1 - change2, SE = sqrt(SE1² + SE2²)",
        {"independent": True},
        f"{HANDBOOK}, section 6.5.2.3",
        id="difference_in_change",
    ),
    pytest.param(
        lambda: cv.percent_change(2.0, 2.5, 0.1, 0.2, 0.5, r_source="assumed, config r"),
        "percent_change: 100 (M_F / M_B - 1), delta-method SE",
        # SE_B / M_B = 0.1 / 2
        {"r": 0.5, "r_source": "assumed, config r", "scale": "percent change of the group mean",
         "se_baseline_over_mean": 0.05},
        "Delta method: Oehlert 1992, Am Stat 46:27-29; cf. ROMC, Lajeunesse 2011, "
        "Ecology 92:2049-2055",
        id="percent_change",
    ),
    pytest.param(
        lambda: cv.percent_change(2.0, 2.5, 0.1, 0.2, 0.0),
        "percent_change: 100 (M_F / M_B - 1), delta-method SE",
        {"r": 0.0, "r_source": "not stated", "scale": "percent change of the group mean",
         "se_baseline_over_mean": 0.05},
        "Delta method: Oehlert 1992, Am Stat 46:27-29; cf. ROMC, Lajeunesse 2011, "
        "Ecology 92:2049-2055",
        id="percent_change-unstated-r",
    ),
    pytest.param(
        lambda: cv.mean_sd_from_median(
            **{k: SUMMARY30[k] for k in ("n", "median", "minimum", "maximum")}
        ),
        "mean_sd_from_median: mean by Luo 2018, SD by Wan 2014 (S1)",
        {"scenario": "S1: minimum, median, maximum", "distribution": "normal", "skew_stat": 0.16,
         "skew_crit": 0.35360358169971995, "skewed": False, "skew_reference": SKEW},
        f"{LUO}; {WAN}",
        id="mean_sd_from_median-S1",
    ),
    pytest.param(
        lambda: cv.mean_sd_from_median(**{k: SUMMARY30[k] for k in ("n", "median", "q1", "q3")}),
        "mean_sd_from_median: mean by Luo 2018, SD by Wan 2014 (S2)",
        {"scenario": "S2: q1, median, q3", "distribution": "normal", "skew_stat": 0.005 / 0.027,
         "skew_crit": 0.47715492579623003, "skewed": False, "skew_reference": SKEW},
        f"{LUO}; {WAN}",
        id="mean_sd_from_median-S2",
    ),
    pytest.param(
        lambda: cv.mean_sd_from_median(**SUMMARY30),
        "mean_sd_from_median: mean by Luo 2018, SD by Shi 2020 (S3)",
        {"scenario": "S3: minimum, q1, median, q3, maximum", "distribution": "normal",
         "skew_stat": S3_STAT30, "skew_crit": 0.54624107602368455, "skewed": False,
         "skew_reference": SKEW},
        f"{LUO}; {SHI}",
        id="mean_sd_from_median-S3",
    ),
    pytest.param(
        lambda: cv.combine_groups(10, 1.0, 2.0, 20, 2.0, 3.0),
        "combine_groups: n = n1 + n2, mean = (n1 m1 + n2 m2) / n, SD of the combined sample",
        {"n1": 10.0, "n2": 20.0},
        f"{HANDBOOK}, section 6.5.2.10, Table 6.5.a",
        id="combine_groups",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("call", "method", "assumptions", "reference"), LEDGER)
def test_each_derivation_records_its_method_assumptions_and_reference(
    call, method, assumptions, reference
):
    result = call()
    assert result.method == method
    assert result.assumptions.keys() == assumptions.keys()
    for key, expected in assumptions.items():
        if isinstance(expected, float):
            assert result.assumptions[key] == pytest.approx(expected, rel=1e-12), key
        else:
            assert type(result.assumptions[key]) is type(expected), key
            assert result.assumptions[key] == expected, key
    assert result.reference == reference
    # Scalars in, plain floats out: the ledger writer and pandas need no NumPy 0-d arrays.
    assert type(result.value) is float


def test_assumptions_json_sorts_keys_and_spells_missing_and_infinite_values():
    derived = cv.Derived(value=1.0, assumptions={"b": math.nan, "a": np.float64(np.inf), "c": -1})
    assert derived.assumptions_json() == '{"a": "inf", "b": null, "c": -1}'


def test_per_element_df_keeps_its_order_when_the_first_interval_is_normal():
    result = cv.se_from_ci([46, 46], [58, 58], n=[100, 25])
    assert result.assumptions["df"] == [None, 24.0]
    assert result.assumptions["distribution"] == ["normal", "t"]


# --- refusals name the argument and the rule -------------------------------------------------

ARGUMENTS = {
    cv.se_from_sd: {"sd": 1.0, "n": 10},
    cv.sd_from_se: {"se": 1.0, "n": 10},
    cv.se_from_ci: {"low": 1.0, "high": 2.0, "n": 10, "df": 8},
    cv.se_from_p: {"estimate": 1.0, "p": 0.05, "df": 8},
    cv.sd_change: {"sd_baseline": 1.0, "sd_final": 1.0, "r": 0.5},
    cv.correlation_from_sds: {"sd_baseline": 1.0, "sd_final": 1.0, "sd_change": 1.0},
    cv.se_difference: {"se1": 1.0, "se2": 1.0},
    cv.difference_in_change: {"change1": 1.0, "se1": 1.0, "change2": 1.0, "se2": 1.0},
    cv.percent_change: {
        "mean_baseline": 1.0, "mean_final": 1.0, "se_baseline": 0.1, "se_final": 0.1, "r": 0.5
    },
    cv.mean_sd_from_median: {
        "n": 20, "median": 1.0, "q1": 0.5, "q3": 1.5, "minimum": 0.0, "maximum": 2.0
    },
    cv.combine_groups: {"n1": 10, "m1": 1.0, "sd1": 1.0, "n2": 10, "m2": 1.0, "sd2": 1.0},
}  # fmt: skip


@pytest.mark.parametrize(
    ("function", "argument"),
    [(f, a) for f, kwargs in ARGUMENTS.items() for a in kwargs],
    ids=lambda x: getattr(x, "__name__", x),
)
def test_a_non_numeric_argument_is_refused_by_its_name(function, argument):
    kwargs = {**ARGUMENTS[function], argument: "x"}
    if function is cv.se_from_ci and argument == "n":
        del kwargs["df"]  # a given df overrides n, which is then not read
    with pytest.raises(ValueError, match=rf"^{argument}: 'x' is not numeric$"):
        function(**kwargs)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: cv.se_from_ci(1, 3, level=0), r"^level: 0 must lie strictly between 0 and 1$"),
        (lambda: cv.se_from_ci(1, 3, level=1), r"^level: 1 must lie strictly between 0 and 1$"),
        (lambda: cv.se_from_ci(1, 3, level=1.5), r"^level: 1.5 must lie strictly between"),
        (
            lambda: cv.se_from_ci(0, 2, log_scale=True),
            r"^low = 0: a ratio's CI limit must be > 0 for log_scale=True$",
        ),
        (
            lambda: cv.se_from_ci(0.5, 0, log_scale=True),
            r"^high = 0: a ratio's CI limit must be > 0 for log_scale=True$",
        ),
        (lambda: cv.se_from_ci(1, 3, df=0), r"^df = 0: must be > 0$"),
        (lambda: cv.se_from_p(1.0, 0.05, df=0), r"^df = 0: must be > 0$"),
        (lambda: cv.se_from_p(1.0, 0), r"^p = 0: a p-value must lie strictly between 0 and 1$"),
        (lambda: cv.se_from_p(1.0, 1), r"^p = 1: a p-value must lie strictly between 0 and 1$"),
        (
            lambda: cv.se_from_p(0.0, 0.05),
            r"^estimate = 0: an estimate of 0 carries no information on its SE$",
        ),
        (lambda: cv.sd_change(-1, 1, 0.5), r"^sd_baseline = -1: must be >= 0$"),
        (lambda: cv.sd_change(1, -1, 0.5), r"^sd_final = -1: must be >= 0$"),
        (lambda: cv.correlation_from_sds(0, 1, 1), r"^sd_baseline = 0: must be > 0$"),
        (lambda: cv.correlation_from_sds(1, 0, 1), r"^sd_final = 0: must be > 0$"),
        (lambda: cv.correlation_from_sds(1, 1, -1), r"^sd_change = -1: must be >= 0$"),
        (lambda: cv.se_difference(-1, 1), r"^se1 = -1: must be >= 0$"),
        (lambda: cv.difference_in_change(0, 1, 0, -1), r"^se2 = -1: must be >= 0$"),
        (lambda: cv.percent_change(1, 1, -0.1, 0.1, 0), r"^se_baseline = -0.1: must be >= 0$"),
        (lambda: cv.percent_change(1, 1, 0.1, -0.1, 0), r"^se_final = -0.1: must be >= 0$"),
        (lambda: cv.percent_change(1, 1, 0.1, 0.1, -2), r"^r = -2: a correlation must lie in"),
        (lambda: cv.combine_groups(0, 1, 1, 5, 1, 1), r"^n1 = 0: must be > 0$"),
        (lambda: cv.combine_groups(5, 1, 1, 5, 1, -1), r"^sd2 = -1: must be >= 0$"),
        (
            lambda: cv.mean_sd_from_median(n=0, median=1.0, q1=0.5, q3=1.5),
            r"^n = 0: must be > 0$",
        ),
    ],
)
def test_an_impossible_value_is_refused_with_the_argument_and_the_rule(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_a_ci_of_zero_width_gives_an_se_of_zero():
    # Equal limits (a CI rounded to the reported digits) are possible, unlike high < low.
    assert cv.se_from_ci(2.0, 2.0, n=30).value == 0.0


def test_a_ratio_ci_below_one_is_a_valid_log_scale_interval():
    # log(0.8 / 0.5) / (2 qt(0.95, 10)) = 0.12965895470260289 (R)
    result = cv.se_from_ci(0.5, 0.8, df=10, level=0.9, log_scale=True)
    assert result.value == pytest.approx(0.12965895470260289, rel=1e-12)


# --- warnings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            # (2² + 2² - 4.5²) / (2 * 2 * 2) = -1.53125
            lambda: cv.correlation_from_sds(2.0, 2.0, 4.5),
            r"^correlation_from_sds: implied correlation -1\.53125 lies outside \[-1, 1\]; "
            r"the three SDs are inconsistent$",
        ),
        (
            lambda: cv.mean_sd_from_median(n=4, median=1.0, q1=0.5, q3=1.5),
            r"^mean_sd_from_median: n < 5, mean and SD not estimated \(NaN\)$",
        ),
        (
            lambda: cv.mean_sd_from_median(n=40, median=1.0, q1=0.9, q3=3.0),
            r"^mean_sd_from_median: skewness test rejects normality \(S2: q1, median, q3\); "
            r"the estimated mean and SD may be poor$",
        ),
    ],
)
def test_data_warnings_say_what_is_wrong_and_point_outside_the_module(call, message):
    with pytest.warns(DataWarning, match=message) as record:
        call()
    assert len(record) == 1
    # Attributed to the caller (stacklevel), not to a line inside analysis/conversions.py.
    assert record[0].filename != cv.__file__


@pytest.mark.parametrize(
    ("sd_change", "r"),
    [(1.0, 1.0), (7.0, -1.0)],  # (9 + 16 - 1) / 24 = 1 and (9 + 16 - 49) / 24 = -1
)
def test_a_correlation_of_exactly_plus_or_minus_one_is_consistent(sd_change, r):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = cv.correlation_from_sds(3.0, 4.0, sd_change)
    assert result.value == r
    assert result.assumptions["outside_minus1_1"] is False


def test_a_correlation_up_to_one_plus_1e9_is_rounding_not_inconsistency():
    # (1 + 9 - c²) / 6 = 1 + 1e-9 for c = sqrt(4 - 6e-9): the tolerance itself.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = cv.correlation_from_sds(1.0, 3.0, math.sqrt(4 - 6e-9))
    assert result.value == 1 + 1e-9
    assert result.assumptions["outside_minus1_1"] is False


# --- medians and quartiles: boundaries --------------------------------------------------------


def test_five_participants_are_enough_for_an_estimate():
    # metafor drops n < 5 only. R: w <- 0.7 + 0.39/5; w*(0.5 + 2)/2 + (1 - w)*1 = 1.1945;
    # (2 - 0.5) / (2*qnorm((0.75*5 - 0.125)/(5 + 0.25))) = 1.5084455735276268
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = cv.mean_sd_from_median(n=5, median=1.0, q1=0.5, q3=2.0)
    assert result.value == pytest.approx(1.1945, rel=1e-12)
    assert result.sd == pytest.approx(1.5084455735276268, rel=1e-12)


@pytest.mark.parametrize(
    "keys",
    [("minimum", "maximum"), ("q1", "q3"), ("minimum", "q1", "q3", "maximum")],
)
def test_a_summary_of_identical_values_gives_sd_zero_without_numpy_warnings(keys):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = cv.mean_sd_from_median(n=20, median=1.0, **dict.fromkeys(keys, 1.0))
    assert result.value == 1.0 and result.sd == 0.0
    # The skewness statistic is 0/0: missing, and not a rejection of normality.
    assert result.assumptions["skew_stat"] is None
    assert result.assumptions["skewed"] is False


def test_quartiles_equal_to_the_ends_of_the_range_are_in_order():
    # minimum <= q1 and q3 <= maximum allow equality; a symmetric summary, mean = median.
    result = cv.mean_sd_from_median(n=20, median=1.0, q1=0.0, q3=2.0, minimum=0.0, maximum=2.0)
    assert result.value == pytest.approx(1.0, rel=1e-12)
    assert result.assumptions["skewed"] is False


def test_five_number_skewness_uses_the_quartile_term_when_it_dominates():
    # Symmetric range, skewed quartiles: T = max(0, |-0.1 + 0.5 - 0| / (0.5 + 0.1)) = 2/3,
    # above c(30) = 3/sqrt(30) - 40/30^3 = 0.5462.
    with pytest.warns(DataWarning, match=r"skewness test rejects normality \(S3"):
        result = cv.mean_sd_from_median(n=30, median=0.0, q1=-0.1, q3=0.5, minimum=-1, maximum=1)
    assert result.assumptions["skew_stat"] == pytest.approx(2 / 3, rel=1e-12)
    assert result.assumptions["skewed"] is True


@pytest.mark.parametrize(
    ("keys", "crit"),
    [
        (("minimum", "maximum"), 1 / math.log(29) + 2.5 / 21),
        (("q1", "q3"), 2.65 / math.sqrt(20) - 6 / 20**2),
    ],
)
def test_a_statistic_equal_to_the_critical_value_is_skewed(keys, crit):
    # metafor's conv.fivenum: sig <- tval >= crit. On [0, 1] with median (1 - c)/2 the
    # statistic |0 + 1 - 2 median| / 1 is c itself (n = 20).
    with pytest.warns(DataWarning, match="skewness test rejects normality"):
        result = cv.mean_sd_from_median(
            n=20, median=(1 - crit) / 2, **dict(zip(keys, (0.0, 1.0), strict=True))
        )
    assert result.assumptions["skew_stat"] == result.assumptions["skew_crit"] == crit
    assert result.assumptions["skewed"] is True


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"q3": 1.5}, r"got q3$"),
        ({"minimum": 0.0}, r"got minimum$"),
        ({"maximum": 2.0}, r"got maximum$"),
        ({"q1": 0.5, "q3": 1.5, "minimum": 0.0}, r"got q1, q3, minimum$"),
        ({"q1": 0.5, "minimum": 0.0, "maximum": 2.0}, r"got q1, minimum, maximum$"),
    ],
)
def test_mean_sd_from_median_names_the_numbers_of_an_incomplete_summary(given, message):
    with pytest.raises(ValueError, match=r"^mean_sd_from_median needs minimum and maximum, or"):
        cv.mean_sd_from_median(n=20, median=1.0, **given)
    with pytest.raises(ValueError, match=message):
        cv.mean_sd_from_median(n=20, median=1.0, **given)


@pytest.mark.parametrize(
    ("summary", "message"),
    [
        (
            {"q1": 0.5, "q3": 2.5, "maximum": 2.0, "minimum": 0.0},
            r"^q3 = 2.5 exceeds maximum = 2; ",
        ),
        ({"q1": 0.5, "q3": 0.8}, r"^median = 1 exceeds q3 = 0.8; "),
    ],
)
def test_an_unordered_summary_names_the_pair_and_the_expected_order(summary, message):
    expected = message + r"expected minimum <= q1 <= median <= q3 <= maximum$"
    with pytest.raises(ValueError, match=expected):
        cv.mean_sd_from_median(n=20, median=1.0, **summary)
