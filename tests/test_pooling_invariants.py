"""Properties every pooled result must have, checked with Hypothesis on bounded inputs."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.pooling import rma

METHODS = ["FE", "DL", "REML", "PM", "ML", "HS", "SJ", "HE", "EB"]
SETTINGS = settings(max_examples=40, deadline=None)


@st.composite
def studies(draw, min_k=2, max_k=12):
    k = draw(st.integers(min_k, max_k))
    yi = draw(st.lists(st.floats(-3, 3, allow_nan=False), min_size=k, max_size=k))
    vi = draw(st.lists(st.floats(0.005, 2.0, allow_nan=False), min_size=k, max_size=k))
    return np.array(yi), np.array(vi)


# metafor's stopping rules (tau2 change < 1e-5, uniroot tol ~1.2e-4) are absolute, hence
# not scale free; the invariants are about the estimators, so they are solved tightly here.
TIGHT = {"threshold": 1e-13, "tol": 1e-13, "maxiter": 1000}


def _rma(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return rma(*args, control=TIGHT, **kwargs)


@SETTINGS
@given(data=studies(), method=st.sampled_from(METHODS), seed=st.integers(0, 2**32 - 1))
def test_order_of_studies_does_not_matter(data, method, seed):
    yi, vi = data
    perm = np.random.default_rng(seed).permutation(len(yi))
    a = _rma(yi, vi, method=method)
    b = _rma(yi[perm], vi[perm], method=method)
    assert b.estimate == pytest.approx(a.estimate, rel=1e-6, abs=1e-8)
    assert b.tau2 == pytest.approx(a.tau2, rel=1e-5, abs=1e-8)
    np.testing.assert_allclose(b.weights, a.weights[perm], rtol=1e-5, atol=1e-8)


@SETTINGS
@given(data=studies(), method=st.sampled_from(METHODS), shift=st.floats(-5, 5))
def test_shifting_all_effects_shifts_the_estimate(data, method, shift):
    yi, vi = data
    a = _rma(yi, vi, method=method)
    b = _rma(yi + shift, vi, method=method)
    assert b.estimate == pytest.approx(a.estimate + shift, rel=1e-6, abs=1e-7)
    assert b.tau2 == pytest.approx(a.tau2, rel=1e-5, abs=1e-8)
    assert b.se == pytest.approx(a.se, rel=1e-5, abs=1e-8)


@SETTINGS
@given(data=studies(), method=st.sampled_from(METHODS), c=st.floats(0.1, 10))
def test_scaling_effects_by_c_and_variances_by_c_squared_is_equivariant(data, method, c):
    yi, vi = data
    a = _rma(yi, vi, method=method, tau2_ci=False)
    b = _rma(c * yi, c * c * vi, method=method, tau2_ci=False)
    assert b.estimate == pytest.approx(c * a.estimate, rel=1e-5, abs=1e-7)
    assert b.se == pytest.approx(c * a.se, rel=1e-5, abs=1e-7)
    assert b.tau2 == pytest.approx(c * c * a.tau2, rel=1e-6, abs=1e-10)
    assert b.i2 == pytest.approx(a.i2, rel=1e-6, abs=1e-8)


@SETTINGS
@given(data=studies(), method=st.sampled_from(METHODS), test=st.sampled_from(["z", "knha"]))
def test_basic_ranges_hold(data, method, test):
    yi, vi = data
    res = _rma(yi, vi, method=method, test=test)
    assert res.tau2 >= 0
    assert 0 <= res.i2 < 100
    assert res.h2 >= 1 or method == "FE"
    assert res.weights.sum() == pytest.approx(100.0)
    assert np.all(res.weights > 0)
    assert res.ci_low <= res.estimate <= res.ci_high
    if method != "FE":
        assert res.pi_low <= res.ci_low
        assert res.pi_high >= res.ci_high
        if not np.isnan(res.tau2_ci_low):
            assert res.tau2_ci_low <= res.tau2_ci_high


@SETTINGS
@given(data=studies(), method=st.sampled_from(METHODS[1:]), spread=st.sampled_from([0.0, 1e-4]))
def test_random_effects_equals_fixed_effect_when_tau2_is_zero(data, method, spread):
    yi, vi = data
    # tau2 = 0 by construction: effects whose spread is far below their sampling error
    # (Q << k - 1) give 0 for every estimator but SJ, whose estimate is positive unless the
    # effects are identical (spread 0), so SJ is drawn with identical effects only.
    if method == "SJ":
        spread = 0.0
    yi = np.mean(yi) + spread * (yi - np.mean(yi)) * np.sqrt(vi)
    re = _rma(yi, vi, method=method)
    fe = _rma(yi, vi, method="FE")
    assert re.tau2 == 0
    assert re.estimate == pytest.approx(fe.estimate, rel=1e-12, abs=1e-14)
    assert re.se == pytest.approx(fe.se, rel=1e-12)
    np.testing.assert_allclose(re.weights, fe.weights, rtol=1e-12)
