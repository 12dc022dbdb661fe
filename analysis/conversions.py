"""Conversions between reported statistics (Cochrane Handbook, chapter 6).

Studies rarely report exactly the mean, SD and n per arm that an effect size needs. Each
function here derives one missing quantity and returns a :class:`Derived` that says how:
the method, every assumption made (which distribution, which correlation, which bound) and
the reference, so the pipeline can write them to the derivation ledger
(``data/processed/effects/derivations.csv``).

All functions accept scalars or NumPy arrays (broadcast together); missing values (NaN)
propagate. Impossible inputs (a negative SD, a CI whose lower limit exceeds its upper limit,
a p-value outside (0, 1)) raise ``ValueError`` naming the argument and the value.
"""

from __future__ import annotations

import itertools
import json
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from analysis.warnings import DataWarning

__all__ = [
    "SMALL_SAMPLE_N",
    "Derived",
    "MeanSD",
    "combine_groups",
    "convert_unit",
    "correlation_from_sds",
    "difference_in_change",
    "mean_sd_from_median",
    "percent_change",
    "sd_change",
    "sd_from_se",
    "se_difference",
    "se_from_ci",
    "se_from_p",
    "se_from_sd",
]

HANDBOOK = (
    "Higgins JPT, Li T, Deeks JJ (eds). Chapter 6: Choosing effect measures and computing "
    "estimates of effect. Cochrane Handbook for Systematic Reviews of Interventions v6.4, 2023"
)

#: Below this many participants (per group) a CI is taken to have been built from a t
#: distribution (Cochrane Handbook 6.5.2.2: "say fewer than 60 participants in each group").
SMALL_SAMPLE_N = 60


@dataclass(frozen=True)
class Derived:
    """A derived quantity with the record of how it was derived.

    Attributes
    ----------
    value : float or numpy.ndarray
        The derived quantity (what the function's name says it returns).
    se : float or numpy.ndarray or None
        Standard error of ``value`` when the derivation gives one, else None.
    method : str
        Short name of the method, e.g. ``"se_from_ci (t, df = n - 1)"``.
    assumptions : dict
        Everything assumed or chosen, JSON-serialisable (see :meth:`assumptions_json`).
    reference : str
        Where the method is described.
    """

    value: Any
    se: Any = None
    method: str = ""
    assumptions: dict[str, Any] = field(default_factory=dict)
    reference: str = ""

    def assumptions_json(self) -> str:
        """The assumptions as one JSON string with sorted keys, for the ledger."""
        return json.dumps(_jsonable(self.assumptions), sort_keys=True)


@dataclass(frozen=True)
class MeanSD(Derived):
    """A derived group mean (``value``) together with the group's SD and size.

    A :class:`Derived` whose ``value`` is the mean, so it goes to the ledger like any other;
    ``se`` is None (the SD is not a standard error). ``method``, ``assumptions`` and
    ``reference`` cover both the mean and the SD.

    Attributes
    ----------
    sd : float or numpy.ndarray
        The group's standard deviation.
    n : float or numpy.ndarray
        The group's sample size.
    """

    sd: Any = None
    n: Any = None


# --- SE, SD, CI and p ---------------------------------------------------------------------


def se_from_sd(sd: ArrayLike, n: ArrayLike) -> Derived:
    """Standard error of a mean from the SD: ``SE = SD / sqrt(n)``.

    Parameters
    ----------
    sd : array_like
        Standard deviation of the observations (>= 0).
    n : array_like
        Number of observations (> 0).

    Returns
    -------
    Derived
        ``value`` is the SE.

    References
    ----------
    Cochrane Handbook, section 6.5.2.2.
    """
    sd_, n_ = _nonnegative("sd", sd), _positive("n", n)
    return Derived(
        value=_out(sd_ / np.sqrt(n_)),
        method="se_from_sd: SE = SD / sqrt(n)",
        assumptions={"n": _jsonable(n_)},
        reference=f"{HANDBOOK}, section 6.5.2.2",
    )


def sd_from_se(se: ArrayLike, n: ArrayLike) -> Derived:
    """Standard deviation from the standard error of a mean: ``SD = SE * sqrt(n)``.

    Parameters
    ----------
    se : array_like
        Standard error of the group mean (>= 0).
    n : array_like
        Number of observations in the group (> 0).

    Returns
    -------
    Derived
        ``value`` is the SD.

    Notes
    -----
    Only for the SE of a *single group's* mean; an SE of a difference between groups needs
    the formula of Handbook 6.5.2.3 instead.

    References
    ----------
    Cochrane Handbook, section 6.5.2.2.
    """
    se_, n_ = _nonnegative("se", se), _positive("n", n)
    return Derived(
        value=_out(se_ * np.sqrt(n_)),
        method="sd_from_se: SD = SE * sqrt(n)",
        assumptions={"n": _jsonable(n_)},
        reference=f"{HANDBOOK}, section 6.5.2.2",
    )


def se_from_ci(
    low: ArrayLike,
    high: ArrayLike,
    n: ArrayLike | None = None,
    df: ArrayLike | None = None,
    level: float = 0.95,
    *,
    log_scale: bool = False,
) -> Derived:
    """Standard error from a confidence interval: ``SE = (high - low) / (2 q)``.

    Parameters
    ----------
    low, high : array_like
        Limits of the confidence interval.
    n : array_like, optional
        Sample size behind the interval (one group's n for a group mean). Below
        :data:`SMALL_SAMPLE_N` the quantile is taken from a t distribution with n - 1 df.
    df : array_like, optional
        Degrees of freedom of a t-based interval (e.g. n1 + n2 - 2 for a difference between
        two groups). Overrides ``n``.
    level : float, default 0.95
        Confidence level of the interval.
    log_scale : bool, default False
        For ratio measures (OR, RR, ratio of means): take logs of the limits first, so the SE
        is that of the log ratio (Handbook 6.3.2).

    Returns
    -------
    Derived
        ``value`` is the SE; ``assumptions`` record the distribution (``"t"`` or
        ``"normal"``), ``df``, the quantile ``q``, ``level`` and ``log_scale``.

    Notes
    -----
    ``q`` is the ``(1 + level)/2`` quantile: of the normal distribution (1.96 for 95%) when
    neither ``df`` nor a small ``n`` is given, otherwise of the t distribution with ``df`` (or
    n - 1) degrees of freedom, as Handbook 6.5.2.2 prescribes for small samples (for n = 25,
    q = 2.0639 instead of 1.96). With no ``n`` and no ``df``, the normal quantile is an
    assumption and is recorded as one.

    References
    ----------
    Cochrane Handbook, sections 6.3.2, 6.5.2.2 and 6.5.2.3.
    """
    if not 0 < level < 1:
        raise ValueError(f"level: {level!r} must lie strictly between 0 and 1")
    lo, hi = _array("low", low), _array("high", high)
    if log_scale:
        _first_bad("low", lo, lo <= 0, "a ratio's CI limit must be > 0 for log_scale=True")
        _first_bad("high", hi, hi <= 0, "a ratio's CI limit must be > 0 for log_scale=True")
        lo, hi = np.log(lo), np.log(hi)
    _first_bad("high", hi, hi < lo, "the upper CI limit is below the lower limit")

    if df is not None:
        dof = _positive("df", df)
        source = "given"
    elif n is not None:
        n_ = _array("n", n)
        _first_bad("n", n_, n_ < 2, "a CI needs n >= 2")
        dof = np.where(n_ < SMALL_SAMPLE_N, n_ - 1, np.inf)
        source = f"n - 1 when n < {SMALL_SAMPLE_N}, else normal"
    else:
        dof = np.array(np.inf)
        source = "no n or df given: normal quantile assumed"
    p = (1 + level) / 2
    q = np.where(np.isinf(dof), stats.norm.ppf(p), stats.t.ppf(p, np.where(np.isinf(dof), 1, dof)))
    dist = np.where(np.isinf(dof), "normal", "t")
    return Derived(
        value=_out((hi - lo) / (2 * q)),
        method="se_from_ci: SE = (high - low) / (2 q)",
        assumptions={
            "distribution": _collapse(dist),
            "df": _collapse(np.array([None if np.isinf(d) else d for d in np.ravel(dof)])),
            "df_source": source,
            "q": _collapse(q),
            "level": level,
            "log_scale": log_scale,
        },
        reference=f"{HANDBOOK}, sections 6.3.2 and 6.5.2.2",
    )


def se_from_p(
    estimate: ArrayLike,
    p: ArrayLike,
    df: ArrayLike | None = None,
    two_sided: bool = True,
    bound: str = "=",
) -> Derived:
    """Standard error of an estimate from its p-value: ``SE = |estimate| / statistic``.

    Parameters
    ----------
    estimate : array_like
        The estimate the p-value tests against zero (a log ratio for ratio measures);
        must not be 0.
    p : array_like
        The p-value, in (0, 1).
    df : array_like, optional
        Degrees of freedom of a t test; without it the test is taken as a z test.
    two_sided : bool, default True
        Whether ``p`` is two-sided.
    bound : {"=", "<", ">"}, default "="
        How ``p`` was reported: exactly, or as a bound (``p < 0.05`` is ``p=0.05,
        bound="<"``). A p below a bound means a statistic above the matching quantile, so the
        SE is an *upper* bound (the most conservative SE consistent with the report); ``">"``
        gives a lower bound.

    Returns
    -------
    Derived
        ``value`` is the SE; ``assumptions`` record the statistic (``"z"`` or ``"t"``), df,
        sidedness, ``bound`` and ``se_is`` (``"exact"``, ``"upper bound"``, ``"lower bound"``).

    Notes
    -----
    The statistic is the ``1 - p/2`` (two-sided) or ``1 - p`` (one-sided) quantile of the
    normal or t distribution (Handbook 6.3.2 and 6.5.2.3). The p-value must belong to the
    estimate given (same comparison, same scale); a p from a different test (e.g. a
    Wilcoxon test, or ANCOVA for a difference of raw changes) gives only an approximation,
    which the caller should note.

    References
    ----------
    Cochrane Handbook, sections 6.3.2 and 6.5.2.3.
    """
    if bound not in ("=", "<", ">"):
        raise ValueError(f"bound: {bound!r} is not one of '=', '<', '>'")
    est, p_ = _array("estimate", estimate), _array("p", p)
    _first_bad("p", p_, (p_ <= 0) | (p_ >= 1), "a p-value must lie strictly between 0 and 1")
    _first_bad("estimate", est, est == 0, "an estimate of 0 carries no information on its SE")
    tail = p_ / 2 if two_sided else p_
    if df is None:
        stat = stats.norm.isf(tail)
        kind, dof = "z", None
    else:
        dof = _positive("df", df)
        stat = stats.t.isf(tail, dof)
        kind = "t"
    se_is = {"=": "exact", "<": "upper bound", ">": "lower bound"}[bound]
    return Derived(
        value=_out(np.abs(est) / stat),
        method=f"se_from_p: SE = |estimate| / {kind}",
        assumptions={
            "statistic": kind,
            "df": _jsonable(dof),
            "two_sided": two_sided,
            "bound": bound,
            "se_is": se_is,
            "stat": _collapse(stat),
        },
        reference=f"{HANDBOOK}, sections 6.3.2 and 6.5.2.3",
    )


# --- change from baseline -----------------------------------------------------------------


def sd_change(
    sd_baseline: ArrayLike, sd_final: ArrayLike, r: ArrayLike, r_source: str | None = None
) -> Derived:
    """SD of the change from baseline from the baseline and final SDs and their correlation.

    Parameters
    ----------
    sd_baseline, sd_final : array_like
        SDs at baseline and at the final time point (>= 0).
    r : array_like
        Correlation between baseline and final measurements, in [-1, 1]. Rarely reported:
        usually imputed from another study or assumed (e.g. 0.5); say which in ``r_source``.
    r_source : str, optional
        Where ``r`` comes from, recorded in the assumptions.

    Returns
    -------
    Derived
        ``value`` is ``sqrt(sd_baseline² + sd_final² - 2 r sd_baseline sd_final)``.

    References
    ----------
    Cochrane Handbook, section 6.5.2.8.
    """
    sdb, sdf = _nonnegative("sd_baseline", sd_baseline), _nonnegative("sd_final", sd_final)
    r_ = _correlation("r", r)
    return Derived(
        value=_out(np.sqrt(sdb**2 + sdf**2 - 2 * r_ * sdb * sdf)),
        method="sd_change: sqrt(SD_B² + SD_F² - 2 r SD_B SD_F)",
        assumptions={"r": _jsonable(r_), "r_source": r_source or "not stated"},
        reference=f"{HANDBOOK}, section 6.5.2.8",
    )


def correlation_from_sds(
    sd_baseline: ArrayLike, sd_final: ArrayLike, sd_change: ArrayLike
) -> Derived:
    """Correlation between baseline and final values implied by the three SDs.

    Parameters
    ----------
    sd_baseline, sd_final, sd_change : array_like
        SDs at baseline, at the final time point and of the change (> 0), from one group of
        one study that reports all three.

    Returns
    -------
    Derived
        ``value`` is ``(SD_B² + SD_F² - SD_change²) / (2 SD_B SD_F)``.

    Warns
    -----
    DataWarning
        When the result lies outside [-1, 1], a sign that the three SDs are inconsistent
        (different samples or rounding); the value is returned unclipped.

    References
    ----------
    Cochrane Handbook, section 6.5.2.8.
    """
    sdb, sdf = _positive("sd_baseline", sd_baseline), _positive("sd_final", sd_final)
    sdc = _nonnegative("sd_change", sd_change)
    r = (sdb**2 + sdf**2 - sdc**2) / (2 * sdb * sdf)
    # A hair above 1 is rounding (e.g. r = ±1 reconstructed from SDs), not inconsistency.
    outside = np.abs(r) > 1 + 1e-9
    if outside.any():
        warnings.warn(
            f"correlation_from_sds: implied correlation {_collapse(r)} lies outside [-1, 1]; "
            "the three SDs are inconsistent",
            DataWarning,
            stacklevel=2,
        )
    return Derived(
        value=_out(r),
        method="correlation_from_sds: (SD_B² + SD_F² - SD_change²) / (2 SD_B SD_F)",
        assumptions={"outside_minus1_1": _collapse(outside)},
        reference=f"{HANDBOOK}, section 6.5.2.8",
    )


def se_difference(se1: ArrayLike, se2: ArrayLike) -> Derived:
    """SE of a difference between two independent estimates: ``sqrt(se1² + se2²)``.

    Parameters
    ----------
    se1, se2 : array_like
        Standard errors of the two estimates (e.g. mean changes in the two arms).

    Returns
    -------
    Derived
        ``value`` is the SE of the difference.

    Notes
    -----
    Assumes the two estimates are independent, which holds for two randomized arms; it does
    not hold for two time points within one arm (use :func:`sd_change` there).

    References
    ----------
    Cochrane Handbook, section 6.5.2.3.
    """
    a, b = _nonnegative("se1", se1), _nonnegative("se2", se2)
    return Derived(
        value=_out(np.sqrt(a**2 + b**2)),
        method="se_difference: sqrt(SE1² + SE2²)",
        assumptions={"independent": True},
        reference=f"{HANDBOOK}, section 6.5.2.3",
    )


def difference_in_change(
    change1: ArrayLike, se1: ArrayLike, change2: ArrayLike, se2: ArrayLike
) -> Derived:
    """Difference in mean change between two independent arms, with its SE.

    Parameters
    ----------
    change1, se1 : array_like
        Mean change from baseline in arm 1 (treatment) and its SE.
    change2, se2 : array_like
        The same for arm 2 (control).

    Returns
    -------
    Derived
        ``value = change1 - change2``, ``se = sqrt(se1² + se2²)``.

    References
    ----------
    Cochrane Handbook, sections 6.5.2.3 and 6.5.2.8.
    """
    c1, c2 = _array("change1", change1), _array("change2", change2)
    se = se_difference(se1, se2)
    return Derived(
        value=_out(c1 - c2),
        se=se.value,
        method="difference_in_change: change1 - change2, SE = sqrt(SE1² + SE2²)",
        assumptions={"independent": True},
        reference=se.reference,
    )


def percent_change(
    mean_baseline: ArrayLike,
    mean_final: ArrayLike,
    se_baseline: ArrayLike,
    se_final: ArrayLike,
    r: ArrayLike,
    r_source: str | None = None,
) -> Derived:
    """Percent change of a group mean from baseline, with a delta-method SE.

    Parameters
    ----------
    mean_baseline, mean_final : array_like
        Group means at baseline (must be > 0) and at the final time point.
    se_baseline, se_final : array_like
        Standard errors of those means (SD / sqrt(n)).
    r : array_like
        Correlation between baseline and final measurements of the same people (equal to the
        correlation of the two sample means when the same people are measured twice); usually
        imputed, say from where in ``r_source``. Use 0 for independent samples.
    r_source : str, optional
        Where ``r`` comes from, recorded in the assumptions.

    Returns
    -------
    Derived
        ``value = 100 (mean_final / mean_baseline - 1)`` and its ``se``.

    Notes
    -----
    With R = M_F / M_B, a first-order Taylor expansion (delta method) gives
    ``Var(R) ≈ R² (SE_F²/M_F² + SE_B²/M_B² - 2 r SE_F SE_B / (M_F M_B))``, so

    ``SE(%) = 100 sqrt(SE_F²/M_B² + M_F² SE_B²/M_B⁴ - 2 r M_F SE_F SE_B / M_B³)``.

    This is ``100 R`` times the SE of the log ratio of means of paired data (metafor's
    ``"ROMC"``, Lajeunesse 2011). It is the percent change *of the mean*, which differs from
    the mean of individual percent changes that some studies report; it needs
    SE_B/M_B small (say < 0.2) for the linearisation to hold.

    References
    ----------
    Oehlert, G. W. (1992). A note on the delta method. The American Statistician, 46(1), 27-29.
    Lajeunesse, M. J. (2011). On the meta-analysis of response ratios for studies with
    correlated and multi-group designs. Ecology, 92(11), 2049-2055.
    """
    mb, mf = _array("mean_baseline", mean_baseline), _array("mean_final", mean_final)
    _first_bad("mean_baseline", mb, mb <= 0, "a percent change needs a baseline mean > 0")
    seb, sef = _nonnegative("se_baseline", se_baseline), _nonnegative("se_final", se_final)
    r_ = _correlation("r", r)
    var = sef**2 / mb**2 + mf**2 * seb**2 / mb**4 - 2 * r_ * mf * sef * seb / mb**3
    return Derived(
        value=_out(100 * (mf / mb - 1)),
        se=_out(100 * np.sqrt(np.maximum(var, 0))),
        method="percent_change: 100 (M_F / M_B - 1), delta-method SE",
        assumptions={
            "r": _jsonable(r_),
            "r_source": r_source or "not stated",
            "scale": "percent change of the group mean",
            "se_baseline_over_mean": _collapse(seb / mb),
        },
        reference="Delta method: Oehlert 1992, Am Stat 46:27-29; cf. ROMC, Lajeunesse 2011, "
        "Ecology 92:2049-2055",
    )


# --- medians, quartiles, ranges -------------------------------------------------------------

_WAN = (
    "Wan X, Wang W, Liu J, Tong T. Estimating the sample mean and standard deviation from the "
    "sample size, median, range and/or interquartile range. BMC Med Res Methodol 2014;14:135"
)
_LUO = (
    "Luo D, Wan X, Liu J, Tong T. Optimally estimating the sample mean from the sample size, "
    "median, mid-range, and/or mid-quartile range. Stat Methods Med Res 2018;27:1785-1805"
)
_SHI = (
    "Shi J, Luo D, Weng H, et al. Optimally estimating the sample standard deviation from the "
    "five-number summary. Res Synth Methods 2020;11:641-654"
)
_SKEW = (
    "Shi J, Luo D, Wan X, et al. Detecting the skewness of data from the five-number summary "
    "and its application in meta-analysis. Stat Methods Med Res 2023;32:1338-1360 "
    "(criteria as in metafor >= 4.0 conv.fivenum)"
)


def mean_sd_from_median(
    n: ArrayLike,
    median: ArrayLike,
    q1: ArrayLike | None = None,
    q3: ArrayLike | None = None,
    minimum: ArrayLike | None = None,
    maximum: ArrayLike | None = None,
) -> MeanSD:
    """Estimate a sample mean and SD from the median with the range and/or quartiles.

    Parameters
    ----------
    n : array_like
        Sample size; estimates are NaN (with a warning) for n < 5, as in metafor.
    median : array_like
        Sample median.
    q1, q3 : array_like, optional
        First and third quartiles.
    minimum, maximum : array_like, optional
        Smallest and largest observations.

    Returns
    -------
    MeanSD
        ``value`` is the mean (Luo et al. 2018), ``sd`` the SD (Wan et al. 2014 for
        scenarios 1 and 2, Shi et al. 2020 for scenario 3), ``n`` the sample size;
        ``assumptions`` name the scenario, state normality and carry the skewness test.

    Raises
    ------
    ValueError
        If neither a full range nor both quartiles are given, only one end of the range or
        one quartile is given, or the numbers are not ordered
        ``minimum <= q1 <= median <= q3 <= maximum``.

    Warns
    -----
    DataWarning
        When the skewness test rejects normality (the estimates are still returned; the
        Handbook advises caution) or n < 5.

    Notes
    -----
    Scenarios (a, b: minimum, maximum; m: median; ξ(n) = 2 Φ⁻¹((n - 0.375)/(n + 0.25)),
    η(n) = 2 Φ⁻¹((0.75 n - 0.125)/(n + 0.25))):

    * S1 {a, m, b}: mean = w (a + b)/2 + (1 - w) m with w = 4/(4 + n^0.75);
      SD = (b - a)/ξ(n).
    * S2 {q1, m, q3}: mean = w (q1 + q3)/2 + (1 - w) m with w = 0.7 + 0.39/n;
      SD = (q3 - q1)/η(n).
    * S3 {a, q1, m, q3, b}: mean = w1 (a + b)/2 + w2 (q1 + q3)/2 + (1 - w1 - w2) m with
      w1 = 2.2/(2.2 + n^0.75), w2 = 0.7 - 0.72/n^0.55;
      SD = w (b - a)/ξ(n) + (1 - w)(q3 - q1)/η(n) with w = 1/(1 + 0.07 n^0.6).

    All assume normally distributed data. The skewness test (statistic T against critical
    value c(n), Shi et al. 2023) is recorded as ``skew_stat``, ``skew_crit`` and ``skewed``.
    These are the formulas of metafor >= 4.0's ``conv.fivenum(method="rec")``; metafor 3.8.1
    has no such function, so the tests check them against an independent R coding.

    References
    ----------
    Wan et al. (2014), BMC Medical Research Methodology 14:135.
    Luo et al. (2018), Statistical Methods in Medical Research 27(6):1785-1805.
    Shi et al. (2020), Research Synthesis Methods 11(5):641-654.
    Cochrane Handbook, section 6.5.2.5.
    """
    given = [
        name
        for name, v in (("q1", q1), ("q3", q3), ("minimum", minimum), ("maximum", maximum))
        if v is not None
    ]
    has_range = minimum is not None and maximum is not None
    has_iqr = q1 is not None and q3 is not None
    half_pair = (minimum is None) != (maximum is None) or (q1 is None) != (q3 is None)
    if not (has_range or has_iqr) or half_pair:
        raise ValueError(
            "mean_sd_from_median needs minimum and maximum, or q1 and q3, or all four; got "
            + (", ".join(given) or "none of them")
        )
    n_ = _positive("n", n)
    m = _array("median", median)
    # Absent numbers are NaN: they drop out of the order check (NaN compares False) and are
    # never used by the scenario that applies.
    a = _array("minimum", np.nan if minimum is None else minimum)
    b = _array("maximum", np.nan if maximum is None else maximum)
    lo_q = _array("q1", np.nan if q1 is None else q1)
    hi_q = _array("q3", np.nan if q3 is None else q3)
    _check_order([("minimum", a), ("q1", lo_q), ("median", m), ("q3", hi_q), ("maximum", b)])

    n_ok = np.where(n_ >= 5, n_, np.nan)
    if np.any(n_ < 5):
        warnings.warn(
            "mean_sd_from_median: n < 5, mean and SD not estimated (NaN)", DataWarning, stacklevel=2
        )
    # A range or IQR of zero width makes the skewness statistic 0/0: NaN, not an error.
    with np.errstate(divide="ignore", invalid="ignore"):
        xi = 2 * stats.norm.ppf((n_ok - 0.375) / (n_ok + 0.25))
        eta = 2 * stats.norm.ppf((0.75 * n_ok - 0.125) / (n_ok + 0.25))

        if has_range and has_iqr:
            scenario = "S3: minimum, q1, median, q3, maximum"
            w1 = 2.2 / (2.2 + n_ok**0.75)
            w2 = 0.7 - 0.72 / n_ok**0.55
            mean = w1 * (a + b) / 2 + w2 * (lo_q + hi_q) / 2 + (1 - w1 - w2) * m
            w = 1 / (1 + 0.07 * n_ok**0.6)
            sd = w * (b - a) / xi + (1 - w) * (hi_q - lo_q) / eta
            sd_method, sd_ref = "Shi 2020 (S3)", _SHI
            skew = np.maximum(
                2.65 * np.log(0.6 * n_ok) / np.sqrt(n_ok) * np.abs((a + b - 2 * m) / (b - a)),
                np.abs((lo_q + hi_q - 2 * m) / (hi_q - lo_q)),
            )
            crit = 3 / np.sqrt(n_ok) - 40 / n_ok**3
        elif has_range:
            scenario = "S1: minimum, median, maximum"
            w = 4 / (4 + n_ok**0.75)
            mean = w * (a + b) / 2 + (1 - w) * m
            sd = (b - a) / xi
            sd_method, sd_ref = "Wan 2014 (S1)", _WAN
            skew = np.abs((a + b - 2 * m) / (b - a))
            crit = 1 / np.log(n_ok + 9) + 2.5 / (n_ok + 1)
        else:
            scenario = "S2: q1, median, q3"
            w = 0.7 + 0.39 / n_ok
            mean = w * (lo_q + hi_q) / 2 + (1 - w) * m
            sd = (hi_q - lo_q) / eta
            sd_method, sd_ref = "Wan 2014 (S2)", _WAN
            skew = np.abs((lo_q + hi_q - 2 * m) / (hi_q - lo_q))
            crit = 2.65 / np.sqrt(n_ok) - 6 / n_ok**2

    skewed = skew >= crit
    if np.any(skewed):
        warnings.warn(
            f"mean_sd_from_median: skewness test rejects normality ({scenario}); "
            "the estimated mean and SD may be poor",
            DataWarning,
            stacklevel=2,
        )
    return MeanSD(
        value=_out(mean),
        sd=_out(sd),
        n=_out(n_),
        method=f"mean_sd_from_median: mean by Luo 2018, SD by {sd_method}",
        assumptions={
            "scenario": scenario,
            "distribution": "normal",
            "skew_stat": _collapse(skew),
            "skew_crit": _collapse(crit),
            "skewed": _collapse(skewed),
            "skew_reference": _SKEW,
        },
        reference=f"{_LUO}; {sd_ref}",
    )


def combine_groups(
    n1: ArrayLike, m1: ArrayLike, sd1: ArrayLike, n2: ArrayLike, m2: ArrayLike, sd2: ArrayLike
) -> MeanSD:
    """Combine two groups (e.g. two dose arms) into one: sample size, mean and SD.

    Parameters
    ----------
    n1, m1, sd1 : array_like
        Size, mean and SD of group 1.
    n2, m2, sd2 : array_like
        Size, mean and SD of group 2.

    Returns
    -------
    MeanSD
        ``n = n1 + n2``, ``value`` (the mean) ``= (n1 m1 + n2 m2)/n`` and
        ``sd = sqrt(((n1-1) sd1² + (n2-1) sd2² + n1 n2/n (m1² + m2² - 2 m1 m2)) / (n - 1))``.

    Notes
    -----
    Exact for the pooled sample (the SD is the SD of all n observations), not an
    approximation; it is how Handbook 6.5.2.10 asks for multi-arm trials to be handled when
    arms are merged. Apply repeatedly for more than two groups.

    References
    ----------
    Cochrane Handbook, section 6.5.2.10 and Table 6.5.a.
    """
    n1_, n2_ = _positive("n1", n1), _positive("n2", n2)
    m1_, m2_ = _array("m1", m1), _array("m2", m2)
    sd1_, sd2_ = _nonnegative("sd1", sd1), _nonnegative("sd2", sd2)
    n = n1_ + n2_
    mean = (n1_ * m1_ + n2_ * m2_) / n
    ss = (n1_ - 1) * sd1_**2 + (n2_ - 1) * sd2_**2 + n1_ * n2_ / n * (m1_ - m2_) ** 2
    sd = np.sqrt(ss / (n - 1))
    return MeanSD(
        value=_out(mean),
        sd=_out(sd),
        n=_out(n),
        method="combine_groups: n = n1 + n2, mean = (n1 m1 + n2 m2) / n, SD of the combined sample",
        assumptions={"n1": _jsonable(n1_), "n2": _jsonable(n2_)},
        reference=f"{HANDBOOK}, section 6.5.2.10, Table 6.5.a",
    )


def convert_unit(value: ArrayLike, from_unit: str, to_unit: str, analyte: str) -> Derived:
    """Convert a value between units; see :func:`analysis.units.convert_unit`."""
    # Imported here: analysis.units builds on Derived, defined in this module.
    from analysis.units import convert_unit as _convert_unit

    return _convert_unit(value, from_unit, to_unit, analyte)


# --- helpers ------------------------------------------------------------------------------


def _array(name: str, value: ArrayLike) -> np.ndarray:
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name}: {value!r} is not numeric") from err


def _first_bad(name: str, arr: np.ndarray, bad: np.ndarray, rule: str) -> None:
    # NaN compares False, so missing values pass and propagate.
    bad = np.asarray(bad)
    if bad.any():
        flat_bad = np.flatnonzero(bad.ravel())
        i = int(flat_bad[0])
        where = f"[{i}]" if np.ndim(arr) else ""
        val = np.broadcast_to(arr, bad.shape).ravel()[i]
        raise ValueError(f"{name}{where} = {val:g}: {rule}")


def _positive(name: str, value: ArrayLike) -> np.ndarray:
    arr = _array(name, value)
    _first_bad(name, arr, arr <= 0, "must be > 0")
    return arr


def _nonnegative(name: str, value: ArrayLike) -> np.ndarray:
    arr = _array(name, value)
    _first_bad(name, arr, arr < 0, "must be >= 0")
    return arr


def _correlation(name: str, value: ArrayLike) -> np.ndarray:
    arr = _array(name, value)
    _first_bad(name, arr, np.abs(arr) > 1, "a correlation must lie in [-1, 1]")
    return arr


def _check_order(named: list[tuple[str, np.ndarray]]) -> None:
    # Every ordered pair, not only neighbours: a missing (NaN) neighbour must not hide
    # minimum > median.
    for (lo_name, lo), (hi_name, hi) in itertools.combinations(named, 2):
        bad = np.asarray(lo > hi)
        if bad.any():
            i = int(np.flatnonzero(bad.ravel())[0])
            lo_v = np.broadcast_to(lo, bad.shape).ravel()[i]
            hi_v = np.broadcast_to(hi, bad.shape).ravel()[i]
            raise ValueError(
                f"{lo_name} = {lo_v:g} exceeds {hi_name} = {hi_v:g}; "
                "expected minimum <= q1 <= median <= q3 <= maximum"
            )


def _out(arr: np.ndarray) -> float | np.ndarray:
    """Scalars in, a float out; arrays in, an array out."""
    arr = np.asarray(arr, dtype=float)
    return float(arr) if arr.ndim == 0 else arr


def _collapse(arr: Any) -> Any:
    """One JSON value when all elements agree, else a list."""
    arr = np.asarray(arr)
    flat = arr.ravel()
    if flat.size == 0:
        return None
    if all(x == flat[0] or (x is None and flat[0] is None) for x in flat):
        return _jsonable(flat[0])
    return _jsonable(arr)


def _jsonable(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist()) if value.ndim else _jsonable(value.item())
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, float) and not np.isfinite(value):
        return None if np.isnan(value) else str(value)
    return value
