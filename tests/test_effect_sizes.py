"""Tests of analysis.effect_sizes against metafor 3.8.1 and of its invariants."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import load_reference

from analysis.effect_sizes import EffectSizes, escalc, hedges_correction
from analysis.warnings import DataWarning

REFERENCE = load_reference("metafor_escalc")
CASES = REFERENCE["escalc"]
# Closed forms: the only differences are floating-point rounding and the 15 significant
# digits jsonlite writes.
RTOL = 1e-10


def _num(values):
    return np.array([math.nan if isinstance(v, str) else v for v in values], dtype=float)


def test_reference_file_records_its_provenance():
    assert REFERENCE["metafor_version"] == "3.8.1"
    assert REFERENCE["r_version"].startswith("R version 4.2")
    assert all(case["call"].count("escalc(") == 1 for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_escalc_matches_metafor(case):
    inputs = {name: _num(values) for name, values in case["inputs"].items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        result = escalc(case["measure"], **inputs, **case["args"])
    expected_yi, expected_vi = _num(case["yi"]), _num(case["vi"])
    np.testing.assert_array_equal(np.isnan(result.yi), np.isnan(expected_yi))
    np.testing.assert_array_equal(np.isnan(result.vi), np.isnan(expected_vi))
    np.testing.assert_allclose(result.yi, expected_yi, rtol=RTOL, atol=1e-14, equal_nan=True)
    np.testing.assert_allclose(result.vi, expected_vi, rtol=RTOL, atol=1e-14, equal_nan=True)


def test_hedges_correction_is_exact_gamma_form_not_approximation():
    # J(2) = Γ(1) / (1 · Γ(1/2)) = 1/√π; J(3) = Γ(3/2) / (√1.5 · Γ(1)) = √π / (2 √1.5).
    np.testing.assert_allclose(
        hedges_correction([2.0, 3.0]),
        [1 / math.sqrt(math.pi), math.sqrt(math.pi) / (2 * math.sqrt(1.5))],
        rtol=1e-14,
    )
    m = np.array([10.0, 100.0])
    approx = 1 - 3 / (4 * m - 1)
    assert np.all(hedges_correction(m) != approx)
    np.testing.assert_allclose(hedges_correction(m), approx, rtol=1e-3)
    assert np.isnan(hedges_correction(1.0))


def test_hedges_correction_does_not_overflow_for_large_samples():
    assert hedges_correction(1e6) == pytest.approx(1.0, abs=1e-6)


def test_zero_cells_get_half_added_only_in_their_study():
    result = escalc("OR", ai=[0, 4], bi=[10, 6], ci=[3, 2], di=[7, 8])
    assert result.notes == ("0.5 added to every cell of studies 0 (a zero cell)",)
    assert result.yi[0] == pytest.approx(math.log(0.5 * 7.5 / (10.5 * 3.5)))
    assert result.yi[1] == pytest.approx(math.log(4 * 8 / (6 * 2)))


def test_cells_given_by_caller_are_not_modified():
    ai = np.array([0.0, 4.0])
    escalc("RR", ai=ai, bi=[10, 6], ci=[3, 2], di=[7, 8])
    np.testing.assert_array_equal(ai, [0.0, 4.0])


def test_group_sizes_can_replace_non_events():
    by_cells = escalc("RR", ai=[3, 5], bi=[17, 15], ci=[6, 9], di=[14, 11])
    by_sizes = escalc("RR", ai=[3, 5], n1i=[20, 20], ci=[6, 9], n2i=[20, 20])
    np.testing.assert_allclose(by_cells.yi, by_sizes.yi)
    np.testing.assert_allclose(by_cells.vi, by_sizes.vi)


def test_missing_input_propagates_to_its_study_only():
    result = escalc("MD", m1i=[1.0, np.nan], sd1i=1, n1i=10, m2i=0.5, sd2i=1, n2i=12)
    assert np.isfinite(result.yi[0]) and np.isnan(result.yi[1])
    assert np.isfinite(result.vi[0])


def test_scalars_are_repeated_to_the_number_of_studies():
    result = escalc("ZCOR", ri=[0.1, 0.2, 0.3], ni=50)
    np.testing.assert_allclose(result.vi, 1 / 47)


def test_zcor_variance_is_missing_with_a_warning_when_n_is_three_or_less():
    with pytest.warns(DataWarning, match=r"ni <= 3\) for studies 0"):
        result = escalc("ZCOR", ri=[0.2, 0.2], ni=[3, 10])
    assert np.isnan(result.vi[0]) and result.vi[1] == pytest.approx(1 / 7)


def test_infinite_values_become_missing_with_a_warning_as_in_metafor():
    with pytest.warns(DataWarning, match="infinite, set to NaN, for studies 0"):
        result = escalc("OR", ai=[0, 2], bi=[5, 5], ci=[3, 3], di=[5, 5], to="none")
    assert np.isnan(result.yi[0]) and np.isnan(result.vi[0])
    assert np.isfinite(result.yi[1])


def test_effect_sizes_frame_has_yi_vi_sei():
    result = escalc("MD", m1i=[2.0, 3.0], sd1i=1, n1i=4, m2i=1.0, sd2i=1, n2i=4)
    frame = result.to_frame()
    assert list(frame.columns) == ["yi", "vi", "sei"]
    np.testing.assert_allclose(frame["sei"] ** 2, frame["vi"])
    assert result.k == 2


def test_effect_sizes_arrays_cannot_be_modified():
    result = EffectSizes(yi=[1.0], vi=[0.1], measure="MD")
    with pytest.raises(ValueError, match="read-only"):
        result.yi[0] = 2.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"measure": "XYZ"}, r"measure: 'XYZ' is not one of MD, SMD"),
        ({"measure": "MD", "vtype": "AV"}, r"vtype: 'AV' is not available for measure 'MD'"),
        ({"measure": "OR", "to": "some"}, r"to: 'some' is not one of"),
        ({"measure": "MD", "m1i": 1}, r"missing: sd1i, n1i, m2i, sd2i, n2i"),
    ],
)
def test_bad_options_are_refused_by_name(kwargs, message):
    # A copy: the parameter dict is shared by every run of the test in one process (mutmut
    # runs the tests several times in one), and popping from it would change the case.
    options = dict(kwargs)
    measure = options.pop("measure")
    with pytest.raises(ValueError, match=message):
        escalc(measure, **options)


@pytest.mark.parametrize(
    ("measure", "kwargs", "message"),
    [
        (
            "MD",
            {"m1i": [1, 2], "sd1i": [1, -0.2], "n1i": 5, "m2i": 1, "sd2i": 1, "n2i": 5},
            r"sd1i\[1\] = -0.2: a standard deviation must be >= 0",
        ),
        (
            "SMD",
            {"m1i": 1, "sd1i": 1, "n1i": [0, 4], "m2i": 1, "sd2i": 1, "n2i": 5},
            r"n1i\[0\] = 0: a sample size must be > 0",
        ),
        ("ZCOR", {"ri": [0.5, 1.2], "ni": 20}, r"ri\[1\] = 1.2: a correlation must lie in"),
        ("OR", {"ai": -1, "bi": 3, "ci": 1, "di": 1}, r"ai\[0\] = -1: a count must be >= 0"),
        ("RR", {"ai": 6, "n1i": 5, "ci": 1, "n2i": 5}, r"bi\[0\] = -1: a count must be >= 0"),
        (
            "OR",
            {"ai": 2, "bi": 3, "n1i": 6, "ci": 1, "di": 1},
            r"n1i\[0\] = 6 is not ai \+ bi = 2 \+ 3",
        ),
        (
            "MC",
            {"m1i": [1, 2, 3], "m2i": [1, 2], "sd1i": 1, "sd2i": 1, "ri": 0.5, "ni": 9},
            r"not all of the same length: m1i has 3, m2i has 2",
        ),
        (
            "MD",
            {"m1i": "abc", "sd1i": 1, "n1i": 5, "m2i": 1, "sd2i": 1, "n2i": 5},
            r"m1i: 'abc' is not numeric",
        ),
    ],
)
def test_impossible_values_are_refused_with_argument_index_and_value(measure, kwargs, message):
    with pytest.raises(ValueError, match=message):
        escalc(measure, **kwargs)


# --- invariants ------------------------------------------------------------------------

means = st.floats(-1e3, 1e3, allow_nan=False)
sds = st.floats(0.01, 1e2, allow_nan=False)
sizes = st.integers(2, 500)


@settings(max_examples=50, deadline=None)
@given(m1=means, m2=means, sd1=sds, sd2=sds, n1=sizes, n2=sizes)
def test_md_and_smd_change_sign_when_groups_are_swapped(m1, m2, sd1, sd2, n1, n2):
    for measure in ("MD", "SMD"):
        forward = escalc(measure, m1i=m1, sd1i=sd1, n1i=n1, m2i=m2, sd2i=sd2, n2i=n2)
        back = escalc(measure, m1i=m2, sd1i=sd2, n1i=n2, m2i=m1, sd2i=sd1, n2i=n1)
        np.testing.assert_allclose(forward.yi, -back.yi, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(forward.vi, back.vi, rtol=1e-12)


@settings(max_examples=50, deadline=None)
@given(m1=means, m2=means, sd1=sds, sd2=sds, n1=sizes, n2=sizes, scale=st.floats(0.01, 100))
def test_smd_does_not_depend_on_the_unit_of_measurement(m1, m2, sd1, sd2, n1, n2, scale):
    raw = escalc("SMD", m1i=m1, sd1i=sd1, n1i=n1, m2i=m2, sd2i=sd2, n2i=n2)
    scaled = escalc(
        "SMD", m1i=m1 * scale, sd1i=sd1 * scale, n1i=n1, m2i=m2 * scale, sd2i=sd2 * scale, n2i=n2
    )
    np.testing.assert_allclose(raw.yi, scaled.yi, rtol=1e-9, atol=1e-12)


@settings(max_examples=50, deadline=None)
@given(a=st.integers(0, 50), b=st.integers(0, 50), c=st.integers(0, 50), d=st.integers(0, 50))
def test_log_odds_ratio_changes_sign_when_groups_are_swapped(a, b, c, d):
    forward = escalc("OR", ai=a, bi=b, ci=c, di=d)
    back = escalc("OR", ai=c, bi=d, ci=a, di=b)
    np.testing.assert_allclose(forward.yi, -back.yi, atol=1e-12)
    assert np.all(forward.vi > 0)


@settings(max_examples=50, deadline=None)
@given(sd1=sds, sd2=sds, n=sizes, r1=st.floats(-1, 1), r2=st.floats(-1, 1))
def test_mean_change_variance_falls_as_correlation_rises(sd1, sd2, n, r1, r2):
    lo, hi = sorted((r1, r2))
    v_lo = escalc("MC", m1i=1, m2i=0, sd1i=sd1, sd2i=sd2, ri=lo, ni=n).vi
    v_hi = escalc("MC", m1i=1, m2i=0, sd1i=sd1, sd2i=sd2, ri=hi, ni=n).vi
    assert v_hi[0] <= v_lo[0] + 1e-12
