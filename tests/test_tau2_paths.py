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

from analysis.tau2 import _loglik, estimate_tau2

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
