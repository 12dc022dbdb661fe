"""Edges of analysis.heterogeneity: saturated models and Q-profile bounds at the ends of
the search interval.

With equal sampling variances (vi = 1) and an intercept-only model the generalized Q is
``Q(tau2) = sum (yi - mean)^2 / (1 + tau2)``, so every bound below is known in closed form;
the chi-square quantiles (df 4, level 0.95) are 0.4844 (lower) and 11.1433 (upper).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from analysis.heterogeneity import QTest, i2_h2, q_test, tau2_qprofile_ci

VI = np.ones(5)
X = np.ones((5, 1))
CRIT_L, CRIT_U = stats.chi2.ppf(0.025, 4), stats.chi2.ppf(0.975, 4)


def test_a_saturated_model_has_q_zero_df_zero_p_one_and_no_typical_variance():
    qt = q_test(np.array([0.1, 0.5]), np.array([0.01, 0.02]), np.eye(2))
    assert qt == QTest(0.0, 0, 1.0, 0.0)
    assert i2_h2(0.3, qt, fixed=False) == (0.0, 1.0)
    assert i2_h2(0.3, qt, fixed=True) == (0.0, 1.0)


def test_a_lower_search_limit_above_zero_bounds_the_lower_limit_with_its_sign():
    yi = np.array([0.0, 1.0, 2.0, 3.0, 4.0])  # sum of squares 10: Q(0.5) = 6.67 < 11.14
    ci = tau2_qprofile_ci(yi, VI, X, tau2=1.5, vt=1.0, tau2_min=0.5)
    assert (ci.tau2_low, ci.lb_sign) == (0.5, "<")
    assert ci.tau2_high == pytest.approx(10 / CRIT_L - 1, rel=1e-3)  # uniroot tolerance
    assert (ci.ub_sign, ci.ci_null, ci.converged) == ("", False, True)


def test_an_upper_search_limit_below_the_root_is_the_upper_limit_with_its_sign():
    yi = np.array([0.0, 1.0, 2.0, 3.0, 4.0])  # Q(5) = 1.67, between the quantiles
    ci = tau2_qprofile_ci(yi, VI, X, tau2=1.5, vt=1.0, tau2_max=5.0)
    assert (ci.tau2_high, ci.ub_sign) == (5.0, ">")
    assert (ci.tau2_low, ci.lb_sign) == (0.0, "")  # Q(0) = 10 < 11.14
    assert ci.i2_high == pytest.approx(100 * 5 / 6) and ci.h2_high == pytest.approx(6.0)


def test_homogeneous_effects_above_a_positive_lower_limit_give_an_interval_that_is_not_null():
    yi = np.array([0.0, 0.01, 0.0, 0.01, 0.0])  # Q(0.5) << 0.48
    ci = tau2_qprofile_ci(yi, VI, X, tau2=0.0, vt=1.0, tau2_min=0.5)
    assert (ci.tau2_low, ci.tau2_high, ci.lb_sign, ci.ub_sign) == (0.5, 0.5, "<", "<")
    assert ci.ci_null is False


def test_the_default_upper_limit_is_ten_times_a_large_lower_limit():
    yi = np.array([0.0, 100.0, 200.0, 300.0, 400.0])  # Q(200) = 497.5 > 11.14
    ci = tau2_qprofile_ci(yi, VI, X, tau2=1.0, vt=1.0, tau2_min=20.0)
    assert (ci.tau2_low, ci.tau2_high, ci.lb_sign, ci.ub_sign) == (200.0, 200.0, ">", ">")
