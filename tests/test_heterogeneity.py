"""Q, I2, H2, the Q-profile CI of tau2 and the prediction interval."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from reference import load_reference
from scipy import stats

from analysis.heterogeneity import i2_h2, prediction_interval, q_test, tau2_qprofile_ci
from analysis.pooling import rma
from analysis.tau2 import q_generalized

REFERENCE = load_reference("metafor_pooling")


def _case(name):
    case = next(c for c in REFERENCE["cases"] if c["name"] == name)
    return np.array(case["yi"]), np.array(case["vi"])


def test_q_is_cochrans_weighted_sum_of_squares():
    yi, vi = _case("normand1999_MD")
    w = 1 / vi
    expected = np.sum(w * (yi - np.sum(w * yi) / np.sum(w)) ** 2)
    qt = q_test(yi, vi, np.ones((len(yi), 1)))
    assert qt.q == pytest.approx(expected, rel=1e-12)
    assert qt.df == len(yi) - 1
    assert qt.pvalue == pytest.approx(stats.chi2.sf(expected, len(yi) - 1), rel=1e-12)


def test_typical_variance_is_higgins_thompson_for_intercept_only_models():
    yi, vi = _case("molloy2014_ZCOR")
    w = 1 / vi
    k = len(yi)
    expected = (k - 1) * np.sum(w) / (np.sum(w) ** 2 - np.sum(w**2))
    assert q_test(yi, vi, np.ones((k, 1))).vt == pytest.approx(expected, rel=1e-12)


def test_fixed_effect_i2_comes_from_q_and_random_effects_i2_from_tau2():
    qt = q_test(np.array([0.0, 1.0, 2.0]), np.array([0.1, 0.1, 0.1]), np.ones((3, 1)))
    i2, h2 = i2_h2(0.0, qt, fixed=True)
    assert i2 == pytest.approx(100 * (qt.q - 2) / qt.q)
    assert h2 == pytest.approx(qt.q / 2)
    i2, h2 = i2_h2(0.1, qt, fixed=False)
    assert i2 == pytest.approx(50.0)
    assert h2 == pytest.approx(2.0)


@pytest.mark.parametrize("case", [c["name"] for c in REFERENCE["cases"] if c["k"] > 1])
def test_qprofile_bound_markers_match_metafor(case):
    fit = next(
        f
        for c in REFERENCE["cases"]
        if c["name"] == case
        for f in c["fits"]
        if f["method"] == "REML" and f["test"] == "z"
    )
    yi, vi = _case(case)
    X = np.ones((len(yi), 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = rma(yi, vi)
    ci = tau2_qprofile_ci(yi, vi, X, res.tau2, q_test(yi, vi, X).vt)
    assert ci.ci_null == fit["ci_null"]
    assert ci.lb_sign == fit["ci_lb_sign"]
    assert ci.ub_sign == fit["ci_ub_sign"]


def test_qprofile_bounds_solve_the_chi_square_quantiles():
    yi, vi = _case("bcg_OR")
    X = np.ones((len(yi), 1))
    ci = tau2_qprofile_ci(yi, vi, X, 0.3, q_test(yi, vi, X).vt, level=0.9)
    df = len(yi) - 1
    # R's uniroot stops within eps^0.25 in tau2, hence the loose tolerance on Q
    assert q_generalized(ci.tau2_low, yi, vi, X) == pytest.approx(
        stats.chi2.isf(0.05, df), rel=1e-3
    )
    assert q_generalized(ci.tau2_high, yi, vi, X) == pytest.approx(
        stats.chi2.ppf(0.05, df), rel=1e-3
    )


def test_empty_qprofile_ci_is_reported_as_zero_zero():
    yi, vi = _case("q_below_df")
    X = np.ones((len(yi), 1))
    ci = tau2_qprofile_ci(yi, vi, X, 0.0, q_test(yi, vi, X).vt)
    assert (ci.tau2_low, ci.tau2_high) == (0.0, 0.0)
    assert ci.ci_null
    assert (ci.i2_low, ci.h2_low) == (0.0, 1.0)


def test_upper_bound_beyond_search_interval_is_marked():
    yi, vi = _case("large_tau2")
    X = np.ones((len(yi), 1))
    ci = tau2_qprofile_ci(yi, vi, X, 1.0, q_test(yi, vi, X).vt, tau2_max=5.0)
    assert ci.tau2_high == 5.0
    assert ci.ub_sign == ">"


def test_prediction_interval_adds_tau2_to_the_squared_standard_error():
    low, high = prediction_interval(1.0, 0.3, 0.16, 2.0)
    assert (low, high) == pytest.approx((1.0 - 2.0 * 0.5, 1.0 + 2.0 * 0.5))


def test_knha_prediction_interval_uses_t_with_k_minus_1_df():
    yi, vi = _case("normand1999_SMD")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = rma(yi, vi, test="knha")
    crit = stats.t.isf(0.025, len(yi) - 1)
    assert res.pi_high - res.estimate == pytest.approx(crit * math.sqrt(res.se**2 + res.tau2))
