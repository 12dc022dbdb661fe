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
from analysis.tau2 import _Projection, estimate_tau2, q_generalized, uniroot

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
