"""tau2 estimation paths metafor's answers alone do not reach: the log-likelihood, the
iteration counts, the Newton polish and its caps, and the bounded fallback.

Expected values are R 4.2 / metafor 3.8.1 results (the R expression beside each number) or
follow from the closed forms stated in the test.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from analysis.tau2 import _loglik, control_name, estimate_tau2, resolve_control

REFERENCE = json.loads(
    (Path(__file__).parent / "reference" / "metafor_pooling.json").read_text(encoding="utf-8")
)
# R: dat <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
BCG = next(c for c in REFERENCE["cases"] if c["name"] == "bcg_RR")
YI, VI = np.array(BCG["yi"]), np.array(BCG["vi"])
ONES = np.ones((len(YI), 1))
# R: rma(yi, vi, data = dat, method = m,
#        control = list(threshold = 1e-12, tol = 1e-12, maxiter = 10000))$tau2
BCG_TAU2 = {"REML": 0.3132432581364859, "ML": 0.28002813726867132, "EB": 0.31806845220503133}


@pytest.mark.parametrize(
    ("reml", "expected"),
    [
        # R: logLik(rma(yi, vi, data = dat, tau2 = 0.1, method = "REML"))
        (True, -14.738310458801504),
        # R: logLik(rma(yi, vi, data = dat, tau2 = 0.1, method = "ML"))
        (False, -14.793245956619753),
    ],
)
def test_loglik_equals_metafors_loglik_at_a_fixed_tau2(reml, expected):
    # metafor's REML log-likelihood adds the constant 0.5 log|X'X| = 0.5 log(k) for an
    # intercept-only model, which _loglik leaves out (it only compares likelihoods)
    constant = 0.5 * math.log(len(YI)) if reml else 0.0
    got = _loglik(0.1, YI - YI.mean(), VI, ONES, reml) + constant
    assert got == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("method", "metafor_iterations", "tight_iterations"),
    [
        # R: rma(yi, vi, data = dat, method = m, verbose = TRUE) prints "Fisher scoring
        # algorithm converged after n iterations"; with control = list(threshold = 1e-12,
        # tol = 1e-12, maxiter = 10000) the second count.
        ("REML", 3, 7),
        ("ML", 4, 8),
        ("EB", 3, 7),
    ],
)
def test_fisher_scoring_takes_as_many_iterations_as_metafor(
    method, metafor_iterations, tight_iterations
):
    default = estimate_tau2(YI, VI, ONES, method, control="metafor")
    fisher_only = estimate_tau2(YI, VI, ONES, method, control={"newton": False, "threshold": 1e-12})
    assert default.iterations == metafor_iterations
    assert fisher_only.iterations == tight_iterations
    assert fisher_only.tau2 == pytest.approx(BCG_TAU2[method], rel=1e-10)


@pytest.mark.parametrize("method", ["REML", "ML", "EB"])
def test_root_finding_fallback_lands_on_metafors_tight_estimate(method):
    fit = estimate_tau2(YI, VI, ONES, method, control={"newton": False, "maxiter": 0})
    label = "EB iteration" if method == "EB" else "Fisher scoring"
    assert fit.notes == (
        f"{label} did not converge in 1 iterations; bounded 1-D optimiser used instead",
    )
    assert fit.converged
    assert fit.tau2 == pytest.approx(BCG_TAU2[method], rel=1e-10)


def test_fallback_maximises_the_reml_likelihood_on_the_bracket_when_the_score_stays_positive():
    # Two studies with equal variances v: REML tau2 = d^2/2 - v, ML tau2 = d^2/4 - v
    # (R: rma(c(0, d), c(1, 1), method = "REML")$tau2 = 1.2e12 - 1). The fallback widens
    # tau2_max (1) tenfold up to 1e12, where the REML score is still positive, so the REML
    # likelihood is maximised on [0, 1e12]: at its upper end, not at ML's 0.6e12.
    d = math.sqrt(2.4e12)
    fit = estimate_tau2(
        np.array([0.0, d]),
        np.ones(2),
        np.ones((2, 1)),
        "REML",
        control={"newton": False, "maxiter": 0, "tau2_max": 1.0},
    )
    assert any("bounded 1-D optimiser" in note for note in fit.notes)
    assert fit.tau2 == pytest.approx(1e12, rel=1e-6)


def test_pm_newton_needs_a_handful_of_steps():
    # Newton converges quadratically; bisection from the bracket [0, 2 tau2] to a step of
    # 1e-12 would need about 40 halvings.
    fit = estimate_tau2(YI, VI, ONES, "PM")
    # R: rma(yi, vi, data = dat, method = "PM", control = list(tol = 1e-12))$tau2 equals the
    # EB estimate (both solve Q(tau2) = k - 1)
    assert fit.tau2 == pytest.approx(BCG_TAU2["EB"], rel=1e-10)
    assert fit.iterations < 20


def test_newton_iteration_cap_counts_every_newton_step():
    # The tight default runs metafor's 3 Fisher-scoring iterations first, then Newton.
    full = estimate_tau2(YI, VI, ONES, "REML")
    newton_steps = full.iterations - 3
    assert newton_steps >= 1
    enough = estimate_tau2(YI, VI, ONES, "REML", control={"maxiter": newton_steps})
    short = estimate_tau2(YI, VI, ONES, "REML", control={"maxiter": newton_steps - 1})
    assert enough.notes == ()
    assert enough.tau2 == pytest.approx(BCG_TAU2["REML"], rel=1e-10)
    assert any("did not converge" in note for note in short.notes)


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        # R: rma(c(0, 100, -100), c(1e-4, 1, 1), method = m,
        #        control = list(tau2.init = 0, stepadj = 0.5, threshold = 1e-12, maxiter = 10000))
        ("REML", 9998.6666777800019),
        ("ML", 6665.3333166666653),
    ],
)
def test_newton_doubles_its_way_out_of_the_convex_region_near_zero(method, expected):
    # At tau2 = 0 the precise study's weight makes the score's slope positive, so Newton
    # steps are useless there; a tiny stepadj stops Fisher scoring at the start, and Newton
    # must double tau2 until it brackets the root.
    fit = estimate_tau2(
        np.array([0.0, 100.0, -100.0]),
        np.array([1e-4, 1.0, 1.0]),
        np.ones((3, 1)),
        method,
        control={"tau2_init": 0.0, "stepadj": 1e-12},
    )
    assert fit.notes == ()
    assert fit.tau2 == pytest.approx(expected, rel=1e-10)


def test_newton_bisects_where_the_score_is_flat():
    # ML, four studies of variance 0.5, effects 1, -1, 0, 0 (y'y = 2), Newton started at
    # tau2 = 0.5 (a stepadj of 1e-20 leaves Fisher scoring there): the weights are 1, the
    # score is y'y - 4 = -2 and its slope -2 y'y + 4 = 0 exactly, so there is no Newton step
    # and the bracket [0, 0.5] is bisected instead. The ML estimate y'y/k - 0.5 is 0
    # exactly, a root of the score rather than a truncation.
    # R: rma(c(1, -1, 0, 0), rep(0.5, 4), method = "ML")$tau2 = 0
    fit = estimate_tau2(
        np.array([1.0, -1.0, 0.0, 0.0]),
        np.full(4, 0.5),
        np.ones((4, 1)),
        "ML",
        control={"tau2_init": 0.5, "stepadj": 1e-20},
    )
    assert fit.notes == ()
    assert (fit.tau2, fit.truncated) == (0.0, False)


# Three data sets with an intercept-only model: strong heterogeneity with large sampling
# variances, weak heterogeneity (Q = 5.699 just above k - 1 = 5), and homogeneity (Q = 0.550).
DATA = {
    "strong": ([10.0, -5.0, 22.0, 3.0, -12.0, 8.0], [16.0, 25.0, 9.0, 36.0, 20.0, 12.0]),
    "weak": ([-12.0, 3.0, 10.0, -4.0, 16.0, -9.0], [100.0, 80.0, 120.0, 90.0, 110.0, 100.0]),
    "homogeneous": ([0.1, -0.2, 0.3, 0.0, -0.1], [0.2, 0.3, 0.25, 0.4, 0.3]),
}


def _fit(name, method, control=None):
    yi, vi = DATA[name]
    return estimate_tau2(np.array(yi), np.array(vi), np.ones((len(yi), 1)), method, control)


def _fields(fit):
    return (fit.converged, fit.iterations, fit.truncated, fit.notes)


@pytest.mark.parametrize(
    ("data", "method", "tau2", "se_tau2", "iterations"),
    [
        # R: r <- rma(yi, vi, method = m, verbose = TRUE); r$tau2, r$se.tau2; iterations are
        # the "Iteration n" lines verbose prints (ML, REML, EB), and for PM
        # uniroot(function(t) {w <- 1/(vi + t); sum(w * (yi - sum(w * yi)/sum(w))^2) - (k - 1)},
        #         c(0, max(100, 10 * mad(yi)^2)), tol = .Machine$double.eps^0.25)$iter
        # (0 when that function is already negative at 0: no search). Closed forms iterate 0 times.
        ("strong", "DL", 148.35950935413862, 110.89322642145207, 0),
        ("strong", "HE", 123.0, 90.372463849461482, 0),
        ("strong", "HS", 116.03520384921208, 71.128458430008934, 0),
        ("strong", "SJ", 126.31287960722061, 79.234278609250183, 0),
        ("strong", "PM", 127.26734118507098, 92.596024210287737, 10),
        ("strong", "ML", 107.1997593050551, 72.728216990925247, 6),
        ("strong", "REML", 131.11805844817408, 94.975116593594962, 6),
        ("strong", "EB", 127.26734124177464, 92.596024246274752, 5),
        ("weak", "DL", 13.783148757856935, 71.116593414332442, 0),
        ("weak", "HE", 20.666666666666686, 76.664927516505955, 0),
        ("weak", "HS", 0.0, 51.810589715625902, 0),
        ("weak", "SJ", 58.72315442738342, 50.293345555912857, 0),
        ("weak", "PM", 14.739777157385069, 71.636789708989923, 7),
        ("weak", "ML", 4.8721742980574145e-08, 56.263482420780612, 10),
        ("weak", "REML", 7.552603576358826, 66.833616355415046, 8),
        ("weak", "EB", 14.739771144354519, 71.636785855906041, 6),
        ("homogeneous", "DL", 0.0, 0.19720589974243158, 0),
        ("homogeneous", "HE", 0.0, 0.20904544960366875, 0),
        ("homogeneous", "HS", 0.0, 0.15569323622456091, 0),
        ("homogeneous", "SJ", 0.0036646071829849573, 0.019179121063628391, 0),
        ("homogeneous", "PM", 0.0, 0.19461654528070113, 0),
        ("homogeneous", "ML", 0.0, 0.16967169653821917, 1),
        ("homogeneous", "REML", 0.0, 0.19350298100877902, 1),
        ("homogeneous", "EB", 0.0, 0.19461654528070113, 1),
    ],
)
def test_metafor_control_returns_metafors_whole_fit_for_every_estimator(
    data, method, tau2, se_tau2, iterations
):
    fit = _fit(data, method, "metafor")
    # The same arithmetic as metafor up to summation order; the absolute part covers ML's
    # Fisher scoring stopping a hair above 0 on the weak data (4.87e-8).
    assert fit.tau2 == pytest.approx(tau2, rel=1e-10, abs=1e-12)
    assert fit.se_tau2 == pytest.approx(se_tau2, rel=1e-10)
    # Truncated: the unconstrained estimate is below 0 -- HS on the weak data
    # ((Q - k) / sum(1/vi) with Q = 5.699 < k = 6), every estimator but SJ (a ratio of
    # non-negative terms) on the homogeneous data (Q = 0.550 < k - 1).
    truncated = (data == "homogeneous" and method != "SJ") or (data, method) == ("weak", "HS")
    assert _fields(fit) == (True, iterations, truncated, ())


@pytest.mark.parametrize("control", [None, "metafor"])
def test_fixed_effect_fit_is_tau2_zero_without_iterations_or_truncation(control):
    fit = _fit("strong", "FE", control)
    assert fit.tau2 == 0.0
    assert math.isnan(fit.se_tau2)
    assert _fields(fit) == (True, 0, False, ())


@pytest.mark.parametrize(
    ("method", "tau2", "se_tau2"),
    [
        # R: rma(yi, vi, method = m, control = list(threshold = 1e-12, tol = 1e-12,
        #        maxiter = 10000))[c("tau2", "se.tau2")] on the strong data
        ("DL", 148.35950935413862, 110.89322642145207),
        ("HE", 123.0, 90.372463849461482),
        ("HS", 116.03520384921208, 71.128458430008934),
        ("SJ", 126.31287960722061, 79.234278609250183),
        ("PM", 127.26734117896686, 92.596024206413745),
        ("ML", 107.19975891839375, 72.728216766185724),
        ("REML", 131.11805858128969, 94.975116678117033),
        ("EB", 127.2673411789668, 92.596024206413702),
    ],
)
def test_default_control_reaches_metafors_tightly_converged_fit(method, tau2, se_tau2):
    fit = _fit("strong", method)
    assert fit.tau2 == pytest.approx(tau2, rel=1e-9)
    assert fit.se_tau2 == pytest.approx(se_tau2, rel=1e-9)
    assert (fit.converged, fit.truncated, fit.notes) == (True, False, ())
    if method in ("DL", "HE", "HS", "SJ"):
        assert fit.iterations == 0


def test_default_method_is_reml():
    yi, vi = DATA["strong"]
    fit = estimate_tau2(np.array(yi), np.array(vi), np.ones((6, 1)))
    # R: rma(yi, vi, control = list(threshold = 1e-12, tol = 1e-12, maxiter = 10000))$tau2
    assert fit.tau2 == pytest.approx(131.11805858128969, rel=1e-9)


@pytest.mark.parametrize("control", [None, "metafor"])
@pytest.mark.parametrize(
    ("method", "truncated"),
    [("DL", False), ("HE", False), ("PM", False), ("REML", False), ("EB", False), ("ML", True)],
)
def test_an_estimate_of_exactly_zero_is_not_flagged_as_truncated(control, method, truncated):
    # y = (-1, 0, 1), v = 1: Q = 2 = k - 1, so DL's (Q - (k-1)) / tr(P), HE's
    # (sum (y - ybar)^2 - tr(PV)) / (k - 1) = (2 - 2) / 2, PM's Q(0) = k - 1, the REML score
    # y'PPy - tr(P) = 2 - 2 and EB's y'Py k/(k-1) - k = 3 - 3 are all exactly 0 at tau2 = 0:
    # a root, not a truncation. ML's score y'PPy - sum(w) = 2 - 3 is negative at 0.
    # R: rma(c(-1, 0, 1), c(1, 1, 1), method = m)$tau2 = 0 for each
    fit = estimate_tau2(np.array([-1.0, 0.0, 1.0]), np.ones(3), np.ones((3, 1)), method, control)
    assert (fit.tau2, fit.truncated, fit.converged, fit.notes) == (0.0, truncated, True, ())
    if method in ("DL", "HE") or (method == "PM" and control == "metafor"):
        # R's uniroot returns an end point where the function is exactly 0 without iterating
        assert fit.iterations == 0


def test_hunter_schmidt_estimate_of_exactly_zero_is_not_flagged_as_truncated():
    # y = (-1, 0.5, 0.5), v = 0.5: Q = 1.5 / 0.5 = 3 = k, so HS's (Q - k) / sum(1/vi) is 0.
    fit = estimate_tau2(np.array([-1.0, 0.5, 0.5]), np.full(3, 0.5), np.ones((3, 1)), "HS")
    assert (fit.tau2, fit.truncated) == (0.0, False)


# Local maxima: two precise studies agree (3.0, 2.9), two imprecise ones are far off; both
# likelihoods have their maximum at 0 and a lower local maximum that Fisher scoring from the
# HE start climbs to.
Y_LOCAL = np.array([3.0, 38.6, 15.3, 2.9])
V_LOCAL = np.array([0.01, 113.91, 153.87, 0.01])


@pytest.mark.parametrize(
    ("method", "se_tau2", "metafor_iterations"),
    [
        # R: rma(yi, vi, method = m, verbose = TRUE) warns "Fisher scoring algorithm may
        # have gotten stuck at a local maximum. Setting tau^2 = 0." and gives tau2 = 0,
        # se.tau2 below, after the printed number of iterations
        ("ML", 0.0099999999701736765, 25),
        ("REML", 0.014142135413771757, 10),
    ],
)
@pytest.mark.parametrize("control", [None, "metafor"])
def test_a_fit_stuck_at_a_local_maximum_is_set_to_zero_as_metafor_does(
    method, se_tau2, metafor_iterations, control
):
    fit = estimate_tau2(Y_LOCAL, V_LOCAL, np.ones((4, 1)), method, control)
    assert fit.tau2 == 0.0
    assert fit.se_tau2 == pytest.approx(se_tau2, rel=1e-8)
    assert fit.notes == ("Fisher scoring stuck at a local maximum; tau2 set to 0 (as metafor)",)
    assert (fit.converged, fit.truncated) == (True, True)
    if control == "metafor":
        assert fit.iterations == metafor_iterations


@pytest.mark.parametrize(
    ("tau2_init", "tau2", "se_tau2", "notes"),
    [
        # R: rma(y, v, control = list(tau2.init = t, stepadj = 0)): no warning at
        # t = threshold = 1e-5, the local-maximum warning and tau2 = 0 at t = 2e-5
        (1e-5, 1e-5, 0.0070781388796773408, ()),
        (
            2e-5,
            0.0,
            0.0070710678118654753,
            ("Fisher scoring stuck at a local maximum; tau2 set to 0 (as metafor)",),
        ),
    ],
)
def test_local_maximum_check_spares_an_estimate_at_the_threshold(tau2_init, tau2, se_tau2, notes):
    # Nearly identical precise studies: the REML likelihood falls steeply from 0, so at
    # 1e-5 it is already more than tol below ll(0). stepadj = 0 leaves Fisher scoring at
    # tau2_init; metafor only resets estimates strictly above its threshold (1e-5).
    fit = estimate_tau2(
        np.array([0.001, -0.002, 0.003, 0.0, -0.001]),
        np.full(5, 0.01),
        np.ones((5, 1)),
        "REML",
        {"preset": "metafor", "tau2_init": tau2_init, "stepadj": 0.0},
    )
    assert fit.tau2 == tau2
    assert fit.se_tau2 == pytest.approx(se_tau2, rel=1e-10)
    assert fit.notes == notes


def test_local_maximum_check_can_be_switched_off():
    fit = estimate_tau2(Y_LOCAL, V_LOCAL, np.ones((4, 1)), "REML", {"ll0check": False})
    assert fit.notes == ()
    assert fit.tau2 > 1.0


# PM on y = (-3, 0, 3), v = 4: Q(tau2) = 18 / (4 + tau2) equals k - 1 = 2 exactly at 5.
Y_PM, V_PM, X_PM = np.array([-3.0, 0.0, 3.0]), np.full(3, 4.0), np.ones((3, 1))


@pytest.mark.parametrize(
    ("tau2_max", "iterations", "notes"),
    [
        # R: uniroot(function(t) 18/(4 + t) - 2, c(0, 5)) -> root 5, iter 0
        (5.0, 0, ()),
        # widened tenfold to 5, where Q - 2 is exactly 0: the same call
        (0.5, 0, ("tau2_max = 0.5 too low for PM (metafor stops here); bracket widened",)),
        # widened once (3.2 -> 32) and twice (0.32 -> 32):
        # R: uniroot(function(t) 18/(4 + t) - 2, c(0, 32)) -> root 5, iter 3
        (3.2, 3, ("tau2_max = 3.2 too low for PM (metafor stops here); bracket widened",)),
        (0.32, 3, ("tau2_max = 0.32 too low for PM (metafor stops here); bracket widened",)),
    ],
)
def test_pm_widens_a_low_tau2_max_tenfold_until_q_crosses_its_target(tau2_max, iterations, notes):
    fit = estimate_tau2(Y_PM, V_PM, X_PM, "PM", {"preset": "metafor", "tau2_max": tau2_max})
    assert fit.tau2 == 5.0
    assert fit.se_tau2 == pytest.approx(9.0, rel=1e-12)  # sqrt(2 k^2/(k-1)) / sum(w) = 9
    assert _fields(fit) == (True, iterations, False, notes)


def test_pm_that_runs_out_of_iterations_is_reported_not_converged():
    fit = _fit("strong", "PM", {"preset": "metafor", "maxiter": 2})
    # R: rma(yi, vi, method = "PM", control = list(maxiter = 2)) warns "_NOT_ converged in
    # 2 iterations" (uniroot) and returns tau2 = 281.11020962679208, se 190.06238345010428
    assert fit.tau2 == pytest.approx(281.11020962679208, rel=1e-12)
    assert fit.se_tau2 == pytest.approx(190.06238345010428, rel=1e-12)
    assert _fields(fit) == (False, 2, False, ())


# Wide spread, median absolute deviation 10: 10 * mad(y)^2 = 2198.10276 (R) is above
# metafor's default tau2.max of 100 but below the PM root 2000200 / 4 - 1 = 500049.
Y_WIDE = np.array([-1000.0, -10.0, 0.0, 10.0, 1000.0])


@pytest.mark.parametrize(
    ("control", "reported_max"),
    [
        # R: 10 * mad(c(-1000, -10, 0, 10, 1000))^2 = 2198.10276
        (None, "2198.1"),
        # a tau2_max the user sets is used as given, in either spelling
        ({"tau2_max": 50.0}, "50"),
        ({"tau2.max": 50.0}, "50"),
    ],
)
def test_tau2_max_defaults_to_ten_squared_median_absolute_deviations(control, reported_max):
    fit = estimate_tau2(Y_WIDE, np.ones(5), np.ones((5, 1)), "PM", control)
    assert fit.notes == (
        f"tau2_max = {reported_max} too low for PM (metafor stops here); bracket widened",
    )
    assert fit.tau2 == pytest.approx(500049.0, rel=1e-12)


@pytest.mark.parametrize(
    ("method", "tau2", "se_tau2"),
    [
        # R: rma(yi, vi, mods = ~ x - 1, method = m, control = list(threshold = 1e-12,
        #        tol = 1e-12, maxiter = 10000)) with x = 1:6 on the strong data; metafor
        # centres yi before estimating tau2 even without an intercept
        ("DL", 160.56322284130604, 120.24917605292126),
        ("REML", 131.59199162865011, 95.395356106090858),
    ],
)
def test_model_without_intercept_matches_metafor(method, tau2, se_tau2):
    yi, vi = DATA["strong"]
    X = np.arange(1.0, 7.0)[:, None]
    fit = estimate_tau2(np.array(yi), np.array(vi), X, method)
    assert fit.tau2 == pytest.approx(tau2, rel=1e-9)
    assert fit.se_tau2 == pytest.approx(se_tau2, rel=1e-9)


def test_sj_starts_from_tau2_init_when_given():
    fit = _fit("strong", "SJ", {"tau2.init": 50.0})
    # R: rma(yi, vi, method = "SJ", control = list(tau2.init = 50))
    assert fit.tau2 == pytest.approx(109.28787730669492, rel=1e-12)
    assert fit.se_tau2 == pytest.approx(58.952873463380676, rel=1e-12)


@pytest.mark.parametrize(
    ("method", "control", "tau2", "se_tau2", "iterations", "truncated"),
    [
        # R: rma(yi, vi, method = m, control = list(tau2.init = 500), verbose = TRUE)
        ("REML", {"tau2_init": 500.0}, 131.11805849020342, 94.975116620281597, 7, False),
        ("ML", {"tau2_init": 500.0}, 107.19975875505571, 72.728216671248603, 7, False),
        # R: rma(yi, vi, control = list(tau2.min = 125), verbose = TRUE): from tau2.min,
        # above the HE estimate 123, to the REML estimate 131.1
        ("REML", {"tau2_min": 125.0}, 131.11805848218643, 94.975116615191183, 6, False),
        # R: rma(yi, vi, control = list(tau2.min = 200), verbose = TRUE): Fisher scoring
        # starts at tau2.min, above the HE estimate 123, and stays there
        ("REML", {"tau2_min": 200.0}, 200.0, 138.65913773264006, 1, True),
    ],
)
def test_fisher_scoring_starts_where_metafor_starts(
    method, control, tau2, se_tau2, iterations, truncated
):
    fit = _fit("strong", method, {"preset": "metafor", **control})
    assert fit.tau2 == pytest.approx(tau2, rel=1e-10)
    assert fit.se_tau2 == pytest.approx(se_tau2, rel=1e-10)
    assert _fields(fit) == (True, iterations, truncated, ())


def test_fisher_scoring_starts_at_zero_when_a_negative_tau2_min_is_allowed():
    # HE is (0.5 - 2) / 2 = -0.75 here; metafor starts at max(0, HE, tau2.min) = 0 and
    # halves its steps down towards tau2.min = -0.5.
    # R: rma(c(-.5, 0, .5), c(1, 1, 1), control = list(tau2.min = -0.5), verbose = TRUE)
    fit = estimate_tau2(
        np.array([-0.5, 0.0, 0.5]),
        np.ones(3),
        np.ones((3, 1)),
        "REML",
        {"preset": "metafor", "tau2_min": -0.5},
    )
    assert fit.tau2 == pytest.approx(-0.49999977052529743, rel=1e-10)
    assert fit.se_tau2 == pytest.approx(0.50000022947470257, rel=1e-10)
    assert (fit.iterations, fit.converged) == (11, True)


@pytest.mark.parametrize("method", ["DL", "SJ", "REML", "PM"])
def test_single_precision_inputs_are_estimated_in_double_precision(method):
    y32, v32 = YI.astype(np.float32), VI.astype(np.float32)
    single = estimate_tau2(y32, v32, ONES, method)
    double = estimate_tau2(y32.astype(float), v32.astype(float), ONES, method)
    assert single.tau2 == pytest.approx(double.tau2, rel=1e-13)
    assert single.se_tau2 == pytest.approx(double.se_tau2, rel=1e-13)


@pytest.mark.parametrize("y_single", [True, False])
def test_single_precision_effects_or_variances_alone_do_not_lose_precision(y_single):
    y = YI.astype(np.float32).astype(float)
    v = VI.astype(np.float32).astype(float)
    double = estimate_tau2(y, v, ONES, "REML")
    single = estimate_tau2(
        y.astype(np.float32) if y_single else y, v if y_single else v.astype(np.float32), ONES
    )
    assert single.tau2 == pytest.approx(double.tau2, rel=1e-13)


@pytest.mark.parametrize(
    ("control", "name"), [(None, "tight"), ("tight", "tight"), ("metafor", "metafor")]
)
def test_control_name_names_the_preset(control, name):
    assert control_name(control) == name


def test_control_name_calls_a_dict_of_options_custom():
    assert control_name({"preset": "metafor", "maxiter": 5}) == "custom"


def test_control_name_refuses_an_unknown_preset():
    with pytest.raises(ValueError, match=r"control must be one of 'tight', 'metafor' .*got 'R'"):
        control_name("R")


def test_unknown_control_option_error_lists_the_allowed_options():
    allowed = "tau2_init, tau2_min, tau2_max, threshold, tol, maxiter, stepadj, ll0check, newton"
    with pytest.raises(ValueError, match=f"unknown control option 'tol2'; allowed: {allowed}, "):
        resolve_control({"tol2": 1e-8})


def test_unknown_method_error_lists_metafors_estimator_codes():
    with pytest.raises(
        ValueError, match="method must be one of FE, DL, REML, PM, ML, HS, SJ, HE, EB; got 'MLE'"
    ):
        estimate_tau2(YI, VI, ONES, "MLE")


@pytest.mark.parametrize("method", ["REML", "ML", "EB"])
def test_a_start_below_tau2_min_is_refused_rather_than_iterated_forever(method):
    # The step-halving that keeps tau2 >= tau2_min cannot end when the start lies below it
    # (metafor 3.8.1's rma(yi, vi, control = list(tau2.init = 0, tau2.min = 200)) hangs).
    yi, vi = np.array([0.1, 0.9, -0.4, 1.6]), np.array([0.02, 0.03, 0.05, 0.04])
    control = {"tau2_init": 0.0, "tau2_min": 200.0}
    message = (
        r"^control tau2_init \(0\) is below tau2_min \(200\): "
        r"the iterations must start inside the range they search$"
    )
    with pytest.raises(ValueError, match=message):
        estimate_tau2(yi, vi, np.ones((4, 1)), method, control)


# numpy reports the overflow of the weights; metafor warns "Ratio of largest to smallest
# sampling variance extremely large"
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_fisher_scoring_stops_where_a_huge_weight_makes_its_step_undefined_as_metafor_does():
    # vi = 1e-200 is > 0, as estimate_tau2 requires, but its weight squared overflows: at
    # tau2 = 0 the ML score step is inf / inf = NaN. metafor takes it as a zero step and stops.
    # R: r <- rma(c(.1, .12, .11, .13), c(1e-200, .02, .03, .04), method = "ML",
    #             verbose = TRUE)  # "Fisher scoring algorithm converged after 1 iterations."
    #    c(r$tau2, r$se.tau2)  # 0 0
    fit = estimate_tau2(
        np.array([0.1, 0.12, 0.11, 0.13]),
        np.array([1e-200, 0.02, 0.03, 0.04]),
        np.ones((4, 1)),
        "ML",
        control="metafor",
    )
    assert (fit.tau2, fit.se_tau2, fit.converged, fit.iterations) == (0.0, 0.0, True, 1)
