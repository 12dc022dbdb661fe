"""Bayesian random-effects meta-analysis for few studies, by deterministic numerical integration.

The normal-normal hierarchical model ``y_i | theta_i ~ N(theta_i, v_i)``,
``theta_i | mu, tau ~ N(mu, tau^2)``, with a half-normal prior on tau and a flat or normal
prior on mu, as R's bayesmeta (Röver 2020) fits it. With k = 2-5 studies tau is poorly
identified: REML often gives 0 and Knapp-Hartung intervals can be very wide or, with tau2 = 0,
too narrow; a proper prior on tau states what is assumed and propagates the uncertainty about
tau into the interval for mu.

Computation (no sampling, the same answer on every run): mu is integrated out analytically,
which leaves the one-dimensional marginal posterior of tau, ``p(tau | y) ∝ p(tau) p(y | tau)``.
It is evaluated at Gauss-Legendre nodes on panels of ``[0, U]``; every other quantity is a
mixture over those nodes: ``mu | tau, y`` is normal (mean ``m(tau)``, variance ``V(tau)``), so
``P(mu <= x | y) = sum_j omega_j Phi((x - m_j) / sqrt(V_j))``, and the predictive distribution
of a new study's true effect is the same mixture with variance ``V_j + tau_j^2``. Quantiles
are roots of these CDFs (Brent's method).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize, special

from analysis.pooling import effect_arrays

#: Gauss-Legendre points per panel and panels on [0, U]: enough that doubling either changes
#: the reported summaries by less than 1e-9 (checked in the tests).
NODES = 12
PANELS = 300

_GL_X, _GL_W = np.polynomial.legendre.leggauss(NODES)


@dataclass(frozen=True)
class BayesResult:
    """Posterior summaries of the normal-normal model.

    Attributes
    ----------
    k : int
        Number of studies.
    tau_prior_scale : float
        Scale of the half-normal prior on tau (in the effect's units).
    mu_prior_mean, mu_prior_sd : float
        Normal prior on mu; ``mu_prior_sd`` is ``inf`` for the flat prior.
    level : float
        Probability content of the intervals.
    interval : str
        ``"central"`` (equal tails) or ``"shortest"``.
    mu_median, mu_low, mu_high : float
        Posterior median and credible interval of the mean effect mu.
    tau_median, tau_low, tau_high : float
        Posterior median and credible interval of tau.
    pred_median, pred_low, pred_high : float
        Median and interval of the posterior predictive distribution of a new study's true
        effect theta_new.
    """

    k: int
    tau_prior_scale: float
    mu_prior_mean: float
    mu_prior_sd: float
    level: float
    interval: str
    mu_median: float
    mu_low: float
    mu_high: float
    tau_median: float
    tau_low: float
    tau_high: float
    pred_median: float
    pred_low: float
    pred_high: float

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


class _Posterior:
    """The marginal posterior of tau on quadrature nodes, and the mixtures built on it."""

    def __init__(self, yi, vi, scale, mu_mean, mu_sd):
        self.yi, self.vi = yi, vi
        spread = float(np.ptp(yi)) + float(np.sqrt(np.max(vi)))
        # Beyond U the half-normal prior is below exp(-50) of its peak, and the likelihood
        # cannot favour tau beyond ~10 times the data's spread by more than that.
        self.upper = 10.0 * scale + 10.0 * spread
        # half the panels within ten prior scales, half over the whole range: a narrow prior
        # (or posterior near 0) is resolved as finely as a wide one
        edges = np.unique(
            np.concatenate(
                [
                    np.linspace(0.0, min(10.0 * scale, self.upper), PANELS // 2 + 1),
                    np.linspace(0.0, self.upper, PANELS // 2 + 1),
                ]
            )
        )
        self.edges = edges
        half = np.diff(edges)[:, None] / 2.0
        mid = (edges[:-1] + edges[1:])[:, None] / 2.0
        self.tau = (mid + half * _GL_X[None, :]).ravel()
        quad_w = (half * _GL_W[None, :]).ravel()
        self.scale, self.mu_mean, self.mu_sd = scale, mu_mean, mu_sd
        logpost, self.m, self.var = self._conditional(self.tau)
        dens = np.exp(logpost - logpost.max())
        mass = dens * quad_w
        self.norm = float(mass.sum())
        self.omega = mass / self.norm
        self.log_peak = float(logpost.max())

    def _conditional(self, tau: np.ndarray):
        """log p(tau | y) (unnormalised), and the mean and variance of mu | tau, y."""
        t2 = tau[:, None] ** 2
        w = 1.0 / (self.vi[None, :] + t2)
        prec = w.sum(axis=1)
        wy = (w * self.yi[None, :]).sum(axis=1)
        wyy = (w * self.yi[None, :] ** 2).sum(axis=1)
        if math.isfinite(self.mu_sd):
            p0 = 1.0 / self.mu_sd**2
            prec = prec + p0
            wy = wy + p0 * self.mu_mean
            wyy = wyy + p0 * self.mu_mean**2
        m = wy / prec
        # -1/2 sum log(v + tau^2) - 1/2 log(precision) - 1/2 (sum w y^2 - precision m^2)
        loglik = (
            -0.5 * np.log(self.vi[None, :] + t2).sum(axis=1)
            - 0.5 * np.log(prec)
            - 0.5 * (wyy - prec * m * m)
        )
        logprior = -0.5 * (tau / self.scale) ** 2
        return loglik + logprior, m, 1.0 / prec

    def tau_cdf(self, t: float) -> float:
        """P(tau <= t | y): whole panels below t plus a Gauss-Legendre rule on the last part."""
        if t <= 0:
            return 0.0
        if t >= self.upper:
            return 1.0
        i = int(np.searchsorted(self.edges, t, side="right") - 1)
        below = float(self.omega[: i * NODES].sum())
        a = self.edges[i]
        half = (t - a) / 2.0
        nodes = a + half + half * _GL_X
        logpost, _m, _v = self._conditional(nodes)
        part = float(np.sum(np.exp(logpost - self.log_peak) * half * _GL_W)) / self.norm
        return min(1.0, below + part)

    def mixture_cdf(self, x: float, predictive: bool) -> float:
        """P(mu <= x | y), or P(theta_new <= x | y) when ``predictive``."""
        var = self.var + self.tau**2 if predictive else self.var
        return float(np.sum(self.omega * special.ndtr((x - self.m) / np.sqrt(var))))


def _quantile(cdf, p: float, lo: float, hi: float) -> float:
    while cdf(lo) > p:
        lo -= hi - lo
    while cdf(hi) < p:
        hi += hi - lo
    return float(optimize.brentq(lambda x: cdf(x) - p, lo, hi, xtol=1e-13, rtol=1e-13))


def _interval(cdf, level: float, kind: str, lo: float, hi: float, bounded_at_zero: bool):
    if kind == "central":
        a = (1.0 - level) / 2.0
        return _quantile(cdf, a, lo, hi), _quantile(cdf, 1.0 - a, lo, hi)
    # shortest: the lower tail probability p in [0, 1 - level] that minimises the width
    gap = 1.0 - level

    def low_at(p):
        return 0.0 if (bounded_at_zero and p <= 0) else _quantile(cdf, p, lo, hi)

    def width(p):
        return _quantile(cdf, p + level, lo, hi) - low_at(p)

    if bounded_at_zero and width(0.0) <= width(1e-9):
        return 0.0, _quantile(cdf, level, lo, hi)
    res = optimize.minimize_scalar(
        width, bounds=(1e-12, gap - 1e-12), method="bounded", options={"xatol": 1e-10}
    )
    p = float(res.x)
    return low_at(p), _quantile(cdf, p + level, lo, hi)


def bayes_meta(
    yi: Any,
    vi: Any,
    *,
    tau_prior_scale: float,
    mu_prior_mean: float = 0.0,
    mu_prior_sd: float | None = None,
    level: float = 0.95,
    interval: str = "central",
) -> BayesResult:
    """Posterior summaries of the normal-normal random-effects model.

    Parameters
    ----------
    yi, vi : array_like
        Effects and sampling variances (k >= 1).
    tau_prior_scale : float
        Scale of the half-normal prior on tau, > 0, in the effect's units.
    mu_prior_mean, mu_prior_sd : float
        Normal prior on mu; ``mu_prior_sd=None`` (default) is the flat (improper uniform)
        prior, which with a proper prior on tau and k >= 1 gives a proper posterior.
    level : float
        Probability content of the intervals.
    interval : {"central", "shortest"}
        Equal-tailed intervals (default) or the shortest ones (bayesmeta's default).

    Returns
    -------
    BayesResult

    Raises
    ------
    ValueError
        On invalid data or options.

    References
    ----------
    Röver C (2020). Bayesian random-effects meta-analysis using the bayesmeta R package.
    J Stat Softw 93(6):1-51. doi:10.18637/jss.v093.i06
    Friede T, Röver C, Wandel S, Neuenschwander B (2017). Meta-analysis of few small studies
    in orphan diseases. Res Synth Methods 8:79-91.
    """
    yi, vi = effect_arrays(yi, vi)
    if not (isinstance(tau_prior_scale, int | float) and tau_prior_scale > 0):
        raise ValueError(f"tau_prior_scale must be a number > 0; got {tau_prior_scale!r}")
    if mu_prior_sd is not None and not mu_prior_sd > 0:
        raise ValueError(f"mu_prior_sd must be > 0 or None (flat); got {mu_prior_sd!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1); got {level!r}")
    if interval not in ("central", "shortest"):
        raise ValueError(f"interval must be 'central' or 'shortest'; got {interval!r}")
    sd = math.inf if mu_prior_sd is None else float(mu_prior_sd)
    post = _Posterior(yi, vi, float(tau_prior_scale), float(mu_prior_mean), sd)
    lo, hi = float(yi.min() - 1.0), float(yi.max() + 1.0)
    tau_cdf = post.tau_cdf

    def mu_cdf(x):
        return post.mixture_cdf(x, False)

    def pred_cdf(x):
        return post.mixture_cdf(x, True)

    tau_low, tau_high = _interval(tau_cdf, level, interval, 0.0, post.upper, True)
    mu_low, mu_high = _interval(mu_cdf, level, interval, lo, hi, False)
    pred_low, pred_high = _interval(pred_cdf, level, interval, lo, hi, False)
    return BayesResult(
        k=int(yi.size),
        tau_prior_scale=float(tau_prior_scale),
        mu_prior_mean=float(mu_prior_mean),
        mu_prior_sd=sd,
        level=level,
        interval=interval,
        mu_median=_quantile(mu_cdf, 0.5, lo, hi),
        mu_low=mu_low,
        mu_high=mu_high,
        tau_median=_quantile(tau_cdf, 0.5, 0.0, post.upper),
        tau_low=tau_low,
        tau_high=tau_high,
        pred_median=_quantile(pred_cdf, 0.5, lo, hi),
        pred_low=pred_low,
        pred_high=pred_high,
    )


def posterior_cdf_mu(yi: Any, vi: Any, x: float, **priors: Any) -> float:
    """P(mu <= x | y) under the model of :func:`bayes_meta` (bayesmeta's ``pposterior``)."""
    yi, vi = effect_arrays(yi, vi)
    sd = priors.get("mu_prior_sd")
    post = _Posterior(
        yi,
        vi,
        float(priors["tau_prior_scale"]),
        float(priors.get("mu_prior_mean", 0.0)),
        math.inf if sd is None else float(sd),
    )
    return post.mixture_cdf(x, False)


def typical_se(vi: Any) -> float:
    """The typical within-study standard error ``sqrt(k / sum(1/v_i))`` (harmonic mean of v)."""
    vi = np.asarray(vi, dtype=float)
    return math.sqrt(vi.size / float(np.sum(1.0 / vi)))


#: Columns of :func:`bayes_by_group`'s frame (after the group key).
BAYES_COLUMNS = (
    "unit",
    "k",
    "tau_prior_scale",
    "mu_median",
    "mu_low",
    "mu_high",
    "tau_median",
    "tau_low",
    "tau_high",
    "pred_median",
    "pred_low",
    "pred_high",
    "reml_estimate",
    "reml_ci_low",
    "reml_ci_high",
    "reml_tau2",
)

GROUP = ["evidence_line", "outcome", "scale"]


def bayes_by_group(
    effects: Any,
    pooled: Any,
    *,
    k_min: int,
    k_max: int,
    tau_prior_scale_se: float,
    mu_prior_sd: float | None,
    level: float,
    tau_prior_scale_fixed: Mapping[str, float] | None = None,
) -> Any:
    """The Bayesian model for every evidence_line x outcome x scale with k_min <= k <= k_max.

    Parameters
    ----------
    effects : DataFrame
        One row per study x outcome x scale with ``yi``, ``vi``, ``unit`` and the group key.
    pooled : DataFrame
        The frequentist results of the same groups (the pool stage's ``pooled.csv``), whose
        estimate, CI and tau2 are copied beside the Bayesian ones.
    k_min, k_max : int
        The range of k for which the model is fitted (the few-study range).
    tau_prior_scale_se : float
        Scale of the half-normal prior on tau in units of the group's typical within-study
        standard error (:func:`typical_se`), so that the prior means the same in every unit.
    mu_prior_sd : float or None
        Normal prior SD on mu in the effect's units, None for the flat prior.
    level : float
        Probability content of the (central) credible and predictive intervals.
    tau_prior_scale_fixed : mapping of str to float, optional
        Fixed half-normal scales by effect scale (e.g. ``{"log_ratio": 0.5}``), used instead
        of the SE-relative scale for scales whose units carry meaning of their own. On a log
        ratio scale the SE-relative prior becomes very informative when studies are precise
        (it gives 95% prior probability to I2 <= 79%), so a fixed weakly informative scale
        is used (Röver et al. 2021, Res Synth Methods 12:448-474: half-normal 0.5 on the
        log scale).

    Returns
    -------
    DataFrame
        The group key and ``BAYES_COLUMNS``, one row per group in range (none when no group
        has 2-5 studies), sorted by the key.
    """
    import pandas as pd

    rows = []
    ordered = effects.sort_values([*GROUP, "study_id"], kind="mergesort")
    freq = pooled.set_index(GROUP)
    for key, group in ordered.groupby(GROUP, sort=True):
        k = len(group)
        if not k_min <= k <= k_max:
            continue
        vi = group["vi"].to_numpy(float)
        fixed = (tau_prior_scale_fixed or {}).get(key[2])
        scale = float(fixed) if fixed is not None else tau_prior_scale_se * typical_se(vi)
        fit = bayes_meta(
            group["yi"].to_numpy(float),
            vi,
            tau_prior_scale=scale,
            mu_prior_sd=mu_prior_sd,
            level=level,
        )
        ref = freq.loc[key]
        rows.append(
            {
                **dict(zip(GROUP, key, strict=True)),
                "unit": group["unit"].iloc[0],
                "k": k,
                "tau_prior_scale": scale,
                **{
                    name: getattr(fit, name)
                    for name in BAYES_COLUMNS
                    if name.startswith(("mu_", "tau_m", "tau_l", "tau_h", "pred_"))
                },
                "reml_estimate": float(ref["estimate"]),
                "reml_ci_low": float(ref["ci_low"]),
                "reml_ci_high": float(ref["ci_high"]),
                "reml_tau2": float(ref["tau2"]),
            }
        )
    return pd.DataFrame(rows, columns=[*GROUP, *BAYES_COLUMNS])


def _num(x: float) -> str:
    return f"{x:.3g}".replace("-", "\u2212")


def bayes_table(frame: Any) -> str:
    """Markdown table of ``bayes.csv`` for the report: Bayesian beside REML + Knapp-Hartung.

    With no group of 2-5 studies the "table" is one sentence saying so, so that the report
    states why the model does not appear.
    """
    caption = (
        ": Few-study pooling (2\u20135 studies): REML with the Knapp-Hartung interval beside "
        "the Bayesian normal-normal model (half-normal prior on \u03c4: scale 0.5 on log "
        "ratio scales, otherwise tau_prior_scale_se \u00d7 typical within-study SE; scale "
        "used in bayes.csv column tau_prior_scale; flat prior on the mean); "
        "posterior medians with central 95% credible and predictive intervals. "
        "Source: data/processed/pool/bayes.csv. {#tbl-bayes}"
    )
    if not len(frame):
        return (
            "No evidence line pools 2\u20135 studies in the current data, so the Bayesian "
            "few-study model (data/processed/pool/bayes.csv) has no rows.\n"
        )
    lines = [
        "Where an evidence line pools two to five studies, @tbl-bayes shows the Bayesian "
        "normal-normal model beside REML with the Knapp-Hartung interval.",
        "",
        "| Evidence line | Outcome | Scale | k | REML + KH [95% CI] | Bayesian mean [95% CrI] "
        "| \u03c4 [95% CrI] | Prediction [95%] |",
        "|:--|:--|:--|--:|:--|:--|:--|:--|",
    ]
    for row in frame.itertuples(index=False):
        lines.append(
            f"| {row.evidence_line} | {row.outcome} | {row.scale} | {row.k} "
            f"| {_num(row.reml_estimate)} [{_num(row.reml_ci_low)}, {_num(row.reml_ci_high)}] "
            f"| {_num(row.mu_median)} [{_num(row.mu_low)}, {_num(row.mu_high)}] "
            f"| {_num(row.tau_median)} [{_num(row.tau_low)}, {_num(row.tau_high)}] "
            f"| [{_num(row.pred_low)}, {_num(row.pred_high)}] |"
        )
    return "\n".join(lines) + "\n\n" + caption + "\n"
