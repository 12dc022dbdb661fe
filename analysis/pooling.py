"""Inverse-variance pooling: ``rma(yi, vi, ...)`` as metafor's ``rma.uni`` computes it.

The result objects are frozen dataclasses; recoverable numerical events (tau2 truncated at
zero, a fallback after non-convergence, k = 1) are both recorded in ``warnings`` and raised
as the project's warning classes.
"""

from __future__ import annotations

import math
import warnings as _warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
from scipy import special

if TYPE_CHECKING:
    import pandas as pd

from analysis.heterogeneity import i2_h2, prediction_interval, q_test, tau2_qprofile_ci
from analysis.tau2 import METHODS, _Projection, control_name, estimate_tau2, resolve_control
from analysis.warnings import (
    ConvergenceWarning,
    MetaAnalysisWarning,
    NotPooledWarning,
    Tau2TruncatedWarning,
)

TESTS = ("z", "knha", "adhoc")

METHOD_LABELS = {
    "DL": "DL",
    "REML": "REML",
    "PM": "PM",
    "ML": "ML",
    "HS": "HS",
    "SJ": "SJ",
    "HE": "HE",
    "EB": "EB",
}

#: Keys of ``MetaResult.to_dict()`` and of the CLI's JSON object, in order.
DICT_KEYS = (
    "k",
    "method",
    "test",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "pvalue",
    "tau2",
    "tau2_ci_low",
    "tau2_ci_high",
    "i2",
    "h2",
    "q",
    "q_df",
    "q_pvalue",
    "pi_low",
    "pi_high",
    "converged",
    "iterations",
    "control",
)


def _none_if_nan(value):
    if isinstance(value, float | np.floating) and not math.isfinite(value):
        return None
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


@dataclass(frozen=True)
class MetaResult:
    """Result of an intercept-only meta-analysis (metafor's ``rma.uni`` without moderators).

    Attributes
    ----------
    k, method, test, level : int, str, str, float
        Number of studies, tau2 estimator, inference method and confidence level.
    estimate, se, stat, pvalue, ci_low, ci_high : float
        Pooled effect, its standard error (Knapp-Hartung scaled for ``knha``/``adhoc``), the
        z or t statistic, two-sided p-value and confidence interval.
    df : float
        Degrees of freedom of the t distribution (k - 1), NaN for ``test="z"``.
    tau2, se_tau2 : float
        Between-study variance and metafor's standard error of it (NaN for FE).
    tau2_ci_low, tau2_ci_high, i2_ci_low, i2_ci_high, h2_ci_low, h2_ci_high : float
        Q-profile confidence intervals (NaN when not computed: FE, k = 1, ``tau2_ci=False``).
    i2, h2 : float
        I2 in percent and H2.
    q, q_df, q_pvalue : float, int, float
        Cochran's Q test.
    pi_low, pi_high : float
        Prediction interval.
    weights : ndarray
        Study weights in percent (sum 100).
    yi, vi : ndarray
        The input effects and variances.
    slab : tuple of str
        Study labels.
    pooled : bool
        False when k = 1: the study itself is returned.
    converged : bool
        Whether the tau2 estimator met its stopping rule. Under the default (tight) control
        that means the optimum was reached (to about 1e-12); under ``control="metafor"`` it
        means metafor's looser rule was met.
    iterations : int
        Iterations used by the tau2 estimator (0 for closed forms).
    warnings : tuple of str
        Messages of the warnings raised while fitting.
    control : str
        ``"tight"``, ``"metafor"`` or ``"custom"``: the stopping rules used.
    """

    k: int
    method: str
    test: str
    level: float
    estimate: float
    se: float
    stat: float
    pvalue: float
    ci_low: float
    ci_high: float
    df: float
    tau2: float
    se_tau2: float
    tau2_ci_low: float
    tau2_ci_high: float
    i2: float
    i2_ci_low: float
    i2_ci_high: float
    h2: float
    q: float
    q_df: int
    q_pvalue: float
    pi_low: float
    pi_high: float
    weights: np.ndarray = field(repr=False)
    yi: np.ndarray = field(repr=False)
    vi: np.ndarray = field(repr=False)
    slab: tuple[str, ...] = field(repr=False)
    pooled: bool = True
    converged: bool = True
    iterations: int = 0
    warnings: tuple[str, ...] = ()
    h2_ci_low: float = math.nan
    h2_ci_high: float = math.nan
    control: str = "tight"

    def to_frame(self) -> pd.DataFrame:
        """Per-study table: slab, yi, vi, sei, ci_low, ci_high (Wald, at ``level``), weight."""
        import pandas as pd

        sei = np.sqrt(self.vi)
        crit = float(-special.ndtri((1 - self.level) / 2))
        return pd.DataFrame(
            {
                "slab": list(self.slab),
                "yi": self.yi,
                "vi": self.vi,
                "sei": sei,
                "ci_low": self.yi - crit * sei,
                "ci_high": self.yi + crit * sei,
                "weight": self.weights,
            }
        )

    def to_dict(self) -> dict:
        """The CLI's JSON keys (``DICT_KEYS``); NaN becomes None."""
        return {key: _none_if_nan(getattr(self, key)) for key in DICT_KEYS}

    def summary(self, digits: int = 4) -> str:
        """Text laid out like metafor's ``print.rma.uni``."""
        return _summary_uni(self, digits)


@dataclass(frozen=True)
class MetaRegressionResult:
    """Result of a mixed-effects meta-regression (``rma.uni`` with ``mods``).

    Attributes
    ----------
    k, p, method, test, level : int, int, str, str, float
        Studies, coefficients (intercept included), estimator, inference, level.
    names : tuple of str
        Coefficient names; the first is ``"intrcpt"``.
    beta, se, stat, pvalue, ci_low, ci_high : ndarray
        Coefficient table (t with k - p df for ``knha``/``adhoc``).
    df : float
        k - p for t-based tests, NaN for ``z``.
    vb : ndarray
        Variance-covariance matrix of ``beta``.
    qm, qm_df, qm_df2, qm_pvalue : float, int, float, float
        Omnibus test of the moderators (all coefficients but the intercept): chi-square with
        ``qm_df`` df for ``z``; F with (``qm_df``, ``qm_df2``) df for ``knha``/``adhoc``.
    qe, qe_df, qe_pvalue : float, int, float
        Test for residual heterogeneity.
    tau2, se_tau2 : float
        Residual between-study variance and its standard error.
    i2, h2 : float
        Residual I2 (percent) and H2.
    r2 : float
        metafor's pseudo R2 in percent, ``max(0, 100 (tau2_RE - tau2) / tau2_RE)`` against the
        intercept-only model fitted with the same method (for FE: adjusted R2 of the
        weighted least-squares fit, as metafor does).
    converged, iterations, warnings
        As for :class:`MetaResult`.
    """

    k: int
    p: int
    method: str
    test: str
    level: float
    names: tuple[str, ...]
    beta: np.ndarray
    se: np.ndarray
    stat: np.ndarray
    pvalue: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    df: float
    vb: np.ndarray = field(repr=False)
    qm: float
    qm_df: int
    qm_df2: float
    qm_pvalue: float
    qe: float
    qe_df: int
    qe_pvalue: float
    tau2: float
    se_tau2: float
    i2: float
    h2: float
    r2: float
    converged: bool
    iterations: int
    warnings: tuple[str, ...] = ()
    control: str = "tight"

    def to_frame(self) -> pd.DataFrame:
        """Coefficient table: term, estimate, se, stat, pvalue, ci_low, ci_high."""
        import pandas as pd

        return pd.DataFrame(
            {
                "term": list(self.names),
                "estimate": self.beta,
                "se": self.se,
                "stat": self.stat,
                "pvalue": self.pvalue,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
            }
        )

    def to_dict(self) -> dict:
        """Scalars and coefficient lists, NaN as None."""
        out = {
            "k": self.k,
            "method": self.method,
            "test": self.test,
            "terms": list(self.names),
        }
        for key in ("beta", "se", "stat", "pvalue", "ci_low", "ci_high"):
            out[key] = [_none_if_nan(float(v)) for v in getattr(self, key)]
        for key in ("qm", "qm_df", "qm_df2", "qm_pvalue", "qe", "qe_df", "qe_pvalue", "tau2"):
            out[key] = _none_if_nan(getattr(self, key))
        for key in ("se_tau2", "i2", "h2", "r2", "converged"):
            out[key] = _none_if_nan(getattr(self, key))
        return out

    def summary(self, digits: int = 4) -> str:
        """Text laid out like metafor's ``print.rma.uni`` for a mixed-effects model."""
        return _summary_reg(self, digits)


# --------------------------------------------------------------------------- fitting


def _as_design(mods, k: int) -> tuple[np.ndarray, tuple[str, ...]]:
    if mods is None:
        return np.ones((k, 1)), ("intrcpt",)
    if hasattr(mods, "to_frame") and not hasattr(mods, "columns"):  # a pandas Series
        mods = mods.to_frame()
    if hasattr(mods, "columns") and hasattr(mods, "to_numpy"):  # a pandas DataFrame
        names = tuple(str(c) for c in mods.columns)
        m = mods.to_numpy(dtype=float)
    else:
        m = np.asarray(mods, dtype=float)
        if m.ndim == 1:
            m = m[:, None]
        names = tuple(f"mod{j + 1}" for j in range(m.shape[1])) if m.shape[1] > 1 else ("mods",)
    if m.ndim != 2 or m.shape[0] != k:
        raise ValueError(f"mods must have one row per study ({k}); got shape {m.shape}")
    if not np.all(np.isfinite(m)):
        raise ValueError("mods must be finite numbers")
    X = np.column_stack([np.ones(k), m])
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise ValueError("mods are collinear with each other or with the intercept")
    return X, ("intrcpt", *names)


def _check_inputs(yi, vi, method, test, level):
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    if test not in TESTS:
        raise ValueError(f"test must be one of {', '.join(TESTS)}; got {test!r}")
    if not (0 < level < 1):
        raise ValueError(f"level must be in (0, 1); got {level!r}")
    return effect_arrays(yi, vi)


def effect_arrays(yi, vi) -> tuple[np.ndarray, np.ndarray]:
    """``yi`` and ``vi`` as flat float arrays, refusing what no model can use.

    Raises ValueError for different lengths, no studies, non-finite effects, and
    sampling variances that are not finite and > 0. The analyses built on :func:`rma`
    (bias tests, leave-one-out, cumulative) check their inputs with it too.
    """
    yi = np.asarray(yi, dtype=float).ravel()
    vi = np.asarray(vi, dtype=float).ravel()
    if yi.shape != vi.shape:
        raise ValueError(f"yi and vi differ in length: {yi.size} vs {vi.size}")
    if yi.size == 0:
        raise ValueError("no studies: yi is empty")
    if not np.all(np.isfinite(yi)):
        raise ValueError("yi must be finite numbers (no NaN or inf)")
    if not np.all(np.isfinite(vi)) or np.any(vi <= 0):
        raise ValueError("vi must be finite and > 0 for every study")
    return yi, vi


class _Log:
    """Collects warning messages and raises each as its project warning class."""

    def __init__(self):
        self.messages: list[str] = []

    def warn(self, message: str, category: type[MetaAnalysisWarning]) -> None:
        self.messages.append(message)
        _warnings.warn(message, category, stacklevel=4)


def _fit_beta(yi, vi, X, tau2, test, k, p):
    """Weighted least squares for beta and its covariance, with the KH scale factor."""
    w = 1.0 / (vi + tau2)
    proj = _Projection(w, X)
    beta = proj.beta(yi)
    vb = proj.S.copy()
    s2w = 1.0
    if test in ("knha", "adhoc"):
        rss = float(np.sum(w * (yi - X @ beta) ** 2))
        s2w = 0.0 if rss <= np.finfo(float).eps else rss / (k - p)
        if test == "adhoc":
            s2w = max(1.0, s2w)
        vb = s2w * vb
    return beta, vb, w


def _crit(test, level, df):
    alpha = 1.0 - level
    if test == "z":
        return float(-special.ndtri(alpha / 2))
    # scipy.special directly: the same functions scipy.stats calls, without its overhead,
    # which matters when thousands of small meta-analyses are fitted
    return float(-special.stdtrit(df, alpha / 2)) if df > 0 else math.nan


def _pvalues(test, stat, df):
    if test == "z":
        return 2.0 * special.ndtr(-np.abs(stat))
    return 2.0 * special.stdtr(df, -np.abs(stat)) if df > 0 else np.full_like(stat, np.nan)


def rma(
    yi,
    vi,
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    mods=None,
    slab: Sequence[str] | None = None,
    tau2_ci: bool = True,
    control: dict | str | None = None,
) -> MetaResult | MetaRegressionResult:
    """Fixed- or random-effects meta-analysis and meta-regression, as metafor's ``rma.uni``.

    Parameters
    ----------
    yi : array_like
        Effect sizes (k,).
    vi : array_like
        Sampling variances (k,), all > 0.
    method : {"FE", "DL", "REML", "PM", "ML", "HS", "SJ", "HE", "EB"}
        tau2 estimator (see :func:`analysis.tau2.estimate_tau2`); "FE" fits the common
        (fixed) effect model.
    test : {"z", "knha", "adhoc"}
        Wald z; Knapp-Hartung (t with k - p df and the scale factor ``s2 = Q_w / (k - p)``);
        or the ad hoc variant that never lets the factor drop below 1.
    level : float
        Confidence level of every interval.
    mods : array_like or DataFrame, optional
        Moderators (k x m); an intercept is added. Returns a :class:`MetaRegressionResult`.
    slab : sequence of str, optional
        Study labels (default "Study 1", ...).
    tau2_ci : bool
        Compute the Q-profile CI of tau2, I2 and H2 (metafor's ``confint``).
    control : None, "tight", "metafor" or dict, optional
        Stopping rules of the tau2 estimators and of the Q-profile CI. The default
        (``"tight"``) iterates to the optimum: the answers agree with metafor run with tight
        control (threshold and tol 1e-12, maxiter 10,000) to about 1e-12. ``"metafor"``
        reproduces metafor's default answers (threshold 1e-5, tol ``eps^0.25``), which can be
        up to ~1e-2 (relative) short of the optimum. A dict sets single options
        (``tau2_init``, ``threshold``, ``maxiter`` ...) on top of its ``"preset"``; see
        :func:`analysis.tau2.resolve_control`.

    Returns
    -------
    MetaResult or MetaRegressionResult

    Notes
    -----
    Weights ``w_i = 1/(v_i + tau2)``; ``beta = (X'WX)^-1 X'Wy``, ``Var(beta) = (X'WX)^-1``
    (times ``s2`` for Knapp-Hartung). The prediction interval is
    ``estimate -/+ crit sqrt(se^2 + tau2)``, with the normal quantile for ``z`` and the t
    quantile with k - p df otherwise. For k = 1 nothing is pooled: the study itself is
    returned (z test, tau2 = 0), ``pooled=False`` and a :class:`NotPooledWarning` is raised.

    References
    ----------
    Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package.
    J. Stat. Softw., 36(3), 1-48.
    Knapp, G., & Hartung, J. (2003). Statistics in Medicine, 22, 2693-2710.
    Hartung, J., & Knapp, G. (2001). Statistics in Medicine, 20, 3875-3889.
    DerSimonian, R., & Laird, N. (1986). Controlled Clinical Trials, 7, 177-188.
    """
    yi, vi = _check_inputs(yi, vi, method, test, level)
    resolve_control(control)  # a bad control fails before any fitting, whatever k is
    k = yi.size
    X, names = _as_design(mods, k)
    p = X.shape[1]
    if slab is None:
        slab = tuple(map("Study {}".format, range(1, k + 1)))
    else:
        slab = tuple(str(s) for s in slab)
        if len(slab) != k:
            raise ValueError(f"slab has {len(slab)} labels for {k} studies")
    log = _Log()

    if mods is not None:
        need = p if method == "FE" else p + 1
        if k < need:
            raise ValueError(
                f"{p} coefficients{'' if method == 'FE' else ' and tau2'} cannot be estimated "
                f"from k = {k} studies"
            )
        return _fit_regression(yi, vi, X, names, method, test, level, control, log)
    if k == 1:
        return replace(
            _single_study(yi, vi, slab, method, test, level, log), control=control_name(control)
        )
    return _fit_uni(yi, vi, X, slab, method, test, level, tau2_ci, control, log)


def _tau2_step(yi, vi, X, method, control, log):
    fit = estimate_tau2(yi, vi, X, method, control)
    if fit.truncated:
        log.warn(f"tau2 estimate ({method}) below zero; truncated at 0", Tau2TruncatedWarning)
    for note in fit.notes:
        log.warn(note, ConvergenceWarning)
    if not fit.converged:
        log.warn(f"tau2 estimator {method} did not converge", ConvergenceWarning)
    return fit


def _fit_uni(yi, vi, X, slab, method, test, level, tau2_ci, control, log):
    k, p = X.shape
    fit = _tau2_step(yi, vi, X, method, control, log)
    tau2 = fit.tau2
    beta, vb, w = _fit_beta(yi, vi, X, tau2, test, k, p)
    df = float(k - p) if test != "z" else math.nan
    est = float(beta[0])
    se = math.sqrt(vb[0, 0])
    # se = 0 happens with Knapp-Hartung when every yi is equal; metafor then reports an
    # infinite statistic and p = 0, and so does this (0/0 stays NaN).
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = float(np.float64(est) / np.float64(se))
    crit = _crit(test, level, df)
    pval = float(_pvalues(test, np.array([stat]), df)[0])
    qt = q_test(yi, vi, X)
    i2, h2 = i2_h2(tau2, qt, method == "FE")
    ci = dict.fromkeys(
        ("tau2_low", "tau2_high", "i2_low", "i2_high", "h2_low", "h2_high"), math.nan
    )
    if tau2_ci and method != "FE":
        interval = tau2_qprofile_ci(yi, vi, X, tau2, qt.vt, level, control=control)
        ci = {
            "tau2_low": interval.tau2_low,
            "tau2_high": interval.tau2_high,
            "i2_low": interval.i2_low,
            "i2_high": interval.i2_high,
            "h2_low": interval.h2_low,
            "h2_high": interval.h2_high,
        }
        if not interval.converged:
            log.warn("Q-profile search for a tau2 bound failed", ConvergenceWarning)
    pi_low, pi_high = prediction_interval(est, se, tau2, crit)
    if method == "FE":
        # metafor's predict() reports no prediction interval for a common-effect model.
        pi_low = pi_high = math.nan
    return MetaResult(
        k=k,
        method=method,
        test=test,
        level=level,
        estimate=est,
        se=se,
        stat=stat,
        pvalue=pval,
        ci_low=est - crit * se,
        ci_high=est + crit * se,
        df=df,
        tau2=tau2,
        se_tau2=fit.se_tau2,
        tau2_ci_low=ci["tau2_low"],
        tau2_ci_high=ci["tau2_high"],
        i2=i2,
        i2_ci_low=ci["i2_low"],
        i2_ci_high=ci["i2_high"],
        h2=h2,
        q=qt.q,
        q_df=qt.df,
        q_pvalue=qt.pvalue,
        pi_low=pi_low,
        pi_high=pi_high,
        weights=100.0 * w / np.sum(w),
        yi=yi,
        vi=vi,
        slab=slab,
        pooled=True,
        converged=fit.converged,
        iterations=fit.iterations,
        warnings=tuple(log.messages),
        h2_ci_low=ci["h2_low"],
        h2_ci_high=ci["h2_high"],
        control=control_name(control),
    )


def _single_study(yi, vi, slab, method, test, level, log):
    log.warn(
        f"only k = 1 study ({slab[0]}): nothing pooled, the study itself is returned",
        NotPooledWarning,
    )
    est = float(yi[0])
    se = math.sqrt(float(vi[0]))
    # metafor switches to the z test for k = 1 (no df left for a t distribution).
    crit = _crit("z", level, math.nan)
    stat = est / se
    nan = math.nan
    return MetaResult(
        k=1,
        method=method,
        test="z",
        level=level,
        estimate=est,
        se=se,
        stat=stat,
        pvalue=float(2 * special.ndtr(-abs(stat))),
        ci_low=est - crit * se,
        ci_high=est + crit * se,
        df=nan,
        tau2=0.0,
        se_tau2=nan,
        tau2_ci_low=nan,
        tau2_ci_high=nan,
        i2=0.0,
        i2_ci_low=nan,
        i2_ci_high=nan,
        h2=1.0,
        q=0.0,
        q_df=0,
        q_pvalue=1.0,
        # metafor's predict() gives the CI as PI for k = 1, and no PI for a FE model.
        pi_low=est - crit * se if method != "FE" else nan,
        pi_high=est + crit * se if method != "FE" else nan,
        weights=np.array([100.0]),
        yi=yi,
        vi=vi,
        slab=slab,
        pooled=False,
        converged=True,
        iterations=0,
        warnings=tuple(log.messages),
    )


def wls_at_tau2(yi, vi, X, tau2: float, test: str):
    """Weighted least squares of a meta-regression at a given tau2, by statsmodels.

    Parameters
    ----------
    yi, vi : ndarray
        Effects and sampling variances.
    X : ndarray
        Design matrix (intercept first).
    tau2 : float
        Between-study variance; the weights are ``1/(vi + tau2)``.
    test : {"z", "knha", "adhoc"}
        ``"z"``: covariance ``(X'WX)^-1`` (statsmodels' ``cov_type="fixed scale"`` with
        scale 1) and normal tests; ``"knha"``: statsmodels' default covariance
        ``s2 (X'WX)^-1`` with ``s2 = Q_w / (k - p)`` and t/F tests on k - p df, which is
        exactly the Knapp-Hartung adjustment; ``"adhoc"``: the same with ``s2`` floored at 1.

    Returns
    -------
    statsmodels RegressionResults
        ``params``, ``cov_params()``, ``tvalues``, ``pvalues``, ``conf_int``, ``wald_test``.

    Notes
    -----
    Only ``statsmodels.regression.linear_model`` is imported (``statsmodels.api`` imports
    every submodule and costs about 2 s here). Where the weighted residual sum of squares is
    0 (a perfect fit) metafor sets the Knapp-Hartung factor to 0; so does this.
    """
    from statsmodels.regression.linear_model import WLS

    model = WLS(yi, X, weights=1.0 / (vi + tau2))
    fit = model.fit(method="qr")
    if test == "z":
        return model.fit(method="qr", cov_type="fixed scale", cov_kwds={"scale": 1.0})
    scale = float(fit.ssr) / float(fit.df_resid) if fit.df_resid > 0 else math.nan
    if float(fit.ssr) <= np.finfo(float).eps:
        scale = 0.0
    if test == "adhoc" or scale == 0.0:
        scale = max(1.0, scale) if test == "adhoc" else scale
        return model.fit(method="qr", cov_type="fixed scale", cov_kwds={"scale": scale}, use_t=True)
    return fit


def _fit_regression(yi, vi, X, names, method, test, level, control, log):
    k, p = X.shape
    fit = _tau2_step(yi, vi, X, method, control, log)
    tau2 = fit.tau2
    wls = wls_at_tau2(yi, vi, X, tau2, test)
    beta = np.asarray(wls.params, dtype=float)
    vb = np.asarray(wls.cov_params(), dtype=float)
    df = float(k - p) if test != "z" else math.nan
    se = np.sqrt(np.diag(vb))
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = np.asarray(wls.tvalues, dtype=float)
        pval = np.asarray(wls.pvalues, dtype=float)
    crit = _crit(test, level, df)
    m = p - 1
    # QM: Wald test of all coefficients but the intercept; F = QM / m on (m, k - p) df under
    # Knapp-Hartung (statsmodels' use_t), chi-square on m df otherwise
    wald = wls.wald_test(np.eye(p)[1:], scalar=True)
    qm = float(wald.statistic)
    if test == "z":
        qm_df2 = math.nan
        qm_p = float(wald.pvalue)
    else:
        qm_df2 = float(k - p)
        qm_p = float(wald.pvalue) if k > p else math.nan
    qt = q_test(yi, vi, X)
    i2, h2 = i2_h2(tau2, qt, method == "FE")
    r2 = _r2(yi, vi, X, method, tau2, control)
    return MetaRegressionResult(
        k=k,
        p=p,
        method=method,
        test=test,
        level=level,
        names=names,
        beta=beta,
        se=se,
        stat=stat,
        pvalue=pval,
        ci_low=beta - crit * se,
        ci_high=beta + crit * se,
        df=df,
        vb=vb,
        qm=qm,
        qm_df=m,
        qm_df2=qm_df2,
        qm_pvalue=qm_p,
        qe=qt.q,
        qe_df=qt.df,
        qe_pvalue=qt.pvalue,
        tau2=tau2,
        se_tau2=fit.se_tau2,
        i2=i2,
        h2=h2,
        r2=r2,
        converged=fit.converged,
        iterations=fit.iterations,
        warnings=tuple(log.messages),
        control=control_name(control),
    )


def _r2(yi, vi, X, method, tau2, control):
    """metafor's default R2 (``r2def="1"``), in percent."""
    k, p = X.shape
    if method == "FE":
        # metafor: adjusted R2 of lm(yi ~ X, weights = 1/vi), truncated at 0.
        w = 1.0 / vi
        proj = _Projection(w, X)
        rss = proj.ypy(yi)
        ybar = np.sum(w * yi) / np.sum(w)
        tss = float(np.sum(w * (yi - ybar) ** 2))
        if tss == 0:
            return 0.0
        adj = 1.0 - (rss / (k - p)) / (tss / (k - 1))
        return max(0.0, 100.0 * adj)
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore", MetaAnalysisWarning)
        tau2_re = estimate_tau2(yi, vi, np.ones((k, 1)), method, control).tau2
    if tau2_re == 0:
        return 0.0
    return max(0.0, 100.0 * (tau2_re - tau2) / tau2_re)


# --------------------------------------------------------------------------- printing


def _fmt(x: float, digits: int) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "NA"
    return f"{x:.{digits}f}"


def _fmt_p(p: float, digits: int) -> str:
    if p is None or math.isnan(p):
        return "NA"
    cut = 10.0**-digits
    if p < cut:
        return f"<{cut:.{digits}f}".replace("0.", ".", 1)
    return f"{p:.{digits}f}"


def _pval_text(p: float, digits: int) -> str:
    s = _fmt_p(p, digits)
    # metafor: "p-val < .0001" in the test lines, "<.0001" inside tables
    return f"p-val < {s[1:]}" if s.startswith("<") else f"p-val = {s}"


def _stars(p: float) -> str:
    if p is None or math.isnan(p):
        return ""
    # R's symnum() cut points are closed on the right: p = 0.05 gets "*", as in metafor
    for cut, s in ((0.001, "***"), (0.01, "**"), (0.05, "*"), (0.1, ".")):
        if p <= cut:
            return s
    return ""


def _table(header: list[str], rows: list[list[str]], rownames: list[str] | None) -> list[str]:
    cols = [header, *rows]
    widths = [max(len(r[j]) for r in cols) for j in range(len(header))]
    lines = []
    rn_width = max((len(n) for n in rownames), default=0) if rownames else 0
    for i, r in enumerate(cols):
        name = "" if i == 0 or not rownames else rownames[i - 1]
        prefix = f"{name:<{rn_width}}  " if rownames else ""
        # metafor left-justifies the significance stars, one space wider than the longest
        cells = [f"{c:>{w}}" for c, w in zip(r[:-1], widths[:-1], strict=True)]
        lines.append(prefix + "  ".join([*cells, f"{r[-1]:<{widths[-1] + 1}}"]))
    return lines


def _summary_uni(r: MetaResult, digits: int) -> str:
    lines = [""]
    if r.method == "FE":
        lines.append(f"Fixed-Effects Model (k = {r.k})")
    else:
        lines.append(f"Random-Effects Model (k = {r.k}; tau^2 estimator: {r.method})")
    lines.append("")
    if r.method != "FE":
        se_txt = "" if math.isnan(r.se_tau2) else f" (SE = {_fmt(r.se_tau2, digits)})"
        lines.append(
            f"tau^2 (estimated amount of total heterogeneity): {_fmt(r.tau2, digits)}{se_txt}"
        )
        lines.append(
            f"tau (square root of estimated tau^2 value):      {_fmt(math.sqrt(r.tau2), digits)}"
        )
    lines.append(f"I^2 (total heterogeneity / total variability):   {r.i2:.2f}%")
    lines.append(f"H^2 (total variability / sampling variability):  {r.h2:.2f}")
    lines += ["", "Test for Heterogeneity:"]
    lines.append(f"Q(df = {r.q_df}) = {_fmt(r.q, digits)}, {_pval_text(r.q_pvalue, digits)}")
    lines += ["", "Model Results:", ""]
    statname = "zval" if r.test == "z" else "tval"
    header = ["estimate", "se", statname]
    row = [_fmt(r.estimate, digits), _fmt(r.se, digits), _fmt(r.stat, digits)]
    if r.test != "z":
        header.append("df")
        row.append(f"{r.df:g}")
    header += ["pval", "ci.lb", "ci.ub", ""]
    row += [
        _fmt_p(r.pvalue, digits),
        _fmt(r.ci_low, digits),
        _fmt(r.ci_high, digits),
        _stars(r.pvalue),
    ]
    lines += _table(header, [row], None)
    lines += ["", "---", "Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1", ""]
    return "\n".join(lines)


def _summary_reg(r: MetaRegressionResult, digits: int) -> str:
    lines = [""]
    if r.method == "FE":
        lines.append(f"Fixed-Effects with Moderators Model (k = {r.k})")
    else:
        lines.append(f"Mixed-Effects Model (k = {r.k}; tau^2 estimator: {r.method})")
    lines.append("")
    if r.method != "FE":
        lines.append(
            "tau^2 (estimated amount of residual heterogeneity):     "
            f"{_fmt(r.tau2, digits)} (SE = {_fmt(r.se_tau2, digits)})"
        )
        lines.append(
            "tau (square root of estimated tau^2 value):             "
            f"{_fmt(math.sqrt(r.tau2), digits)}"
        )
    lines.append(f"I^2 (residual heterogeneity / unaccounted variability): {r.i2:.2f}%")
    lines.append(f"H^2 (unaccounted variability / sampling variability):   {r.h2:.2f}")
    lines.append(f"R^2 (amount of heterogeneity accounted for):            {r.r2:.2f}%")
    lines += ["", "Test for Residual Heterogeneity:"]
    lines.append(f"QE(df = {r.qe_df}) = {_fmt(r.qe, digits)}, {_pval_text(r.qe_pvalue, digits)}")
    coefs = "coefficient 2" if r.p == 2 else f"coefficients 2:{r.p}"
    lines += ["", f"Test of Moderators ({coefs}):"]
    if r.test == "z":
        lines.append(
            f"QM(df = {r.qm_df}) = {_fmt(r.qm, digits)}, {_pval_text(r.qm_pvalue, digits)}"
        )
    else:
        lines.append(
            f"F(df1 = {r.qm_df}, df2 = {r.qm_df2:g}) = {_fmt(r.qm, digits)}, "
            f"{_pval_text(r.qm_pvalue, digits)}"
        )
    lines += ["", "Model Results:", ""]
    statname = "zval" if r.test == "z" else "tval"
    header = ["estimate", "se", statname] + (["df"] if r.test != "z" else [])
    header += ["pval", "ci.lb", "ci.ub", ""]
    rows = []
    for j in range(r.p):
        row = [_fmt(r.beta[j], digits), _fmt(r.se[j], digits), _fmt(r.stat[j], digits)]
        if r.test != "z":
            row.append(f"{r.df:g}")
        row += [
            _fmt_p(r.pvalue[j], digits),
            _fmt(r.ci_low[j], digits),
            _fmt(r.ci_high[j], digits),
            _stars(r.pvalue[j]),
        ]
        rows.append(row)
    lines += _table(header, rows, list(r.names))
    lines += ["", "---", "Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1", ""]
    return "\n".join(lines)
