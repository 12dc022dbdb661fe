"""rma() against metafor 3.8-1, with both of its controls, and its behaviour.

Two reference sets, made by tests/reference/make_reference_pooling.R:

* ``metafor_pooling_tight.json``: metafor run with tight control (threshold and tol 1e-12,
  maxiter 10,000; confint with tol 1e-12), i.e. the optimum. The engine's default control
  must agree with it to 1e-9 relative, 1e-12 absolute near zero, for every quantity and every
  estimator: both sides stop within ~1e-12 of the same optimum, so what is left is rounding
  (observed: <= 2e-13 relative), and 1e-9 leaves room for ill-conditioned cases without
  hiding a missed optimum (metafor's defaults miss by 1e-6 to 1e-2).
* ``metafor_pooling.json``: metafor's defaults, reproduced by ``control="metafor"``.
  Tolerances (relative, with a tiny absolute floor for values that are exactly 0 in metafor):
  closed-form estimators (FE, DL, HE, HS, SJ): 1e-10 -- the same formulas evaluated in double
  precision, only summation order differs; iterative estimators (REML, ML, PM, EB) and every
  Q-profile bound: 1e-6 -- metafor stops Fisher scoring when tau2 changes by less than 1e-5 and
  uniroot at tol = eps^0.25 (~1.2e-4); the engine repeats the same iterations, so it agrees far
  more closely (about 1e-11 in practice), but a different floating-point path may take one more
  or one fewer step, which moves the result by less than the threshold times the contraction
  factor.

p-values get an absolute floor of 1e-12 in both, because far in the tail a p-value inherits
the relative error of its statistic multiplied by the statistic itself.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from reference import load_reference

from analysis.pooling import DICT_KEYS, MetaRegressionResult, MetaResult, rma
from analysis.warnings import NotPooledWarning, Tau2TruncatedWarning

REFERENCE = load_reference("metafor_pooling")
TIGHT = load_reference("metafor_pooling_tight")
#: (reference set, the engine's control that must reproduce it)
SETS = {"tight": (TIGHT, None), "metafor": (REFERENCE, "metafor")}
CLOSED_FORM = {"FE", "DL", "HE", "HS", "SJ"}
QPROFILE_FIELDS = {
    "tau2_ci_lb",
    "tau2_ci_ub",
    "I2_ci_lb",
    "I2_ci_ub",
    "H2_ci_lb",
    "H2_ci_ub",
}

# metafor field -> MetaResult attribute
FIELDS = {
    "estimate": "estimate",
    "se": "se",
    "zval": "stat",
    "pval": "pvalue",
    "ci_lb": "ci_low",
    "ci_ub": "ci_high",
    "tau2": "tau2",
    "se_tau2": "se_tau2",
    "tau2_ci_lb": "tau2_ci_low",
    "tau2_ci_ub": "tau2_ci_high",
    "I2": "i2",
    "I2_ci_lb": "i2_ci_low",
    "I2_ci_ub": "i2_ci_high",
    "H2": "h2",
    "H2_ci_lb": "h2_ci_low",
    "H2_ci_ub": "h2_ci_high",
    "QE": "q",
    "QE_df": "q_df",
    "QEp": "q_pvalue",
    "pi_lb": "pi_low",
    "pi_ub": "pi_high",
}


def _tolerance(method: str, field: str, which: str = "metafor") -> tuple[float, float]:
    if which == "tight":
        # I2 (percent) and H2 are tau2 / vt scaled: where tau2 is 0 at the optimum, metafor's
        # Fisher scoring creeps towards 0 by step halving and stops ~1e-13 above it, which is
        # ~1e-10 in I2 (vt ~ 0.03 in k2); 1e-9 absolute covers that and nothing larger.
        return 1e-9, (1e-9 if field in {"I2", "H2"} else 1e-12)
    rtol = 1e-10 if method in CLOSED_FORM and field not in QPROFILE_FIELDS else 1e-6
    atol = 1e-12 if field in {"pval", "QEp", "QMp"} else 1e-14
    return rtol, atol


def _fits():
    for which, (ref, _control) in SETS.items():
        for case in ref["cases"]:
            for fit in case["fits"]:
                yield pytest.param(
                    which, case, fit, id=f"{which}-{case['name']}-{fit['method']}-{fit['test']}"
                )


def _fit_quietly(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return rma(*args, **kwargs)


@pytest.mark.parametrize("which", list(SETS))
def test_reference_file_records_provenance(which):
    ref = SETS[which][0]
    assert ref["metafor_version"] == "3.8.1"
    assert ref["R_version"].startswith("R version")
    published = [c for c in ref["cases"] if "dat." in c["source"]]
    assert len(published) >= 8
    tight_calls = [f["call"] for c in ref["cases"] for f in c["fits"] if "1e-12" in f["call"]]
    assert bool(tight_calls) == (which == "tight")


def test_default_and_metafor_controls_differ_where_metafor_stops_early():
    # Raudenbush (1985), REML: metafor's threshold 1e-5 stops ~4e-4 (relative) short of the
    # optimum; the default lands on it, control="metafor" where metafor stops.
    case = next(c for c in TIGHT["cases"] if c["name"] == "raudenbush1985_SMD")
    loose = next(c for c in REFERENCE["cases"] if c["name"] == "raudenbush1985_SMD")
    tight_ref = next(f for f in case["fits"] if f["method"] == "REML")["tau2"]
    loose_ref = next(f for f in loose["fits"] if f["method"] == "REML")["tau2"]
    default = _fit_quietly(case["yi"], case["vi"])
    metafor = _fit_quietly(case["yi"], case["vi"], control="metafor")
    assert abs(loose_ref - tight_ref) > 1e-4 * tight_ref
    assert default.tau2 == pytest.approx(tight_ref, rel=1e-9)
    assert metafor.tau2 == pytest.approx(loose_ref, rel=1e-10)
    assert (default.control, metafor.control) == ("tight", "metafor")
    assert default.converged and default.iterations > metafor.iterations


@pytest.mark.parametrize(("which", "case", "fit"), list(_fits()))
def test_rma_matches_metafor(which, case, fit):
    assert "error" not in fit, fit.get("error")
    _ref, control = SETS[which]
    res = _fit_quietly(
        case["yi"], case["vi"], method=fit["method"], test=fit["test"], control=control
    )
    assert res.control == ("tight" if control is None else control)
    if fit["method"] in {"REML", "ML", "EB", "PM"} and res.k > 1:
        assert res.converged
    if fit["method"] in {"REML", "ML", "EB"} and res.k > 1:
        assert res.iterations >= 1  # metafor 3.8-1 does not store its count to compare with
    for ref_name, attr in FIELDS.items():
        expected = fit[ref_name]
        actual = getattr(res, attr)
        if expected is None:
            # jsonlite writes NA, NaN and +-Inf as null; the engine gives NaN or +-Inf there
            assert not math.isfinite(actual), f"{attr}: metafor gives NA, got {actual}"
            continue
        rtol, atol = _tolerance(fit["method"], ref_name, which)
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=attr)
    rtol, atol = _tolerance(fit["method"], "weights", which)
    np.testing.assert_allclose(res.weights, np.atleast_1d(fit["weights"]), rtol=rtol, atol=atol)


def _regression_fits():
    for which, (ref, _control) in SETS.items():
        for fit in ref["regression"]["fits"]:
            yield pytest.param(which, fit, id=f"{which}-{fit['call']}")


@pytest.mark.parametrize(("which", "fit"), list(_regression_fits()))
def test_meta_regression_matches_metafor(which, fit):
    ref, control = SETS[which]
    data = pd.DataFrame(ref["regression"]["data"])
    mods = data[list(np.atleast_1d(fit["mods"]))]
    res = _fit_quietly(
        data.yi, data.vi, mods=mods, method=fit["method"], test=fit["test"], control=control
    )
    assert isinstance(res, MetaRegressionResult)
    pairs = {
        "beta": "beta",
        "se": "se",
        "zval": "stat",
        "pval": "pvalue",
        "ci_lb": "ci_low",
        "ci_ub": "ci_high",
        "QM": "qm",
        "QMp": "qm_pvalue",
        "QE": "qe",
        "QEp": "qe_pvalue",
        "tau2": "tau2",
        "se_tau2": "se_tau2",
        "I2": "i2",
        "H2": "h2",
        "R2": "r2",
    }
    # An uncentred moderator (year ~ 1970) makes sqrt(W) X ill-conditioned; least squares by
    # QR is backward stable, so two correct implementations agree to about cond * eps.
    X = np.column_stack([np.ones(len(data)), mods.to_numpy()])
    cond = np.linalg.cond(X / np.sqrt(data.vi.to_numpy())[:, None])
    for ref_name, attr in pairs.items():
        rtol, atol = _tolerance(fit["method"], ref_name, which)
        rtol = max(rtol, 100 * np.finfo(float).eps * cond)
        np.testing.assert_allclose(
            np.atleast_1d(getattr(res, attr)),
            np.atleast_1d(np.asarray(fit[ref_name], dtype=float)),
            rtol=rtol,
            atol=atol,
            err_msg=attr,
        )
    assert res.qm_df == np.atleast_1d(fit["QM_df"])[0]
    assert res.names == ("intrcpt", *np.atleast_1d(fit["mods"]))


def test_single_study_is_returned_unpooled_with_a_warning():
    with pytest.warns(NotPooledWarning, match="k = 1"):
        res = rma([0.5], [0.04], method="REML", test="knha")
    assert res.pooled is False
    assert res.estimate == 0.5
    assert res.se == pytest.approx(0.2)
    assert res.test == "z"
    assert any("k = 1" in w for w in res.warnings)


def test_truncated_tau2_is_recorded_and_warned():
    with pytest.warns(Tau2TruncatedWarning, match="truncated at 0"):
        res = rma([0.3, 0.3, 0.3, 0.3], [0.01, 0.02, 0.05, 0.1], method="DL")
    assert res.tau2 == 0.0
    assert any("truncated" in w for w in res.warnings)


def test_positive_tau2_records_no_truncation():
    case = next(c for c in REFERENCE["cases"] if c["name"] == "bcg_RR")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = rma(case["yi"], case["vi"], method="DL")
    assert res.warnings == ()
    assert res.tau2 > 0


def test_weights_are_percent_and_follow_inverse_variance():
    res = _fit_quietly([0.1, 0.4, 0.2], [0.01, 0.04, 0.02], method="FE")
    np.testing.assert_allclose(res.weights, 100 * np.array([4, 1, 2]) / 7, rtol=1e-12)


def test_to_dict_has_exactly_the_cli_keys_and_no_nan():
    res = _fit_quietly([0.1, 0.4, 0.2], [0.01, 0.04, 0.02], method="FE")
    out = res.to_dict()
    assert tuple(out) == DICT_KEYS
    assert out["tau2_ci_low"] is None  # FE has no random-effects component to profile
    assert out["pi_low"] is None
    assert json.dumps(out)  # serialisable


def test_to_frame_has_one_row_per_study_with_weights_summing_to_100():
    res = _fit_quietly([0.1, 0.4, 0.2], [0.01, 0.04, 0.02], slab=["A", "B", "C"])
    frame = res.to_frame()
    assert list(frame.columns) == ["slab", "yi", "vi", "sei", "ci_low", "ci_high", "weight"]
    assert list(frame.slab) == ["A", "B", "C"]
    assert frame.weight.sum() == pytest.approx(100.0)
    assert frame.ci_low.iloc[0] == pytest.approx(0.1 - 1.959963984540054 * 0.1)


def test_summary_is_laid_out_like_metafor_print():
    case = next(c for c in REFERENCE["cases"] if c["name"] == "bcg_RR")
    text = _fit_quietly(case["yi"], case["vi"], control="metafor").summary()
    assert "Random-Effects Model (k = 13; tau^2 estimator: REML)" in text
    assert "tau^2 (estimated amount of total heterogeneity): 0.3132 (SE = 0.1664)" in text
    assert "I^2 (total heterogeneity / total variability):   92.22%" in text
    assert "Q(df = 12) = 152.2330, p-val < .0001" in text
    assert " -0.7145  0.1798  -3.9744  <.0001  -1.0669  -0.3622  *** \n" in text


def test_regression_summary_reports_the_moderator_test():
    data = pd.DataFrame(REFERENCE["regression"]["data"])
    # the printed digits are metafor's default run's
    res = _fit_quietly(data.yi, data.vi, mods=data[["ablat"]], test="knha", control="metafor")
    text = res.summary()
    assert "Mixed-Effects Model (k = 13; tau^2 estimator: REML)" in text
    assert "F(df1 = 1, df2 = 11) = 12.5905, p-val = 0.0046" in text
    assert "R^2 (amount of heterogeneity accounted for):            75.62%" in text


def test_result_is_frozen():
    res = _fit_quietly([0.1, 0.4, 0.2], [0.01, 0.04, 0.02])
    assert isinstance(res, MetaResult)
    with pytest.raises(AttributeError, match="cannot assign"):
        res.tau2 = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "XYZ"}, "method must be one of"),
        ({"test": "t"}, "test must be one of"),
        ({"level": 95}, "level must be in"),
    ],
)
def test_bad_options_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        rma([0.1, 0.2], [0.01, 0.02], **kwargs)


@pytest.mark.parametrize(
    ("yi", "vi", "message"),
    [
        ([0.1, float("nan")], [0.01, 0.02], "yi must be finite"),
        ([0.1, 0.2], [0.01, 0.0], "vi must be finite and > 0"),
        ([0.1, 0.2], [0.01], "differ in length"),
        ([], [], "no studies"),
    ],
)
def test_bad_data_are_refused(yi, vi, message):
    with pytest.raises(ValueError, match=message):
        rma(yi, vi)


def test_too_many_moderators_for_k_are_refused():
    with pytest.raises(ValueError, match="cannot be estimated"):
        rma([0.1, 0.2], [0.01, 0.02], mods=np.array([[1.0], [2.0]]))


def test_collinear_moderators_are_refused():
    mods = np.array([[1.0, 2.0], [2.0, 4.0], [3.0, 6.0], [4.0, 8.0]])
    with pytest.raises(ValueError, match="collinear"):
        rma([0.1, 0.2, 0.3, 0.1], [0.01, 0.02, 0.01, 0.02], mods=mods)


def test_knha_uses_t_with_k_minus_1_df():
    case = next(c for c in REFERENCE["cases"] if c["name"] == "normand1999_MD")
    res = _fit_quietly(case["yi"], case["vi"], test="knha")
    assert res.df == case["k"] - 1
    assert res.to_dict()["test"] == "knha"


def test_adhoc_is_never_narrower_than_knha_or_z():
    case = next(c for c in REFERENCE["cases"] if c["name"] == "q_below_df")
    widths = {
        t: (lambda r: r.ci_high - r.ci_low)(_fit_quietly(case["yi"], case["vi"], test=t))
        for t in ("z", "knha", "adhoc")
    }
    assert widths["adhoc"] >= widths["knha"]
    assert widths["adhoc"] > widths["z"]  # t quantile > z quantile with s2 floored at 1
