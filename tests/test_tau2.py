"""tau2 estimators: the O(k p^2) algebra, R's root finder, truncation and fallbacks.

Agreement with metafor for every estimator is tested in test_pooling.py; here the building
blocks are checked against dense k x k computations and against R directly.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from analysis.pooling import rma
from analysis.tau2 import _Projection, _score_and_slope, estimate_tau2, q_generalized, uniroot

REFERENCE = json.loads(
    (Path(__file__).parent / "reference" / "metafor_pooling.json").read_text(encoding="utf-8")
)
EPS_QUARTER = np.finfo(float).eps ** 0.25


def _case(name):
    case = next(c for c in REFERENCE["cases"] if c["name"] == name)
    return np.array(case["yi"]), np.array(case["vi"])


def _dense_p(w, X):
    W = np.diag(w)
    return W - W @ X @ np.linalg.inv(X.T @ W @ X) @ X.T @ W


@pytest.mark.parametrize("p", [1, 3])
def test_projection_traces_equal_the_dense_k_by_k_algebra(p):
    rng = np.random.default_rng(1)
    k = 12
    X = np.column_stack([np.ones(k), rng.normal(size=k), rng.uniform(size=k)])[:, :p]
    w = rng.uniform(0.5, 20, size=k)
    v = rng.uniform(0.01, 1, size=k)
    y = rng.normal(size=k)
    P = _dense_p(w, X)
    V = np.diag(v)
    proj = _Projection(w, X)
    assert proj.ypy(y) == pytest.approx(y @ P @ y, rel=1e-10)
    np.testing.assert_allclose(proj.py(y), P @ y, rtol=1e-9, atol=1e-12)
    assert proj.tr_pa() == pytest.approx(np.trace(P), rel=1e-10)
    assert proj.tr_pa(v) == pytest.approx(np.trace(P @ V), rel=1e-10)
    assert proj.tr_papb() == pytest.approx(np.sum(P * P), rel=1e-10)
    assert proj.tr_papb(v, v) == pytest.approx(np.sum((P @ V) * (P @ V).T), rel=1e-10)
    assert proj.tr_papb(v, 1.0) == pytest.approx(np.sum((P @ V) * P), rel=1e-10)


@pytest.mark.parametrize(
    ("f", "lower", "upper", "tol", "root", "iterations"),
    [
        # R 4.2.2: uniroot(function(x) x^3 - 2, c(0, 3)) -> root 1.2599043367375089, iter 7
        (lambda x: x**3 - 2, 0.0, 3.0, EPS_QUARTER, 1.2599043367375089, 7),
        # R 4.2.2: uniroot(function(x) exp(-x) - 0.3, c(0, 10), tol = 1e-10) -> iter 10
        (lambda x: math.exp(-x) - 0.3, 0.0, 10.0, 1e-10, 1.2039728043259359, 10),
    ],
)
def test_uniroot_repeats_rs_iterates(f, lower, upper, tol, root, iterations):
    got, it = uniroot(f, lower, upper, tol, 1000)
    assert got == pytest.approx(root, rel=1e-15)
    assert it == iterations


def test_uniroot_refuses_a_bracket_without_sign_change():
    with pytest.raises(ValueError, match="opposite sign"):
        uniroot(lambda x: x * x + 1, 0.0, 1.0, 1e-8, 100)


def test_dl_equals_its_closed_form():
    yi, vi = _case("bcg_RR")
    w = 1 / vi
    q = np.sum(w * (yi - np.sum(w * yi) / np.sum(w)) ** 2)
    expected = (q - (len(yi) - 1)) / (np.sum(w) - np.sum(w**2) / np.sum(w))
    fit = estimate_tau2(yi, vi, np.ones((len(yi), 1)), "DL")
    assert fit.tau2 == pytest.approx(expected, rel=1e-12)
    assert fit.iterations == 0


def test_pm_solves_the_generalized_q_equation():
    yi, vi = _case("bcg_RR")
    X = np.ones((len(yi), 1))
    fit = estimate_tau2(yi, vi, X, "PM")
    # uniroot stops within tol = eps^0.25 of the root, so Q is k - 1 up to that precision
    assert q_generalized(fit.tau2, yi, vi, X) == pytest.approx(len(yi) - 1, abs=1e-3)


@pytest.mark.parametrize("method", ["DL", "REML", "PM", "ML", "HS", "SJ", "HE", "EB"])
def test_tau2_is_zero_and_flagged_when_effects_are_identical(method):
    yi = np.full(6, 0.3)
    vi = np.array([0.01, 0.02, 0.05, 0.1, 0.03, 0.04])
    fit = estimate_tau2(yi, vi, np.ones((6, 1)), method)
    assert fit.tau2 == 0.0
    # SJ's estimator is a ratio of non-negative terms: it reaches 0 without truncation
    assert fit.truncated is (method != "SJ")


def test_reml_fallback_agrees_with_fisher_scoring_when_iterations_run_out():
    yi, vi = _case("bcg_RR")
    X = np.ones((len(yi), 1))
    full = estimate_tau2(yi, vi, X, "REML")
    capped = estimate_tau2(yi, vi, X, "REML", control={"maxiter": 1})
    assert capped.converged
    assert any("bounded 1-D optimiser" in note for note in capped.notes)
    # Fisher scoring stops at a change < 1e-5; the bounded optimiser is run much tighter.
    assert capped.tau2 == pytest.approx(full.tau2, abs=1e-5)


def test_pm_widens_a_too_narrow_bracket_instead_of_failing():
    yi, vi = _case("large_tau2")
    X = np.ones((len(yi), 1))
    fit = estimate_tau2(yi, vi, X, "PM", control={"tau2_max": 1.0})
    reference = estimate_tau2(yi, vi, X, "PM")
    assert any("too low" in note for note in fit.notes)
    assert fit.tau2 == pytest.approx(reference.tau2, rel=1e-3)


def test_control_accepts_metafor_spelling_and_refuses_unknown_options():
    yi, vi = _case("bcg_RR")
    X = np.ones((len(yi), 1))
    a = estimate_tau2(yi, vi, X, "SJ", control={"tau2.init": 0.5})
    b = estimate_tau2(yi, vi, X, "SJ", control={"tau2_init": 0.5})
    assert a.tau2 == b.tau2
    with pytest.raises(ValueError, match="unknown control option 'tolerance'"):
        estimate_tau2(yi, vi, X, "REML", control={"tolerance": 1})


def test_unknown_control_preset_is_refused_before_fitting():
    with pytest.raises(ValueError, match="control must be one of 'tight', 'metafor'"):
        estimate_tau2(np.zeros(3), np.ones(3), np.ones((3, 1)), "REML", control="loose")
    with pytest.raises(ValueError, match="control must be one of"):
        rma([0.5], [0.04], control={"preset": "R"})


def test_dict_control_overrides_single_options_of_its_preset():
    yi, vi = _case("raudenbush1985_SMD")
    X = np.ones((len(yi), 1))
    metafor = estimate_tau2(yi, vi, X, "REML", control="metafor")
    same = estimate_tau2(yi, vi, X, "REML", control={"preset": "metafor", "maxiter": 100})
    tight = estimate_tau2(yi, vi, X, "REML")
    no_newton = estimate_tau2(yi, vi, X, "REML", control={"newton": False, "threshold": 1e-5})
    assert (same.tau2, same.iterations) == (metafor.tau2, metafor.iterations)
    # the tight preset without its Newton polish and with metafor's threshold stops where
    # metafor does
    assert no_newton.tau2 == metafor.tau2
    assert tight.iterations > metafor.iterations
    assert abs(tight.tau2 - metafor.tau2) > 1e-4 * tight.tau2


def test_pm_default_root_is_exact_where_metafor_tolerance_stops_short():
    # Hackshaw (1998), PM: uniroot at eps^0.25 leaves Q(tau2) visibly off k - 1; the default
    # tolerance (1e-12) solves the estimating equation to rounding error.
    yi, vi = _case("hackshaw1998_logOR")
    X = np.ones((len(yi), 1))
    k = len(yi)
    loose = estimate_tau2(yi, vi, X, "PM", control="metafor").tau2
    exact = estimate_tau2(yi, vi, X, "PM").tau2
    assert abs(q_generalized(exact, yi, vi, X) - (k - 1)) < 1e-9
    assert abs(q_generalized(loose, yi, vi, X) - (k - 1)) > 1e-6


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="method must be one of"):
        estimate_tau2(np.zeros(3), np.ones(3), np.ones((3, 1)), "MLE")


def test_cost_does_not_build_k_by_k_matrices():
    # 200,000 studies: a k x k float matrix would need 320 GB, so this only runs if the
    # algebra stays in length-k vectors and p x p matrices.
    rng = np.random.default_rng(7)
    k = 200_000
    vi = rng.uniform(0.01, 0.2, size=k)
    yi = rng.normal(0.2, np.sqrt(vi + 0.05))
    fit = estimate_tau2(yi, vi, np.ones((k, 1)), "REML")
    assert fit.tau2 == pytest.approx(0.05, rel=0.05)


def test_reml_converges_where_fisher_scoring_oscillates():
    # metafor 3.8.1 stops on this data set with "Fisher scoring algorithm did not converge"
    # (found by benchmarks/bench_pooling.py); its own remedy, control=list(stepadj=0.5),
    # gives 0.003336 (within its 1e-5 threshold of the root checked below).
    rng = np.random.default_rng(1538)
    vi = rng.uniform(0.01, 0.2, size=10)
    yi = rng.normal(0.2, np.sqrt(vi + 0.05))
    X = np.ones((10, 1))
    fit = estimate_tau2(yi, vi, X, "REML")
    assert fit.converged
    assert any("did not converge" in note for note in fit.notes)
    assert fit.tau2 == pytest.approx(0.003336, abs=1e-5)
    proj = _Projection(1 / (vi + fit.tau2), X)
    py = proj.py(yi - yi.mean())
    score = 0.5 * (py @ py - proj.tr_pa())
    assert abs(score) < 1e-4 * proj.tr_papb()  # REML score equation, in Fisher-scoring units


# --- building blocks pinned from outside: dense algebra, R's uniroot, closed forms, metafor ---


def _designs(k, rng):
    x1, x2 = rng.normal(size=k), rng.uniform(2, 3, size=k)
    return {
        "intercept": np.ones((k, 1)),
        # spans the intercept's space but is not the intercept column
        "constant_two": np.full((k, 1), 2.0),
        # one covariate and no intercept (no entry equals 1)
        "slope_only": x2[:, None],
        "meta_regression": np.column_stack([np.ones(k), x1, x2]),
    }


@pytest.mark.parametrize("design", ["intercept", "constant_two", "slope_only", "meta_regression"])
def test_projection_equals_the_dense_algebra_for_every_kind_of_design(design):
    rng = np.random.default_rng(3)
    k = 9
    X = _designs(k, rng)[design]
    w = rng.uniform(0.5, 20, size=k)
    v = rng.uniform(0.01, 1, size=k)
    y = rng.normal(size=k)
    W = np.diag(w)
    xwx = X.T @ W @ X
    P = _dense_p(w, X)
    PV = P @ np.diag(v)
    proj = _Projection(w, X)
    np.testing.assert_allclose(proj.beta(y), np.linalg.solve(xwx, X.T @ W @ y), rtol=1e-10)
    assert proj.logdet_xwx() == pytest.approx(np.linalg.slogdet(xwx)[1], rel=1e-10)
    assert proj.ypy(y) == pytest.approx(y @ P @ y, rel=1e-10)
    assert proj.tr_pa() == pytest.approx(np.trace(P), rel=1e-10)
    assert proj.tr_pa(v) == pytest.approx(np.trace(PV), rel=1e-10)
    assert proj.tr_papb(v, v) == pytest.approx(np.trace(PV @ PV), rel=1e-10)
    assert proj.tr_papb(v, 1.0) == pytest.approx(np.trace(PV @ P), rel=1e-10)
    # integer diagonals are diagonals too
    assert proj.tr_papb([1, 2] * 4 + [3], 2) == pytest.approx(
        np.trace(P @ np.diag([1, 2] * 4 + [3]) @ P * 2), rel=1e-10
    )


@pytest.mark.parametrize(
    ("f", "lower", "upper", "tol", "root", "iterations"),
    [
        # R 4.2.2 uniroot(function(x) 1 - x, c(0, 2)): root 1, iter 1 (f(lower) is exactly 1)
        (lambda x: 1 - x, 0.0, 2.0, EPS_QUARTER, 1.0, 1),
        # uniroot(function(x) x - 1, c(0, 2)): root 1, iter 1 (f(upper) is exactly 1)
        (lambda x: x - 1, 0.0, 2.0, EPS_QUARTER, 1.0, 1),
        # uniroot(function(x) x, c(0, 1)): root 0, iter 0 (a root at the lower end)
        (lambda x: x, 0.0, 1.0, EPS_QUARTER, 0.0, 0),
        # uniroot(function(x) x - 1, c(0, 1)): root 1, iter 0 (a root at the upper end)
        (lambda x: x - 1, 0.0, 1.0, EPS_QUARTER, 1.0, 0),
        # uniroot(function(x) atan(100 * (x - 0.7)), c(0, 1), tol = 1e-12): iter 10
        (lambda x: math.atan(100 * (x - 0.7)), 0.0, 1.0, 1e-12, 0.69999999999999996, 10),
        # uniroot(function(x) (x - 1)^3, c(0, 3), tol = 1e-12): iter 87 (a flat root)
        (lambda x: (x - 1) ** 3, 0.0, 3.0, 1e-12, 0.99999999999983125, 87),
        # uniroot(function(x) (x - 0.3)^3, c(-1, 2)): iter 30 (interpolation refused near 0.3)
        (lambda x: (x - 0.3) ** 3, -1.0, 2.0, EPS_QUARTER, 0.30001677574540259, 30),
        # uniroot(function(x) (x - 0.1)^3, c(-3, 0.5)): iter 31
        (lambda x: (x - 0.1) ** 3, -3.0, 0.5, EPS_QUARTER, 0.10000244243473486, 31),
        # uniroot(function(x) x - 1/3, c(0, 1), tol = 1e-300): iter 1
        (lambda x: x - 1 / 3, 0.0, 1.0, 1e-300, 0.33333333333333331, 1),
        # uniroot(function(x) log(x) - 14, c(1, 1e7), tol = 1e-300): iter 9
        (lambda x: math.log(x) - 14, 1.0, 1e7, 1e-300, 1202604.2841647773, 9),
        # uniroot(function(x) ifelse(x < 0.3, -1, 1), c(0, 1), tol = 1e-9): iter 30
        (lambda x: -1.0 if x < 0.3 else 1.0, 0.0, 1.0, 1e-9, 0.29999999981373549, 30),
        # uniroot(function(x) 1/x - 0.5, c(0.1, 10), tol = 1e-12): iter 11
        (lambda x: 1 / x - 0.5, 0.1, 10.0, 1e-12, 2.0, 11),
        # uniroot(function(x) 2/(1+x) - 1, c(0, 100), tol = 1e-12): iter 13
        (lambda x: 2 / (1 + x) - 1, 0.0, 100.0, 1e-12, 1.0000000000000002, 13),
        # uniroot(function(x) exp(10*x) - 2, c(-1, 1), tol = 1e-300): iter 14
        (lambda x: math.exp(10 * x) - 2, -1.0, 1.0, 1e-300, 0.06931471805599454, 14),
        # uniroot(function(x) sin(x), c(2, 4), tol = 1e-300): iter 6
        (math.sin, 2.0, 4.0, 1e-300, 3.1415926535897931, 6),
    ],
)
def test_uniroot_repeats_rs_iterates_on_exact_ends_flat_steep_and_step_functions(
    f, lower, upper, tol, root, iterations
):
    assert uniroot(f, lower, upper, tol, 1000) == (root, iterations)


def test_uniroot_reports_a_reached_cap_as_negative_iterations():
    # R 4.2.2: uniroot(function(x) x^3 - 2, c(0, 3), maxiter = 2) warns and returns
    # root 0.88454950325453907 (R then reports iter = maxiter; the port flags it with -1)
    assert uniroot(lambda x: x**3 - 2, 0.0, 3.0, EPS_QUARTER, 2) == (0.88454950325453907, -1)


@pytest.mark.parametrize(
    ("f", "message"),
    [
        (lambda x: math.nan if x == 0 else x - 0.5, "function value at an end point is NaN"),
        (lambda x: math.nan if x == 1 else x - 0.5, "function value at an end point is NaN"),
        # both ends positive with a product below 1
        (lambda x: x * x + 0.1, r"f\(\) values at end points not of opposite sign"),
    ],
)
def test_uniroot_refuses_a_nan_end_or_a_bracket_without_sign_change(f, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        uniroot(f, 0.0, 1.0, 1e-8, 100)


@pytest.mark.parametrize("method", ["REML", "ML", "EB", "PM"])
@pytest.mark.parametrize("t", [0.0, 0.05, 0.7])
def test_newton_slope_is_the_derivative_of_the_estimating_function(method, t):
    rng = np.random.default_rng(5)
    k = 8
    X = np.column_stack([np.ones(k), rng.normal(size=k)])
    vi = rng.uniform(0.02, 0.4, size=k)
    yc = rng.normal(0, 0.8, size=k)
    h = 1e-6
    _, slope = _score_and_slope(method, t + h, yc, vi, X)
    up, _ = _score_and_slope(method, t + 2 * h, yc, vi, X)
    down, _ = _score_and_slope(method, t, yc, vi, X)
    assert slope == pytest.approx((up - down) / (2 * h), rel=1e-6)


@pytest.mark.parametrize(
    ("yi", "vi", "method", "tau2"),
    [
        # equal variances: REML, PM and EB are s^2 - v, ML is sum((y - mean)^2)/k - v.
        # metafor 3.8-1: rma(c(0,1,5), rep(.5,3), method=m) -> 6.5, 4.16666666666667, 6.5, 6.5
        ([0.0, 1.0, 5.0], [0.5] * 3, "REML", 6.5),
        ([0.0, 1.0, 5.0], [0.5] * 3, "ML", 14 / 3 - 0.5),
        ([0.0, 1.0, 5.0], [0.5] * 3, "PM", 6.5),
        ([0.0, 1.0, 5.0], [0.5] * 3, "EB", 6.5),
        # Q(0) - (k - 1) is exactly 1 here: Q(t) = 2/(1 + t) = 1 at t = 1
        # (metafor: rma(c(0, 2), c(1, 1), method="PM") -> 1)
        ([0.0, 2.0], [1.0, 1.0], "PM", 1.0),
        # large tau2: the stop is relative to tau2, so Newton still stops (s^2 - v)
        ([0.0, 1e4, 5e4], [0.5] * 3, "REML", 7e8 - 0.5),
        ([0.0, 1e4, 5e4], [0.5] * 3, "PM", 7e8 - 0.5),
    ],
)
def test_iterative_estimates_equal_the_closed_form_of_equal_variances(yi, vi, method, tau2):
    fit = estimate_tau2(np.array(yi), np.array(vi), np.ones((len(yi), 1)), method)
    assert fit.tau2 == pytest.approx(tau2, rel=1e-12)
    assert (fit.converged, fit.truncated, fit.notes) == (True, False, ())


@pytest.mark.parametrize(
    ("yi", "vi", "tau2"),
    [
        # REML score at 0 is y'PPy - tr(P) = 2 - 1 = 1; the root is s^2 - v = 1
        ([0.0, 2.0], [1.0, 1.0], 1.0),
        # the same scaled by 1e-6: a root of 1e-12, below brentq's default xtol of 2e-12
        ([0.0, 2e-6], [1e-12, 1e-12], 1e-12),
    ],
)
def test_reml_fallback_finds_the_exact_root_when_newton_runs_out(yi, vi, tau2):
    # a cap of no iterations sends every fit to the fallback
    fit = estimate_tau2(
        np.array(yi),
        np.array(vi),
        np.ones((2, 1)),
        "REML",
        control={"preset": "metafor", "maxiter": 0},
    )
    assert any("did not converge" in note for note in fit.notes)
    assert fit.tau2 == pytest.approx(tau2, rel=1e-13, abs=0)


def test_metafor_control_caps_fisher_scoring_at_the_iterations_metafor_needs():
    # metafor 3.8-1, dat.bcg RR, rma(yi, vi, method="REML", verbose=TRUE): "Fisher scoring
    # algorithm converged after 3 iterations"; control=list(maxiter=2) stops with an error
    yi, vi = _case("bcg_RR")
    X = np.ones((len(yi), 1))
    enough = estimate_tau2(yi, vi, X, "REML", control={"preset": "metafor", "maxiter": 3})
    short = estimate_tau2(yi, vi, X, "REML", control={"preset": "metafor", "maxiter": 2})
    assert (enough.iterations, enough.notes) == (3, ())
    assert enough.tau2 == pytest.approx(0.313243325980895, abs=1e-12)  # R: sprintf("%.15g")
    # like metafor, the step that exceeds the cap is taken before the loop gives up
    assert short.notes == (
        "Fisher scoring did not converge in 3 iterations; bounded 1-D optimiser used instead",
    )


@pytest.mark.parametrize("control", [{"preset": "metafor", "threshold": 0.0}, {"maxiter": 1}, None])
def test_tau2_at_zero_stops_at_once_without_fallback(control):
    # Fisher scoring from the truncated HE start cannot move below 0: tau2 stays 0 exactly
    # (metafor: one iteration); the tight default then checks the score at 0 once.
    yi = np.full(6, 0.3)
    vi = np.array([0.01, 0.02, 0.05, 0.1, 0.03, 0.04])
    fit = estimate_tau2(yi, vi, np.ones((6, 1)), "REML", control=control)
    iterations = 1 if control and "preset" in control else 2
    assert (fit.tau2, fit.converged, fit.iterations, fit.truncated, fit.notes) == (
        0.0,
        True,
        iterations,
        True,
        (),
    )


@pytest.mark.parametrize(
    ("method", "tau2"),
    [
        # metafor 3.8-1: y <- c(-8.1, 3.4, 12.7, -2.2, 6.9, 0.4, 15.3, -11.8) * 1000;
        # v <- c(0.5, 0.8, 0.3, 1.1, 0.6, 0.9, 0.4, 0.7) * 1e6;
        # sprintf("%.15g", rma(y, v, method = m, control = list(tol = 1e-10))$tau2)
        # (its absolute threshold 1e-5 is 1e-13 relative at this size)
        ("REML", 89613416.3900845),
        ("ML", 78364081.7031241),
        ("EB", 89472545.6823863),
        ("PM", 89472545.6823863),
    ],
)
def test_newton_stops_on_a_relative_step_when_effects_are_in_large_units(method, tau2):
    yi, vi = _case("large_tau2")
    fit = estimate_tau2(yi * 1000, vi * 1e6, np.ones((len(yi), 1)), method)
    assert fit.tau2 == pytest.approx(tau2, rel=1e-12)
    assert (fit.converged, fit.notes) == (True, ())


def test_eb_is_flagged_truncated_when_q_is_below_k_minus_1_though_the_ml_score_is_not():
    # EB's equation at 0 is Q k/(k-1) - k: negative exactly when Cochran's Q < k - 1.
    # metafor 3.8-1: rma(y, v, method="EB") -> tau2 0, QE 3.69115; method="ML" -> 0.000931
    yi = np.array([-0.2, -0.1, -0.3, -0.6, -0.4])
    vi = np.array([0.01, 1.0, 0.2, 0.05, 0.01])
    X = np.ones((5, 1))
    w = 1 / vi
    q = np.sum(w * (yi - np.sum(w * yi) / np.sum(w)) ** 2)
    assert q == pytest.approx(3.69115, abs=1e-5)
    eb = estimate_tau2(yi, vi, X, "EB")
    assert (eb.tau2, eb.truncated) == (0.0, True)
    # metafor stops Fisher scoring within 1e-5 of the ML root
    assert estimate_tau2(yi, vi, X, "ML").tau2 == pytest.approx(0.0009308832, abs=1e-5)


@pytest.mark.parametrize("method", ["REML", "ML", "EB", "PM"])
def test_newton_with_threshold_zero_stops_when_the_step_vanishes(method):
    # a step of exactly 0 meets a threshold of 0: the iteration ends at a fixed point of
    # floating-point Newton instead of running to maxiter and falling back
    yi, vi = _case("bcg_RR")
    X = np.ones((len(yi), 1))
    fit = estimate_tau2(yi, vi, X, method, control={"threshold": 0.0, "maxiter": 200})
    assert (fit.converged, fit.notes) == (True, ())
    assert fit.tau2 == pytest.approx(estimate_tau2(yi, vi, X, method).tau2, rel=1e-12)
