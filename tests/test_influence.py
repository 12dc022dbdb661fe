"""Leave-one-out and cumulative meta-analysis against metafor 3.8.1 and invariants."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import load_reference

from analysis.influence import cumulative, leave_one_out
from analysis.pooling import rma
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


# FE and DL are closed forms: agreement to rounding error, 1e-10 relative leaves room for the
# 15 significant digits in the JSON. REML stops when tau2 changes by less than 1e-5, so its
# values are pinned down to the optimiser's tolerance only: 1e-6 relative.
CLOSED = 1e-10
ITERATIVE = 1e-6
# Q, tau2 and I2 that are zero up to rounding (identical effects) are compared absolutely.
ABS = 1e-12

COLUMNS = (
    *("estimate", "se", "stat", "pvalue", "ci_low", "ci_high"),
    *("q", "q_pvalue", "tau2", "i2", "h2"),
)


def _tol(method: str, which: str = "metafor") -> float:
    if which == "tight":
        return TIGHT_TOL
    return CLOSED if method in ("FE", "DL") else ITERATIVE


def _case_id(case: dict) -> str:
    return f"{case['dataset']}-{case['method']}-{case['test']}-{case['order']}"


def _compare(frame, case, which):
    ref = case["columns"]
    for column in COLUMNS:
        expected = np.asarray(ref[column], dtype=float)
        assert frame[column].to_numpy() == pytest.approx(
            expected, rel=_tol(case["method"], which), abs=ABS
        ), column


@pytest.mark.parametrize(("which", "case"), _both("leave1out", _case_id))
def test_leave_one_out_matches_metafor_leave1out(which, case):
    data = DATASETS[case["dataset"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = leave_one_out(
            data["yi"],
            data["vi"],
            slab=data["slab"],
            method=case["method"],
            test=case["test"],
            control=SETS[which][1],
        )
    assert list(frame["omitted"]) == case["columns"]["slab"]
    assert (frame["k"] == len(data["yi"]) - 1).all()
    _compare(frame, case, which)


@pytest.mark.parametrize(("which", "case"), _both("cumul", _case_id))
def test_cumulative_matches_metafor_cumul(which, case):
    data = DATASETS[case["dataset"]]
    order = None if case["order"] is None else data[case["order"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = cumulative(
            data["yi"],
            data["vi"],
            order=order,
            slab=data["slab"],
            method=case["method"],
            test=case["test"],
            control=SETS[which][1],
        )
    assert list(frame["added"]) == case["columns"]["slab"]
    assert list(frame["k"]) == list(range(1, len(data["yi"]) + 1))
    _compare(frame, case, which)


def test_cumulative_first_step_does_not_raise_not_pooled_warning():
    data = DATASETS["normand1999"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", NotPooledWarning)
        frame = cumulative(data["yi"], data["vi"], method="DL")
    assert frame["estimate"].iloc[0] == data["yi"][0]


def test_leave_one_out_refuses_a_single_study():
    with pytest.raises(ValueError, match=r"at least 2 studies \(k = 1\)"):
        leave_one_out([0.1], [0.01])


def test_influence_analyses_refuse_moderators():
    with pytest.raises(ValueError, match="without moderators"):
        leave_one_out([0.1, 0.2, 0.3], [0.01, 0.02, 0.03], mods=[1, 2, 3])
    with pytest.raises(ValueError, match="without moderators"):
        cumulative([0.1, 0.2, 0.3], [0.01, 0.02, 0.03], mods=[1, 2, 3])


def test_invalid_rma_options_fail_before_any_refit():
    with pytest.raises(ValueError, match="method must be one of"):
        leave_one_out([0.1, 0.2, 0.3], [0.01, 0.02, 0.03], method="XX")
    with pytest.raises(ValueError, match="level must be in"):
        cumulative([0.1, 0.2, 0.3], [0.01, 0.02, 0.03], level=95)


def test_cumulative_refuses_an_order_of_the_wrong_length():
    with pytest.raises(ValueError, match="order has 2 keys for k = 3 studies"):
        cumulative([0.1, 0.2, 0.3], [0.01, 0.02, 0.03], order=[2, 1])


def test_slab_of_the_wrong_length_is_refused():
    with pytest.raises(ValueError, match="slab has 1 labels for k = 2 studies"):
        leave_one_out([0.1, 0.2], [0.01, 0.02], slab=["a"])


effects = st.lists(
    st.tuples(st.floats(-2, 2, allow_nan=False), st.floats(0.01, 1, allow_nan=False)),
    min_size=2,
    max_size=12,
)


@settings(max_examples=40, deadline=None)
@given(effects, st.sampled_from(["DL", "REML", "FE"]))
def test_leave_one_out_has_k_rows_each_without_one_study(rows, method):
    yi, vi = (np.array(x) for x in zip(*rows, strict=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = leave_one_out(yi, vi, method=method)
        # Row 0 left out study 1; refit by hand on the rest.
        first = rma(yi[1:], vi[1:], method=method, tau2_ci=False)
    assert len(frame) == len(rows)
    assert frame["omitted"].iloc[0] == "Study 1"
    assert frame["estimate"].iloc[0] == pytest.approx(first.estimate, rel=1e-12, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(effects, st.sampled_from(["DL", "REML"]), st.sampled_from(["z", "knha"]))
def test_cumulative_last_row_is_the_model_on_all_studies(rows, method, test):
    yi, vi = (np.array(x) for x in zip(*rows, strict=True))
    keys = np.arange(len(rows))[::-1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = cumulative(yi, vi, order=keys, method=method, test=test)
        full = rma(yi, vi, method=method, test=test, tau2_ci=False)
    last = frame.iloc[-1]
    assert last["k"] == len(rows)
    assert last["added"] == "Study 1"  # keys run backwards, so study 1 comes last
    # The cumulative fit sees the studies in reverse order; REML's stopping rule (change in
    # tau2 < 1e-5) can then stop one iteration apart, so REML agrees to its tolerance only.
    rel = 1e-9 if method == "DL" else ITERATIVE
    for column in ("estimate", "se", "ci_low", "ci_high", "tau2", "q"):
        assert last[column] == pytest.approx(getattr(full, column), rel=rel, abs=1e-9)


def test_cumulative_keeps_input_order_for_tied_keys():
    frame = cumulative([0.1, 0.2, 0.3], [0.01, 0.02, 0.03], order=[5, 1, 1], method="FE")
    assert list(frame["added"]) == ["Study 2", "Study 3", "Study 1"]
