"""Leave-one-out and cumulative meta-analysis, as metafor's ``leave1out`` and ``cumul``.

All refits are fitted at once by :func:`analysis.batch.rma_batch`, which gives the answers of
``analysis.pooling.rma`` one by one (to rounding error) in a few vectorised passes.
Each returns a tidy frame with one row per refit: the columns are the
project's vocabulary for metafor's (``estimate, se, zval/tval, pval, ci.lb, ci.ub, Q, Qp, tau2,
I2, H2`` become ``estimate, se, stat, pvalue, ci_low, ci_high, q, q_pvalue, tau2, i2, h2``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from analysis.batch import rma_batch
from analysis.pooling import effect_arrays, rma
from analysis.warnings import MetaAnalysisWarning, NotPooledWarning

#: Columns of both frames after the label column and ``k``.
RESULT_COLUMNS = (
    "estimate",
    "se",
    "stat",
    "pvalue",
    "ci_low",
    "ci_high",
    "q",
    "q_pvalue",
    "tau2",
    "i2",
    "h2",
    "converged",
    "note",
)


def _inputs(yi: Any, vi: Any, slab: Sequence[Any] | None) -> tuple[np.ndarray, np.ndarray, list]:
    yi, vi = effect_arrays(yi, vi)
    labels = [f"Study {i + 1}" for i in range(yi.size)] if slab is None else list(map(str, slab))
    if len(labels) != yi.size:
        raise ValueError(f"slab has {len(labels)} labels for k = {yi.size} studies")
    return yi, vi, labels


def _fit_rows(
    subsets: list[np.ndarray],
    yi: np.ndarray,
    vi: np.ndarray,
    labels: list,
    rma_kwargs: dict[str, Any],
    quiet: Callable[[int], bool],
) -> list[dict[str, Any]]:
    """All refits in one call of the batch engine (same answers as rma one by one)."""
    rma_kwargs = dict(rma_kwargs)
    # The Q-profile CI of tau2 is not a column of these frames, and the batch does not compute it.
    rma_kwargs.pop("tau2_ci", None)
    # metafor starts from a fitted model, so bad options fail before any refit; fitting the full
    # model first does the same here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetaAnalysisWarning)
        rma(yi, vi, tau2_ci=False, **rma_kwargs)
    unknown = set(rma_kwargs) - {"method", "test", "level", "control"}
    if unknown:
        raise TypeError(f"unexpected options for the refits: {', '.join(sorted(unknown))}")
    with warnings.catch_warnings():
        if all(quiet(idx.size) for idx in subsets if idx.size == 1):
            # A one-study step is expected in these analyses, not an event to report.
            warnings.simplefilter("ignore", NotPooledWarning)
        fits = rma_batch(
            [yi[idx] for idx in subsets],
            [vi[idx] for idx in subsets],
            labels=[labels[idx[0]] for idx in subsets],
            **rma_kwargs,
        )
    frame = fits.to_frame()
    return [
        {
            "k": int(row.k),
            **{name: float(getattr(row, name)) for name in RESULT_COLUMNS[:-2]},
            "converged": bool(row.converged),
            "note": row.note,
        }
        for row in frame.itertuples(index=False)
    ]


def leave_one_out(
    yi: Any, vi: Any, *, slab: Sequence[Any] | None = None, **rma_kwargs: Any
) -> pd.DataFrame:
    """Refit the model k times, each time omitting one study (metafor's ``leave1out``).

    Parameters
    ----------
    yi, vi : array_like
        Effect sizes and sampling variances, k >= 2.
    slab : sequence, optional
        Study labels (default ``"Study 1"``, ...).
    **rma_kwargs
        Passed to every ``rma`` call (``method``, ``test``, ``level``, ``control`` ...), as
        metafor reuses the fitted model's settings. ``mods`` is not allowed.

    Returns
    -------
    DataFrame
        One row per study in input order: ``omitted`` (label of the study left out), ``k``
        (studies in the refit, k - 1), ``estimate, se, stat, pvalue, ci_low, ci_high, q,
        q_pvalue, tau2, i2, h2`` of the refit, ``converged`` and ``note`` (its warnings, or why
        it failed; a failed refit has NaN results, as metafor's NA).

    Raises
    ------
    ValueError
        With k < 2, or when ``mods`` is passed.

    Notes
    -----
    ``stat`` is the z statistic, or t with k - 2 df under ``test="knha"``/``"adhoc"``; ``i2``
    is in percent. With k = 2 each refit holds one study, reported unpooled (the study's own
    estimate and standard error, tau2 = 0, Q = 0), as metafor does.

    References
    ----------
    Viechtbauer W, Cheung MWL (2010). Outlier and influence diagnostics for meta-analysis.
    Research Synthesis Methods 1:112-125.
    """
    yi, vi, labels = _inputs(yi, vi, slab)
    _no_mods(rma_kwargs)
    k = yi.size
    if k < 2:
        raise ValueError(f"leave-one-out needs at least 2 studies (k = {k})")
    everything = np.arange(k)
    subsets = [everything[everything != i] for i in range(k)]
    rows = _fit_rows(subsets, yi, vi, labels, rma_kwargs, quiet=lambda size: False)
    frame = pd.DataFrame(rows)
    frame.insert(0, "omitted", labels)
    return frame[["omitted", "k", *RESULT_COLUMNS]]


def cumulative(
    yi: Any,
    vi: Any,
    *,
    order: Sequence[Any] | None = None,
    slab: Sequence[Any] | None = None,
    **rma_kwargs: Any,
) -> pd.DataFrame:
    """Cumulative meta-analysis: add the studies one at a time (metafor's ``cumul``).

    Parameters
    ----------
    yi, vi : array_like
        Effect sizes and sampling variances.
    order : sequence, optional
        A sort key per study (e.g. publication year): studies are added in increasing order of
        it, ties kept in input order (metafor 3.8's ``order`` argument). Default: input order.
    slab : sequence, optional
        Study labels (default ``"Study 1"``, ...).
    **rma_kwargs
        Passed to every ``rma`` call (``method``, ``test``, ``level``, ``control`` ...).
        ``mods`` is not allowed.

    Returns
    -------
    DataFrame
        One row per step in the order of accumulation: ``added`` (label of the study added at
        that step), ``k`` (studies pooled so far), then ``estimate, se, stat, pvalue, ci_low,
        ci_high, q, q_pvalue, tau2, i2, h2, converged, note`` as in :func:`leave_one_out`. The
        last row is the model on all studies.

    Raises
    ------
    ValueError
        When ``order`` does not have one key per study, or when ``mods`` is passed.

    Notes
    -----
    The first step holds a single study and is reported unpooled (its own estimate and
    standard error), as metafor does; the ``NotPooledWarning`` of that step is not raised,
    because a one-study first step is part of the method, not an event.

    References
    ----------
    Lau J, Antman EM, Jimenez-Silva J, Kupelnick B, Mosteller F, Chalmers TC (1992). Cumulative
    meta-analysis of therapeutic trials for myocardial infarction. N Engl J Med 327:248-254.
    """
    yi, vi, labels = _inputs(yi, vi, slab)
    _no_mods(rma_kwargs)
    k = yi.size
    if k < 1:
        raise ValueError("cumulative meta-analysis needs at least 1 study (k = 0)")
    if order is None:
        sequence = np.arange(k)
    else:
        keys = np.asarray(order)
        if keys.shape != (k,):
            raise ValueError(f"order has {keys.size} keys for k = {k} studies")
        sequence = np.argsort(keys, kind="stable")
    subsets = [sequence[: i + 1] for i in range(k)]
    rows = _fit_rows(subsets, yi, vi, labels, rma_kwargs, quiet=lambda size: size == 1)
    frame = pd.DataFrame(rows)
    frame.insert(0, "added", [labels[j] for j in sequence])
    return frame[["added", "k", *RESULT_COLUMNS]]


def _no_mods(rma_kwargs: dict[str, Any]) -> None:
    if rma_kwargs.get("mods") is not None:
        raise ValueError(
            "leave-one-out and cumulative analyses apply to models without moderators (mods)"
        )
