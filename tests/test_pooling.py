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
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from reference import load_reference

from analysis.pooling import DICT_KEYS, MetaRegressionResult, MetaResult, rma, wls_at_tau2
from analysis.warnings import ConvergenceWarning, NotPooledWarning, Tau2TruncatedWarning

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


# --------------------------------------------------------------------------- meta-regression
# Expected values below are metafor 3.8-1's, on dat.bcg with
# dat <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
# (the data of the regression reference set) and, for iterative estimators,
# ctl <- list(threshold = 1e-12, tol = 1e-12, maxiter = 10000).

BCG = pd.DataFrame(REFERENCE["regression"]["data"])
# dat.bcg$alloc
BCG["alloc"] = ["random"] * 4 + ["alternate"] * 2 + ["random"] * 3 + ["systematic"] * 4


def _assert_regression(res, expected, rtol):
    for attr, value in expected.items():
        np.testing.assert_allclose(
            np.atleast_1d(getattr(res, attr)),
            np.atleast_1d(value),
            rtol=rtol,
            atol=1e-14,
            err_msg=attr,
        )


def _bcg_alloc_design():
    # a categorical moderator as pandas dummies: bool columns beside a float one
    dummies = pd.get_dummies(BCG.alloc, drop_first=True)
    return pd.concat([BCG[["ablat"]].astype(float), dummies], axis=1)


@pytest.mark.parametrize(
    ("design", "names"),
    [
        (_bcg_alloc_design, ("intrcpt", "ablat", "random", "systematic")),
        # DataFrame.to_numpy() of mixed columns is an object array; it is a numeric design too
        (lambda: _bcg_alloc_design().to_numpy(), ("intrcpt", "mod1", "mod2", "mod3")),
    ],
)
def test_meta_regression_with_a_categorical_moderator_matches_metafor(design, names):
    # rma(yi, vi, mods = ~ ablat + factor(alloc), data = dat, control = ctl)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a clean fit raises no warning of any kind
        res = rma(BCG.yi, BCG.vi, mods=design())
    assert res.names == names
    assert (res.k, res.p, res.method, res.test, res.level) == (13, 4, "REML", "z", 0.95)
    assert math.isnan(res.df) and math.isnan(res.qm_df2)  # z test: no t or F df
    assert res.qm_df == 3 and res.qe_df == 9
    assert res.warnings == () and res.control == "tight"
    assert res.converged and isinstance(res.iterations, int) and res.iterations >= 1
    expected = {
        "beta": [
            0.2931943560032586,
            -0.02727575629813328,
            -0.26749121151296018,
            0.05846128692834443,
        ],
        "se": [
            0.40499464079194886,
            0.0091993197461213878,
            0.35042850797223835,
            0.37951060238213952,
        ],
        "stat": [0.72394626118985228, -2.9649753515343642, -0.763326057747994, 0.15404388325751747],
        "pvalue": [
            0.46909872741735331,
            0.0030270718200779544,
            0.44526896546230998,
            0.87757513466970249,
        ],
        "ci_low": [
            -0.50058055388069733,
            -0.045306091682799352,
            -0.95431846629465444,
            -0.68536582549174985,
        ],
        "ci_high": [
            1.0869692658872145,
            -0.0092454209134672088,
            0.41933604326873408,
            0.80228839934843865,
        ],
        "tau2": 0.14459429735928719,
        "qm": 11.060612455359358,
        "qm_pvalue": 0.011402595730082725,
        "qe": 26.203436491648535,
        "qe_pvalue": 0.0018920957218358575,
        "r2": 53.839613909173181,
        # vcov(res)
        "vb": [
            [
                0.16402065907019969,
                -0.0025792161448290533,
                -0.077285257301848653,
                -0.087092623050647536,
            ],
            [
                -0.0025792161448290533,
                8.462748379137888e-05,
                -0.0002666867943278211,
                5.5105812161004229e-05,
            ],
            [
                -0.077285257301848653,
                -0.0002666867943278211,
                0.12280013919964912,
                0.085239492297283392,
            ],
            [
                -0.087092623050647536,
                5.5105812161004229e-05,
                0.085239492297283392,
                0.14402829732045438,
            ],
        ],
    }
    _assert_regression(res, expected, rtol=1e-8)


def _ref_fit(mods, method="REML", test="z"):
    return next(
        f
        for f in TIGHT["regression"]["fits"]
        if f["mods"] == mods and f["method"] == method and f["test"] == test
    )


@pytest.mark.parametrize(
    ("design", "names", "mods"),
    [
        (lambda: BCG.ablat, ("intrcpt", "ablat"), "ablat"),  # a named Series
        (lambda: BCG[["ablat"]], ("intrcpt", "ablat"), "ablat"),
        (lambda: BCG.ablat.to_numpy(), ("intrcpt", "mods"), "ablat"),
        (lambda: BCG[["ablat"]].to_numpy(), ("intrcpt", "mods"), "ablat"),
        (lambda: BCG.ablat.astype(int).tolist(), ("intrcpt", "mods"), "ablat"),
        (lambda: pd.array(BCG.ablat, dtype="Float64"), ("intrcpt", "mods"), "ablat"),
        (lambda: BCG[["ablat", "year"]].to_numpy(), ("intrcpt", "mod1", "mod2"), ["ablat", "year"]),
        (lambda: BCG[["ablat", "year"]], ("intrcpt", "ablat", "year"), ["ablat", "year"]),
    ],
)
def test_every_design_form_fits_the_same_model_and_names_its_coefficients(design, names, mods):
    # a Series or DataFrame keeps its column names; a bare array is "mods" or "mod1", "mod2" ...
    ref = _ref_fit(mods)
    res = _fit_quietly(BCG.yi, BCG.vi, mods=design())
    assert res.names == names
    np.testing.assert_allclose(res.beta, ref["beta"], rtol=1e-6)
    np.testing.assert_allclose(res.se, ref["se"], rtol=1e-6)


@pytest.mark.parametrize(
    ("mods", "message"),
    [
        (np.ones((3, 1)), r"^mods must have one row per study \(4\); got shape \(3, 1\)$"),
        (np.ones((4, 1, 1)), r"^mods must have one row per study \(4\); got shape \(4, 1, 1\)$"),
        ([1.0, 2.0, float("nan"), 4.0], r"^mods must be finite numbers$"),
        (
            np.array([[1.0, 2.0], [2.0, 4.0], [3.0, 6.0], [4.0, 8.0]]),
            r"^mods are collinear with each other or with the intercept$",
        ),
    ],
)
def test_bad_designs_are_refused_with_a_message_naming_the_problem(mods, message):
    with pytest.raises(ValueError, match=message):
        rma([0.1, 0.2, 0.3, 0.1], [0.01, 0.02, 0.01, 0.02], mods=mods)


# (rows of dat, tau2, test) -> metafor's coefficient table at that fixed tau2:
# rma(yi, vi, mods = ~ ablat, data = dat[rows, ], tau2 = tau2, test = test)
FIXED_TAU2 = [
    (
        slice(None),
        0.1,
        "z",
        [0.23903476182613023, -0.02888781507994586],
        [0.27619232533785681, 0.0079397846520685936],
        [0.38678367582076961, 0.00027437700461810404],
    ),
    (
        slice(None),
        0.1,
        "knha",
        [0.23903476182613023, -0.02888781507994586],
        [0.29853227513246372, 0.0085819979731311061],
        [0.44025697419339338, 0.006295598743303603],
    ),
    (  # s2 > 1: adhoc keeps it
        slice(None),
        0.1,
        "adhoc",
        [0.23903476182613023, -0.02888781507994586],
        [0.29853227513246372, 0.0085819979731311061],
        [0.44025697419339338, 0.006295598743303603],
    ),
    (  # dat[1:3, ]: s2 < 1, adhoc floors it at 1
        slice(0, 3),
        0.05,
        "adhoc",
        [0.48907209715074895, -0.037243282892485512],
        [2.7467813709228452, 0.05612980382819989],
        [0.88782364696859239, 0.62705450371190208],
    ),
    (  # dat[4:6, ]: one residual df, s2 > 1
        slice(3, 6),
        0.05,
        "adhoc",
        [0.22548774584918563, -0.027952742308167276],
        [0.53848521737106481, 0.0127614242506981],
        [0.74754186556834967, 0.27264877248040337],
    ),
]


@pytest.mark.parametrize(("rows", "tau2", "test", "beta", "se", "pval"), FIXED_TAU2)
def test_wls_at_a_fixed_tau2_matches_metafor(rows, tau2, test, beta, se, pval):
    data = BCG.iloc[rows]
    X = np.column_stack([np.ones(len(data)), data.ablat.to_numpy(dtype=float)])
    fit = wls_at_tau2(data.yi.to_numpy(), data.vi.to_numpy(), X, tau2, test)
    np.testing.assert_allclose(fit.params, beta, rtol=1e-10)
    np.testing.assert_allclose(fit.bse, se, rtol=1e-10)
    np.testing.assert_allclose(fit.pvalues, pval, rtol=1e-9)


def test_adhoc_meta_regression_matches_metafor():
    # rma(yi, vi, mods = ~ ablat, data = dat, test = "adhoc", control = ctl)
    res = _fit_quietly(BCG.yi, BCG.vi, mods=BCG[["ablat"]], test="adhoc")
    assert (res.df, res.qm_df, res.qm_df2) == (11.0, 1, 11.0)
    expected = {
        "beta": [0.25146821000695357, -0.029101725011642862],
        "se": [0.28392528374388931, 0.0082014174110498425],
        "stat": [0.88568445434323073, -3.5483775002640212],
        "pvalue": [0.39473707244815159, 0.0045650515415925916],
        "ci_low": [-0.37344712608815483, -0.047152923025080756],
        "ci_high": [0.87638354610206193, -0.011050526998204965],
        "tau2": 0.076347963955919307,
        "qm": 12.590982884379944,
        "qm_pvalue": 0.0045650515415925916,
        "r2": 75.626621811393278,
    }
    _assert_regression(res, expected, rtol=1e-8)


def test_regression_level_and_control_are_applied_and_recorded():
    # rma(yi, vi, mods = ~ ablat, data = dat, method = "DL", test = "knha", level = 90)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a clean Knapp-Hartung fit raises no warning of any kind
        res = rma(
            BCG.yi,
            BCG.vi,
            mods=BCG[["ablat"]],
            method="DL",
            test="knha",
            level=0.9,
            control="metafor",
        )
    assert (res.level, res.control, res.df) == (0.9, "metafor", 11.0)
    expected = {
        "ci_low": [-0.23230334805916086, -0.043484033866215382],
        "ci_high": [0.75139077292720768, -0.014973443644161489],
        "tau2": 0.063300502426415217,
        "qm": 13.558907086848562,
        "qm_pvalue": 0.0036116738342736312,
        "r2": 79.498494450164998,
    }
    _assert_regression(res, expected, rtol=1e-10)


@pytest.mark.parametrize(
    ("rows", "mods", "method", "tau2", "r2"),
    [
        # rma(yi, vi, mods = ~ year, data = dat[1:8, ], control = ctl): tau2 0.3748 exceeds
        # the intercept-only model's 0.3598, so R2 is truncated at 0
        (slice(0, 8), "year", "REML", 0.37478530403810373, 0.0),
        # rma(yi, vi, mods = ~ year, data = dat[1:4, ], method = "FE"): adjusted R2 < 0 -> 0
        (slice(0, 4), "year", "FE", 0.0, 0.0),
        # rma(yi, vi, mods = ~ year, data = dat, control = ctl)
        (slice(None), "year", "REML", 0.26655577238041261, 14.904546081477255),
        # rma(yi, vi, mods = ~ year, data = dat, method = "FE")
        (slice(None), "year", "FE", 0.0, 28.211782462886525),
    ],
)
def test_r2_matches_metafor_and_is_truncated_at_zero(rows, mods, method, tau2, r2):
    data = BCG.iloc[rows]
    res = _fit_quietly(data.yi, data.vi, mods=data[[mods]], method=method)
    assert res.tau2 == pytest.approx(tau2, rel=1e-8, abs=1e-14)
    assert res.r2 == pytest.approx(r2, rel=1e-8, abs=1e-12)


def test_regression_on_homogeneous_effects_has_r2_zero_and_warns_of_truncation():
    # rma(c(.1, .12, .11, .1, .13), rep(.04, 5), mods = ~ c(1:5), method = "DL"):
    # tau2 = 0 with and without the moderator; metafor reports R2 = 0
    with pytest.warns(
        Tau2TruncatedWarning, match=r"^tau2 estimate \(DL\) below zero; truncated at 0$"
    ):
        res = rma([0.1, 0.12, 0.11, 0.1, 0.13], [0.04] * 5, mods=[1.0, 2, 3, 4, 5], method="DL")
    assert res.warnings == ("tau2 estimate (DL) below zero; truncated at 0",)
    assert (res.tau2, res.r2) == (0.0, 0.0)
    np.testing.assert_allclose(res.beta, [0.10000000000000003, 0.0040000000000000244], rtol=1e-10)
    np.testing.assert_allclose(res.qm, 0.0040000000000000478, rtol=1e-8)


@pytest.mark.parametrize(
    ("method", "message"),
    [
        ("REML", r"^Fisher scoring did not converge in \d+ iterations; bounded 1-D optimiser"),
        ("PM", r"^tau2 estimator PM did not converge$"),
    ],
)
def test_regression_tau2_convergence_problems_are_warned_and_recorded(method, message):
    with pytest.warns(ConvergenceWarning, match=message):
        res = rma(BCG.yi, BCG.vi, mods=BCG[["ablat"]], method=method, control={"maxiter": 1})
    assert len(res.warnings) == 1
    assert re.match(message, res.warnings[0])
    assert res.control == "custom"


def test_knha_perfect_fit_has_zero_standard_errors_as_metafor():
    # rma(c(.5, 1, 1.5, 2), c(.01, .02, .03, .04), mods = ~ c(1:4), method = "FE", test = "knha"):
    # the weighted RSS is 0, metafor sets the Knapp-Hartung factor to 0: se 0, z Inf, p 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = rma(
            [0.5, 1.0, 1.5, 2.0],
            [0.01, 0.02, 0.03, 0.04],
            mods=[1.0, 2, 3, 4],
            method="FE",
            test="knha",
        )
    np.testing.assert_allclose(res.beta, [0.0, 0.5], atol=1e-14)
    assert list(res.se) == [0.0, 0.0]
    assert abs(res.stat[1]) == math.inf and res.pvalue[1] == 0.0
    assert list(res.ci_low) == list(res.beta) == list(res.ci_high)
    # beta / 0 is meant: no "divide by zero" warning leaks to the user
    assert not [w for w in caught if "divide by zero" in str(w.message)]


def test_knha_on_identical_effects_has_zero_standard_error():
    # rma(rep(2.9, 4), c(.01, .02, .03, .04), method = "FE", test = "knha"): se = 0 (the weighted
    # RSS is ~4e-29, not 0: metafor treats RSS <= eps as a perfect fit)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        res = rma([2.9] * 4, [0.01, 0.02, 0.03, 0.04], method="FE", test="knha")
    assert res.estimate == pytest.approx(2.9, rel=1e-15)
    assert res.se == 0.0


def test_a_saturated_fixed_effect_meta_regression_fits_with_r2_nan_as_in_metafor():
    # k = p = 2: no residual df, so the adjusted R2 is undefined (it divided by k - p = 0).
    # r <- rma(c(0.1, 0.3), c(0.01, 0.02), mods = ~ c(1, 2), method = "FE")
    res = rma([0.1, 0.3], [0.01, 0.02], mods=[1.0, 2.0], method="FE")
    np.testing.assert_allclose(res.beta, [-0.1, 0.2], rtol=1e-12)  # coef(r)
    np.testing.assert_allclose(res.se, [0.2449490, 0.1732051], rtol=1e-6)  # r$se
    assert res.qe == pytest.approx(0.0, abs=1e-24)  # r$QE
    assert math.isnan(res.r2)  # r$R2: NaN
