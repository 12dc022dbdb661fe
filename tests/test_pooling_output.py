"""What rma() prints and exports, against metafor 3.8-1's print.rma.uni and the documented contract.

The expected printouts are metafor's, made with (LANG=C, so the quotes are ASCII)::

    library(metafor)
    dat <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
    print(<call given above each text>)

The engine runs with ``control="metafor"`` so that the printed digits are those of metafor's
default run. Lines are compared without trailing blanks (metafor pads the empty
significance column with one more space than we do) and without the final empty line.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from reference import load_reference

import analysis.pooling as pooling
from analysis.pooling import effect_arrays, rma
from analysis.warnings import ConvergenceWarning, MetaAnalysisWarning, NotPooledWarning

DATA = pd.DataFrame(load_reference("metafor_pooling")["regression"]["data"])
# dat.bcg$alloc, dummy-coded as metafor does (baseline "alternate")
ALLOC = ["random"] * 4 + ["alternate"] * 2 + ["random"] * 3 + ["systematic"] * 4
ALLOC_MODS = pd.DataFrame(
    {
        "allocrandom": [a == "random" for a in ALLOC],
        "allocsystematic": [a == "systematic" for a in ALLOC],
    }
).astype(float)

# print(rma(yi, vi, data=dat, method="DL", test="z"))
R_UNI_DL_Z = """
Random-Effects Model (k = 13; tau^2 estimator: DL)

tau^2 (estimated amount of total heterogeneity): 0.3088 (SE = 0.2299)
tau (square root of estimated tau^2 value):      0.5557
I^2 (total heterogeneity / total variability):   92.12%
H^2 (total variability / sampling variability):  12.69

Test for Heterogeneity:
Q(df = 12) = 152.2330, p-val < .0001

Model Results:

estimate      se     zval    pval    ci.lb    ci.ub
 -0.7141  0.1787  -3.9952  <.0001  -1.0644  -0.3638  ***

---
Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1
"""

# print(rma(yi, vi, data=dat, method="FE", test="knha"))
R_UNI_FE_KNHA = """
Fixed-Effects Model (k = 13)

I^2 (total heterogeneity / total variability):   92.12%
H^2 (total variability / sampling variability):  12.69

Test for Heterogeneity:
Q(df = 12) = 152.2330, p-val < .0001

Model Results:

estimate      se     tval  df    pval    ci.lb    ci.ub
 -0.4303  0.1442  -2.9830  12  0.0114  -0.7446  -0.1160  *

---
Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1
"""

# print(rma(yi, vi, mods=~ablat, data=dat, method="REML", test="z"))
R_REG_REML_Z = """
Mixed-Effects Model (k = 13; tau^2 estimator: REML)

tau^2 (estimated amount of residual heterogeneity):     0.0764 (SE = 0.0591)
tau (square root of estimated tau^2 value):             0.2763
I^2 (residual heterogeneity / unaccounted variability): 68.39%
H^2 (unaccounted variability / sampling variability):   3.16
R^2 (amount of heterogeneity accounted for):            75.62%

Test for Residual Heterogeneity:
QE(df = 11) = 30.7331, p-val = 0.0012

Test of Moderators (coefficient 2):
QM(df = 1) = 16.3571, p-val < .0001

Model Results:

         estimate      se     zval    pval    ci.lb    ci.ub
intrcpt    0.2515  0.2491   1.0095  0.3127  -0.2368   0.7397
ablat     -0.0291  0.0072  -4.0444  <.0001  -0.0432  -0.0150  ***

---
Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1
"""

# print(rma(yi, vi, mods=~ablat+year, data=dat, method="FE", test="knha"))
R_REG_FE_KNHA = """
Fixed-Effects with Moderators Model (k = 13)

I^2 (residual heterogeneity / unaccounted variability): 64.70%
H^2 (unaccounted variability / sampling variability):   2.83
R^2 (amount of heterogeneity accounted for):            77.67%

Test for Residual Heterogeneity:
QE(df = 10) = 28.3251, p-val = 0.0016

Test of Moderators (coefficients 2:3):
F(df1 = 2, df2 = 10) = 21.8724, p-val = 0.0002

Model Results:

         estimate       se     tval  df    pval     ci.lb    ci.ub
intrcpt   17.1518  18.2304   0.9408  10  0.3690  -23.4681  57.7717
ablat     -0.0339   0.0067  -5.0366  10  0.0005   -0.0489  -0.0189  ***
year      -0.0085   0.0092  -0.9220  10  0.3782   -0.0289   0.0120

---
Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1
"""

# print(rma(yi, vi, mods=~alloc, data=dat, method="DL", test="adhoc"))
R_REG_DL_ADHOC = """
Mixed-Effects Model (k = 13; tau^2 estimator: DL)

tau^2 (estimated amount of residual heterogeneity):     0.5596 (SE = 0.4045)
tau (square root of estimated tau^2 value):             0.7480
I^2 (residual heterogeneity / unaccounted variability): 92.45%
H^2 (unaccounted variability / sampling variability):   13.24
R^2 (amount of heterogeneity accounted for):            0.00%

Test for Residual Heterogeneity:
QE(df = 10) = 132.3676, p-val < .0001

Test of Moderators (coefficients 2:3):
F(df1 = 2, df2 = 10) = 0.7175, p-val = 0.5115

Model Results:

                 estimate      se     tval  df    pval    ci.lb   ci.ub
intrcpt           -0.5125  0.5421  -0.9454  10  0.3667  -1.7205  0.6954
allocrandom       -0.4780  0.6286  -0.7605  10  0.4645  -1.8785  0.9225
allocsystematic    0.1042  0.6822   0.1528  10  0.8816  -1.4159  1.6243

---
Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1
"""


def _fit(**kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return rma(DATA.yi, DATA.vi, control="metafor", **kwargs)


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.strip("\n").splitlines()]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        pytest.param({"method": "DL"}, R_UNI_DL_Z, id="DL-z"),
        pytest.param({"method": "FE", "test": "knha"}, R_UNI_FE_KNHA, id="FE-knha"),
        pytest.param({"mods": DATA[["ablat"]]}, R_REG_REML_Z, id="reg-REML-z"),
        pytest.param(
            {"mods": DATA[["ablat", "year"]], "method": "FE", "test": "knha"},
            R_REG_FE_KNHA,
            id="reg-FE-knha",
        ),
        # s2 of Knapp-Hartung is 0.635 here, so "adhoc" floors it at 1; and tau2 is above the
        # intercept-only model's (0.3088), so metafor truncates R^2 at 0
        pytest.param(
            {"mods": ALLOC_MODS, "method": "DL", "test": "adhoc"}, R_REG_DL_ADHOC, id="reg-DL-adhoc"
        ),
    ],
)
def test_summary_prints_what_metafor_prints(kwargs, expected):
    assert _lines(_fit(**kwargs).summary()) == _lines(expected)


def test_regression_to_dict_and_to_frame_carry_the_coefficient_table():
    res = _fit(mods=DATA[["ablat"]])
    out = res.to_dict()
    assert list(out) == [
        "k", "method", "test", "terms",
        "beta", "se", "stat", "pvalue", "ci_low", "ci_high",
        "qm", "qm_df", "qm_df2", "qm_pvalue", "qe", "qe_df", "qe_pvalue", "tau2",
        "se_tau2", "i2", "h2", "r2", "converged",
    ]  # fmt: skip
    assert (out["k"], out["method"], out["test"], out["terms"]) == (
        13, "REML", "z", ["intrcpt", "ablat"]
    )  # fmt: skip
    assert out["qm_df2"] is None  # no F denominator for the z test
    assert json.dumps(out)
    # metafor's printout of R_REG_REML_Z, to its 4 decimals
    table = {
        "beta": [0.2515, -0.0291],
        "se": [0.2491, 0.0072],
        "stat": [1.0095, -4.0444],
        "ci_low": [-0.2368, -0.0432],
        "ci_high": [0.7397, -0.0150],
    }
    for key, values in table.items():
        np.testing.assert_allclose(out[key], values, atol=5e-5, err_msg=key)
    assert out["pvalue"][0] == pytest.approx(0.3127, abs=5e-5)
    assert out["pvalue"][1] < 1e-4
    scalars = {"qm": 16.3571, "qe": 30.7331, "qe_pvalue": 0.0012, "tau2": 0.0764,
               "se_tau2": 0.0591, "i2": 68.39, "h2": 3.16, "r2": 75.62}  # fmt: skip
    for key, value in scalars.items():
        assert out[key] == pytest.approx(value, abs=5 * 10 ** -(len(str(value).split(".")[1]) + 1))
    assert (out["qm_df"], out["qe_df"], out["converged"]) == (1, 11, True)

    frame = res.to_frame()
    assert list(frame.columns) == ["term", "estimate", "se", "stat", "pvalue", "ci_low", "ci_high"]
    assert list(frame.term) == ["intrcpt", "ablat"]
    for key, values in table.items():
        np.testing.assert_allclose(frame[{"beta": "estimate"}.get(key, key)], values, atol=5e-5)


def test_regression_to_dict_gives_plain_python_numbers_for_numpy_scalars():
    res = dataclasses.replace(_fit(mods=DATA[["ablat"]]), qm_df=np.int64(1), qe=np.float64(2.5))
    out = res.to_dict()
    assert type(out["qm_df"]) is int and out["qm_df"] == 1
    assert type(out["qe"]) is float and out["qe"] == 2.5


def test_a_missing_p_value_is_printed_as_na_like_metafor():
    res = dataclasses.replace(_fit(method="FE"), pvalue=math.nan)
    row = _lines(res.summary())[-4]
    assert row.split()[3] == "NA"


def test_single_study_keeps_its_label():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = rma([0.5], [0.04], slab=["Aronson 1948"])
    assert res.slab == ("Aronson 1948",)
    assert list(res.to_frame().slab) == ["Aronson 1948"]
    assert res.iterations == 0


def test_fixed_effect_r2_is_0_when_the_effects_do_not_vary():
    # no weighted variation to account for: the adjusted R2 has no denominator, reported as 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = rma([0.3] * 4, [0.01, 0.02, 0.04, 0.03], mods=[1.0, 2.0, 4.0, 3.0], method="FE")
    assert res.r2 == 0.0


# --------------------------------------------------------------------------- inputs, k = 1,
# edge cases of the printout (mutation-testing survivors, issue 14)


def _exact(message: str) -> str:
    return f"^{re.escape(message)}$"


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        pytest.param(
            ([0.1, 0.2], [0.01, 0.02]),
            {"method": "XX"},
            "method must be one of FE, DL, REML, PM, ML, HS, SJ, HE, EB; got 'XX'",
            id="method",
        ),
        pytest.param(
            ([0.1, 0.2], [0.01, 0.02]),
            {"test": "t"},
            "test must be one of z, knha, adhoc; got 't'",
            id="test",
        ),
        pytest.param(
            ([0.1, 0.2], [0.01, 0.02]), {"level": 0}, "level must be in (0, 1); got 0", id="level-0"
        ),
        pytest.param(
            ([0.1, 0.2], [0.01, 0.02]), {"level": 1}, "level must be in (0, 1); got 1", id="level-1"
        ),
        pytest.param(
            ([0.1, 0.2], [0.01, 0.02]),
            {"level": 1.5},
            "level must be in (0, 1); got 1.5",
            id="level-1.5",
        ),
        pytest.param(([], []), {}, "no studies: yi is empty", id="empty"),
        pytest.param(
            ([0.1, math.nan], [0.01, 0.02]),
            {},
            "yi must be finite numbers (no NaN or inf)",
            id="yi-nan",
        ),
        # a missing value given as None (an object column) is refused like NaN, not a TypeError
        pytest.param(
            ([0.1, None], [0.01, 0.02]),
            {},
            "yi must be finite numbers (no NaN or inf)",
            id="yi-none",
        ),
        pytest.param(
            ([0.1, 0.2], [0.01, None]),
            {},
            "vi must be finite and > 0 for every study",
            id="vi-none",
        ),
        pytest.param(
            ([0.1, 0.2], [0.01, 0.0]), {}, "vi must be finite and > 0 for every study", id="vi-0"
        ),
        pytest.param(
            ([0.1, 0.2, 0.3], [0.01, 0.02, 0.03]),
            {"slab": ["a", "b"]},
            "slab has 2 labels for 3 studies",
            id="slab",
        ),
        pytest.param(
            ([0.1, 0.2], [0.01, 0.02]),
            {"mods": [1.0, 2.0], "method": "DL"},
            "2 coefficients and tau2 cannot be estimated from k = 2 studies",
            id="mods-RE",
        ),
    ],
)
def test_bad_input_is_refused_with_a_message_naming_argument_and_value(args, kwargs, message):
    with pytest.raises(ValueError, match=_exact(message)):
        rma(*args, **kwargs)


def test_effect_arrays_returns_float_arrays_and_refuses_a_frame_with_missing_values():
    yi, vi = effect_arrays([1, 2, 3], [[1], [2], [4]])
    assert (yi.dtype, vi.dtype) == (np.float64, np.float64)
    np.testing.assert_array_equal(vi, [1.0, 2.0, 4.0])
    frame = pd.DataFrame({"yi": [0.1, None, 0.3], "vi": [0.01, 0.02, None]}, dtype=object)
    with pytest.raises(ValueError, match=_exact("yi must be finite numbers (no NaN or inf)")):
        effect_arrays(frame.yi, frame.vi)
    with pytest.raises(ValueError, match=_exact("vi must be finite and > 0 for every study")):
        effect_arrays(frame.yi.fillna(0.2), frame.vi)


def test_meta_regression_with_tau2_fits_from_one_study_more_than_coefficients():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = rma([0.1, 0.3, 0.2], [0.01, 0.02, 0.04], mods=[0.0, 1.0, 3.0], method="DL")
    # coef(rma(c(.1,.3,.2), c(.01,.02,.04), mods=c(0,1,3), method="DL"))
    np.testing.assert_allclose(res.beta, [0.1384615384615, 0.0461538461538], rtol=1e-11)


def test_per_study_table_has_default_labels_and_wald_intervals():
    res = _fit(method="DL")
    frame = res.to_frame()
    assert list(frame.slab) == [f"Study {i}" for i in range(1, 14)]
    # summary(escalc(measure="RR", ..., data=dat.bcg))[1:3, c("ci.lb", "ci.ub")]
    np.testing.assert_allclose(
        frame[["ci_low", "ci_high"]].to_numpy()[:3],
        [
            [-2.00766747908, 0.229044811236],
            [-2.44995523366, -0.720822080739],
            [-2.61125125704, -0.084895039561],
        ],
        rtol=1e-10,
    )
    np.testing.assert_allclose(frame.sei, np.sqrt(DATA.vi), rtol=1e-15)
    assert frame.weight.sum() == pytest.approx(100.0)


@pytest.mark.parametrize("test", ["z", "knha"])
def test_pooled_result_records_pooling_and_its_degrees_of_freedom(test):
    res = _fit(method="DL", test=test)
    assert res.pooled is True and res.converged is True
    if test == "z":
        assert math.isnan(res.df)  # no t distribution for the z test
    else:
        assert res.df == 12.0  # k - 1


def test_a_tau2_estimator_that_stops_short_is_reported_as_not_converged():
    # metafor: rma(yi, vi, data=dat, method="PM", control=list(maxiter=1)) warns and stops
    with pytest.warns(ConvergenceWarning, match="tau2 estimator PM did not converge"):
        res = rma(DATA.yi, DATA.vi, method="PM", control={"preset": "metafor", "maxiter": 1})
    assert res.converged is False
    assert res.warnings == ("tau2 estimator PM did not converge",)


def test_tau2_interval_is_at_the_requested_level():
    res = _fit(method="DL", level=0.90)
    # confint(rma(yi, vi, data=dat, method="DL"), level=90)$random["tau^2", ]
    assert res.tau2_ci_low == pytest.approx(0.141010011179, rel=1e-4)
    assert res.tau2_ci_high == pytest.approx(0.909807431787, rel=1e-4)


# print(rma(0.5, 0.04)) and print(rma(0.5, 0.04, test="knha")): metafor switches to z
R_SINGLE_REML = """
Random-Effects Model (k = 1; tau^2 estimator: REML)

tau^2 (estimated amount of total heterogeneity): 0
tau (square root of estimated tau^2 value):      0
I^2 (total heterogeneity / total variability):   0.00%
H^2 (total variability / sampling variability):  1.00

Test for Heterogeneity:
Q(df = 0) = 0.0000, p-val = 1.0000

Model Results:

estimate      se    zval    pval   ci.lb   ci.ub
  0.5000  0.2000  2.5000  0.0124  0.1080  0.8920  *

---
Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1
"""


@pytest.mark.parametrize("test", ["z", "knha"])
def test_single_study_is_returned_as_metafor_returns_it(test):
    with pytest.warns(NotPooledWarning, match=r"only k = 1 study \(Study 1\)"):
        res = rma([0.5], [0.04], test=test)
    # r <- rma(0.5, 0.04); r$test "z", r$method "REML", r$se.tau2 NA, pval 2 * pnorm(-2.5)
    assert (res.k, res.method, res.test, res.pooled, res.converged) == (1, "REML", "z", False, True)
    assert (res.tau2, res.i2, res.h2, res.q, res.q_df, res.q_pvalue) == (0.0, 0.0, 1.0, 0.0, 0, 1.0)
    assert math.isnan(res.df) and math.isnan(res.se_tau2)
    assert (res.estimate, res.se, res.stat) == (0.5, 0.2, 2.5)
    assert res.pvalue == pytest.approx(0.0124193306515, rel=1e-10)
    assert (res.ci_low, res.ci_high) == pytest.approx((0.1080072, 0.8919928), abs=1e-7)
    # metafor prints an exact zero tau2 (and tau) as "0"; we keep the 4 decimals
    expected = _lines(R_SINGLE_REML.replace("heterogeneity): 0\n", "heterogeneity): 0.0000\n"))
    expected = [
        line.replace("tau^2 value):      0", "tau^2 value):      0.0000") for line in expected
    ]
    assert _lines(res.summary()) == expected


def test_knapp_hartung_with_identical_effects_prints_inf_and_na_without_numpy_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetaAnalysisWarning)
        warnings.simplefilter("error", RuntimeWarning)
        same = rma([0.3, 0.3, 0.3], [0.01, 0.02, 0.04], method="DL", test="knha")
        zero = rma([0.0, 0.0, 0.0], [0.01, 0.02, 0.04], method="DL", test="knha")
    # print(rma(c(.3,.3,.3), c(.01,.02,.04), test="knha", method="DL")): tval Inf, p <.0001
    assert (same.estimate, same.se, same.stat, same.pvalue) == (0.3, 0.0, math.inf, 0.0)
    assert (same.ci_low, same.ci_high) == pytest.approx((0.3, 0.3), abs=1e-15)
    assert math.isnan(zero.stat) and math.isnan(zero.pvalue)
    # print(rma(c(0,0,0), c(.01,.02,.04), test="knha", method="DL")), the model results
    assert _lines(zero.summary())[-5:-3] == [
        "estimate      se  tval  df  pval   ci.lb   ci.ub",
        "  0.0000  0.0000    NA   2    NA  0.0000  0.0000",
    ]


@pytest.mark.parametrize(
    ("pvalue", "printed"),
    [
        # r <- rma(yi, vi, data=dat, method="DL"); r$pval <- p; print(r)
        (0.0005, "0.0005  -1.0644  -0.3638  ***"),
        # exactly at the cut points metafor (symnum) gives the stronger code
        (0.001, "0.0010  -1.0644  -0.3638  ***"),
        (0.01, "0.0100  -1.0644  -0.3638  **"),
        (0.05, "0.0500  -1.0644  -0.3638  *"),
        (0.1, "0.1000  -1.0644  -0.3638  ."),
        (0.0001, "0.0001  -1.0644  -0.3638  ***"),
        (0.005, "0.0050  -1.0644  -0.3638  **"),
        (0.03, "0.0300  -1.0644  -0.3638  *"),
        (0.07, "0.0700  -1.0644  -0.3638  ."),
        (0.2, "0.2000  -1.0644  -0.3638"),
    ],
)
def test_p_value_and_significance_stars_are_printed_as_metafor_prints_them(pvalue, printed):
    res = dataclasses.replace(_fit(method="DL"), pvalue=pvalue)
    assert _lines(res.summary())[-4] == " -0.7141  0.1787  -3.9952  " + printed


def test_a_saturated_fixed_effect_knapp_hartung_regression_has_no_tests_as_in_metafor():
    # k = p = 2: the fit is exact, k - p = 0 residual df, so Knapp-Hartung's factor is 0
    # (metafor: QE <= eps gives s2w = 0), every se is 0 and no t or F test exists.
    # r <- rma(c(0.1, 0.5), c(0.01, 0.04), mods = ~ c(0, 1), method = "FE", test = "knha")
    # (metafor 3.8-1 warns that KH is not meant for FE models; print(r) itself fails in symnum)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = rma([0.1, 0.5], [0.01, 0.04], mods=[0.0, 1.0], method="FE", test="knha")
    np.testing.assert_allclose(res.beta, [0.1, 0.4], rtol=1e-12)  # coef(r)
    np.testing.assert_array_equal(res.se, [0.0, 0.0])  # r$se: 0 0
    np.testing.assert_array_equal(res.stat, [math.inf, math.inf])  # r$zval: Inf Inf
    assert np.isnan(res.pvalue).all()  # r$pval: NA NA
    assert np.isnan(res.ci_low).all() and np.isnan(res.ci_high).all()  # r$ci.lb, r$ci.ub: NA
    assert (res.test, res.df, res.qm_df, res.qm_df2) == ("knha", 0.0, 1, 0.0)  # r$ddf, r$QMdf
    assert math.isnan(res.qm) and math.isnan(res.qm_pvalue)  # r$QM, r$QMp: NA
    assert (res.qe_df, res.qe_pvalue, res.i2, res.h2) == (0, 1.0, 0.0, 1.0)  # r$QEp, r$I2, r$H2
    assert res.qe == pytest.approx(0.0, abs=1e-24)  # r$QE: 0
    assert math.isnan(res.r2)  # r$R2: NaN


def test_a_failed_q_profile_search_is_a_convergence_warning_kept_on_the_fit(monkeypatch):
    # the Q-profile search cannot fail on finite data (its ends are checked first), so its
    # failure is simulated: the fit must still be returned, with the warning raised as a
    # ConvergenceWarning and kept in the fit's own list of warnings
    real = pooling.tau2_qprofile_ci

    def failing(*args, **kwargs):
        return dataclasses.replace(real(*args, **kwargs), converged=False)

    monkeypatch.setattr(pooling, "tau2_qprofile_ci", failing)
    yi, vi = [0.1, 0.3, 0.35, 0.6], [0.01, 0.02, 0.015, 0.03]
    message = "Q-profile search for a tau2 bound failed"
    with pytest.warns(ConvergenceWarning) as caught:
        fit = rma(yi, vi, method="REML")
    assert [str(w.message) for w in caught] == [message]
    assert fit.warnings == (message,)
