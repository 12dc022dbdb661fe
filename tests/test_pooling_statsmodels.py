"""The regression pieces go through statsmodels' linear models, and only those are imported."""

import subprocess
import sys

import numpy as np
import pytest
from reference import load_reference

from analysis.pooling import rma, wls_at_tau2

REG = load_reference("metafor_pooling_tight")["regression"]
YI, VI = np.array(REG["data"]["yi"]), np.array(REG["data"]["vi"])
X = np.column_stack([np.ones(YI.size), REG["data"]["ablat"]])


def test_knapp_hartung_is_statsmodels_default_wls_covariance():
    # s2 (X'WX)^-1 with s2 = Q_w / (k - p): statsmodels' WLS scale is exactly that
    tau2 = 0.1
    fit = wls_at_tau2(YI, VI, X, tau2, "knha")
    w = 1 / (VI + tau2)
    xtwx_inv = np.linalg.inv(X.T @ (w[:, None] * X))
    beta = xtwx_inv @ X.T @ (w * YI)
    s2 = float(np.sum(w * (YI - X @ beta) ** 2)) / (YI.size - 2)
    np.testing.assert_allclose(fit.params, beta, rtol=1e-12)
    np.testing.assert_allclose(fit.cov_params(), s2 * xtwx_inv, rtol=1e-10)
    assert fit.use_t and fit.df_resid == YI.size - 2


@pytest.mark.parametrize(("test", "floor"), [("z", None), ("adhoc", 1.0)])
def test_z_and_adhoc_fix_the_scale(test, floor):
    tau2 = 0.1
    fit = wls_at_tau2(YI, VI, X, tau2, test)
    free = wls_at_tau2(YI, VI, X, tau2, "knha")
    expected = 1.0 if floor is None else max(floor, free.scale)
    np.testing.assert_allclose(fit.cov_params(), free.cov_params() / free.scale * expected)
    assert fit.use_t is (test != "z")


def test_moderator_test_is_statsmodels_wald_test_and_matches_metafor():
    ref = next(
        f
        for f in REG["fits"]
        if f["method"] == "REML" and f["test"] == "knha" and f["mods"] == "ablat"
    )
    res = rma(YI, VI, mods=X[:, 1:], test="knha")
    assert res.qm == pytest.approx(ref["QM"], rel=1e-9)
    assert res.qm_pvalue == pytest.approx(ref["QMp"], rel=1e-9)


def test_pooling_imports_only_statsmodels_linear_models():
    code = (
        "import sys, numpy as np\n"
        "from analysis.pooling import rma\n"
        "rma(np.arange(5.0), np.ones(5), mods=np.array([1.0, 3, 2, 5, 4]))\n"
        "assert 'statsmodels.regression.linear_model' in sys.modules\n"
        "print(sorted(m for m in ('statsmodels.api', 'statsmodels.stats.meta_analysis',"
        " 'statsmodels.formula.api') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
