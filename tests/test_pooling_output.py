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
import warnings

import numpy as np
import pandas as pd
import pytest
from reference import load_reference

from analysis.pooling import rma

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
