"""Estimators of the between-study variance tau2 on a design matrix, as metafor computes them.

Every estimator here reproduces the arithmetic of ``metafor::rma.uni`` (version 3.8-1): the
same starting values, the same Fisher-scoring updates with step halving, the same root finder
(a port of R's ``uniroot``/``zeroin``) and the same standard errors of tau2.

Only the stopping rules differ, and only by default. metafor stops Fisher scoring when tau2
changes by less than 1e-5 and ``uniroot`` at ``tol = eps^0.25`` (about 1.2e-4), which leaves
iterative estimates up to ~1e-2 (relative) short of the optimum. The default here is the
``"tight"`` control, which lands on the optimum: ML, REML and EB first take metafor's own
Fisher-scoring path (so they end in the same basin), then solve the estimating equation from
there by Newton's method with its exact derivative, safeguarded by bisection, until a step is
below 1e-12 relative to ``max(1, tau2)``; PM solves its equation by the same Newton iteration
from 0, and the Q-profile bounds use ``uniroot`` with ``tol = 1e-12``. Fisher scoring alone
converges only linearly, for some data sets with a contraction factor so close to 1 that
10,000 iterations do not reach 1e-12; Newton needs a handful. ``control="metafor"`` restores
metafor's defaults and with them its answers bit for bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

METHODS = ("FE", "DL", "REML", "PM", "ML", "HS", "SJ", "HE", "EB")

#: metafor's ``control`` defaults for rma.uni (threshold, maxiter, stepadj, tau2.min/max, tol).
METAFOR_CONTROL: dict[str, Any] = {
    "tau2_init": None,
    "tau2_min": 0.0,
    "tau2_max": 100.0,
    "threshold": 1e-5,
    "tol": np.finfo(float).eps ** 0.25,
    "maxiter": 100,
    "stepadj": 1.0,
    "ll0check": True,
    # metafor stops at Fisher scoring's threshold; the tight control polishes with Newton
    "newton": False,
    # confint.rma.uni's own cap for the Q-profile root searches
    "ci_maxiter": 1000,
}

#: The engine's default: iterate to the optimum. ``threshold`` is then Newton's stop on the
#: step, relative to max(1, tau2), because an absolute 1e-12 is below the rounding noise of a
#: step when tau2 is large (about eps * tau2); 1e-12 is far above that noise and far below any
#: digit a meta-analysis reports.
TIGHT_CONTROL: dict[str, Any] = METAFOR_CONTROL | {
    "threshold": 1e-12,
    "tol": 1e-12,
    "maxiter": 10_000,
    "newton": True,
    "ci_maxiter": 10_000,
}

#: Named controls accepted wherever ``control`` is: the default first.
CONTROLS = {"tight": TIGHT_CONTROL, "metafor": METAFOR_CONTROL}

#: Kept for callers of the first engine: the default control.
DEFAULT_CONTROL = TIGHT_CONTROL

_EPS = np.finfo(float).eps


@dataclass(frozen=True)
class Tau2Fit:
    """Result of one tau2 estimation.

    Attributes
    ----------
    tau2 : float
        The estimate, truncated at ``tau2_min`` (0).
    se_tau2 : float
        Standard error of tau2 as metafor reports it (NaN for FE).
    converged : bool
        False only if the iterative algorithm and its fallback both failed.
    iterations : int
        Fisher-scoring or root-finding iterations (0 for closed forms).
    truncated : bool
        True when the unconstrained estimate was below zero and tau2 was set to zero.
    notes : tuple of str
        Human-readable notes on fallbacks taken (empty when metafor's path was followed).
    """

    tau2: float
    se_tau2: float
    converged: bool
    iterations: int
    truncated: bool
    notes: tuple[str, ...] = ()


class _Projection:
    """Quantities of ``P = W - W X (X'WX)^-1 X'W`` for diagonal W without forming P.

    Length-k inner products use ``np.sum(a * b)`` rather than ``np.dot``: pairwise summation
    is more accurate, and a multithreaded BLAS ``ddot`` stalls badly on a loaded machine.

    Parameters
    ----------
    w : ndarray, shape (k,)
        Diagonal of W.
    X : ndarray, shape (k, p)
        Design matrix.
    """

    def __init__(self, w: np.ndarray, X: np.ndarray):
        self.w = w
        self.X = X
        # Intercept-only models (the common case) reduce to sums; the general path below
        # costs a QR and several small matrix products per call, which dominates for small k.
        self.intercept_only = X.shape[1] == 1 and bool(np.all(X == 1.0))
        if self.intercept_only:
            self.S = np.array([[1.0 / float(np.sum(w))]])
            return
        # metafor's .invcalc: QR of sqrt(W) X, then (R'R)^-1; same conditioning here.
        r = np.asarray(np.linalg.qr(np.sqrt(w)[:, None] * X, mode="r"), dtype=float)
        rinv = np.linalg.solve(r, np.eye(r.shape[0]))
        self.S = rinv @ rinv.T  # (X'WX)^-1

    def _xdx(self, d: np.ndarray) -> np.ndarray:
        """X' diag(d) X (general designs; the intercept-only paths never call it)."""
        return self.X.T @ (self.X * d[:, None])

    def beta(self, y: np.ndarray) -> np.ndarray:
        if self.intercept_only:
            return np.array([float(np.sum(self.w * y)) * self.S[0, 0]])
        return self.S @ (self.X.T @ (self.w * y))

    def _resid(self, y: np.ndarray) -> np.ndarray:
        if self.intercept_only:
            return y - self.beta(y)[0]
        return y - self.X @ self.beta(y)

    def py(self, y: np.ndarray) -> np.ndarray:
        """P y = W (y - X b)."""
        return self.w * self._resid(y)

    def ypy(self, y: np.ndarray) -> float:
        """y'Py, the weighted residual sum of squares."""
        resid = self._resid(y)
        return float(np.sum(self.w * resid * resid))

    def tr_pa(self, a: np.ndarray | float = 1.0) -> float:
        """tr(P A) for diagonal A."""
        w = self.w
        if self.intercept_only:
            s = self.S[0, 0]
            wa = w * a
            return float(np.sum(wa) - np.sum(w * wa) * s)
        a = np.broadcast_to(np.asarray(a, dtype=float), self.w.shape)
        return float(np.sum(w * a) - np.sum(self.S * self._xdx(w * w * a)))

    def tr_papb(self, a: np.ndarray | float = 1.0, b: np.ndarray | float = 1.0) -> float:
        """tr(P A P B) for diagonal A and B (so tr(PP), tr(PVPV), tr(PVP))."""
        w = self.w
        if self.intercept_only:
            s = self.S[0, 0]
            w2a = w * w * a
            w2b = w * w * b
            w2ab = w2a * b
            return float(
                np.sum(w2ab) - 2.0 * np.sum(w * w2ab) * s + np.sum(w2a) * np.sum(w2b) * s * s
            )
        a = np.broadcast_to(np.asarray(a, dtype=float), self.w.shape)
        b = np.broadcast_to(np.asarray(b, dtype=float), self.w.shape)
        ma = self.S @ self._xdx(w * w * a)
        mb = self.S @ self._xdx(w * w * b)
        return float(
            np.sum(w * w * a * b)
            - 2.0 * np.sum(self.S * self._xdx(w**3 * a * b))
            + np.sum(ma * mb.T)
        )

    def logdet_xwx(self) -> float:
        if self.intercept_only:
            return -math.log(self.S[0, 0])
        return float(-np.linalg.slogdet(self.S)[1])


def q_generalized(tau2: float, yi: np.ndarray, vi: np.ndarray, X: np.ndarray) -> float:
    """Generalized Q statistic ``y'P(tau2)y`` with weights ``1/(vi + tau2)``.

    Parameters
    ----------
    tau2 : float
        Between-study variance at which Q is evaluated.
    yi, vi : ndarray
        Effect sizes and sampling variances.
    X : ndarray
        Design matrix (k x p).

    Returns
    -------
    float
        Q(tau2); Q(0) is Cochran's Q (QE with moderators).

    Notes
    -----
    metafor's ``.QE.func``; decreasing in tau2, which makes it the estimating function of the
    Paule-Mandel estimator and of the Q-profile confidence interval.
    """
    return _Projection(1.0 / (vi + tau2), X).ypy(yi)


def uniroot(f, lower: float, upper: float, tol: float, maxiter: int) -> tuple[float, int]:
    """Port of R's ``uniroot`` (Brent's zeroin as in R's ``R_zeroin2``).

    Parameters
    ----------
    f : callable
        Function of one float.
    lower, upper : float
        Bracket; f must change sign on it.
    tol : float
        R's ``tol`` (metafor passes ``.Machine$double.eps^0.25``).
    maxiter : int
        Iteration cap.

    Returns
    -------
    root : float
    iterations : int
        Negative when the cap was reached (R warns but still returns the root).

    Notes
    -----
    Reproduced step for step, rather than calling scipy's brentq, because metafor stops at
    R's tolerance (about 1.2e-4): only the same iterates give the same PM and Q-profile values.

    References
    ----------
    Brent, R. (1973). Algorithms for Minimization without Derivatives. Prentice-Hall.
    """
    fa, fb = f(lower), f(upper)
    if math.isnan(fa) or math.isnan(fb):
        raise ValueError("function value at an end point is NaN")
    if fa * fb > 0:
        raise ValueError("f() values at end points not of opposite sign")
    a, b = lower, upper
    c, fc = a, fa
    if fa == 0.0:
        return a, 0
    if fb == 0.0:
        return b, 0
    maxit = maxiter + 1
    while maxit:
        maxit -= 1
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2.0 * _EPS * abs(b) + tol / 2.0
        new_step = (c - b) / 2.0
        if abs(new_step) <= tol_act or fb == 0.0:
            return b, maxiter + 1 - maxit - 1
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2.0) and p < abs(prev_step * q / 2.0):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b, -1


def _loglik(tau2: float, yc: np.ndarray, vi: np.ndarray, X: np.ndarray, reml: bool) -> float:
    """(Restricted) log-likelihood as in metafor's ll0check (constant log|X'X| omitted)."""
    k, p = X.shape
    proj = _Projection(1.0 / (vi + tau2), X)
    rss = proj.ypy(yc)
    if reml:
        return (
            -0.5 * (k - p) * math.log(2 * math.pi)
            - 0.5 * float(np.sum(np.log(vi + tau2)))
            - 0.5 * proj.logdet_xwx()
            - 0.5 * rss
        )
    return -0.5 * k * math.log(2 * math.pi) - 0.5 * float(np.sum(np.log(vi + tau2))) - 0.5 * rss


def control_name(control: dict | str | None) -> str:
    """``"tight"``, ``"metafor"`` or ``"custom"`` (a dict of options) for a ``control`` value."""
    if control is None:
        return "tight"
    if isinstance(control, str):
        resolve_control(control)
        return control
    return "custom"


def resolve_control(control: dict | str | None) -> dict[str, Any]:
    """The full option dict for ``control``.

    Parameters
    ----------
    control : None, "tight", "metafor" or dict
        None or ``"tight"``: iterate to the optimum (the default). ``"metafor"``: metafor's
        defaults (threshold 1e-5, ``tol = eps^0.25``, 100 iterations), reproducing its default
        answers. A dict overrides single options of the preset named by its ``"preset"`` key
        (default ``"tight"``); metafor's dotted spelling (``"tau2.init"``) is accepted.

    Raises
    ------
    ValueError
        For an unknown preset or option.
    """
    if control is None or isinstance(control, str):
        preset, overrides = control or "tight", {}
    else:
        overrides = dict(control)
        preset = overrides.pop("preset", "tight")
    if preset not in CONTROLS:
        raise ValueError(
            f"control must be one of {', '.join(map(repr, CONTROLS))} or a dict; got {preset!r}"
        )
    con: dict[str, Any] = dict(CONTROLS[preset])
    for key, value in overrides.items():
        name = key.replace(".", "_")
        if name not in con:
            raise ValueError(f"unknown control option {key!r}; allowed: {', '.join(con)}")
        con[name] = value
    con["user_tau2_max"] = any(k.replace(".", "_") == "tau2_max" for k in overrides)
    return con


def _control(control: dict | str | None, yi: np.ndarray) -> dict[str, Any]:
    con = resolve_control(control)
    if not con.pop("user_tau2_max"):
        # metafor: tau2.max <- max(tau2.max, 10 * mad(yi)^2), mad with constant 1.4826
        mad = 1.4826 * float(np.median(np.abs(yi - np.median(yi))))
        con["tau2_max"] = max(con["tau2_max"], 10.0 * mad**2)
    return con


def _fisher_scoring(method, yc, vi, X, start, con):
    """metafor's Fisher scoring for ML/REML and its fixed-point iteration for EB."""
    if start < con["tau2_min"]:
        # the step-halving below that keeps tau2 >= tau2_min would never end (metafor hangs)
        raise ValueError(
            f"control tau2_init ({start:g}) is below tau2_min ({con['tau2_min']:g}): "
            "the iterations must start inside the range they search"
        )
    k, p = X.shape
    tau2 = start
    change = con["threshold"] + 1.0
    it = 0
    while change > con["threshold"]:
        it += 1
        old = tau2
        w = 1.0 / (vi + tau2)
        proj = _Projection(w, X)
        if method == "ML":
            py = proj.py(yc)
            adj = (float(py @ py) - float(np.sum(w))) / float(np.sum(w * w))
        elif method == "REML":
            py = proj.py(yc)
            adj = (float(py @ py) - proj.tr_pa()) / proj.tr_papb()
        else:  # EB
            adj = (proj.ypy(yc) * k / (k - p) - k) / float(np.sum(w))
        adj *= con["stepadj"]
        if math.isnan(adj):
            adj = 0.0
        while tau2 + adj < con["tau2_min"]:
            adj /= 2.0
        tau2 = tau2 + adj
        change = abs(old - tau2)
        if it > con["maxiter"]:
            return tau2, it, False
    return tau2, it, True


def _score_and_slope(method, t, yc, vi, X) -> tuple[float, float]:
    """The estimating function g(tau2) of :func:`_score` and its exact derivative.

    With ``dP/dtau2 = -PP``: REML ``g = y'PPy - tr(P)``, ``g' = -2 y'PPPy + tr(PP)``; ML
    ``g = y'PPy - sum(w)``, ``g' = -2 y'PPPy + sum(w^2)``; EB ``g = y'Py k/(k-p) - k``,
    ``g' = -y'PPy k/(k-p)``.
    """
    k, p = X.shape
    w = 1.0 / (vi + t)
    proj = _Projection(w, X)
    py = proj.py(yc)
    yppy = float(np.sum(py * py))
    if method == "PM":
        # the generalized Q equation Q(tau2) = k - p; dQ/dtau2 = -y'PPy
        return proj.ypy(yc) - (k - p), -yppy
    if method == "EB":
        return proj.ypy(yc) * k / (k - p) - k, -yppy * k / (k - p)
    ypppy = proj.ypy(py)
    if method == "REML":
        return yppy - proj.tr_pa(), -2.0 * ypppy + proj.tr_papb()
    return yppy - float(np.sum(w)), -2.0 * ypppy + float(np.sum(w * w))


def _newton(method, yc, vi, X, start, con) -> tuple[float, int, bool]:
    """Solve g(tau2) = 0 from ``start`` by Newton's method, safeguarded by bisection.

    g is positive left of the root and negative right of it, so every evaluation narrows a
    bracket; a Newton step that leaves the bracket (or a non-negative slope) is replaced by
    bisection, or by doubling while no upper end is known. A root below ``tau2_min`` gives
    ``tau2_min``. Stops when a step is below ``threshold * max(1, tau2)``.
    """
    lo, hi = float(con["tau2_min"]), math.inf
    t = max(float(start), lo)
    for it in range(1, int(con["maxiter"]) + 1):
        g, slope = _score_and_slope(method, t, yc, vi, X)
        if g == 0.0:
            return t, it, True
        if g > 0:
            lo = max(lo, t)
        else:
            hi = min(hi, t)
            if t <= con["tau2_min"]:
                return float(con["tau2_min"]), it, True
        new = t - g / slope if slope < 0 else math.nan
        if not lo < new < hi:
            if new <= lo == con["tau2_min"] and g < 0:
                new = lo  # test the boundary next: the root may lie below it
            elif math.isinf(hi):
                new = 2.0 * t + 1.0
            else:
                new = 0.5 * (lo + hi)
        if abs(new - t) <= con["threshold"] * max(1.0, abs(new)):
            return new, it, True
        t = new
    return t, int(con["maxiter"]), False


def _score(method, t, yc, vi, X) -> float:
    """Estimating function whose root is the estimate: the (RE)ML score (times 2) or EB's."""
    k, p = X.shape
    w = 1.0 / (vi + t)
    proj = _Projection(w, X)
    if method == "EB":
        return proj.ypy(yc) * k / (k - p) - k
    py = proj.py(yc)
    return float(np.sum(py * py)) - (proj.tr_pa() if method == "REML" else float(np.sum(w)))


def _bounded_fallback(method, yc, vi, X, con):
    """Solve the estimating equation on [tau2_min, tau2_max] when the iteration fails.

    The (RE)ML score and the EB equation are positive at 0 unless the estimate is 0, and
    negative for large tau2; Brent's method on that bracket finds the root to about 1e-14
    (relative), so the fallback lands on the optimum too. If the score does not change sign
    on the bracket (a likelihood with several maxima), the likelihood is maximised directly.
    """
    from scipy import optimize  # only needed on this rare path; keeps imports light

    lower = float(con["tau2_min"])
    upper = float(con["tau2_max"])

    def g(t):
        return _score(method, t, yc, vi, X)

    if g(lower) <= 0:
        return lower
    while g(upper) > 0 and upper < 1e12:
        upper *= 10.0
    if g(upper) < 0:
        return float(optimize.brentq(g, lower, upper, xtol=1e-300, rtol=4 * _EPS, maxiter=500))
    reml = method == "REML"
    res = optimize.minimize_scalar(
        lambda t: -_loglik(t, yc, vi, X, reml),
        bounds=(lower, upper),
        method="bounded",
        options={"xatol": 1e-10},
    )
    return float(res.x)


def estimate_tau2(
    yi: np.ndarray,
    vi: np.ndarray,
    X: np.ndarray,
    method: str = "REML",
    control: dict | str | None = None,
) -> Tau2Fit:
    """Estimate tau2 for a (mixed-effects) meta-analysis model exactly as metafor does.

    Parameters
    ----------
    yi : ndarray, shape (k,)
        Effect sizes.
    vi : ndarray, shape (k,)
        Sampling variances, all > 0.
    X : ndarray, shape (k, p)
        Design matrix, intercept included.
    method : {"FE", "DL", "REML", "PM", "ML", "HS", "SJ", "HE", "EB"}
        Estimator, spelled as in metafor.
    control : None, "tight", "metafor" or dict, optional
        Stopping rules (see :func:`resolve_control`). Default ``"tight"``: iterate to the
        optimum. ``"metafor"``: metafor's defaults. A dict sets single options --
        ``tau2_init``, ``tau2_min``, ``tau2_max``, ``threshold``, ``tol``, ``maxiter``,
        ``stepadj``, ``ll0check`` (dots allowed: ``"tau2.init"``) -- on top of its ``preset``.

    Returns
    -------
    Tau2Fit

    Notes
    -----
    Effects are centred first, as metafor does (``Ymc``); with an intercept in X this leaves
    every estimator unchanged. Closed forms, with ``P`` the projection for the given weights:

    * DL: ``(y'Py - (k-p)) / tr(P)`` with weights 1/vi.
    * HE: ``(y'Py - tr(PV)) / (k-p)`` with unit weights.
    * HS: ``(y'Py - k) / sum(1/vi)``.
    * SJ: ``tau0 * y'Py / (k-p)`` with weights ``1/(vi + tau0)``,
      ``tau0 = var(y) (k-1)/k``.

    REML and ML use Fisher scoring from the (truncated) HE estimate with step halving at the
    lower bound (metafor's control: threshold 1e-5 and at most 100 iterations; the tight
    default continues from there with Newton's method on the score, to 1e-12); afterwards
    the likelihood at 0 is
    compared with the one at the estimate (metafor's ``ll0check``). EB uses metafor's
    fixed-point update ``(y'Py k/(k-p) - k) / sum(w)``. PM solves ``Q(tau2) = k - p`` with
    R's ``uniroot`` on ``[0, tau2_max]``. Where metafor would stop with an error
    (non-convergence, ``tau2_max`` too low) a bounded 1-D optimiser or a widened bracket is
    used instead and a note is returned.

    References
    ----------
    DerSimonian, R., & Laird, N. (1986). Controlled Clinical Trials, 7, 177-188.
    Hedges, L. V. (1983). Psychological Bulletin, 93, 388-395.
    Hunter, J. E., & Schmidt, F. L. (2004). Methods of Meta-Analysis. Sage.
    Sidik, K., & Jonkman, J. N. (2005). Statistics in Medicine, 24, 3247-3256.
    Paule, R. C., & Mandel, J. (1982). J. Res. Natl. Bur. Stand., 87, 377-385.
    Morris, C. N. (1983). JASA, 78, 47-55 (empirical Bayes).
    Viechtbauer, W. (2005). J. Educ. Behav. Stat., 30, 261-293.
    Viechtbauer, W. (2010). J. Stat. Softw., 36(3), 1-48.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    yi = np.asarray(yi, dtype=float)
    vi = np.asarray(vi, dtype=float)
    X = np.asarray(X, dtype=float)
    k, p = X.shape
    con = _control(control, yi)
    yc = yi - yi.mean()
    notes: list[str] = []
    nan = float("nan")

    if method == "FE":
        return Tau2Fit(0.0, nan, True, 0, False)

    if method in ("HS", "DL"):
        proj = _Projection(1.0 / vi, X)
        rss = proj.ypy(yc)
        trp = proj.tr_pa()
        raw = (rss - k) / float(np.sum(1.0 / vi)) if method == "HS" else (rss - (k - p)) / trp
        tau2 = max(con["tau2_min"], raw)
        tpp = proj.tr_papb()
        denom = float(np.sum(1.0 / vi)) if method == "HS" else trp
        se = math.sqrt(
            1.0 / denom**2 * (2 * (k - p) + 4 * max(tau2, 0) * trp + 2 * max(tau2, 0) ** 2 * tpp)
        )
        return Tau2Fit(tau2, se, True, 0, raw < con["tau2_min"])

    if method == "SJ":
        tau0 = con["tau2_init"]
        if tau0 is None:
            tau0 = float(np.var(yc, ddof=1) * (k - 1) / k)
        proj = _Projection(1.0 / (vi + tau0), X)
        raw = tau0 * proj.ypy(yc) / (k - p)
        tau2 = max(con["tau2_min"], raw)
        t = max(tau2, 0)
        se = math.sqrt(
            tau0**2
            / (k - p) ** 2
            * (2 * proj.tr_papb(vi, vi) + 4 * t * proj.tr_papb(vi, 1.0) + 2 * t**2 * proj.tr_papb())
        )
        return Tau2Fit(tau2, se, True, 0, raw < con["tau2_min"])

    # HE closed form; also the starting value of ML, REML and EB.
    unit = _Projection(np.ones(k), X)
    tr_pv = unit.tr_pa(vi)
    he = (unit.ypy(yc) - tr_pv) / (k - p)

    if method == "HE":
        tau2 = max(con["tau2_min"], he)
        t = max(tau2, 0)
        se = math.sqrt(
            1.0 / (k - p) ** 2 * (2 * unit.tr_papb(vi, vi) + 4 * t * tr_pv + 2 * t**2 * (k - p))
        )
        return Tau2Fit(tau2, se, True, 0, he < con["tau2_min"])

    iterations = 0
    converged = True
    truncated = False
    if method == "PM":
        target = k - p

        def qf(t):
            return q_generalized(t, yc, vi, X) - target

        if qf(con["tau2_min"]) < 0:
            tau2 = float(con["tau2_min"])
            truncated = True
        else:
            upper = float(con["tau2_max"])
            if qf(upper) > 0:
                notes.append(
                    f"tau2_max = {upper:g} too low for PM (metafor stops here); bracket widened"
                )
                while qf(upper) > 0:
                    upper *= 10.0
            if con["newton"]:
                # the safeguarded Newton iteration of ML/REML/EB: same root as uniroot at
                # tol = 1e-12, to rounding error, and the batch engine's arithmetic
                tau2, iterations, converged = _newton("PM", yc, vi, X, con["tau2_min"], con)
            else:
                tau2, iterations = uniroot(qf, con["tau2_min"], upper, con["tol"], con["maxiter"])
                if iterations < 0:
                    converged = False
                    iterations = con["maxiter"]
    else:
        start = con["tau2_init"]
        if start is None:
            start = max(0.0, he, con["tau2_min"])
        if con["newton"]:
            # metafor's own path first (its defaults), so the same local optimum is polished
            approach = {**con, **{k: METAFOR_CONTROL[k] for k in ("threshold", "maxiter")}}
            tau2, iterations, converged = _fisher_scoring(method, yc, vi, X, start, approach)
            if converged:
                tau2, more, converged = _newton(method, yc, vi, X, tau2, con)
                iterations += more
        else:
            tau2, iterations, converged = _fisher_scoring(method, yc, vi, X, start, con)
        if not converged:
            tau2 = _bounded_fallback(method, yc, vi, X, con)
            notes.append(
                f"{'Fisher scoring' if method != 'EB' else 'EB iteration'} did not converge in "
                f"{iterations} iterations; bounded 1-D optimiser used instead"
            )
            converged = True
        if method in ("ML", "REML") and con["ll0check"]:
            reml = method == "REML"
            ll0 = _loglik(0.0, yc, vi, X, reml)
            ll = _loglik(tau2, yc, vi, X, reml)
            if ll0 - ll > con["tol"] and tau2 > con["threshold"]:
                notes.append("Fisher scoring stuck at a local maximum; tau2 set to 0 (as metafor)")
                tau2 = 0.0
        # The constrained maximum sits on the boundary exactly when the score at 0 points down.
        if tau2 <= con["tau2_min"]:
            truncated = _score_at_min_negative(method, yc, vi, X, con)
        tau2 = max(con["tau2_min"], tau2)

    w = 1.0 / (vi + tau2)
    if method == "REML":
        se = math.sqrt(2.0 / _Projection(w, X).tr_papb())
    elif method == "ML":
        se = math.sqrt(2.0 / float(np.sum(w * w)))
    else:  # PM, EB
        se = math.sqrt(2.0 * k**2 / (k - p) / float(np.sum(w)) ** 2)
    return Tau2Fit(float(tau2), se, converged, int(iterations), truncated, tuple(notes))


def _score_at_min_negative(method, yc, vi, X, con) -> bool:
    return _score(method, con["tau2_min"], yc, vi, X) < 0
