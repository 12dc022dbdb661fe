"""Subgroup analysis against metafor 3.8.1 (tests/reference/metafor_extras.json) and invariants."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import load_reference

from analysis.pooling import rma
from analysis.subgroups import q_between, subgroup_analysis
from analysis.warnings import NotPooledWarning

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


# Closed forms (FE, DL, and the Q statistics given the subgroup fits) agree to rounding error;
# 1e-10 relative leaves room for the 15 significant digits jsonlite writes.
CLOSED = 1e-10
# REML iterates until the change in tau2 is below 1e-5 (metafor's threshold); the engine follows
# metafor's path, but a value is only pinned down to the optimiser's tolerance, hence 1e-6.
ITERATIVE = 1e-6
# Statistics that are zero up to rounding (identical effects) are compared absolutely.
ABS = 1e-12

PER_GROUP_FIELDS = ("estimate", "se", "stat", "pvalue", "ci_low", "ci_high", "tau2", "i2", "q")


def _tol(method: str, which: str = "metafor") -> float:
    if which == "tight":
        return TIGHT_TOL
    return CLOSED if method in ("FE", "DL") else ITERATIVE


def _case_id(case: dict) -> str:
    return f"{case['dataset']}-{case['groups']}-{case['method']}-{case['test']}"


def _run(case: dict, which: str = "metafor"):
    data = DATASETS[case["dataset"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return subgroup_analysis(
            data["yi"],
            data["vi"],
            data[case["groups"]],
            method=case["method"],
            test=case["test"],
            slab=data["slab"],
            control=SETS[which][1],
        )


@pytest.mark.parametrize(("which", "case"), _both("subgroups", _case_id))
def test_each_subgroup_matches_a_separate_metafor_fit(which, case):
    result = _run(case, which)
    assert list(result.groups) == case["levels"]
    for name in result.groups:
        ours, ref = result.results[name], case["per_group"][name]
        assert ours.k == ref["k"]
        for key in PER_GROUP_FIELDS:
            assert getattr(ours, key) == pytest.approx(
                ref[key], rel=_tol(case["method"], which), abs=ABS
            )


@pytest.mark.parametrize(("which", "case"), _both("subgroups", _case_id))
def test_between_subgroup_q_matches_fe_model_on_subgroup_estimates(which, case):
    result = _run(case, which)
    ref = case["between"]
    assert result.df_between == ref["df"]
    assert result.q_between == pytest.approx(ref["q"], rel=_tol(case["method"], which), abs=ABS)
    assert result.pvalue_between == pytest.approx(ref["pvalue"], rel=_tol(case["method"], which))


@pytest.mark.parametrize(("which", "case"), _both("subgroups", _case_id))
def test_moderator_test_matches_metafor_qm_with_common_tau2(which, case):
    result = _run(case, which)
    ref = case["mixed"]
    expected_df = tuple(d for d in ref["qm_df"] if d is not None)
    assert result.qm_df == expected_df
    assert result.qm == pytest.approx(ref["qm"], rel=_tol(case["method"], which), abs=ABS)
    assert result.qm_pvalue == pytest.approx(ref["qm_pvalue"], rel=_tol(case["method"], which))
    assert result.tau2_common == pytest.approx(
        ref["tau2"], rel=_tol(case["method"], which), abs=ABS
    )


def test_single_study_subgroup_is_unpooled_and_explained_in_a_note():
    case = next(c for c in REFERENCE["subgroups"] if c["groups"] == "era")
    result = _run(case)
    single = result.results["1950s"]
    assert not single.pooled
    assert single.se == pytest.approx(math.sqrt(DATASETS["bcg"]["vi"][5]), rel=CLOSED)
    assert any("'1950s' has a single study" in note for note in result.notes)


def test_two_single_study_subgroups_give_the_two_sample_z_test():
    yi, vi = [0.2, 0.9], [0.04, 0.09]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = subgroup_analysis(yi, vi, ["a", "b"])
    # Q_between of two estimates is the square of their difference over its variance.
    assert result.q_between == pytest.approx((0.9 - 0.2) ** 2 / (0.04 + 0.09), rel=CLOSED)
    assert math.isnan(result.qm)
    assert any("more studies than subgroups" in note for note in result.notes)


def test_single_study_subgroup_does_not_raise_not_pooled_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", NotPooledWarning)
        result = subgroup_analysis(
            [0.1, 0.3, 0.2, 0.5], [0.01, 0.02, 0.03, 0.02], ["a", "a", "a", "b"]
        )
    assert not result.results["b"].pooled


def test_frames_have_one_row_per_subgroup_plus_overall_and_two_tests():
    result = _run(REFERENCE["subgroups"][0])
    frame = result.to_frame()
    assert list(frame["group"]) == [*result.groups, "overall"]
    assert frame["k"].iloc[-1] == sum(frame["k"].iloc[:-1])
    tests = result.tests_frame()
    assert list(tests["distribution"]) == ["chi2", "chi2"]
    assert tests["statistic"].iloc[0] == result.q_between
    assert "Test for subgroup differences" in result.summary()


def test_knha_moderator_test_is_an_f_test():
    case = next(c for c in REFERENCE["subgroups"] if c["test"] == "knha")
    assert _run(case).tests_frame()["distribution"].iloc[1] == "F"


def test_refuses_a_single_subgroup():
    with pytest.raises(ValueError, match="at least 2 subgroups"):
        subgroup_analysis([0.1, 0.2], [0.01, 0.02], ["a", "a"])


def test_refuses_missing_subgroup_labels():
    with pytest.raises(ValueError, match=r"missing values at positions \[1\]"):
        subgroup_analysis([0.1, 0.2, 0.3], [0.01, 0.02, 0.03], ["a", None, "b"])


def test_refuses_groups_of_the_wrong_length():
    with pytest.raises(ValueError, match="same length"):
        subgroup_analysis([0.1, 0.2, 0.3], [0.01, 0.02, 0.03], ["a", "b"])


def test_q_between_is_zero_for_equal_estimates():
    q, df, p = q_between([0.4, 0.4, 0.4], [0.1, 0.2, 0.3])
    assert q == pytest.approx(0.0, abs=ABS)
    assert (df, p) == (2, pytest.approx(1.0))


effects = st.lists(
    st.tuples(
        st.floats(-2, 2, allow_nan=False),
        st.floats(0.01, 1, allow_nan=False),
        st.sampled_from(["a", "b", "c"]),
    ),
    min_size=4,
    max_size=15,
).filter(lambda rows: len({g for _, _, g in rows}) >= 2)


@settings(max_examples=40, deadline=None)
@given(effects)
def test_fixed_effect_q_splits_into_between_and_within(rows):
    yi, vi, groups = (list(x) for x in zip(*rows, strict=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = subgroup_analysis(yi, vi, groups, method="FE")
        total = rma(yi, vi, method="FE", tau2_ci=False).q
    within = sum(result.results[g].q for g in result.groups)
    # Under the common-effect model Cochran's Q partitions exactly (Borenstein 2009, ch. 19).
    assert result.q_between + within == pytest.approx(total, rel=1e-9, abs=1e-9)


@settings(max_examples=30, deadline=None)
@given(effects, st.randoms(use_true_random=False))
def test_study_order_does_not_change_the_test(rows, rnd):
    shuffled = rows[:]
    rnd.shuffle(shuffled)
    runs = []
    for data in (rows, shuffled):
        yi, vi, groups = (list(x) for x in zip(*data, strict=True))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            runs.append(subgroup_analysis(yi, vi, groups, method="DL"))
    assert runs[0].q_between == pytest.approx(runs[1].q_between, rel=1e-9, abs=1e-9)
    assert runs[0].groups == runs[1].groups


def test_duplicated_data_in_two_subgroups_shows_no_difference():
    data = DATASETS["bcg"]
    yi = np.concatenate([data["yi"], data["yi"]])
    vi = np.concatenate([data["vi"], data["vi"]])
    result = subgroup_analysis(yi, vi, ["x"] * 13 + ["y"] * 13)
    assert result.q_between == pytest.approx(0.0, abs=ABS)
    assert result.results["x"].estimate == pytest.approx(result.results["y"].estimate, rel=1e-12)
