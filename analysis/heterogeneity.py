"""Heterogeneity statistics: Cochran's Q, I2 and H2, the Q-profile CI and the prediction interval.

Each function reproduces what metafor 3.8-1 reports: ``rma.uni`` for Q, I2 and H2,
``confint.rma.uni`` (its default ``type="QP"``) for the confidence intervals of tau2, I2 and
H2, and ``predict.rma`` for the prediction interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from analysis.tau2 import _Projection, q_generalized, resolve_control, uniroot


@dataclass(frozen=True)
class QTest:
    """Cochran's Q (QE with moderators), its df and p-value, and the typical variance ``vt``."""

    q: float
    df: int
    pvalue: float
    vt: float


@dataclass(frozen=True)
class Tau2Interval:
    """Q-profile confidence interval for tau2 and the implied intervals for I2 and H2.

    ``lb_sign``/``ub_sign`` are metafor's markers: ``"<"`` when the bound is below the
    searched interval (the CI is empty or is set to the lower limit 0), ``">"`` when it lies
    above ``tau2_max``; ``ci_null`` is True when the whole CI is below zero and reported as
    {0, 0}.
    """

    tau2_low: float
    tau2_high: float
    i2_low: float
    i2_high: float
    h2_low: float
    h2_high: float
    lb_sign: str = ""
    ub_sign: str = ""
    ci_null: bool = False
    converged: bool = True


def q_test(yi: np.ndarray, vi: np.ndarray, X: np.ndarray) -> QTest:
    """Cochran's Q test for (residual) heterogeneity.

    Parameters
    ----------
    yi, vi : ndarray
        Effect sizes and sampling variances (all > 0).
    X : ndarray
        Design matrix (k x p).

    Returns
    -------
    QTest
        ``q`` (truncated below at 0 as metafor does), ``df = k - p``, the chi-square p-value,
        and ``vt = (k - p) / tr(P)``, the "typical within-study variance" of Higgins and
        Thompson (2002) generalised to meta-regression (metafor's default ``i2def``).
        For k = p, Q = 0 with p-value 1 and vt = 0, as in metafor.

    References
    ----------
    Cochran, W. G. (1954). Biometrics, 10, 101-129.
    Higgins, J. P. T., & Thompson, S. G. (2002). Statistics in Medicine, 21, 1539-1558.
    """
    k, p = X.shape
    if k <= p:
        return QTest(0.0, 0, 1.0, 0.0)
    proj = _Projection(1.0 / vi, X)
    yc = yi - yi.mean()
    q = max(0.0, proj.ypy(yc))
    return QTest(q, k - p, float(special.chdtrc(k - p, q)), (k - p) / proj.tr_pa())


def i2_h2(tau2: float, qt: QTest, fixed: bool) -> tuple[float, float]:
    """I2 (percent) and H2 as metafor computes them.

    Parameters
    ----------
    tau2 : float
        Estimated tau2.
    qt : QTest
        Result of :func:`q_test`.
    fixed : bool
        True for the FE model, where I2 and H2 come from Q instead of tau2.

    Returns
    -------
    i2, h2 : float

    Notes
    -----
    Random effects: ``I2 = 100 tau2 / (vt + tau2)``, ``H2 = tau2 / vt + 1``.
    Fixed effect: ``I2 = max(0, 100 (Q - df) / Q)``, ``H2 = Q / df``.
    """
    if qt.df == 0:
        return 0.0, 1.0
    if fixed:
        i2 = 0.0 if qt.q == 0 else max(0.0, 100.0 * (qt.q - qt.df) / qt.q)
        return i2, qt.q / qt.df
    return 100.0 * tau2 / (qt.vt + tau2), tau2 / qt.vt + 1.0


def tau2_qprofile_ci(
    yi: np.ndarray,
    vi: np.ndarray,
    X: np.ndarray,
    tau2: float,
    vt: float,
    level: float = 0.95,
    tau2_min: float | None = None,
    tau2_max: float | None = None,
    control: dict | str | None = None,
) -> Tau2Interval:
    """Q-profile confidence interval for tau2 (metafor's ``confint(rma)``, type "QP").

    Parameters
    ----------
    yi, vi : ndarray
        Effect sizes and sampling variances (all > 0).
    X : ndarray
        Design matrix (k x p), k > p.
    tau2 : float
        The model's tau2 estimate (sets the default search interval).
    vt : float
        Typical within-study variance (see :func:`q_test`) for the I2 and H2 bounds.
    level : float
        Confidence level.
    tau2_min, tau2_max : float, optional
        Search interval; metafor's defaults ``min(0, tau2)`` and ``max(100, 10 tau2)``.
    control : None, "tight", "metafor" or dict, optional
        Root-finding tolerance (``tol``) and cap (``ci_maxiter``), as for
        :func:`analysis.tau2.estimate_tau2`: by default ``tol = 1e-12`` (the bounds are exact
        to about 1e-12); ``"metafor"`` uses confint's ``eps^0.25`` and 1000 iterations.

    Returns
    -------
    Tau2Interval

    Notes
    -----
    The bounds solve ``Q(tau2) = chi2_{k-p; 1-a/2}`` (lower) and ``chi2_{k-p; a/2}`` (upper)
    with R's ``uniroot`` (metafor's tolerance ``eps^0.25`` or the tight 1e-12), where ``Q(tau2)``
    is the generalized Q statistic. When ``Q(0)`` is below the upper quantile the lower bound
    is 0; when it is below the lower quantile both bounds are 0 (the CI is "empty", metafor
    prints it as {0, 0} with ``ci.null``); when ``Q(tau2_max)`` stays above a quantile the
    bound is ``tau2_max`` (metafor's ">" sign).

    References
    ----------
    Viechtbauer, W. (2007). Confidence intervals for the amount of heterogeneity in
    meta-analysis. Statistics in Medicine, 26, 37-52.
    """
    k, p = X.shape
    tmin = min(0.0, tau2) if tau2_min is None else tau2_min
    tmax = max(100.0, tau2 * 10.0, tmin * 10.0) if tau2_max is None else tau2_max
    con = resolve_control(control)
    tol, maxiter = con["tol"], con["ci_maxiter"]
    alpha = 1.0 - level
    # the calls behind scipy.stats' chi2.isf and chi2.ppf, without importing scipy.stats
    crit_u = float(special.chdtri(k - p, alpha / 2))
    crit_l = float(special.chdtri(k - p, 1.0 - alpha / 2))
    q_max = q_generalized(tmax, yi, vi, X)
    q_min = q_generalized(tmin, yi, vi, X)
    lb = ub = math.nan
    lb_sign = ub_sign = ""
    ci_null = False
    conv = True

    def root(target):
        return uniroot(lambda t: q_generalized(t, yi, vi, X) - target, tmin, tmax, tol, maxiter)[0]

    if q_min < crit_l:
        lb = ub = tmin
        lb_sign = ub_sign = "<"
        ci_null = tmin <= 0
    elif q_max > crit_l:
        ub = tmax
        ub_sign = ">"
    else:
        try:
            ub = root(crit_l)
        except ValueError:
            conv = False
    if q_max > crit_u:
        lb = ub = tmax
        lb_sign = ub_sign = ">"
    elif q_min < crit_u:
        lb = tmin
        if tmin > 0:
            lb_sign = "<"
    else:
        try:
            lb = root(crit_u)
        except ValueError:
            conv = False

    def i2(t):
        return 100.0 * t / (vt + t)

    def h2(t):
        return t / vt + 1.0

    return Tau2Interval(lb, ub, i2(lb), i2(ub), h2(lb), h2(ub), lb_sign, ub_sign, ci_null, conv)


def prediction_interval(
    estimate: float, se: float, tau2: float, crit: float
) -> tuple[float, float]:
    """Prediction interval for the true effect in a new study (metafor's ``predict``).

    Parameters
    ----------
    estimate, se : float
        Pooled estimate and its standard error (already scaled for Knapp-Hartung).
    tau2 : float
        Between-study variance.
    crit : float
        Critical value: the normal quantile for ``test="z"``, the t quantile with k - p df
        for ``test="knha"``/``"adhoc"`` (as metafor's default ``pi.type``).

    Returns
    -------
    low, high : float
        ``estimate -/+ crit * sqrt(se^2 + tau2)``.

    References
    ----------
    Riley, R. D., Higgins, J. P. T., & Deeks, J. J. (2011). BMJ, 342, d549.
    """
    half = crit * math.sqrt(se * se + tau2)
    return estimate - half, estimate + half
