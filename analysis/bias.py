"""Small-study effects: Egger's regression test and the trim-and-fill method.

Both reproduce metafor 3.8-1 (``regtest`` and ``trimfill``) on a pair of vectors ``yi``, ``vi``.
Both are refused below k = 10 studies, the threshold under which the Cochrane Handbook (section
13.3.5.4) advises against tests for funnel plot asymmetry because their power is too low to tell
chance from asymmetry; ``force=True`` runs them anyway and records a warning on the result.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis.pooling import effect_arrays, rma
from analysis.warnings import MetaAnalysisWarning

#: Fewer studies than this and both methods are refused unless ``force=True``.
MIN_STUDIES = 10

MODELS = ("rma", "lm")
PREDICTORS = ("sei", "vi")
SIDES = ("left", "right")
ESTIMATORS = ("L0", "R0", "Q0")


@dataclass(frozen=True)
class EggerResult:
    """Result of Egger's regression test for funnel plot asymmetry.

    Attributes
    ----------
    model : str
        ``"rma"`` (mixed-effects meta-regression) or ``"lm"`` (weighted least squares).
    predictor : str
        ``"sei"`` (Egger's test) or ``"vi"`` (the variance; Moreno et al. 2009).
    method : str or None
        tau2 estimator of the meta-regression (None for ``"lm"``).
    test : str
        ``"z"``, ``"knha"`` or ``"adhoc"`` for ``"rma"``; ``"t"`` for ``"lm"``.
    k : int
        Number of studies.
    stat, pvalue : float
        Test statistic for the predictor's coefficient (z, or t with ``df``) and its two-sided
        p-value.
    df : int or None
        Degrees of freedom of the t statistic (None for a z test).
    slope, slope_se : float
        Coefficient of the predictor and its standard error.
    limit_estimate, limit_ci_low, limit_ci_high : float
        Intercept: the estimate as the standard error (or variance) goes to zero, with its CI
        (metafor's ``est``, ``ci.lb``, ``ci.ub``).
    level : float
        Confidence level of the limit estimate's CI.
    tau2 : float or None
        Residual heterogeneity of the meta-regression (None for ``"lm"``).
    forced : bool
        True when run on fewer than 10 studies because ``force=True`` was passed.
    warnings : tuple of str
        Recoverable events (forced run, perfect fit ...).
    """

    model: str
    predictor: str
    method: str | None
    test: str
    k: int
    stat: float
    pvalue: float
    df: int | None
    slope: float
    slope_se: float
    limit_estimate: float
    limit_ci_low: float
    limit_ci_high: float
    level: float
    tau2: float | None
    forced: bool
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Fields as a plain dict (JSON-serialisable)."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__} | {
            "warnings": list(self.warnings)
        }

    def summary(self) -> str:
        """Text laid out like metafor's ``print.regtest``."""
        if self.model == "rma":
            kind = f"mixed-effects meta-regression model (method = {self.method})"
        else:
            kind = "weighted regression with multiplicative dispersion"
        head = f"Regression Test for Funnel Plot Asymmetry\n\nModel:     {kind}"
        name = {"sei": "standard error", "vi": "sampling variance"}[self.predictor]
        stat_name = "z" if self.df is None else "t"
        df_text = "" if self.df is None else f", df = {self.df}"
        pct = f"{100 * self.level:g}%"
        return (
            f"{head}\nPredictor: {name}\n\n"
            f"Test for Funnel Plot Asymmetry: {stat_name} = {self.stat:.4f}{df_text}, "
            f"p = {self.pvalue:.4f}\n"
            f"Limit Estimate (as {name} approaches zero): b = {self.limit_estimate:.4f} "
            f"(CI: {self.limit_ci_low:.4f}, {self.limit_ci_high:.4f}; {pct})"
        )


@dataclass(frozen=True)
class TrimFillResult:
    """Result of Duval and Tweedie's trim-and-fill method.

    Attributes
    ----------
    k0 : int
        Estimated number of missing studies (imputed on ``side``).
    se_k0 : float
        Standard error of ``k0`` as metafor computes it.
    p_k0 : float or None
        For the R0 estimator, the p-value of the test that no studies are missing.
    side : str
        ``"left"`` or ``"right"``: the side of the funnel plot where studies were imputed.
    estimator : str
        ``"L0"``, ``"R0"`` or ``"Q0"``.
    yi, vi : ndarray
        The observed studies (in input order) followed by the ``k0`` filled ones.
    fill : ndarray of bool
        True for the filled studies.
    slab : tuple of str
        Labels; filled studies are ``"Filled 1"``, ``"Filled 2"`` ...
    result : MetaResult
        The model refitted on observed + filled studies (the original model when ``k0 = 0``).
    original : MetaResult
        The model on the observed studies.
    forced : bool
        True when run on fewer than 10 studies because ``force=True`` was passed.
    warnings : tuple of str
        Recoverable events.
    """

    k0: int
    se_k0: float
    p_k0: float | None
    side: str
    estimator: str
    yi: np.ndarray = field(repr=False)
    vi: np.ndarray = field(repr=False)
    fill: np.ndarray = field(repr=False)
    slab: tuple[str, ...] = field(repr=False)
    result: Any = field(repr=False)
    original: Any = field(repr=False)
    forced: bool = False
    warnings: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """One row per study, observed then filled: slab, yi, vi, sei, filled."""
        return pd.DataFrame(
            {
                "slab": list(self.slab),
                "yi": self.yi,
                "vi": self.vi,
                "sei": np.sqrt(self.vi),
                "filled": self.fill,
            }
        )

    def summary(self) -> str:
        """Text laid out like metafor's ``print.rma.uni.trimfill`` (first lines)."""
        r = self.result
        return (
            f"Estimated number of missing studies on the {self.side} side: {self.k0} "
            f"(SE = {self.se_k0:.4f})\n"
            f"Adjusted estimate ({r.method}, k = {r.k}): {r.estimate:.4f} "
            f"(CI: {r.ci_low:.4f}, {r.ci_high:.4f}), p = {r.pvalue:.4g}"
        )


def _check_option(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))} (got {value!r})")


def _refuse_small_k(what: str, k: int, force: bool) -> tuple[str, ...]:
    """Raise below MIN_STUDIES unless forced; return the warning to record when forced."""
    if k >= MIN_STUDIES:
        return ()
    if not force:
        raise ValueError(
            f"{what} needs at least {MIN_STUDIES} studies (k = {k}); "
            "pass force=True to run it anyway"
        )
    message = (
        f"{what} run on k = {k} studies (fewer than {MIN_STUDIES}, forced): its power is too "
        "low to tell chance from asymmetry (Cochrane Handbook 13.3.5.4)"
    )
    warnings.warn(message, MetaAnalysisWarning, stacklevel=3)
    return (message,)


def egger_test(
    yi: Any,
    vi: Any,
    *,
    model: str = "rma",
    predictor: str = "sei",
    method: str | None = None,
    test: str = "z",
    level: float = 0.95,
    force: bool = False,
    control: dict | str | None = None,
) -> EggerResult:
    """Regression test for funnel plot asymmetry (Egger's test), as metafor's ``regtest``.

    Parameters
    ----------
    yi, vi : array_like
        Effect sizes and their sampling variances (k >= 10 unless ``force``).
    model : {"rma", "lm"}
        ``"rma"`` (default, metafor's default): mixed-effects meta-regression of ``yi`` on the
        predictor, with the tau2 estimator ``method``. ``"lm"``: the classic Egger test, a
        weighted least-squares regression of ``yi`` on the predictor with weights ``1/vi`` and
        a multiplicative dispersion parameter, tested with t on ``k - 2`` df.
    predictor : {"sei", "vi"}
        The standard errors (Egger et al. 1997) or the sampling variances (Moreno et al. 2009).
    method : str, optional
        tau2 estimator of the meta-regression (``"REML"`` when None, as ``regtest`` uses the
        fitted model's method and ``rma``'s default is REML). Only for ``model="rma"``.
    test : {"z", "knha", "adhoc"}
        Inference for the meta-regression coefficients. Only for ``model="rma"``.
    level : float
        Confidence level of the limit estimate's interval.
    force : bool
        Run with fewer than 10 studies (a warning is recorded and raised).
    control : None, "tight", "metafor" or dict, optional
        Stopping rules of the tau2 estimator (see :func:`analysis.pooling.rma`).

    Returns
    -------
    EggerResult

    Raises
    ------
    ValueError
        Below 10 studies without ``force``, with fewer than 3 studies, on invalid options or
        when the predictor is constant (the model is not of full rank).

    Notes
    -----
    With ``model="rma"`` the model is ``yi = b0 + b1 * sei_i + u_i + e_i`` with
    ``u_i ~ N(0, tau2)`` and ``e_i ~ N(0, vi)``; the test is the Wald (or Knapp-Hartung) test
    of ``b1 = 0``. With ``model="lm"`` it is ``yi = b0 + b1 * sei_i + e_i`` with
    ``e_i ~ N(0, phi * vi)``, phi estimated by the weighted residual mean square; this is
    Egger's original regression of the standard normal deviate ``yi / sei`` on precision
    ``1 / sei``, written with the roles of intercept and slope exchanged. In both, ``b0`` is the
    "limit estimate", the expected effect of an infinitely precise study.

    References
    ----------
    Egger M, Davey Smith G, Schneider M, Minder C (1997). Bias in meta-analysis detected by a
    simple, graphical test. BMJ 315:629-634.
    Sterne JAC, Egger M (2005). Regression methods to detect publication and other bias in
    meta-analysis. In: Rothstein, Sutton, Borenstein (eds), Publication Bias in Meta-Analysis.
    Moreno SG et al. (2009). Assessment of regression-based methods to adjust for publication
    bias through a comprehensive simulation study. BMC Med Res Methodol 9:2.
    Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. J Stat Softw
    36(3):1-48.
    """
    _check_option("model", model, MODELS)
    _check_option("predictor", predictor, PREDICTORS)
    yi, vi = effect_arrays(yi, vi)
    k = yi.size
    recorded = _refuse_small_k("Egger's test", k, force)
    if k < 3:
        raise ValueError(f"Egger's test needs at least 3 studies to fit two coefficients (k = {k})")
    x = np.sqrt(vi) if predictor == "sei" else vi
    if np.ptp(x) <= 1e-12 * np.max(np.abs(x)):
        raise ValueError(
            f"the predictor {predictor!r} is the same for every study, so the regression is not "
            "of full rank and there is no asymmetry to test"
        )
    if model == "lm":
        if method is not None:
            raise ValueError("method applies to model='rma' only (model='lm' has no tau2)")
        if test != "z":
            raise ValueError("test applies to model='rma' only (model='lm' always uses t)")
        return _egger_lm(yi, vi, x, predictor, level, recorded)

    method = "REML" if method is None else method
    # rma returns a MetaRegressionResult when mods is given.
    fit: Any = rma(
        yi, vi, mods=x.reshape(-1, 1), method=method, test=test, level=level, control=control
    )
    recorded += tuple(fit.warnings)
    df = getattr(fit, "df", None)
    return EggerResult(
        model="rma",
        predictor=predictor,
        method=method,
        test=test,
        k=k,
        stat=float(fit.stat[1]),
        pvalue=float(fit.pvalue[1]),
        df=None if test == "z" or df is None else int(df),
        slope=float(fit.beta[1]),
        slope_se=float(fit.se[1]),
        limit_estimate=float(fit.beta[0]),
        limit_ci_low=float(fit.ci_low[0]),
        limit_ci_high=float(fit.ci_high[0]),
        level=level,
        tau2=float(fit.tau2),
        forced=k < MIN_STUDIES,
        warnings=recorded,
    )


def _egger_lm(
    yi: np.ndarray,
    vi: np.ndarray,
    x: np.ndarray,
    predictor: str,
    level: float,
    recorded: tuple[str, ...],
) -> EggerResult:
    """Weighted least squares of yi on x with weights 1/vi (R's ``lm(yi ~ x, weights=1/vi)``).

    Fitted by statsmodels' ``WLS`` (QR, as R's lm): its default covariance is the
    multiplicative-dispersion one, ``s2 (X'WX)^-1`` with ``s2`` the weighted residual mean
    square on k - 2 df, and its t tests use k - 2 df, which is what ``regtest(model="lm")``
    reports.
    """
    # only the linear-model module: statsmodels.api would import every submodule (~2 s here)
    from statsmodels.regression.linear_model import WLS

    k = yi.size
    X = np.column_stack([np.ones(k), x])
    fit = WLS(yi, X, weights=1.0 / vi).fit(method="qr")
    beta = np.asarray(fit.params, dtype=float)
    se = np.asarray(fit.bse, dtype=float)
    df = int(fit.df_resid)
    sigma2 = float(fit.scale)
    y = yi / np.sqrt(vi)
    if sigma2 <= (np.finfo(float).eps * np.linalg.norm(y)) ** 2:
        message = (
            "the weighted regression fits the effects exactly (residual variance ~ 0): the t "
            "statistic is undefined"
        )
        warnings.warn(message, MetaAnalysisWarning, stacklevel=3)
        recorded += (message,)
        stat = pvalue = math.nan
    else:
        stat = float(fit.tvalues[1])
        pvalue = float(fit.pvalues[1])
    crit = stats.t.ppf(0.5 + level / 2, df)
    return EggerResult(
        model="lm",
        predictor=predictor,
        method=None,
        test="t",
        k=k,
        stat=stat,
        pvalue=pvalue,
        df=df,
        slope=float(beta[1]),
        slope_se=float(se[1]),
        limit_estimate=float(beta[0]),
        limit_ci_low=float(beta[0] - crit * se[0]),
        limit_ci_high=float(beta[0] + crit * se[0]),
        level=level,
        tau2=None,
        forced=k < MIN_STUDIES,
        warnings=recorded,
    )


def _ranks_first(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties in order of appearance (R's ``rank(ties.method="first")``)."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(values.size, dtype=float)
    ranks[order] = np.arange(1, values.size + 1)
    return ranks


def _estimate_k0(centred: np.ndarray, estimator: str) -> tuple[float, float]:
    """Duval and Tweedie's estimators of the number of missing studies, before rounding."""
    k = centred.size
    signed = np.sign(centred) * _ranks_first(np.abs(centred))
    if estimator == "R0":
        negative = signed[signed < 0]
        # Length of the rightmost run of positive ranks minus one; with no negative rank the
        # run is all k studies (metafor stops with an error here: max() of an empty set).
        longest = float(np.max(-negative)) if negative.size else 0.0
        k0 = (k - longest) - 1
        return k0, math.sqrt(2 * max(0.0, k0) + 2)
    sr = float(np.sum(signed[signed > 0]))
    if estimator == "L0":
        k0 = (4 * sr - k * (k + 1)) / (2 * k - 1)
    else:  # Q0
        k0 = k - 0.5 - _sqrt(2 * k**2 - 4 * sr + 0.25)
    var_sr = (
        k * (k + 1) * (2 * k + 1)
        + 10 * k0**3
        + 27 * k0**2
        + 17 * k0
        - 18 * k * k0**2
        - 18 * k * k0
        + 6 * k**2 * k0
    ) / 24
    if estimator == "L0":
        se_k0 = 4 * _sqrt(var_sr) / (2 * k - 1)
    else:
        se_k0 = 2 * _sqrt(var_sr) / _sqrt((k - 0.5) ** 2 - k0 * (2 * k - k0 - 1))
    return k0, se_k0


def _sqrt(value: float) -> float:
    """R's ``sqrt``: NaN for a negative argument (a far negative k0 makes var(Sr) < 0)."""
    return math.sqrt(value) if value >= 0 else math.nan


def _estimate_side(yi: np.ndarray, vi: np.ndarray, method: str, control: Any) -> str:
    """metafor's default side: regress yi on sei; a negative slope means missing on the right."""
    with warnings.catch_warnings():
        # metafor suppresses the warnings of this auxiliary fit too: only its slope's sign is used.
        warnings.simplefilter("ignore", MetaAnalysisWarning)
        fit: Any = rma(
            yi, vi, mods=np.sqrt(vi).reshape(-1, 1), method=method, tau2_ci=False, control=control
        )
    return "right" if float(fit.beta[1]) < 0 else "left"


def trimfill(
    yi: Any,
    vi: Any,
    *,
    side: str | None = None,
    estimator: str = "L0",
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    slab: Any = None,
    maxiter: int = 100,
    force: bool = False,
    control: dict | str | None = None,
) -> TrimFillResult:
    """Trim-and-fill method of Duval and Tweedie, as metafor's ``trimfill``.

    Parameters
    ----------
    yi, vi : array_like
        Effect sizes and their sampling variances (k >= 10 unless ``force``).
    side : {"left", "right"}, optional
        Side of the funnel plot where studies are missing. By default estimated as metafor
        does: from the sign of the slope of a meta-regression of ``yi`` on ``sqrt(vi)``
        (positive slope: small studies have larger effects, so studies are missing on the
        left).
    estimator : {"L0", "R0", "Q0"}
        Estimator of the number of missing studies (Duval & Tweedie 2000; L0 is the default).
    method : str
        tau2 estimator used both in the trimming iterations and for the final model, as
        metafor uses the input model's method for both.
    test, level : str, float
        Inference of the final model. metafor's refit always uses ``"z"`` and 95%, the defaults
        here; other values are passed to the final ``rma`` only (they do not change k0).
    slab : sequence of str, optional
        Study labels (default ``"Study 1"``, ...).
    maxiter : int
        Cap on trimming iterations.
    force : bool
        Run with fewer than 10 studies (a warning is recorded and raised).
    control : None, "tight", "metafor" or dict, optional
        Stopping rules of every fit (see :func:`analysis.pooling.rma`).

    Returns
    -------
    TrimFillResult

    Raises
    ------
    ValueError
        Below 10 studies without ``force``, with k = 1 or on invalid options.
    RuntimeError
        When the number of missing studies does not settle within ``maxiter`` iterations.

    Notes
    -----
    The studies are sorted by effect (after flipping signs when ``side="right"``, so that
    missing studies are always on the left); then, until ``k0`` stops changing: the model is fit
    to the ``k - k0`` least extreme studies, the effects are centred on its estimate, and
    ``k0`` is re-estimated from the signed ranks of the centred effects. The ``k0`` most extreme
    studies are then mirrored about the last estimate (``2 * beta - yi``, same ``vi``) and the
    model is refit to all ``k + k0`` studies.

    Centred effects within a few ulps of zero are set to exactly zero before ranking. This only
    matters when effects are identical (up to rounding): metafor then ranks rounding noise, and
    its ``k0`` oscillates until it stops with "did not converge"; here ``k0 = 0``.

    References
    ----------
    Duval S, Tweedie R (2000). Trim and fill: a simple funnel-plot-based method of testing and
    adjusting for publication bias in meta-analysis. Biometrics 56:455-463.
    Duval S, Tweedie R (2000). A nonparametric "trim and fill" method of accounting for
    publication bias in meta-analysis. J Am Stat Assoc 95:89-98.
    Duval S (2005). The trim and fill method. In: Rothstein, Sutton, Borenstein (eds),
    Publication Bias in Meta-Analysis. Wiley.
    """
    _check_option("estimator", estimator, ESTIMATORS)
    if side is not None:
        _check_option("side", side, SIDES)
    yi, vi = effect_arrays(yi, vi)
    k = yi.size
    if k < 2:
        raise ValueError(f"trim-and-fill needs at least 2 studies (k = {k})")
    recorded = _refuse_small_k("Trim-and-fill", k, force)
    labels = tuple(f"Study {i + 1}" for i in range(k)) if slab is None else tuple(map(str, slab))
    if len(labels) != k:
        raise ValueError(f"slab has {len(labels)} labels for k = {k} studies")

    original = rma(
        yi, vi, method=method, test=test, level=level, slab=list(labels), control=control
    )
    if side is None:
        side = _estimate_side(yi, vi, method, control)

    flip = -1.0 if side == "right" else 1.0
    ys = flip * yi
    order = np.argsort(ys, kind="stable")
    ys, vs = ys[order], vi[order]
    tiny = 8 * np.finfo(float).eps * max(1.0, float(np.max(np.abs(ys))))

    k0, k0_previous, iteration = 0, -1, 0
    beta = math.nan
    se_k0 = math.nan
    while k0 != k0_previous:
        k0_previous = k0
        iteration += 1
        if iteration > maxiter:
            raise RuntimeError(
                f"Trim-and-fill did not converge: k0 still changing after {maxiter} iterations"
            )
        with warnings.catch_warnings():
            # Interim fits on trimmed data: metafor suppresses their warnings as well.
            warnings.simplefilter("ignore", MetaAnalysisWarning)
            interim: Any = rma(
                ys[: k - k0], vs[: k - k0], method=method, tau2_ci=False, control=control
            )
            beta = float(interim.estimate)
        centred = ys - beta
        centred[np.abs(centred) <= tiny] = 0.0
        k0_raw, se_k0 = _estimate_k0(centred, estimator)
        if math.isnan(k0_raw):
            raise RuntimeError(
                f"Trim-and-fill: the {estimator} estimator is undefined for these data "
                "(square root of a negative number); try estimator='L0'"
            )
        k0 = max(0, _round_half_even(k0_raw))
        se_k0 = se_k0 if math.isnan(se_k0) else max(0.0, se_k0)

    p_k0 = None
    if estimator == "R0":
        # metafor's 1 - sum(choose(m + 1, m + 1) * 0.5^(m + 2)) over m = -1..k0-1 is 0.5^(k0+1).
        p_k0 = 0.5 ** (k0 + 1)

    fill = np.zeros(k, dtype=bool)
    if k0 == 0:
        return TrimFillResult(
            k0=0,
            se_k0=se_k0,
            p_k0=p_k0,
            side=side,
            estimator=estimator,
            yi=yi.copy(),
            vi=vi.copy(),
            fill=fill,
            slab=labels,
            result=original,
            original=original,
            forced=k < MIN_STUDIES,
            warnings=recorded + tuple(original.warnings),
        )
    # Mirror the k0 most extreme studies about the last estimate, back on the original scale.
    filled_y = flip * (2 * beta - ys[k - k0 :])
    filled_v = vs[k - k0 :]
    all_y = np.concatenate([yi, filled_y])
    all_v = np.concatenate([vi, filled_v])
    all_slab = labels + tuple(f"Filled {i + 1}" for i in range(k0))
    result = rma(
        all_y, all_v, method=method, test=test, level=level, slab=list(all_slab), control=control
    )
    return TrimFillResult(
        k0=k0,
        se_k0=se_k0,
        p_k0=p_k0,
        side=side,
        estimator=estimator,
        yi=all_y,
        vi=all_v,
        fill=np.concatenate([fill, np.ones(k0, dtype=bool)]),
        slab=all_slab,
        result=result,
        original=original,
        forced=k < MIN_STUDIES,
        warnings=recorded + tuple(result.warnings),
    )


def _round_half_even(value: float) -> int:
    """R's ``round``: halves go to the even neighbour (IEC 60559), as Python's ``round``."""
    return round(value)
