"""Subgroup analysis with the test for subgroup differences.

Each subgroup gets its own model (its own tau2), as RevMan, the Cochrane Handbook and R's
``meta`` do by default; the subgroups are then compared by a test of homogeneity of their
pooled estimates. The mixed-effects moderator test, which assumes one tau2 common to all
subgroups (metafor's ``rma(yi, vi, mods = ~ factor(group))``), is reported beside it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis.pooling import rma
from analysis.warnings import MetaAnalysisWarning, NotPooledWarning


@dataclass(frozen=True)
class SubgroupResult:
    """Per-subgroup models and the tests for subgroup differences.

    Attributes
    ----------
    groups : tuple of str
        Subgroup labels, sorted (as R's ``factor`` orders its levels).
    results : Mapping[str, MetaResult]
        One model per subgroup, each with its own tau2. A subgroup of one study is reported
        unpooled (``pooled`` False: the study's own estimate and standard error).
    overall : MetaResult
        The model on all studies together.
    q_between, df_between, pvalue_between : float, int, float
        Test for subgroup differences: Cochran's Q of the subgroup estimates weighted by their
        inverse squared standard errors, chi-squared with G - 1 df. Equal to metafor's
        ``rma(estimates, sei=ses, method="FE")$QE``.
    qm, qm_df, qm_pvalue : float, tuple of int, float
        Mixed-effects moderator test (tau2 common to all subgroups), metafor's ``QM`` of
        ``rma(yi, vi, mods = ~ factor(group))``: chi-squared on G - 1 df under ``test="z"``, F
        on (G - 1, k - G) df under ``"knha"``/``"adhoc"``. NaN when it cannot be fitted (fewer
        than G + 1 studies); a note says so.
    tau2_common : float
        The common tau2 of that mixed-effects model (NaN when not fitted).
    method, test, level : str, str, float
        Settings of every model.
    notes : tuple of str
        Plain-language notes (unpooled subgroups, mixed model not fitted ...).
    warnings : tuple of str
        Warnings of the subgroup models, prefixed with the subgroup.
    """

    groups: tuple[str, ...]
    results: Mapping[str, Any] = field(repr=False)
    overall: Any = field(repr=False)
    q_between: float
    df_between: int
    pvalue_between: float
    qm: float
    qm_df: tuple[int, ...]
    qm_pvalue: float
    tau2_common: float
    method: str
    test: str
    level: float
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """One row per subgroup, then one ``overall`` row.

        Columns: ``group, k, pooled, estimate, se, ci_low, ci_high, pvalue, tau2, i2, q, q_df,
        q_pvalue, pi_low, pi_high`` (the overall row's ``group`` is ``"overall"``).
        """
        rows = [_frame_row(name, self.results[name]) for name in self.groups]
        rows.append(_frame_row("overall", self.overall))
        return pd.DataFrame(rows)

    def tests_frame(self) -> pd.DataFrame:
        """The two tests for subgroup differences, one row each.

        Columns: ``test`` (``"between (separate tau2)"``, ``"moderator (common tau2)"``),
        ``statistic``, ``df`` (text: ``"2"`` or ``"2, 10"`` for F), ``distribution``
        (``"chi2"`` or ``"F"``), ``pvalue``.
        """
        return pd.DataFrame(
            [
                {
                    "test": "between (separate tau2)",
                    "statistic": self.q_between,
                    "df": str(self.df_between),
                    "distribution": "chi2",
                    "pvalue": self.pvalue_between,
                },
                {
                    "test": "moderator (common tau2)",
                    "statistic": self.qm,
                    "df": ", ".join(map(str, self.qm_df)),
                    "distribution": "chi2" if len(self.qm_df) == 1 else "F",
                    "pvalue": self.qm_pvalue,
                },
            ]
        )

    def summary(self) -> str:
        """Short text: each subgroup's estimate and the test for subgroup differences."""
        pct = f"{100 * self.level:g}%"
        lines = [f"Subgroup analysis ({self.method}, test = {self.test}, {pct} CI)"]
        for name in self.groups:
            r = self.results[name]
            lines.append(
                f"  {name} (k = {r.k}): {r.estimate:.4f} [{r.ci_low:.4f}, {r.ci_high:.4f}]"
                f"{'' if r.pooled else ' (single study, not pooled)'}"
            )
        lines.append(
            f"Test for subgroup differences: Q = {self.q_between:.4f}, "
            f"df = {self.df_between}, p = {self.pvalue_between:.4f}"
        )
        lines.append(
            f"Moderator test (common tau2 = {self.tau2_common:.4f}): QM = {self.qm:.4f}, "
            f"df = {', '.join(map(str, self.qm_df))}, p = {self.qm_pvalue:.4f}"
        )
        lines.extend(f"Note: {note}" for note in self.notes)
        return "\n".join(lines)


def _frame_row(name: str, r: Any) -> dict[str, Any]:
    return {
        "group": name,
        "k": int(r.k),
        "pooled": bool(r.pooled),
        "estimate": float(r.estimate),
        "se": float(r.se),
        "ci_low": float(r.ci_low),
        "ci_high": float(r.ci_high),
        "pvalue": float(r.pvalue),
        "tau2": float(r.tau2),
        "i2": float(r.i2),
        "q": float(r.q),
        "q_df": int(r.q_df),
        "q_pvalue": float(r.q_pvalue),
        "pi_low": float(r.pi_low),
        "pi_high": float(r.pi_high),
    }


def q_between(estimates: Any, ses: Any) -> tuple[float, int, float]:
    """Cochran's Q test of homogeneity of G estimates with known standard errors.

    Parameters
    ----------
    estimates, ses : array_like
        Subgroup estimates and their standard errors (G >= 2).

    Returns
    -------
    q, df, pvalue : float, int, float
        ``Q = sum w_g (theta_g - theta_bar)^2`` with ``w_g = 1 / se_g^2`` and ``theta_bar`` the
        inverse-variance weighted mean; chi-squared on G - 1 df.

    References
    ----------
    Borenstein M, Hedges LV, Higgins JPT, Rothstein HR (2009). Introduction to Meta-Analysis,
    ch. 19. Wiley.
    """
    theta = np.asarray(estimates, dtype=float)
    w = 1.0 / np.asarray(ses, dtype=float) ** 2
    mean = float(np.sum(w * theta) / np.sum(w))
    q = float(np.sum(w * (theta - mean) ** 2))
    df = theta.size - 1
    return q, df, float(stats.chi2.sf(q, df))


def subgroup_analysis(
    yi: Any,
    vi: Any,
    groups: Sequence[Any],
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    slab: Sequence[Any] | None = None,
    control: dict | str | None = None,
) -> SubgroupResult:
    """Meta-analysis by subgroup with the test for subgroup differences.

    Parameters
    ----------
    yi, vi : array_like
        Effect sizes and sampling variances.
    groups : sequence
        Subgroup of each study (converted to str; at least 2 distinct values, none missing).
    method, test, level : str, str, float
        Passed to ``rma`` for every subgroup, the overall model and the mixed-effects model.
    slab : sequence, optional
        Study labels.
    control : None, "tight", "metafor" or dict, optional
        Stopping rules of every fit (see :func:`analysis.pooling.rma`).

    Returns
    -------
    SubgroupResult

    Raises
    ------
    ValueError
        With fewer than 2 subgroups, a missing group label or mismatched lengths.

    Notes
    -----
    Each subgroup g is pooled separately, giving ``theta_g`` and ``se_g`` with its own tau2
    (the "separate tau2" model). The test for subgroup differences is Cochran's Q among the G
    subgroup estimates, ``Q_between = sum (theta_g - theta_bar)^2 / se_g^2`` on G - 1 df
    (Cochrane Handbook 10.11.3.1; Borenstein et al. 2009, ch. 19); under ``test="knha"`` the
    Knapp-Hartung standard errors of the subgroups enter it. A subgroup of a single study is
    not pooled but enters the test with the study's own estimate and standard error.

    The mixed-effects alternative fits one model ``yi = b0 + sum_g b_g [group = g] + u + e``
    with a single tau2 and tests ``b_2 = ... = b_G = 0`` (metafor's QM). The two answer the
    same question under different assumptions about heterogeneity and can disagree when the
    subgroups are very unequally heterogeneous.

    References
    ----------
    Deeks JJ, Higgins JPT, Altman DG (eds). Chapter 10: Analysing data and undertaking
    meta-analyses. Cochrane Handbook for Systematic Reviews of Interventions, version 6.4, 2023.
    Borenstein M, Higgins JPT (2013). Meta-analysis and subgroups. Prev Sci 14:134-143.
    Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. J Stat Softw
    36(3):1-48.
    """
    yi = np.asarray(yi, dtype=float)
    vi = np.asarray(vi, dtype=float)
    labels_in = list(groups)
    if yi.ndim != 1 or vi.shape != yi.shape or len(labels_in) != yi.size:
        raise ValueError(
            f"yi, vi and groups must have the same length (got {yi.size}, {vi.size} and "
            f"{len(labels_in)})"
        )
    missing = [i for i, g in enumerate(labels_in) if g is None or _is_nan(g)]
    if missing:
        raise ValueError(
            f"groups has missing values at positions {missing}: every study needs a subgroup"
        )
    group_of = np.array([str(g) for g in labels_in], dtype=object)
    names = tuple(sorted(set(group_of)))
    if len(names) < 2:
        raise ValueError(
            f"a subgroup analysis needs at least 2 subgroups (got {len(names)}: {list(names)})"
        )
    study_labels = (
        [f"Study {i + 1}" for i in range(yi.size)] if slab is None else list(map(str, slab))
    )
    settings: dict[str, Any] = {"method": method, "test": test, "level": level, "control": control}

    results: dict[str, Any] = {}
    notes: list[str] = []
    recorded: list[str] = []
    for name in names:
        idx = np.flatnonzero(group_of == name)
        with warnings.catch_warnings():
            # A one-study subgroup is expected here and described in a note instead.
            warnings.simplefilter("ignore", NotPooledWarning)
            fit = rma(yi[idx], vi[idx], slab=[study_labels[i] for i in idx], **settings)
        results[name] = fit
        recorded.extend(f"{name}: {w}" for w in fit.warnings if idx.size > 1)
        if idx.size == 1:
            notes.append(
                f"subgroup {name!r} has a single study: it is reported unpooled and enters the "
                "test for subgroup differences with the study's own estimate and standard error"
            )
    overall = rma(yi, vi, slab=study_labels, **settings)

    q, df, p = q_between([results[n].estimate for n in names], [results[n].se for n in names])
    qm, qm_df, qm_p, tau2_common = _mixed_effects(yi, vi, group_of, names, settings, notes)
    return SubgroupResult(
        groups=names,
        results=MappingProxyType(results),
        overall=overall,
        q_between=q,
        df_between=df,
        pvalue_between=p,
        qm=qm,
        qm_df=qm_df,
        qm_pvalue=qm_p,
        tau2_common=tau2_common,
        method=method,
        test=test,
        level=level,
        notes=tuple(notes),
        warnings=tuple(recorded),
    )


def _mixed_effects(
    yi: np.ndarray,
    vi: np.ndarray,
    group_of: np.ndarray,
    names: tuple[str, ...],
    settings: dict[str, Any],
    notes: list[str],
) -> tuple[float, tuple[int, ...], float, float]:
    """QM of the meta-regression on subgroup dummies (first subgroup as reference)."""
    k, n_groups = yi.size, len(names)
    f_test = settings["test"] != "z"
    df = (n_groups - 1, k - n_groups) if f_test else (n_groups - 1,)
    if k <= n_groups:
        notes.append(
            f"the mixed-effects moderator test needs more studies than subgroups (k = {k}, "
            f"{n_groups} subgroups): not computed"
        )
        return math.nan, df, math.nan, math.nan
    dummies = np.column_stack([(group_of == name).astype(float) for name in names[1:]])
    try:
        fit: Any = rma(yi, vi, mods=dummies, **settings)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as error:
        message = f"mixed-effects moderator test could not be fitted: {error}"
        warnings.warn(message, MetaAnalysisWarning, stacklevel=3)
        notes.append(message)
        return math.nan, df, math.nan, math.nan
    qm_df = (int(fit.qm_df), int(fit.qm_df2)) if f_test else (int(fit.qm_df),)
    return float(fit.qm), qm_df, float(fit.qm_pvalue), float(fit.tau2)


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)
