"""Egger's regression test and trim-and-fill against metafor 3.8.1, refusals and invariants."""

import math
import warnings

import numpy as np
import pytest
import statsmodels.api as sm
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from reference import load_reference

from analysis.bias import egger_test, trimfill
from analysis.warnings import MetaAnalysisWarning

REFERENCE = load_reference("metafor_extras")
TIGHT = load_reference("metafor_extras_tight")
DATASETS = REFERENCE["datasets"]
# Each reference set with the engine control that must reproduce it: metafor's defaults
# (control="metafor"), and metafor at tight control (the engine's default), where every
# quantity is at the optimum and agrees to 1e-9 relative (rounding only; see test_pooling.py).
SETS = {"metafor": (REFERENCE, "metafor"), "tight": (TIGHT, None)}
TIGHT_TOL = 1e-9


def _both(section: str, ids) -> list:
    return [
        pytest.param(which, case, id=f"{which}-{ids(case)}")
        for which, (ref, _control) in SETS.items()
        for case in ref[section]
    ]


# model="lm", FE and DL are closed forms: rounding error only, and 1e-10 relative leaves room
# for the 15 significant digits in the JSON. REML stops when tau2 changes by less than 1e-5,
# so REML-based values are pinned down to the optimiser's tolerance only: 1e-6 relative.
CLOSED = 1e-10
ITERATIVE = 1e-6
# Statistics that are zero up to rounding (identical effects) are compared absolutely.
ABS = 1e-12

SMALL = DATASETS["normand1999"]  # k = 9


def _tol(method: str | None, which: str = "metafor") -> float:
    if which == "tight":
        return TIGHT_TOL
    return CLOSED if method in (None, "FE", "DL") else ITERATIVE


def _regtest_id(case: dict) -> str:
    return f"{case['dataset']}-{case['model']}-{case['method']}-{case['test']}-{case['predictor']}"


def _trimfill_id(case: dict) -> str:
    side = case["side_requested"] or "auto"
    return f"{case['dataset']}-{case['method']}-{case['estimator']}-{side}"


@pytest.mark.parametrize(("which", "case"), _both("regtest", _regtest_id))
def test_egger_test_matches_metafor_regtest(which, case):
    data = DATASETS[case["dataset"]]
    lm = case["model"] == "lm"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = egger_test(
            data["yi"],
            data["vi"],
            model=case["model"],
            predictor=case["predictor"],
            method=None if lm else case["method"],
            test="z" if lm else case["test"],
            control=SETS[which][1],
        )
    tol = _tol(None if lm else case["method"], which)
    assert result.df == case["df"]
    assert result.stat == pytest.approx(case["stat"], rel=tol, abs=ABS)
    assert result.pvalue == pytest.approx(case["pvalue"], rel=tol)
    assert result.slope == pytest.approx(case["slope"], rel=tol, abs=ABS)
    for ours, theirs in (("limit_estimate", "limit_estimate"), ("limit_ci_low", "limit_ci_low")):
        assert getattr(result, ours) == pytest.approx(case[theirs], rel=tol)
    assert result.limit_ci_high == pytest.approx(case["limit_ci_high"], rel=tol)
    if not lm:
        assert result.tau2 == pytest.approx(case["tau2"], rel=tol, abs=ABS)


def test_classic_egger_equals_regression_of_standard_normal_deviate_on_precision():
    # Egger 1997: OLS of yi/sei on 1/sei; the intercept's t test is the asymmetry test. It is
    # the same model as the weighted regression of yi on sei, with intercept and slope swapped.
    data = DATASETS["hackshaw1998"]
    yi, sei = np.array(data["yi"]), np.sqrt(data["vi"])
    ols = sm.OLS(yi / sei, sm.add_constant(1 / sei)).fit()
    result = egger_test(yi, sei**2, model="lm")
    assert result.stat == pytest.approx(ols.tvalues[0], rel=CLOSED)
    assert result.limit_estimate == pytest.approx(ols.params[1], rel=CLOSED)


@pytest.mark.parametrize(("which", "case"), _both("trimfill", _trimfill_id))
def test_trimfill_matches_metafor_trimfill(which, case):
    data = DATASETS[case["dataset"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = trimfill(
            data["yi"],
            data["vi"],
            side=case["side_requested"],
            estimator=case["estimator"],
            method=case["method"],
            control=SETS[which][1],
        )
    tol = _tol(case["method"], which)
    assert (result.k0, result.side) == (case["k0"], case["side"])
    assert result.se_k0 == pytest.approx(case["se_k0"], rel=CLOSED)
    if case["p_k0"] is None:
        assert result.p_k0 is None
    else:
        assert result.p_k0 == pytest.approx(case["p_k0"], rel=CLOSED)
    assert result.fill.tolist() == case["fill"]
    assert result.yi == pytest.approx(np.array(case["yi"]), rel=tol, abs=ABS)
    assert result.vi == pytest.approx(np.array(case["vi"]), rel=CLOSED)
    ref = case["result"]
    assert result.result.k == ref["k"]
    for key in ("estimate", "se", "pvalue", "ci_low", "ci_high", "tau2", "q", "i2"):
        assert getattr(result.result, key) == pytest.approx(ref[key], rel=tol, abs=ABS), key


def test_trimfill_labels_filled_studies_and_frame_marks_them():
    data = DATASETS["hackshaw1998"]
    result = trimfill(data["yi"], data["vi"], method="FE", slab=data["slab"])
    frame = result.to_frame()
    assert list(frame["slab"].iloc[-2:]) == [f"Filled {result.k0 - 1}", f"Filled {result.k0}"]
    assert frame["filled"].sum() == result.k0
    assert "missing studies on the left side" in result.summary()


def test_egger_test_refuses_fewer_than_ten_studies():
    with pytest.raises(
        ValueError,
        match=r"Egger's test needs at least 10 studies \(k = 9\); pass force=True to run it anyway",
    ):
        egger_test(SMALL["yi"], SMALL["vi"])


def test_trimfill_refuses_fewer_than_ten_studies():
    with pytest.raises(
        ValueError,
        match=r"Trim-and-fill needs at least 10 studies \(k = 9\); pass force=True to run it",
    ):
        trimfill(SMALL["yi"], SMALL["vi"])


def test_forced_egger_test_warns_and_records_it():
    with pytest.warns(MetaAnalysisWarning, match=r"run on k = 9 studies"):
        result = egger_test(SMALL["yi"], SMALL["vi"], force=True)
    assert result.forced
    assert any("fewer than 10, forced" in w for w in result.warnings)
    assert math.isfinite(result.stat)


def test_forced_trimfill_warns_and_records_it():
    with pytest.warns(MetaAnalysisWarning, match=r"Trim-and-fill run on k = 9 studies"):
        result = trimfill(SMALL["yi"], SMALL["vi"], force=True)
    assert result.forced
    assert any("forced" in w for w in result.warnings)


def test_egger_lm_refuses_rma_only_options():
    data = DATASETS["bcg"]
    with pytest.raises(ValueError, match="method applies to model='rma' only"):
        egger_test(data["yi"], data["vi"], model="lm", method="DL")
    with pytest.raises(ValueError, match="test applies to model='rma' only"):
        egger_test(data["yi"], data["vi"], model="lm", test="knha")


def test_egger_refuses_unknown_options_and_constant_predictor():
    data = DATASETS["bcg"]
    with pytest.raises(ValueError, match="model must be one of 'rma', 'lm'"):
        egger_test(data["yi"], data["vi"], model="glm")
    with pytest.raises(ValueError, match="predictor 'sei' is the same for every study"):
        egger_test(data["yi"], [0.1] * 13)


def test_trimfill_refuses_unknown_side_and_estimator():
    data = DATASETS["bcg"]
    with pytest.raises(ValueError, match="side must be one of 'left', 'right'"):
        trimfill(data["yi"], data["vi"], side="up")
    with pytest.raises(ValueError, match="estimator must be one of 'L0', 'R0', 'Q0'"):
        trimfill(data["yi"], data["vi"], estimator="L1")


@pytest.mark.filterwarnings("ignore::analysis.warnings.Tau2TruncatedWarning")
def test_trimfill_finds_nothing_missing_when_effects_are_identical():
    # metafor ranks rounding noise here and stops with "did not converge"; see bias.trimfill.
    data = DATASETS["identical"]
    result = trimfill(data["yi"], data["vi"])
    assert result.k0 == 0
    assert result.result.estimate == pytest.approx(0.3, rel=1e-12)


def test_egger_lm_is_undefined_for_a_perfect_fit():
    data = DATASETS["identical"]
    with pytest.warns(MetaAnalysisWarning, match="fits the effects exactly"):
        result = egger_test(data["yi"], data["vi"], model="lm")
    assert math.isnan(result.stat)
    assert result.limit_estimate == pytest.approx(0.3, rel=1e-12)


effects = st.lists(
    st.tuples(st.floats(-2, 2, allow_nan=False), st.floats(0.01, 1, allow_nan=False)),
    min_size=10,
    max_size=20,
)


@settings(max_examples=30, deadline=None)
@given(effects, st.floats(-5, 5, allow_nan=False), st.sampled_from(["rma", "lm"]))
def test_shifting_all_effects_moves_only_the_limit_estimate(rows, shift, model):
    yi, vi = (np.array(x) for x in zip(*rows, strict=True))
    assume(np.ptp(np.sqrt(vi)) > 1e-3)
    method = "DL" if model == "rma" else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        before = egger_test(yi, vi, model=model, method=method)
        after = egger_test(yi + shift, vi, model=model, method=method)
    assume(math.isfinite(before.stat))
    assert after.stat == pytest.approx(before.stat, rel=1e-6, abs=1e-9)
    assert after.limit_estimate == pytest.approx(before.limit_estimate + shift, abs=1e-8)


@settings(max_examples=30, deadline=None)
@given(effects, st.sampled_from(["L0", "R0"]))
def test_mirroring_the_effects_mirrors_trim_and_fill(rows, estimator):
    yi, vi = (np.array(x) for x in zip(*rows, strict=True))
    assume(len(np.unique(yi)) == yi.size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        left = trimfill(yi, vi, side="left", estimator=estimator, method="DL")
        right = trimfill(-yi, vi, side="right", estimator=estimator, method="DL")
    assert right.k0 == left.k0
    assert right.result.estimate == pytest.approx(-left.result.estimate, rel=1e-9, abs=1e-12)
    assert right.yi == pytest.approx(-left.yi, rel=1e-9, abs=1e-12)


def test_trimfill_q0_raises_where_metafor_stops():
    # metafor stops on these data ("missing value where TRUE/FALSE needed"): Q0 takes the
    # square root of a negative number; see make_reference_extras.R.
    data = DATASETS["egger2001"]
    with pytest.raises(RuntimeError, match="Q0 estimator is undefined for these data"):
        trimfill(data["yi"], data["vi"], estimator="Q0", method="DL")
