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


# --- notes, warnings and input checks (issue 14) --------------------------------------


def test_zero_in_any_one_cell_gets_the_correction_and_the_result_matches_metafor():
    result = escalc(
        "OR", ai=[0, 3, 3, 3, 3], bi=[7, 0, 7, 7, 7], ci=[2, 2, 0, 2, 2], di=[8, 8, 8, 0, 8]
    )
    assert result.measure == "OR"
    assert result.notes == ("0.5 added to every cell of studies 0, 1, 2, 3 (a zero cell)",)
    # escalc("OR", ai=c(0,3,3,3,3), bi=c(7,0,7,7,7), ci=c(2,2,0,2,2), di=c(8,8,8,0,8))
    np.testing.assert_allclose(
        result.yi,
        [-1.48427476948009, 3.16968558067743, 2.07107329200932, -2.371577964481, 0.538996500732687],
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        result.vi,
        [2.65098039215686, 2.80336134453781, 2.53669467787115, 2.81904761904762, 1.10119047619048],
        rtol=1e-12,
    )


def test_to_all_note_names_the_option_and_add_zero_changes_nothing():
    result = escalc("OR", ai=[0, 3], bi=[7, 7], ci=[2, 2], di=[8, 8], to="all")
    assert result.notes == ("0.5 added to every cell of studies 0, 1 (to='all')",)
    # escalc("OR", ai=c(0,3), bi=c(7,7), ci=c(2,2), di=c(8,8), to="all")
    np.testing.assert_allclose(result.yi, [-1.48427476948009, 0.461635379575219], rtol=1e-12)
    plain = escalc("OR", ai=[1, 3], bi=[7, 7], ci=[2, 2], di=[8, 8], add=0, to="all")
    assert plain.notes == ()
    np.testing.assert_allclose(plain.yi, np.log([8 / 14, 24 / 14]), rtol=1e-12)


def test_cells_and_group_sizes_that_agree_are_accepted():
    both = escalc("RR", ai=[3, 5], bi=[17, 15], n1i=[20, 20], ci=[6, 9], di=[14, 11], n2i=20)
    np.testing.assert_allclose(both.yi, np.log([3 / 6, 5 / 9]), rtol=1e-12)


def test_group_sizes_can_replace_non_events_of_the_second_group_alone():
    result = escalc("RR", ai=[3, 5], bi=[17, 15], ci=[6, 9], n2i=[20, 20])
    np.testing.assert_allclose(result.yi, np.log([3 / 6, 5 / 9]), rtol=1e-12)
    np.testing.assert_allclose(result.vi, [1 / 3 - 1 / 20 + 1 / 6 - 1 / 20, 1 / 5 + 1 / 9 - 0.1])


def test_a_missing_count_without_its_group_size_is_reported_missing():
    with pytest.raises(ValueError, match=r"needs ai, bi, ci, di; missing: ai, bi$"):
        escalc("OR", n1i=10, ci=1, di=2)


@pytest.mark.parametrize(
    ("measure", "m1i", "m2i"),
    [
        ("ROM", [0.5, 0, 1, -1, 2], [2, 1, 0, 2, 0.5]),
        ("ROMC", [0.5, 0, 1, -1, 2], [2, 1, 0, 2, 0.5]),
    ],
)
def test_ratio_of_means_with_a_non_positive_mean_is_undefined_with_a_data_warning(
    measure, m1i, m2i
):
    kwargs = {"m1i": m1i, "m2i": m2i, "sd1i": 1, "sd2i": 1}
    kwargs.update({"ri": 0.5, "ni": 10} if measure == "ROMC" else {"n1i": 10, "n2i": 10})
    with pytest.warns(DataWarning) as record:
        result = escalc(measure, **kwargs)
    # these two and no numpy RuntimeWarning besides
    assert [str(w.message) for w in record] == [
        f"escalc({measure!r}): yi undefined (log of a non-positive ratio of means) "
        "for studies 1, 2, 3",
        f"escalc({measure!r}): yi or vi infinite, set to NaN, for studies 1, 2",
    ]
    # log(0.5/2), log(2/0.5) as in escalc("ROM", ...) (yi = -1.386294, NA, NA, NA, 1.386294)
    np.testing.assert_allclose(result.yi, [math.log(0.25), np.nan, np.nan, np.nan, math.log(4)])
    assert np.isnan(result.vi[1:4]).all() and np.isfinite(result.vi[[0, 4]]).all()


@pytest.mark.parametrize(
    ("measure", "kwargs", "what"),
    [
        ("SMD", {"m1i": 1, "sd1i": 1, "n1i": [1, 1, 2], "m2i": 0, "sd2i": 1, "n2i": [1, 2, 2]},
         "n1i + n2i - 2"),
        ("SMCR", {"m1i": 1, "m2i": 0, "sd1i": 1, "ri": 0.5, "ni": [1, 2, 3]}, "ni - 1"),
    ],
)  # fmt: skip
def test_too_few_degrees_of_freedom_for_the_bias_correction_warn_by_study(measure, kwargs, what):
    with pytest.warns(DataWarning) as record:
        result = escalc(measure, **kwargs)
    messages = [str(w.message) for w in record if issubclass(w.category, DataWarning)]
    assert messages[0] == (
        f"escalc({measure!r}): vi not computable ({what} <= 1: no bias correction) for studies 0, 1"
    )
    assert np.isnan(result.yi[:2]).all() and np.isfinite(result.yi[2])
    # m = 2 and d = 1: yi = J(2) = 1/sqrt(pi)
    assert result.yi[2] == pytest.approx(1 / math.sqrt(math.pi))


@pytest.mark.parametrize(
    ("measure", "kwargs"),
    [
        # sd = 0: a difference over zero (divide) and zero over zero (invalid)
        ("SMD", {"m1i": [1, 0, 1], "sd1i": [0, 0, 1], "n1i": 5, "m2i": 0, "sd2i": [0, 0, 1],
                 "n2i": 5}),
        ("SMCR", {"m1i": [1, 0, 1], "m2i": 0, "sd1i": [0, 0, 1], "ri": 0.5, "ni": 5}),
        ("ROM", {"m1i": [1, 0, 1], "sd1i": 1, "n1i": 5, "m2i": [0, 0, 1], "sd2i": 1, "n2i": 5}),
        ("ROMC", {"m1i": [1, 0, 1], "m2i": [0, 0, 1], "sd1i": 1, "sd2i": 1, "ri": 0.5, "ni": 5}),
        ("ZCOR", {"ri": [1, 0.5], "ni": 10}),
        ("OR", {"ai": [0, 1], "bi": 5, "ci": [0, 1], "di": 5, "to": "none"}),
    ],
)  # fmt: skip
def test_degenerate_studies_raise_only_the_data_warning_not_numpy_noise(measure, kwargs):
    with pytest.warns(DataWarning) as record:
        escalc(measure, **kwargs)
    assert [w.category for w in record if not issubclass(w.category, DataWarning)] == []


def test_hedges_correction_is_nan_without_numpy_warnings_where_undefined():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = hedges_correction([-1.0, 0.0, 1.0])
    assert np.isnan(out).all()


def test_sample_size_weighted_variances_drop_missing_inputs_as_metafor_does():
    # escalc("SMD", m1i=c(1.2,NA,0.4), sd1i=c(1,1.1,0.9), n1i=c(10,12,8), m2i=c(0.5,0.3,0.6),
    #        sd2i=c(1.2,1,1), n2i=c(11,10,9), vtype="AV")
    smd = escalc(
        "SMD", m1i=[1.2, np.nan, 0.4], sd1i=[1, 1.1, 0.9], n1i=[10, 12, 8],
        m2i=[0.5, 0.3, 0.6], sd2i=[1.2, 1, 1], n2i=[11, 10, 9], vtype="AV",
    )  # fmt: skip
    np.testing.assert_allclose(
        smd.vi, [0.192345964101229, 0.184704894107647, 0.237886072113163], rtol=1e-12
    )
    # escalc("ROM", m1i=c(10,NA,12,9), sd1i=c(2,2,3,2), n1i=c(10,12,NA,8), m2i=c(8,7,9,10),
    #        sd2i=c(2,2.5,2,3), n2i=c(11,10,9,NA), vtype="AV")
    rom = escalc(
        "ROM", m1i=[10, np.nan, 12, 9], sd1i=[2, 2, 3, 2], n1i=[10, 12, np.nan, 8],
        m2i=[8, 7, 9, 10], sd2i=[2, 2.5, 2, 3], n2i=[11, 10, 9, np.nan], vtype="AV",
    )  # fmt: skip
    assert rom.vi[0] == pytest.approx(0.0113993793156786, rel=1e-12)
    # the same call with vtype="AVHO": one mean CV over the studies complete in both groups
    avho = escalc(
        "ROM", m1i=[10, np.nan, 12, 9], sd1i=[2, 2, 3, 2], n1i=[10, 12, np.nan, 8],
        m2i=[8, 7, 9, 10], sd2i=[2, 2.5, 2, 3], n2i=[11, 10, 9, np.nan], vtype="AVHO",
    )  # fmt: skip
    assert avho.vi[0] == pytest.approx(0.00976731601731602, rel=1e-12)


@pytest.mark.parametrize(
    ("measure", "kwargs", "message"),
    [
        ("MD", {"m1i": 1, "sd1i": 1, "n1i": 5, "m2i": 1, "sd2i": [1, -0.5], "n2i": 5},
         r"sd2i\[1\] = -0.5: a standard deviation must be >= 0"),
        ("MD", {"m1i": 1, "sd1i": 1, "n1i": 5, "m2i": 1, "sd2i": 1, "n2i": [4, 0]},
         r"n2i\[1\] = 0: a sample size must be > 0"),
        ("ZCOR", {"ri": 0.5, "ni": [10, -2]}, r"ni\[1\] = -2: a sample size must be > 0"),
        ("OR", {"ai": 1, "bi": 3, "ci": [1, -1], "di": 1}, r"ci\[1\] = -1: a count must be >= 0"),
        ("OR", {"ai": 1, "bi": 3, "ci": 1, "di": [-2, 1]}, r"di\[0\] = -2: a count must be >= 0"),
        ("MD", {"m1i": [[1, 2]], "sd1i": 1, "n1i": 5, "m2i": 1, "sd2i": 1, "n2i": 5},
         r"m1i: expected a scalar or 1-d array, got shape \(1, 2\)"),
        ("MD", {"vtype": "AV"}, r"use one of LS, UB, HO$"),
        ("OR", {"to": "some"}, r"to: 'some' is not one of all, only0, if0all, none$"),
        ("OR", {"ai": 1, "bi": 1, "ci": 1, "di": 1, "add": -1},
         r"add: -1 must be a finite number >= 0"),
        ("OR", {"ai": 1, "bi": 1, "ci": 1, "di": 1, "add": math.inf},
         r"add: inf must be a finite number >= 0"),
        ("MC", {"m1i": 1}, r"needs m1i, m2i, sd1i, sd2i, ri, ni; missing: m2i"),
    ],
)  # fmt: skip
def test_more_impossible_values_are_refused_by_name(measure, kwargs, message):
    with pytest.raises(ValueError, match=message):
        escalc(measure, **kwargs)


def test_a_correlation_of_exactly_one_is_accepted_and_gives_a_missing_effect():
    with pytest.warns(DataWarning, match="infinite, set to NaN, for studies 0"):
        result = escalc("ZCOR", ri=[1.0, -1.0, 0.5], ni=10)
    assert np.isnan(result.yi[:2]).all()
    assert result.yi[2] == pytest.approx(math.atanh(0.5))


def test_effect_sizes_store_missing_values_as_float_nan():
    result = EffectSizes(yi=[1, None], vi=[1, None], measure="MD")
    assert result.yi.dtype == float and result.vi.dtype == float
    assert np.isnan(result.yi[1]) and np.isnan(result.vi[1])


def test_risk_difference_av_variance_leaves_out_a_group_with_no_participants():
    # escalc("RD", ai=c(0,3,2,4), bi=c(0,7,8,6), ci=c(2,0,1,3), di=c(8,0,9,7), to="none",
    #        vtype="AV"): vi = 0.037 for studies 2 and 3, from the mean proportions over the
    # non-empty groups, 9/30 and 6/30: 0.3 * 0.7 / 10 + 0.2 * 0.8 / 10.
    with pytest.warns(DataWarning, match="infinite, set to NaN, for studies 0, 1"):
        result = escalc(
            "RD", ai=[0, 3, 2, 4], bi=[0, 7, 8, 6], ci=[2, 0, 1, 3], di=[8, 0, 9, 7],
            to="none", vtype="AV",
        )  # fmt: skip
    np.testing.assert_allclose(result.vi, [np.nan, np.nan, 0.037, 0.037], rtol=1e-12)
    np.testing.assert_allclose(result.yi, [np.nan, np.nan, 0.1, 0.1], rtol=1e-12)


@pytest.mark.parametrize("missing", ["ai", "n1i", "bi"])
def test_a_count_given_as_none_is_missing_for_its_study_only_as_na_in_metafor(missing):
    # None is how a Python list (or an object column, a JSON null) spells a missing count;
    # it must behave as NaN and as R's NA: only that study's yi and vi are missing.
    counts = {"ai": [3, 4, 5], "n1i": [10, 12, 15], "ci": [4, 6, 2], "n2i": [11, 13, 14]}
    if missing == "bi":
        counts["bi"] = [7, None, 10]  # n1i - ai, with the second missing
    else:
        counts[missing] = [None if i == 1 else v for i, v in enumerate(counts[missing])]
    result = escalc("RR", **counts)
    # escalc("RR", ai = c(3, NA, 5), n1i = c(10, 12, 15), ci = c(4, 6, 2), n2i = c(11, 13, 14));
    # the same with n1i = c(10, NA, 15), and with bi = c(7, NA, 10), di = c(7, 7, 12)
    np.testing.assert_allclose(
        result.yi, [-0.192371892647456, np.nan, 0.847297860387204], rtol=1e-12
    )
    np.testing.assert_allclose(
        result.vi, [0.392424242424242, np.nan, 0.561904761904762], rtol=1e-12
    )
