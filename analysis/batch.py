"""Many intercept-only meta-analyses at once: ``rma`` over a list of (yi, vi), vectorised.

The analyses may have different numbers of studies (ragged k). They are laid out as rows of
a padded ``m x K`` array with a 0/1 mask, and every estimator runs on all rows in the same
array passes: the closed forms in one pass, the Fisher-scoring estimators (REML, ML, EB) one
iteration per pass over the rows that have not yet met their stopping rule. The arithmetic is
that of :func:`analysis.pooling.rma` for an intercept-only model (same starting values, same
updates, same stopping rules, same truncation and ``ll0check``), so a batch fit agrees with
one-by-one fits to rounding error (tested to 1e-12) under either control.

Two parts are not vectorised, because they are root searches whose iterates (not only their
roots) define metafor's answers: PM under ``control="metafor"`` (R's ``uniroot`` with
``tol = eps^0.25``), and any row whose iteration does not settle within ``maxiter``. Those
rows are fitted one by one with :func:`analysis.pooling.rma`. Under the default (tight)
control, PM is solved for all rows at once by the safeguarded Newton iteration that the
single fit uses too.

The Q-profile confidence interval of tau2 is not computed here (``tau2_ci=False`` in ``rma``
terms): leave-one-out, cumulative and simulation uses do not report it.
"""

from __future__ import annotations

import warnings as _warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import special

from analysis.pooling import TESTS, effect_arrays, rma
from analysis.tau2 import METAFOR_CONTROL, METHODS, control_name, resolve_control
from analysis.warnings import MetaAnalysisWarning, NotPooledWarning

if TYPE_CHECKING:
    import pandas as pd

#: Per-analysis arrays of :class:`BatchResult`, in ``to_frame`` order.
COLUMNS = (
    "k",
    "estimate",
    "se",
    "stat",
    "pvalue",
    "ci_low",
    "ci_high",
    "df",
    "tau2",
    "se_tau2",
    "q",
    "q_df",
    "q_pvalue",
    "i2",
    "h2",
    "pi_low",
    "pi_high",
    "pooled",
    "truncated",
    "converged",
    "iterations",
)


@dataclass(frozen=True)
class BatchResult:
    """Results of m intercept-only meta-analyses, one array element per analysis.

    Attributes
    ----------
    method, test, level, control : str, str, float, str
        As passed (``control`` named as in :class:`analysis.pooling.MetaResult`).
    k : ndarray of int
        Studies in each analysis.
    estimate, se, stat, pvalue, ci_low, ci_high, df : ndarray
        As the fields of :class:`analysis.pooling.MetaResult`; an analysis of one study is
        returned unpooled (its own estimate, z test, df NaN), as ``rma`` does.
    tau2, se_tau2, q, q_df, q_pvalue, i2, h2, pi_low, pi_high : ndarray
        Heterogeneity and prediction interval, as in ``MetaResult``.
    pooled, truncated, converged : ndarray of bool
        k > 1; tau2 truncated at 0; the estimator met its stopping rule.
    iterations : ndarray of int
        Iterations of the tau2 estimator.
    notes : tuple of str
        Per analysis, the messages ``rma`` would have recorded in ``warnings`` (joined by
        ``"; "``, empty when none).
    """

    method: str
    test: str
    level: float
    control: str
    k: np.ndarray
    estimate: np.ndarray
    se: np.ndarray
    stat: np.ndarray
    pvalue: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    df: np.ndarray
    tau2: np.ndarray
    se_tau2: np.ndarray
    q: np.ndarray
    q_df: np.ndarray
    q_pvalue: np.ndarray
    i2: np.ndarray
    h2: np.ndarray
    pi_low: np.ndarray
    pi_high: np.ndarray
    pooled: np.ndarray
    truncated: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray
    notes: tuple[str, ...] = field(repr=False, default=())

    def __len__(self) -> int:
        return int(self.k.size)

    def to_frame(self) -> pd.DataFrame:
        """One row per analysis: the ``COLUMNS`` and ``note``."""
        import pandas as pd

        frame = pd.DataFrame({name: getattr(self, name) for name in COLUMNS})
        frame["note"] = list(self.notes)
        return frame


class _Rows:
    """Padded rows: y (centred), v, mask, with the masked sums used everywhere."""

    def __init__(self, yis: list[np.ndarray], vis: list[np.ndarray]):
        m = len(yis)
        self.k = np.array([y.size for y in yis], dtype=int)
        width = int(self.k.max())
        self.mask = np.arange(width)[None, :] < self.k[:, None]
        y = np.zeros((m, width))
        v = np.ones((m, width))
        y[self.mask] = np.concatenate(yis)
        v[self.mask] = np.concatenate(vis)
        self.y, self.v = y, v
        self.kf = self.k.astype(float)
        # metafor centres the effects (Ymc); the mean is over the row's own studies
        self.yc = np.where(self.mask, y - (np.sum(y, axis=1) / self.kf)[:, None], 0.0)
        # None when no row is padded (leave-one-out): the weights need no masking then
        self.full = bool(self.mask.all())

    def take(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, Any, np.ndarray]:
        mask = None if self.full else self.mask[idx]
        if idx.size == self.k.size and np.array_equal(idx, np.arange(idx.size)):
            return self.yc, self.v, mask, self.kf  # no copies of the whole batch
        return self.yc[idx], self.v[idx], mask, self.kf[idx]


def _w(v, mask, tau2):
    """Weights 1/(v + tau2) per row, zero on padding (mask None: no padding)."""
    w = 1.0 / (v + tau2[:, None])
    return w if mask is None else w * mask


class _Sums:
    """The sums every intercept-only quantity is made of, each array pass done once.

    With ``r = yc - b`` (b the weighted mean) and ``py = w r`` (= P y): ``y'Py = sum w r^2``,
    ``y'PPy = sum py^2``, ``tr(P) = sum w - sum w^2 / sum w`` and
    ``tr(PP) = sum w^2 - 2 sum w^3 / sum w + (sum w^2 / sum w)^2``, the formulas of
    ``analysis.tau2._Projection`` for an intercept-only design.
    """

    def __init__(self, yc, w):
        self.w = w
        self.sw = np.sum(w, axis=1)
        self.b = np.sum(w * yc, axis=1) / self.sw
        self.r = yc - self.b[:, None]
        self.py = w * self.r
        self.ypy = np.sum(self.py * self.r, axis=1)
        self.yppy = np.sum(self.py * self.py, axis=1)

    def sw2(self):
        return np.sum(self.w * self.w, axis=1)

    def tr_p(self):
        return self.sw - self.sw2() / self.sw

    def tr_pp(self):
        w2 = self.w * self.w
        sw2 = np.sum(w2, axis=1)
        s = 1.0 / self.sw
        return sw2 - 2.0 * np.sum(w2 * self.w, axis=1) * s + sw2 * sw2 * s * s

    def ypppy(self):
        """(Py)'P(Py): the weighted residual sum of squares of the vector Py."""
        pm = np.sum(self.w * self.py, axis=1) / self.sw
        d = self.py - pm[:, None]
        return np.sum(self.w * d * d, axis=1)


def _weighted(yc, w):
    """Intercept-only projection quantities for weights w (zero on padding)."""
    sw = np.sum(w, axis=1)
    b = np.sum(w * yc, axis=1) / sw
    r = yc - b[:, None]
    return sw, b, r


def _ypy(yc, w):
    _sw, _b, r = _weighted(yc, w)
    return np.sum(w * r * r, axis=1)


def _tr_p(w, a=1.0):
    """tr(P A) for diagonal A (intercept only), as _Projection.tr_pa."""
    sw = np.sum(w, axis=1)
    wa = w * a
    return np.sum(wa, axis=1) - np.sum(w * wa, axis=1) / sw


def _tr_papb(w, a=1.0, b=1.0):
    """tr(P A P B) for diagonal A, B (intercept only), as _Projection.tr_papb."""
    s = 1.0 / np.sum(w, axis=1)
    w2a = w * w * a
    w2b = w * w * b
    w2ab = w2a * b
    return (
        np.sum(w2ab, axis=1)
        - 2.0 * np.sum(w * w2ab, axis=1) * s
        + np.sum(w2a, axis=1) * np.sum(w2b, axis=1) * s * s
    )


def _update(method, yc, v, mask, kf, tau2):
    """One Fisher-scoring (REML, ML) or fixed-point (EB) step, as analysis.tau2."""
    sums = _Sums(yc, _w(v, mask, tau2))
    if method == "ML":
        return (sums.yppy - sums.sw) / sums.sw2()
    if method == "REML":
        return (sums.yppy - sums.tr_p()) / sums.tr_pp()
    return (sums.ypy * kf / (kf - 1.0) - kf) / sums.sw


def _score(method, yc, v, mask, kf, tau2):
    """The estimating function at tau2 (sign tells truncation), as analysis.tau2._score."""
    sums = _Sums(yc, _w(v, mask, tau2))
    if method == "EB":
        return sums.ypy * kf / (kf - 1.0) - kf
    return sums.yppy - (sums.tr_p() if method == "REML" else sums.sw)


def _loglik(yc, v, mask, tau2, reml):
    """(Restricted) log-likelihood up to the constants that cancel in ll0check's difference."""
    w = _w(v, mask, tau2)
    sums = _Sums(yc, w)
    logs = np.log(v + tau2[:, None])
    if mask is not None:
        logs = np.where(mask, logs, 0.0)
    ll = -0.5 * np.sum(logs, axis=1) - 0.5 * sums.ypy
    if reml:
        ll = ll - 0.5 * np.log(sums.sw)
    return ll


def _fisher(method, rows, idx, start, con):
    """Iterate all rows ``idx`` until each meets its stopping rule; None where maxiter ran out."""
    tau2 = start.copy()
    iters = np.zeros(idx.size, dtype=int)
    done = np.zeros(idx.size, dtype=bool)
    failed = np.zeros(idx.size, dtype=bool)
    active = np.arange(idx.size)
    thr = con["threshold"]
    while active.size:
        yc, v, mask, kf = rows.take(idx[active])
        old = tau2[active]
        adj = _update(method, yc, v, mask, kf, old) * con["stepadj"]
        adj = np.where(np.isnan(adj), 0.0, adj)
        # step halving at the lower bound, row by row as metafor's while loop
        low = np.flatnonzero(old + adj < con["tau2_min"])
        while low.size:
            adj[low] /= 2.0
            low = low[old[low] + adj[low] < con["tau2_min"]]
        new = old + adj
        tau2[active] = new
        iters[active] += 1
        change = np.abs(old - new)
        stop = change <= thr
        over = ~stop & (iters[active] > con["maxiter"])
        done[active[stop]] = True
        failed[active[over]] = True
        active = active[~stop & ~over]
    return tau2, iters, failed


def _g_slope(method, yc, v, mask, kf, tau2):
    """Estimating function and its derivative per row (analysis.tau2._score_and_slope)."""
    sums = _Sums(yc, _w(v, mask, tau2))
    if method == "EB":
        return sums.ypy * kf / (kf - 1.0) - kf, -sums.yppy * kf / (kf - 1.0)
    if method == "PM":
        # Q(tau2) - (k - 1); dQ/dtau2 = -y'PPy
        return sums.ypy - (kf - 1.0), -sums.yppy
    if method == "REML":
        return sums.yppy - sums.tr_p(), -2.0 * sums.ypppy() + sums.tr_pp()
    return sums.yppy - sums.sw, -2.0 * sums.ypppy() + sums.sw2()


def _newton_rows(method, rows, idx, start, con):
    """analysis.tau2._newton for all rows idx at once; returns tau2, iterations, unsettled."""
    yc, v, mask, kf = rows.take(idx)
    n = idx.size
    tmin = float(con["tau2_min"])
    lo = np.full(n, tmin)
    hi = np.full(n, np.inf)
    tau2 = np.maximum(start, tmin)
    iters = np.zeros(n, dtype=int)
    active = np.arange(n)
    for _ in range(int(con["maxiter"])):
        if not active.size:
            break
        t = tau2[active]
        sub = active if active.size < n else slice(None)
        g, slope = _g_slope(
            method, yc[sub], v[sub], None if mask is None else mask[sub], kf[sub], t
        )
        iters[active] += 1
        pos = g > 0
        lo[active] = np.where(pos, np.maximum(lo[active], t), lo[active])
        hi[active] = np.where(pos, hi[active], np.minimum(hi[active], t))
        at_min = ~pos & (g != 0) & (t <= tmin)
        with np.errstate(divide="ignore", invalid="ignore"):
            new = np.where(slope < 0, t - g / slope, np.nan)
        a_lo, a_hi = lo[active], hi[active]
        bad = ~((a_lo < new) & (new < a_hi))
        to_min = bad & (new <= a_lo) & (a_lo == tmin) & (g < 0)
        grow = bad & ~to_min & np.isinf(a_hi)
        new = np.where(to_min, a_lo, new)
        new = np.where(grow, 2.0 * t + 1.0, new)
        new = np.where(bad & ~to_min & ~grow, 0.5 * (a_lo + a_hi), new)
        small = np.abs(new - t) <= con["threshold"] * np.maximum(1.0, np.abs(new))
        result = np.where(g == 0, t, np.where(at_min, tmin, new))
        settle = (g == 0) | at_min | small
        tau2[active] = np.where(settle, result, new)
        active = active[~settle]
    return tau2, iters, active


def rma_batch(
    yis: Sequence[Any],
    vis: Sequence[Any],
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    control: dict | str | None = None,
    labels: Sequence[str] | None = None,
) -> BatchResult:
    """Fit many intercept-only meta-analyses at once, as ``rma`` would one by one.

    Parameters
    ----------
    yis, vis : sequence of array_like
        The effects and sampling variances of each analysis (lengths may differ, k >= 1).
    method, test, level, control
        As for :func:`analysis.pooling.rma`, applied to every analysis.
    labels : sequence of str, optional
        A label per analysis, used in the notes of one-study analyses (default
        ``"analysis 1"``, ...).

    Returns
    -------
    BatchResult

    Raises
    ------
    ValueError
        For an empty list, mismatched lengths, bad data in any analysis (naming it), or bad
        options.

    Notes
    -----
    Warnings are not raised per analysis: one warning per kind of event (truncation,
    non-convergence, unpooled analyses) summarises how many analyses it affected, and each
    analysis's messages are in ``notes``.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    if test not in TESTS:
        raise ValueError(f"test must be one of {', '.join(TESTS)}; got {test!r}")
    if not (0 < level < 1):
        raise ValueError(f"level must be in (0, 1); got {level!r}")
    con = resolve_control(control)
    if len(yis) != len(vis):
        raise ValueError(f"{len(yis)} sets of yi but {len(vis)} sets of vi")
    if not len(yis):
        raise ValueError("no analyses: the list of yi is empty")
    checked = _checked(yis, vis)
    names = list(labels) if labels is not None else [f"analysis {i + 1}" for i in range(len(yis))]
    parts = [
        _fit_chunk(checked[lo:hi], names[lo:hi], method, test, level, con, control)
        for lo, hi in _chunks([c[0].size for c in checked])
    ]
    notes = [n for part in parts for n in part.pop("notes")]
    _summarise_warnings(notes, method)
    merged = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
    return BatchResult(
        method=method,
        test=test,
        level=level,
        control=control_name(control),
        notes=tuple("; ".join(n) for n in notes),
        **merged,
    )


#: Studies per chunk of analyses: a chunk's arrays (a few hundred kB) stay in the CPU cache
#: through all the passes of an iteration, which is 2-3 times faster than streaming a whole
#: leave-one-out batch of k = 1,000 (8 MB per array) through memory on every pass.
CHUNK = 1 << 15


def _chunks(sizes: list[int]) -> list[tuple[int, int]]:
    """Contiguous ranges of analyses whose padded size stays near CHUNK elements."""
    out, lo, width = [], 0, 0
    for i, size in enumerate(sizes):
        width = max(width, size)
        if i > lo and (i - lo + 1) * width > CHUNK:
            out.append((lo, i))
            lo, width = i, size
    out.append((lo, len(sizes)))
    return out


def _fit_chunk(checked, names, method, test, level, con, control) -> dict[str, Any]:
    """rma_batch on one chunk: the result arrays and the per-analysis notes."""
    rows = _Rows([c[0] for c in checked], [c[1] for c in checked])
    m = rows.k.size
    notes: list[list[str]] = [[] for _ in range(m)]
    tau2 = np.zeros(m)
    iterations = np.zeros(m, dtype=int)
    truncated = np.zeros(m, dtype=bool)
    converged = np.ones(m, dtype=bool)
    se_tau2 = np.full(m, np.nan)
    multi = np.flatnonzero(rows.k > 1)
    one_by_one: list[int] = []

    if multi.size and method != "FE":
        tau2_m, it_m, trunc_m, se_m, loop, fell_back = _tau2(method, rows, multi, con)
        for j in np.flatnonzero(fell_back):
            kind = "Fisher scoring" if method != "EB" else "EB iteration"
            notes[int(multi[j])].append(
                f"{kind} did not converge in {int(it_m[j])} iterations; bounded 1-D optimiser "
                "used instead"
            )
        tau2[multi], iterations[multi], truncated[multi], se_tau2[multi] = (
            tau2_m,
            it_m,
            trunc_m,
            se_m,
        )
        one_by_one = [int(multi[j]) for j in loop]

    out = _inference(rows, tau2, method, test, level)
    out.update(tau2=tau2, se_tau2=se_tau2)
    for i in np.flatnonzero(truncated):
        notes[i].append(f"tau2 estimate ({method}) below zero; truncated at 0")
    for i in np.flatnonzero(rows.k == 1):
        notes[i].append(
            f"only k = 1 study ({names[i]}): nothing pooled, the study itself is returned"
        )
    for i in one_by_one:
        fit = _refit_one(checked[i], method, test, level, control)
        for name in out:
            out[name][i] = getattr(fit, name)
        notes[i][:] = list(fit.warnings)
        iterations[i], converged[i] = fit.iterations, fit.converged
        truncated[i] = any("truncated at 0" in note for note in fit.warnings)
    out.update(
        k=rows.k,
        pooled=rows.k > 1,
        truncated=truncated,
        converged=converged,
        iterations=iterations,
        notes=notes,
    )
    return out


def _checked(yis, vis) -> list[tuple[np.ndarray, np.ndarray]]:
    """Flat float arrays per analysis; the first bad analysis is named in the error."""
    arrays = [
        (np.asarray(y, dtype=float).ravel(), np.asarray(v, dtype=float).ravel())
        for y, v in zip(yis, vis, strict=True)
    ]
    same = all(y.shape == v.shape and y.size for y, v in arrays)
    if same:
        y_all = np.concatenate([y for y, _v in arrays])
        v_all = np.concatenate([v for _y, v in arrays])
        if np.all(np.isfinite(y_all)) and np.all(np.isfinite(v_all)) and np.all(v_all > 0):
            return arrays
    for i, (y, v) in enumerate(arrays):
        try:
            effect_arrays(y, v)
        except ValueError as error:
            raise ValueError(f"analysis {i + 1}: {error}") from None
    raise AssertionError("unreachable: some analysis failed the joint check")


def _tau2(method, rows, idx, con):
    """tau2, iterations, truncation, SE for the rows idx; and which must be refitted singly."""
    yc, v, mask_or_none, kf = rows.take(idx)
    mask = rows.mask[idx] if mask_or_none is not None else np.ones(v.shape, dtype=bool)
    n = idx.size
    loop = np.zeros(n, dtype=bool)
    fell_back = np.zeros(n, dtype=bool)
    iters = np.zeros(n, dtype=int)
    tmin = con["tau2_min"]
    if method in ("DL", "HS"):
        w = mask / v
        rss = _ypy(yc, w)
        trp = _tr_p(w)
        sw = np.sum(w, axis=1)
        raw = (rss - kf) / sw if method == "HS" else (rss - (kf - 1)) / trp
        tau2 = np.maximum(tmin, raw)
        t = np.maximum(tau2, 0)
        denom = sw if method == "HS" else trp
        se = np.sqrt(1.0 / denom**2 * (2 * (kf - 1) + 4 * t * trp + 2 * t**2 * _tr_papb(w)))
        return tau2, iters, raw < tmin, se, np.flatnonzero(loop), fell_back
    if method == "SJ":
        init = con["tau2_init"]
        # var(yc, ddof=1) (k - 1) / k, with yc centred
        tau0 = np.sum(yc * yc, axis=1) / kf if init is None else np.full(n, float(init))
        w = mask / (v + tau0[:, None])
        raw = tau0 * _ypy(yc, w) / (kf - 1)
        tau2 = np.maximum(tmin, raw)
        t = np.maximum(tau2, 0)
        vm = np.where(mask, v, 0.0)
        se = np.sqrt(
            tau0**2
            / (kf - 1) ** 2
            * (2 * _tr_papb(w, vm, vm) + 4 * t * _tr_papb(w, vm, 1.0) + 2 * t**2 * _tr_papb(w))
        )
        return tau2, iters, raw < tmin, se, np.flatnonzero(loop), fell_back
    unit = mask.astype(float)
    vm = np.where(mask, v, 0.0)
    tr_pv = _tr_p(unit, vm)
    he = (_ypy(yc, unit) - tr_pv) / (kf - 1)
    if method == "HE":
        tau2 = np.maximum(tmin, he)
        t = np.maximum(tau2, 0)
        se = np.sqrt(
            1.0 / (kf - 1) ** 2 * (2 * _tr_papb(unit, vm, vm) + 4 * t * tr_pv + 2 * t**2 * (kf - 1))
        )
        return tau2, iters, he < tmin, se, np.flatnonzero(loop), fell_back
    if method == "PM":
        if not con["newton"]:
            # metafor's uniroot iterates define its PM answer: refit these one by one
            return (
                np.zeros(n),
                iters,
                np.zeros(n, dtype=bool),
                np.full(n, np.nan),
                np.arange(n),
                fell_back,
            )
        tau2, iters, unsettled = _newton_rows("PM", rows, idx, np.zeros(n), con)
        loop[unsettled] = True
        truncated = tau2 <= tmin
        iters[truncated] = 0  # the single fit checks Q(tau2_min) first and does not iterate
    else:
        start = con["tau2_init"]
        start = (
            np.maximum.reduce([np.zeros(n), he, np.full(n, tmin)])
            if start is None
            else (np.full(n, float(start)))
        )
        if con["newton"]:
            # metafor's own path first, then Newton from where it stops (analysis.tau2)
            approach = {**con, **{key: METAFOR_CONTROL[key] for key in ("threshold", "maxiter")}}
            tau2, iters, failed = _fisher(method, rows, idx, start, approach)
            ok = np.flatnonzero(~failed)
            polished, more, unsettled = _newton_rows(method, rows, idx[ok], tau2[ok], con)
            tau2[ok] = polished
            iters[ok] += more
            # Where metafor's path oscillates, the single fit solves the estimating equation
            # on [tau2_min, tau2_max] by Brent's method; the safeguarded Newton iteration from
            # the starting value finds that root too, without leaving the batch.
            bad = np.flatnonzero(failed)
            if bad.size:
                root, _more, unsettled_bad = _newton_rows(method, rows, idx[bad], start[bad], con)
                tau2[bad] = root
                fell_back[bad] = True
                failed[bad] = False
                failed[bad[unsettled_bad]] = True
            failed[ok[unsettled]] = True
        else:
            tau2, iters, failed = _fisher(method, rows, idx, start, con)
        loop |= failed
        if method in ("ML", "REML") and con["ll0check"]:
            reml = method == "REML"
            ll0 = _loglik(yc, v, mask_or_none, np.zeros(n), reml)
            ll = _loglik(yc, v, mask_or_none, tau2, reml)
            stuck = (ll0 - ll > con["tol"]) & (tau2 > con["threshold"]) & ~failed
            loop |= stuck  # rare: let rma record its note
        at_min = tau2 <= tmin
        truncated = np.zeros(n, dtype=bool)
        if np.any(at_min):
            truncated[at_min] = (
                _score(
                    method,
                    yc[at_min],
                    v[at_min],
                    mask[at_min],
                    kf[at_min],
                    np.full(int(at_min.sum()), float(tmin)),
                )
                < 0
            )
        tau2 = np.maximum(tmin, tau2)
    w = _w(v, mask_or_none, tau2)
    if method == "REML":
        se = np.sqrt(2.0 / _tr_papb(w))
    elif method == "ML":
        se = np.sqrt(2.0 / np.sum(w * w, axis=1))
    else:
        se = np.sqrt(2.0 * kf**2 / (kf - 1) / np.sum(w, axis=1) ** 2)
    return tau2, iters, truncated, se, np.flatnonzero(loop), fell_back


def _inference(rows, tau2, method, test, level):
    """Estimate, CI, tests, Q, I2/H2 and PI for every row at its tau2 (rma's _fit_uni)."""
    k, kf, mask, y, v = rows.k, rows.kf, rows.mask, rows.y, rows.v
    one = k == 1
    w = mask / (v + tau2[:, None])
    sw = np.sum(w, axis=1)
    est = np.sum(w * y, axis=1) / sw
    var = 1.0 / sw
    t_based = (test != "z") & ~one
    if test in ("knha", "adhoc"):
        rss = np.sum(w * (y - est[:, None]) ** 2, axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            s2w = np.where(rss <= np.finfo(float).eps, 0.0, rss / (kf - 1))
        if test == "adhoc":
            s2w = np.maximum(1.0, s2w)
        var = np.where(t_based, s2w * var, var)
    se = np.sqrt(var)
    df = np.where(t_based, kf - 1, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = est / se
    alpha = 1.0 - level
    z = float(-special.ndtri(alpha / 2))
    with np.errstate(invalid="ignore"):
        crit = np.where(t_based, -special.stdtrit(np.where(t_based, df, 1.0), alpha / 2), z)
        pvalue = np.where(
            t_based,
            2.0 * special.stdtr(np.where(t_based, df, 1.0), -np.abs(stat)),
            2.0 * special.ndtr(-np.abs(stat)),
        )
    # Cochran's Q with weights 1/vi on the centred effects, as heterogeneity.q_test
    w0 = mask / v
    q = np.maximum(0.0, _ypy(rows.yc, w0))
    q = np.where(one, 0.0, q)
    q_df = k - 1
    q_p = np.where(one, 1.0, special.chdtrc(np.maximum(q_df, 1), q))
    with np.errstate(divide="ignore", invalid="ignore"):
        vt = (kf - 1) / _tr_p(w0)
        if method == "FE":
            i2 = np.where(q == 0, 0.0, np.maximum(0.0, 100.0 * (q - q_df) / q))
            h2 = q / q_df
        else:
            i2 = 100.0 * tau2 / (vt + tau2)
            h2 = tau2 / vt + 1.0
    i2 = np.where(one, 0.0, i2)
    h2 = np.where(one, 1.0, h2)
    half = crit * np.sqrt(se * se + tau2)
    pi_low, pi_high = est - half, est + half
    if method == "FE":
        pi_low = np.full_like(est, np.nan)
        pi_high = np.full_like(est, np.nan)
    return {
        "estimate": est,
        "se": se,
        "stat": stat,
        "pvalue": pvalue,
        "ci_low": est - crit * se,
        "ci_high": est + crit * se,
        "df": df,
        "q": q,
        "q_df": q_df,
        "q_pvalue": q_p,
        "i2": i2,
        "h2": h2,
        "pi_low": pi_low,
        "pi_high": pi_high,
    }


def _refit_one(data, method, test, level, control) -> Any:
    """One analysis by rma: root searches whose iterates matter, and fallbacks."""
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore", MetaAnalysisWarning)
        return rma(
            data[0], data[1], method=method, test=test, level=level, control=control, tau2_ci=False
        )


def _summarise_warnings(notes: list[list[str]], method: str) -> None:
    """One warning per kind of event, saying how many analyses it concerns."""
    from analysis.warnings import ConvergenceWarning, Tau2TruncatedWarning

    kinds = (
        ("truncated at 0", Tau2TruncatedWarning, f"tau2 ({method}) truncated at 0"),
        ("nothing pooled", NotPooledWarning, "k = 1: nothing pooled"),
        ("did not converge", ConvergenceWarning, "non-convergence (fallback used)"),
        ("local maximum", ConvergenceWarning, "Fisher scoring at a local maximum"),
    )
    for needle, category, text in kinds:
        count = sum(any(needle in note for note in row) for row in notes)
        if count:
            _warnings.warn(
                f"{text} in {count} of {len(notes)} analyses (see notes)", category, stacklevel=3
            )
