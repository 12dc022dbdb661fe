"""Effect sizes and their sampling variances, as metafor's ``escalc`` computes them.

One call turns reported group statistics into ``yi`` (the effect size) and ``vi`` (its
sampling variance) for every study; pooling is a separate step (:mod:`analysis.pooling`), as
metafor keeps ``escalc`` apart from ``rma``. Argument names, measure codes, ``vtype`` codes and
the defaults (``add=0.5``, ``to="only0"``, ``vtype="LS"``) are metafor's, so that a reader
who knows metafor knows what each call does. Values agree with metafor 3.8.1 to ~1e-12
(tests/reference/metafor_escalc.json).

Inputs are vectorised: every argument is a scalar or a one-dimensional array of length k, and
scalars (or length-1 arrays) are repeated to length k. Missing values (NaN) propagate to
``yi``/``vi`` of that study only; they are never an error.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.special import gammaln

from analysis.warnings import DataWarning

__all__ = ["MEASURES", "EffectSizes", "escalc", "hedges_correction"]

#: Measure -> (required arguments, allowed ``vtype`` codes).
MEASURES: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "MD": (("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"), ("LS", "UB", "HO")),
    "SMD": (("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"), ("LS", "UB", "LS2", "AV")),
    "ROM": (("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"), ("LS", "HO", "AV", "AVHO")),
    "MC": (("m1i", "m2i", "sd1i", "sd2i", "ri", "ni"), ("LS",)),
    "ROMC": (("m1i", "m2i", "sd1i", "sd2i", "ri", "ni"), ("LS",)),
    "SMCR": (("m1i", "m2i", "sd1i", "ri", "ni"), ("LS", "LS2")),
    "OR": (("ai", "bi", "ci", "di"), ("LS",)),
    "RR": (("ai", "bi", "ci", "di"), ("LS",)),
    "RD": (("ai", "bi", "ci", "di"), ("LS", "UB", "AV")),
    "ZCOR": (("ri", "ni"), ("LS",)),
}

_TO_OPTIONS = ("all", "only0", "if0all", "none")
_BINARY = ("OR", "RR", "RD")


@dataclass(frozen=True)
class EffectSizes:
    """Effect sizes of k studies on one measure.

    Attributes
    ----------
    yi : numpy.ndarray
        Effect sizes (log scale for OR, RR and ROM; Fisher z for ZCOR).
    vi : numpy.ndarray
        Sampling variances of ``yi``.
    measure : str
        metafor's measure code, e.g. ``"MD"``.
    notes : tuple of str
        What was done beyond the plain formula (cells corrected for zeros, variances that could
        not be computed), in words fit for the derivation ledger.
    """

    yi: np.ndarray
    vi: np.ndarray
    measure: str
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        # Freeze the arrays too: a frozen dataclass whose arrays can be edited in place is not.
        for name in ("yi", "vi"):
            arr = np.array(getattr(self, name), dtype=float)
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    @property
    def k(self) -> int:
        """Number of studies."""
        return int(self.yi.size)

    @property
    def sei(self) -> np.ndarray:
        """Standard errors, ``sqrt(vi)``."""
        return np.sqrt(self.vi)

    def to_frame(self) -> pd.DataFrame:
        """One row per study with columns ``yi``, ``vi`` and ``sei``."""
        return pd.DataFrame({"yi": self.yi, "vi": self.vi, "sei": self.sei})


def hedges_correction(mi: ArrayLike) -> np.ndarray:
    """Exact small-sample bias correction J(m) of a standardized mean difference.

    Parameters
    ----------
    mi : array_like
        Degrees of freedom m (n1 + n2 - 2 for SMD, n - 1 for SMCR).

    Returns
    -------
    numpy.ndarray
        ``J(m) = Γ(m/2) / (sqrt(m/2) Γ((m-1)/2))``; NaN where m <= 1, where J is undefined.

    Notes
    -----
    This is the exact gamma-function form that metafor's internal ``.cmicalc`` uses, not the
    approximation ``1 - 3/(4m - 1)``; the two differ by ~1e-4 at m = 10. Computed on the
    log-gamma scale so that large m does not overflow.

    References
    ----------
    Hedges, L. V. (1981). Distribution theory for Glass's estimator of effect size and related
    estimators. Journal of Educational Statistics, 6(2), 107-128.
    """
    m = np.asarray(mi, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.exp(gammaln(m / 2) - np.log(np.sqrt(m / 2)) - gammaln((m - 1) / 2))
    return np.where(m > 1, out, np.nan)


def escalc(
    measure: str,
    *,
    m1i: ArrayLike | None = None,
    sd1i: ArrayLike | None = None,
    n1i: ArrayLike | None = None,
    m2i: ArrayLike | None = None,
    sd2i: ArrayLike | None = None,
    n2i: ArrayLike | None = None,
    ai: ArrayLike | None = None,
    bi: ArrayLike | None = None,
    ci: ArrayLike | None = None,
    di: ArrayLike | None = None,
    ri: ArrayLike | None = None,
    ni: ArrayLike | None = None,
    vtype: str = "LS",
    add: float = 0.5,
    to: str = "only0",
) -> EffectSizes:
    """Compute effect sizes and sampling variances with metafor's default formulas.

    Parameters
    ----------
    measure : {"MD", "SMD", "ROM", "MC", "ROMC", "SMCR", "OR", "RR", "RD", "ZCOR"}
        Outcome measure, spelled as in metafor.
    m1i, sd1i, n1i, m2i, sd2i, n2i : array_like, optional
        Means, standard deviations and sizes of group 1 (treatment) and group 2 (control) for
        MD, SMD and ROM. For MC and SMCR: ``m1i``/``m2i`` are the means at the two occasions
        (the effect is ``m1i - m2i``, so pass the final mean as ``m1i`` and the baseline mean as
        ``m2i`` for change from baseline), ``sd1i``/``sd2i`` the SDs at those occasions. SMCR
        standardizes by ``sd1i`` alone, which in metafor's convention is the *baseline* SD:
        pass the baseline SD as ``sd1i`` (Becker 1988; Morris 2000).
    ai, bi, ci, di : array_like, optional
        2x2 table counts for OR, RR, RD: events and non-events in group 1 (``ai``, ``bi``) and
        in group 2 (``ci``, ``di``). ``bi`` and ``di`` may be left out when ``n1i`` and ``n2i``
        are given (``bi = n1i - ai``).
    ri : array_like, optional
        Correlation: between the two occasions for MC and SMCR, the observed correlation for
        ZCOR.
    ni : array_like, optional
        Sample size for MC, SMCR and ZCOR.
    vtype : str, default "LS"
        Sampling-variance estimator, as in metafor. MD: "LS"/"UB" (unequal variances,
        ``sd1i²/n1i + sd2i²/n2i``) or "HO" (pooled SD). SMD: "LS" (large-sample), "UB"
        (unbiased), "LS2", "AV". ROM: "LS", "HO", "AV", "AVHO". RD: "LS", "UB", "AV". SMCR:
        "LS", "LS2". MC, OR, RR, ZCOR: "LS" only.
    add : float, default 0.5
        Amount added to the cells of 2x2 tables (OR, RR, RD) according to ``to``.
    to : {"only0", "all", "if0all", "none"}, default "only0"
        Which tables get ``add``: only those with a zero cell (metafor's default), all, all if
        any has a zero cell, or none.

    Returns
    -------
    EffectSizes
        ``yi``, ``vi`` (arrays of length k), ``measure`` and ``notes``.

    Raises
    ------
    ValueError
        Unknown ``measure``/``vtype``/``to``, a required argument missing, arguments of unequal
        length, or an impossible value (negative SD, group size <= 0, |r| > 1, negative count,
        events above the group size); the message names the argument, study index and value.

    Warns
    -----
    DataWarning
        When a study's effect or variance cannot be computed: ZCOR with ni <= 3, SMD/SMCR with
        too few degrees of freedom for the bias correction, ROM with a non-positive mean, or an
        infinite value (a zero cell with ``to="none"``, ``ri = ±1``), which is set to NaN as
        metafor does. The study's note says which.

    Notes
    -----
    With d the standardized difference and J(m) the exact correction of
    :func:`hedges_correction`:

    * MD: ``yi = m1i - m2i``; LS/UB ``vi = sd1i²/n1i + sd2i²/n2i``; HO
      ``vi = sp² (1/n1i + 1/n2i)`` with the pooled SD ``sp``.
    * SMD (Hedges' g): ``yi = J(n1i+n2i-2) (m1i - m2i)/sp``; LS
      ``vi = 1/n1i + 1/n2i + yi²/(2 (n1i+n2i))``; UB
      ``vi = 1/n1i + 1/n2i + (1 - (m-2)/(m J²)) yi²``.
    * ROM: ``yi = log(m1i/m2i)``; LS ``vi = sd1i²/(n1i m1i²) + sd2i²/(n2i m2i²)``.
    * MC: ``yi = m1i - m2i``; ``vi = (sd1i² + sd2i² - 2 ri sd1i sd2i)/ni``.
    * ROMC (log ratio of means, paired): ``yi = log(m1i/m2i)``;
      ``vi = sd1i²/(ni m1i²) + sd2i²/(ni m2i²) - 2 ri sd1i sd2i/(ni m1i m2i)``
      (Lajeunesse 2011).
    * SMCR: ``yi = J(ni-1) (m1i - m2i)/sd1i``; LS ``vi = 2 (1 - ri)/ni + yi²/(2 ni)``.
    * OR: ``yi = log(ai di / (bi ci))``; ``vi = 1/ai + 1/bi + 1/ci + 1/di``.
    * RR: ``yi = log((ai/n1i)/(ci/n2i))``; ``vi = 1/ai - 1/n1i + 1/ci - 1/n2i``.
    * RD: ``yi = ai/n1i - ci/n2i``; LS ``vi = p1(1-p1)/n1i + p2(1-p2)/n2i``.
    * ZCOR: ``yi = atanh(ri)``; ``vi = 1/(ni - 3)``.

    For OR, RR and RD, ``add`` is added to all four cells of the tables chosen by ``to``
    before both ``yi`` and ``vi`` are computed (metafor's defaults; a table with zero events in
    both groups is kept, not dropped).

    References
    ----------
    Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. Journal of
    Statistical Software, 36(3), 1-48.
    Hedges, L. V. (1981). Journal of Educational Statistics, 6(2), 107-128.
    Hedges, L. V., Gurevitch, J., & Curtis, P. S. (1999). The meta-analysis of response ratios
    in experimental ecology. Ecology, 80(4), 1150-1156.
    Lajeunesse, M. J. (2011). On the meta-analysis of response ratios for studies with
    correlated and multi-group designs. Ecology, 92(11), 2049-2055.
    Becker, B. J. (1988). Synthesizing standardized mean-change measures. British Journal of
    Mathematical and Statistical Psychology, 41(2), 257-278.
    Morris, S. B. (2000). Distribution of the standardized mean change effect size for
    meta-analysis on repeated measures. British Journal of Mathematical and Statistical
    Psychology, 53(1), 17-29.
    """
    if measure not in MEASURES:
        raise ValueError(f"measure: {measure!r} is not one of {', '.join(MEASURES)}")
    required, vtypes = MEASURES[measure]
    if vtype not in vtypes:
        raise ValueError(
            f"vtype: {vtype!r} is not available for measure {measure!r}; "
            f"use one of {', '.join(vtypes)}"
        )
    if to not in _TO_OPTIONS:
        raise ValueError(f"to: {to!r} is not one of {', '.join(_TO_OPTIONS)}")
    if not np.isfinite(add) or add < 0:
        raise ValueError(f"add: {add!r} must be a finite number >= 0")

    given = {
        "m1i": m1i, "sd1i": sd1i, "n1i": n1i, "m2i": m2i, "sd2i": sd2i, "n2i": n2i,
        "ai": ai, "bi": bi, "ci": ci, "di": di, "ri": ri, "ni": ni,
    }  # fmt: skip
    if measure in _BINARY:
        given = _complete_tables(given)
    missing = [name for name in required if given[name] is None]
    if missing:
        raise ValueError(
            f"measure {measure!r} needs {', '.join(required)}; missing: {', '.join(missing)}"
        )
    x = _as_arrays({name: given[name] for name in required})
    _check_values(x)

    compute = {
        "MD": _md,
        "SMD": _smd,
        "ROM": _rom,
        "MC": _mc,
        "ROMC": _romc,
        "SMCR": _smcr,
        "ZCOR": _zcor,
    }.get(measure)
    if compute is not None:
        yi, vi, notes = compute(x, vtype)
    else:
        yi, vi, notes = _binary(measure, x, vtype, add, to)
    # metafor recodes infinite yi/vi (log of a zero cell with to="none", atanh(1)) to missing.
    infinite = np.isinf(yi) | np.isinf(vi)
    if infinite.any():
        yi, vi = np.where(infinite, np.nan, yi), np.where(infinite, np.nan, vi)
        notes.append(f"yi or vi infinite, set to NaN, for studies {_idx(np.flatnonzero(infinite))}")
    for note in notes:
        if note.startswith(("vi not computable", "yi or vi infinite", "yi undefined")):
            warnings.warn(f"escalc({measure!r}): {note}", DataWarning, stacklevel=2)
    return EffectSizes(yi=yi, vi=vi, measure=measure, notes=tuple(notes))


# --- input handling ---------------------------------------------------------------------


def _complete_tables(given: dict) -> dict:
    """Fill bi/di from n1i/n2i, as metafor does, and check the sums when all are given."""
    given = dict(given)
    for events, others, total in (("ai", "bi", "n1i"), ("ci", "di", "n2i")):
        if given[events] is None or given[total] is None:
            continue
        ev = np.atleast_1d(np.asarray(given[events], dtype=float))
        tot = np.atleast_1d(np.asarray(given[total], dtype=float))
        if given[others] is None:
            given[others] = tot - ev
        else:
            oth = np.atleast_1d(np.asarray(given[others], dtype=float))
            bad = np.flatnonzero(np.abs(ev + oth - tot) > 0)
            if bad.size:
                i = int(bad[0])
                raise ValueError(
                    f"{total}[{i}] = {_fmt(tot, i)} is not {events} + {others} "
                    f"= {_fmt(ev, i)} + {_fmt(oth, i)}"
                )
    return given


def _as_arrays(given: dict) -> dict[str, np.ndarray]:
    arrays = {}
    for name, value in given.items():
        try:
            arr = np.asarray(value, dtype=float)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{name}: {value!r} is not numeric") from err
        if arr.ndim > 1:
            raise ValueError(f"{name}: expected a scalar or 1-d array, got shape {arr.shape}")
        arrays[name] = np.atleast_1d(arr)
    lengths = {name: arr.size for name, arr in arrays.items()}
    k = max(lengths.values())
    wrong = {name: n for name, n in lengths.items() if n not in (1, k)}
    if wrong:
        raise ValueError(
            "arguments are not all of the same length: "
            + ", ".join(f"{name} has {n}" for name, n in lengths.items())
        )
    # Copies, so that adding to cells never touches the caller's arrays.
    return {name: np.array(np.broadcast_to(arr, (k,)), dtype=float) for name, arr in arrays.items()}


def _fmt(arr: np.ndarray, i: int) -> str:
    return f"{arr[i]:g}"


def _first_bad(name: str, arr: np.ndarray, bad: np.ndarray, rule: str) -> None:
    # NaN compares False, so missing values never trip a check.
    idx = np.flatnonzero(bad)
    if idx.size:
        i = int(idx[0])
        raise ValueError(f"{name}[{i}] = {_fmt(arr, i)}: {rule}")


def _check_values(x: dict[str, np.ndarray]) -> None:
    for name in ("sd1i", "sd2i"):
        if name in x:
            _first_bad(name, x[name], x[name] < 0, "a standard deviation must be >= 0")
    for name in ("n1i", "n2i", "ni"):
        if name in x:
            _first_bad(name, x[name], x[name] <= 0, "a sample size must be > 0")
    if "ri" in x:
        _first_bad("ri", x["ri"], np.abs(x["ri"]) > 1, "a correlation must lie in [-1, 1]")
    for name in ("ai", "bi", "ci", "di"):
        if name in x:
            _first_bad(name, x[name], x[name] < 0, "a count must be >= 0")


# --- continuous measures ----------------------------------------------------------------


def _pooled_sd(x: dict[str, np.ndarray]) -> np.ndarray:
    n1, n2 = x["n1i"], x["n2i"]
    return np.sqrt(((n1 - 1) * x["sd1i"] ** 2 + (n2 - 1) * x["sd2i"] ** 2) / (n1 + n2 - 2))


def _md(x, vtype):
    yi = x["m1i"] - x["m2i"]
    if vtype == "HO":
        vi = _pooled_sd(x) ** 2 * (1 / x["n1i"] + 1 / x["n2i"])
    else:  # LS and UB coincide for MD
        vi = x["sd1i"] ** 2 / x["n1i"] + x["sd2i"] ** 2 / x["n2i"]
    return yi, vi, []


def _smd(x, vtype):
    n1, n2 = x["n1i"], x["n2i"]
    ni = n1 + n2
    mi = ni - 2
    with np.errstate(divide="ignore", invalid="ignore"):
        d = (x["m1i"] - x["m2i"]) / _pooled_sd(x)
        cmi = hedges_correction(mi)
        yi = cmi * d
        base = 1 / n1 + 1 / n2
        if vtype == "LS":
            vi = base + yi**2 / (2 * ni)
        elif vtype == "UB":
            vi = base + (1 - (mi - 2) / (mi * cmi**2)) * yi**2
        elif vtype == "LS2":
            vi = cmi**2 * (base + d**2 / (2 * ni))
        else:  # AV: the sample-size weighted mean of yi replaces yi
            ok = ~(np.isnan(yi) | np.isnan(ni))
            mnwyi = np.sum(yi[ok] * ni[ok]) / np.sum(ni[ok]) if ok.any() else np.nan
            vi = base + mnwyi**2 / (2 * ni)
    return yi, vi, _undefined_correction_notes(mi, "n1i + n2i - 2")


def _rom(x, vtype):
    m1, m2, sd1, sd2, n1, n2 = (x[k] for k in ("m1i", "m2i", "sd1i", "sd2i", "n1i", "n2i"))
    with np.errstate(divide="ignore", invalid="ignore"):
        yi = np.log(m1 / m2)
        if vtype == "LS":
            vi = sd1**2 / (n1 * m1**2) + sd2**2 / (n2 * m2**2)
        elif vtype == "HO":
            sp2 = _pooled_sd(x) ** 2
            vi = sp2 / (n1 * m1**2) + sp2 / (n2 * m2**2)
        else:
            cv1, cv2 = sd1 / m1, sd2 / m2
            if vtype == "AV":
                # each group's mean CV over the studies where that group is complete, as
                # metafor's .wmean(sd1i/m1i, n1i, na.rm=TRUE)
                ok1, ok2 = ~(np.isnan(n1) | np.isnan(cv1)), ~(np.isnan(n2) | np.isnan(cv2))
                mn1 = np.sum(n1[ok1] * cv1[ok1]) / np.sum(n1[ok1])
                mn2 = np.sum(n2[ok2] * cv2[ok2]) / np.sum(n2[ok2])
                vi = mn1**2 / n1 + mn2**2 / n2
            else:  # AVHO: one mean CV over the studies where both groups are complete
                ok = ~(np.isnan(n1) | np.isnan(n2) | np.isnan(cv1) | np.isnan(cv2))
                mn = (np.sum(n1[ok] * cv1[ok]) + np.sum(n2[ok] * cv2[ok])) / np.sum(n1[ok] + n2[ok])
                vi = mn**2 * (1 / n1 + 1 / n2)
    # metafor gives no variance where the log ratio is undefined (a negative ratio)
    vi = np.where(np.isnan(yi), np.nan, vi)
    notes = []
    nonpos = np.flatnonzero((m1 <= 0) | (m2 <= 0))
    if nonpos.size:
        notes.append(
            f"yi undefined (log of a non-positive ratio of means) for studies {_idx(nonpos)}"
        )
    return yi, vi, notes


def _mc(x, vtype):
    sd1, sd2, ri = x["sd1i"], x["sd2i"], x["ri"]
    yi = x["m1i"] - x["m2i"]
    vi = (sd1**2 + sd2**2 - 2 * ri * sd1 * sd2) / x["ni"]
    return yi, vi, []


def _romc(x, vtype):
    m1, m2, sd1, sd2, ri, ni = (x[k] for k in ("m1i", "m2i", "sd1i", "sd2i", "ri", "ni"))
    with np.errstate(divide="ignore", invalid="ignore"):
        yi = np.log(m1 / m2)
        vi = (sd1**2 / m1**2 + sd2**2 / m2**2 - 2 * ri * sd1 * sd2 / (m1 * m2)) / ni
    # metafor gives no variance where the log ratio is undefined (a negative ratio)
    vi = np.where(np.isnan(yi), np.nan, vi)
    notes = []
    nonpos = np.flatnonzero((m1 <= 0) | (m2 <= 0))
    if nonpos.size:
        notes.append(
            f"yi undefined (log of a non-positive ratio of means) for studies {_idx(nonpos)}"
        )
    return yi, vi, notes


def _smcr(x, vtype):
    ni, ri = x["ni"], x["ri"]
    mi = ni - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        cmi = hedges_correction(mi)
        d = (x["m1i"] - x["m2i"]) / x["sd1i"]
        yi = cmi * d
        if vtype == "LS":
            vi = 2 * (1 - ri) / ni + yi**2 / (2 * ni)
        else:  # LS2
            vi = cmi**2 * (2 * (1 - ri) / ni + d**2 / (2 * ni))
    return yi, vi, _undefined_correction_notes(mi, "ni - 1")


def _zcor(x, vtype):
    ri, ni = x["ri"], x["ni"]
    with np.errstate(divide="ignore"):
        yi = np.arctanh(ri)
    small = ni <= 3
    vi = np.where(small, np.nan, 1 / np.where(small, np.nan, ni - 3))
    notes = []
    if small.any():
        notes.append(f"vi not computable (ni <= 3) for studies {_idx(np.flatnonzero(small))}")
    return yi, vi, notes


def _undefined_correction_notes(mi: np.ndarray, what: str) -> list[str]:
    bad = np.flatnonzero(mi <= 1)
    if not bad.size:
        return []
    return [f"vi not computable ({what} <= 1: no bias correction) for studies {_idx(bad)}"]


def _idx(indices: np.ndarray) -> str:
    return ", ".join(str(int(i)) for i in indices)


# --- 2x2 tables -------------------------------------------------------------------------


def _binary(measure, x, vtype, add, to):
    # More events than participants cannot reach here: it means a negative bi or di (given, or
    # n1i - ai), which _check_values has refused.
    ai, bi, ci, di = (x[k] for k in ("ai", "bi", "ci", "di"))
    notes = []
    zero = (ai == 0) | (bi == 0) | (ci == 0) | (di == 0)  # NaN compares False
    if to == "all":
        chosen = np.ones_like(zero)
    elif to == "only0":
        chosen = zero
    elif to == "if0all":
        chosen = np.full_like(zero, zero.any())
    else:
        chosen = np.zeros_like(zero)
    if add > 0 and chosen.any():
        for cell in (ai, bi, ci, di):
            cell[chosen] += add
        why = "a zero cell" if to == "only0" else f"to={to!r}"
        notes.append(
            f"{add:g} added to every cell of studies {_idx(np.flatnonzero(chosen))} ({why})"
        )

    n1, n2 = ai + bi, ci + di
    with np.errstate(divide="ignore", invalid="ignore"):
        p1, p2 = ai / n1, ci / n2
        if measure == "OR":
            yi = np.log(p1 / (1 - p1)) - np.log(p2 / (1 - p2))
            vi = 1 / ai + 1 / bi + 1 / ci + 1 / di
        elif measure == "RR":
            yi = np.log(p1) - np.log(p2)
            vi = 1 / ai - 1 / n1 + 1 / ci - 1 / n2
        else:
            yi = p1 - p2
            if vtype == "LS":
                vi = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
            elif vtype == "UB":
                vi = p1 * (1 - p1) / (n1 - 1) + p2 * (1 - p2) / (n2 - 1)
            else:  # AV: sample-size weighted mean proportions of each group
                ok1, ok2 = ~(np.isnan(p1) | np.isnan(n1)), ~(np.isnan(p2) | np.isnan(n2))
                mp1 = np.sum(p1[ok1] * n1[ok1]) / np.sum(n1[ok1])
                mp2 = np.sum(p2[ok2] * n2[ok2]) / np.sum(n2[ok2])
                vi = mp1 * (1 - mp1) / n1 + mp2 * (1 - mp2) / n2
    return yi, vi, notes
