"""Case courses: each man with aromatase deficiency, visit by visit, under estrogen.

One column per man; rows top to bottom: the estrogen dose as a step band, one row per bone
outcome (absolute values at every reported visit, or the percent change from the start of
estrogen where a report gives only that), and serum estradiol at every visit (a value below
an assay's detection limit drawn as a bound, "<"). Peak and last bone values are marked.
The companion table (:func:`course_table`) lists the same visits in numbers.

The functions here reshape and draw; every value is a row of
``data/processed/harmonize/patient_observations.csv`` (estradiol already in pmol/L).
"""

from __future__ import annotations

import re

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis.plots.theme import (
    FONT_FAMILY,
    MIN_PRINT_PT,
    OUTCOME_LABELS,
    PALETTE,
    SHAPES,
    outcome_label,
    plain,
)

BONE = re.compile(r"^(v?bmd|bmc)_")
_DOSE = re.compile(r"(\d+(?:\.\d+)?)\s*(ug|µg|mg)\b\s*(/\s*(?:day|week|d|wk)|twice weekly)?", re.I)
_MONTHS = re.compile(r"months?\s+(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)", re.I)
UNIT_TEXT = {"g/cm2": "g/cm²", "mg/cm3": "mg/cm³", "percent": "% from start", "pmol/L": "pmol/L"}
FONT = MIN_PRINT_PT + 0.5


def patient_name(patient_id: object, study_ids: object) -> str:
    """Name of a man for legends and headers: the report(s) describing him, ``Man of X 2004``.

    ``study_ids`` is ``;``-separated ids of the form ``author_year`` (one man may be in several
    reports); without it the patient id is shown.
    """
    if not isinstance(study_ids, str) or not study_ids.strip():
        return plain(str(patient_id))
    names = []
    for sid in study_ids.split(";"):
        parts = sid.strip().split("_")
        names.append(" ".join(p.capitalize() for p in parts if p))
    return plain("Man of " + " / ".join(names))


def course_data(observations: pd.DataFrame) -> pd.DataFrame:
    """Visits under estrogen of every man with a bone outcome, in long form.

    Parameters
    ----------
    observations : pandas.DataFrame
        ``patient_observations.csv`` (harmonized: ``value`` in ``unit_canonical``).

    Returns
    -------
    pandas.DataFrame
        ``patient_id, man, outcome, months, value, censor, unit, dose, age_years`` for the
        estrogen phase: bone outcomes with a number and estradiol, sorted by man, outcome and
        month. Men without any bone value are left out (nothing to follow).
    """
    obs = observations.loc[observations["phase"].astype(str) == "estrogen"].copy()
    obs = obs.loc[obs["value"].notna()]
    bone = obs["outcome"].astype(str).str.match(BONE)
    keep = obs.loc[bone | (obs["outcome"] == "estradiol")].copy()
    with_bone = set(obs.loc[bone, "patient_id"])
    keep = keep.loc[keep["patient_id"].isin(with_bone)]
    unit = keep["unit_canonical"] if "unit_canonical" in keep else keep["unit"]
    names = keep.groupby("patient_id")["study_id"].agg(lambda s: ";".join(dict.fromkeys(s)))
    out = pd.DataFrame(
        {
            "patient_id": keep["patient_id"].astype(str),
            "man": [patient_name(p, names[p]) for p in keep["patient_id"]],
            "outcome": keep["outcome"].astype(str),
            "months": keep["timepoint_months"].astype(float),
            "value": keep["value"].astype(float),
            "censor": keep["censor"].fillna("").astype(str) if "censor" in keep else "",
            "unit": unit.astype(str),
            "dose": keep["dose"].where(keep["dose"].notna(), None),
            "age_years": keep["age_years"].astype(float) if "age_years" in keep else np.nan,
        }
    )
    return out.sort_values(["man", "outcome", "months"], kind="mergesort").reset_index(drop=True)


def dose_steps(course: pd.DataFrame) -> pd.DataFrame:
    """The estrogen dose of each man as intervals of months, read from the dose as printed.

    A dose printed at a visit covers the months since the previous visit, unless the text
    names its months ("25 ug/week (months 6-12)"); one text may name several doses, each
    with its months ("50 ug/week (months 3-6; 100 ug/week months 0-3)").

    Returns
    -------
    pandas.DataFrame
        ``patient_id, man, start, end, amount, unit, label``; ``amount`` is the printed number
        (the band's height is comparable within a man only: the units differ between men).
    """
    rows = []
    for (pid, man), g in course.groupby(["patient_id", "man"], sort=False):
        visits = g[["months", "dose"]].drop_duplicates("months").sort_values("months")
        previous = 0.0
        for _, v in visits.iterrows():
            text = v["dose"]
            if isinstance(text, str) and v["months"] > previous:
                current = None
                covered = False
                for part in re.split(r"[;()]", text):
                    m = _DOSE.search(part)
                    if m:
                        current = m
                    span = _MONTHS.search(part)
                    if current is not None and span:
                        rows.append(_step(pid, man, float(span[1]), float(span[2]), current))
                        covered = True
                if not covered and current is not None:
                    first = _DOSE.search(text)
                    rows.append(_step(pid, man, previous, float(v["months"]), first))
            previous = max(previous, float(v["months"]))
    cols = ["patient_id", "man", "start", "end", "amount", "unit", "label"]
    return pd.DataFrame(rows, columns=cols).drop_duplicates(["patient_id", "start", "end"])


def _step(pid: str, man: str, start: float, end: float, m: re.Match) -> dict:
    unit = m[2].replace("ug", "µg")
    per = (m[3] or "").replace(" ", "").replace("/week", "/wk").replace("/day", "/d")
    per = " ×2/wk" if "twice" in per else per
    amount = float(m[1])
    return {
        "patient_id": pid,
        "man": man,
        "start": start,
        "end": end,
        "amount": amount,
        "unit": f"{unit}{per}",
        "label": f"{amount:g}",
    }


def _outcome_rows(course: pd.DataFrame) -> list[tuple[str, str]]:
    """(outcome, unit) of the bone rows, in the vocabulary's order."""
    order = list(OUTCOME_LABELS)
    bone = course.loc[course["outcome"].str.match(BONE), ["outcome", "unit"]].drop_duplicates()
    pairs = [tuple(x) for x in bone.itertuples(index=False)]
    return sorted(
        pairs, key=lambda p: (order.index(p[0]) if p[0] in order else 99, p[1] == "percent")
    )


def percent_from_start(values: pd.Series, months: pd.Series) -> pd.Series:
    """Percent change of each visit from the value at month 0 (NaN without a month-0 value)."""
    base = values[months == 0]
    if len(base) == 0 or float(base.iloc[0]) == 0:
        return pd.Series(np.nan, index=values.index)
    return 100 * (values / float(base.iloc[0]) - 1)


def _fmt(value: float, unit: str) -> str:
    if unit in ("g/cm2",):
        return f"{value:.3f}"
    if unit in ("percent",):
        return f"{value:+.0f}%"
    return f"{value:.0f}"


def cases_plot(course: pd.DataFrame, width: float = 5.75):
    """Draw each man's course: dose band, bone values at every visit, estradiol.

    Parameters
    ----------
    course : pandas.DataFrame
        From :func:`course_data`.
    width : float
        Figure width in inches, the width it is placed at in the PDF (text never shrinks).

    Returns
    -------
    matplotlib.figure.Figure
    """
    men = list(dict.fromkeys(course["man"]))
    colour = {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(men)}
    shape = {m: SHAPES[i % len(SHAPES)] for i, m in enumerate(men)}
    # each man his own bone panels (sites and units differ between reports): no empty cells
    panels = {m: _outcome_rows(course.loc[course["man"] == m]) for m in men}
    n_bone = max((len(v) for v in panels.values()), default=0)
    steps = dose_steps(course)
    heights = [0.55] + [1.15] * n_bone + [0.95]
    with plt.rc_context({"font.family": FONT_FAMILY, "font.size": FONT}):
        fig, axes = plt.subplots(
            len(heights),
            max(1, len(men)),
            figsize=(width, sum(heights) + 1.2),
            gridspec_kw={"height_ratios": heights},
            squeeze=False,
        )
        for j, man in enumerate(men):
            g = course.loc[course["man"] == man]
            xmax = max(float(g["months"].max()), 1.0)
            _dose_axis(axes[0, j], steps.loc[steps["man"] == man], colour[man])
            axes[0, j].set_title(man, fontsize=FONT, loc="left", fontweight="bold")
            for i in range(1, n_bone + 1):
                if i > len(panels[man]):
                    axes[i, j].set_visible(False)
                    continue
                outcome, unit = panels[man][i - 1]
                sel = g.loc[(g["outcome"] == outcome) & (g["unit"] == unit)]
                _bone_axis(axes[i, j], sel, unit, colour[man], shape[man])
                axes[i, j].set_title(
                    f"{outcome_label(outcome)}, {UNIT_TEXT.get(unit, unit)}",
                    fontsize=FONT,
                    loc="left",
                )
            _estradiol_axis(
                axes[-1, j], g.loc[g["outcome"] == "estradiol"], colour[man], shape[man]
            )
            axes[-1, j].set_title("Estradiol, pmol/L", fontsize=FONT, loc="left")
            axes[-1, j].set_xlabel("Months of estrogen", fontsize=FONT)
            for ax in axes[:, j]:
                ax.set_xlim(-0.06 * xmax, 1.08 * xmax)
        for ax in axes.flat:
            ax.tick_params(labelsize=FONT, length=2.5, pad=1.5)
            for side in ("top", "right"):
                ax.spines[side].set_visible(False)
        fig.text(
            0.01,
            0.005,
            "Dose band: estrogen dose as printed (µg/wk, µg patch ×2/wk or mg/d; "
            "heights comparable within a man only).\n"
            "○ ringed: peak; value printed at peak and last visit. "
            "▽ with a bar to 0: estradiol below the assay's detection limit (<).",
            fontsize=FONT - 0.5,
            va="bottom",
            ha="left",
            color="#333333",
        )
        fig.tight_layout(rect=(0, 0.07, 1, 1), h_pad=0.6, w_pad=0.8)
    return fig


def _dose_axis(ax, steps: pd.DataFrame, colour: str) -> None:
    ax.set_yticks([])
    ax.spines["left"].set_visible(False)
    if len(steps) == 0:
        ax.text(0.5, 0.5, "dose not reported", transform=ax.transAxes, ha="center", va="center")
        return
    top = float(steps["amount"].max())
    for _, s in steps.iterrows():
        h = float(s["amount"]) / top
        ax.fill_between([s["start"], s["end"]], 0, h, color=colour, alpha=0.25, lw=0)
        ax.plot([s["start"], s["end"]], [h, h], color=colour, lw=1.2)
        ax.text((s["start"] + s["end"]) / 2, h + 0.08, s["label"], ha="center", va="bottom")
    ax.set_ylim(0, 1.75)
    ax.set_xticklabels([])
    units = ", ".join(dict.fromkeys(steps["unit"]))
    ax.text(1.0, 1.0, units, transform=ax.transAxes, ha="right", va="top", color="#333333")


def _bone_axis(ax, sel: pd.DataFrame, unit: str, colour: str, shape: str) -> None:
    if len(sel) == 0:
        ax.text(
            0.5,
            0.5,
            "not reported",
            transform=ax.transAxes,
            ha="center",
            va="center",
            color="#555555",
        )
        ax.set_yticks([])
        return
    x, y = sel["months"].to_numpy(float), sel["value"].to_numpy(float)
    if unit == "percent" and 0 not in x:
        # a percent change is 0 at the start by definition: drawn open, as no measurement
        ax.plot([0], [0], marker=shape, mfc="white", mec=colour, ms=5, ls="none")
        ax.plot([0, x[0]], [0, y[0]], color=colour, lw=1, ls=":")
        ax.axhline(0, color="#999999", lw=0.5)
    ax.plot(x, y, color=colour, lw=1.2, marker=shape, ms=4.5, mfc=colour, mec=colour)
    peak, last = int(np.argmax(y)), len(y) - 1
    ax.plot(x[peak], y[peak], marker="o", ms=9, mfc="none", mec="#222222", mew=0.8)
    span = float(np.ptp(y)) or abs(float(y[0])) or 1.0
    for idx in sorted({peak, last}):
        word = "peak" if idx == peak and idx != last else "last" if idx != peak else "peak, last"
        ax.annotate(
            f"{word} {_fmt(y[idx], unit)}",
            (x[idx], y[idx]),
            xytext=(0, 6 if idx == peak else -7),
            textcoords="offset points",
            ha="right" if idx == last and x[idx] > 0 else "center",
            va="bottom" if idx == peak else "top",
        )
    lo, hi = float(y.min()), float(y.max())
    if unit == "percent":
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    ax.set_ylim(lo - 0.35 * span, hi + 0.45 * span)


def _estradiol_axis(ax, e2: pd.DataFrame, colour: str, shape: str) -> None:
    if len(e2) == 0:
        ax.text(
            0.5,
            0.5,
            "estradiol not reported",
            transform=ax.transAxes,
            ha="center",
            va="center",
            color="#555555",
        )
        ax.set_yticks([])
        return
    e2 = e2.sort_values("months")
    x, y = e2["months"].to_numpy(float), e2["value"].to_numpy(float)
    censored = e2["censor"].to_numpy(str) == "<"
    ax.plot(x, y, color=colour, lw=1.0, ls="--")
    ax.plot(x[~censored], y[~censored], marker=shape, ms=4.5, color=colour, ls="none")
    for xi, yi in zip(x[censored], y[censored], strict=True):
        ax.plot([xi, xi], [0, yi], color=colour, lw=1.2)
        ax.plot([xi], [yi], marker="v", ms=5, mfc="white", mec=colour, ls="none")
        ax.annotate(
            f"<{yi:.0f}",
            (xi, yi),
            xytext=(3, 2),
            textcoords="offset points",
            ha="left",
            va="bottom",
        )
    ax.set_ylim(0, float(y.max()) * 1.25)


def course_tables(
    course: pd.DataFrame, age_at_start: dict | None = None
) -> dict[str, pd.DataFrame]:
    """Per man, one row per visit: age, month, dose, estradiol and every bone value.

    Parameters
    ----------
    course : pandas.DataFrame
        From :func:`course_data`.
    age_at_start : dict, optional
        ``patient_id -> age (years) at the start of estrogen`` (``patients.csv``); the age at
        a visit is that age plus the months, else the age the report gives at that visit.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``man -> table`` of display strings: ``Month, Age (y), Dose, Estradiol (pmol/L)``
        and, per bone outcome, its value and the percent from the month-0 value (the percent
        as reported where a report gives only that). Columns with no value are dropped.
    """
    age_at_start = age_at_start or {}
    out = {}
    for (pid, man), g in course.groupby(["patient_id", "man"], sort=False):
        columns: dict[str, dict[float, str]] = {}
        for outcome, unit in _outcome_rows(g):
            sel = g.loc[(g["outcome"] == outcome) & (g["unit"] == unit)]
            pct_name = f"{outcome_label(outcome)}, % from start"
            if unit == "percent":
                pairs = zip(sel["months"], sel["value"], strict=True)
                columns.setdefault(pct_name, {}).update(
                    {m: f"{v:+.0f}% (reported)" for m, v in pairs}
                )
                continue
            name = f"{outcome_label(outcome)} ({UNIT_TEXT.get(unit, unit)})"
            pairs = zip(sel["months"], sel["value"], strict=True)
            columns[name] = {m: _fmt(v, unit) for m, v in pairs}
            pct = percent_from_start(sel["value"], sel["months"])
            columns.setdefault(pct_name, {}).update(
                {m: f"{p:+.1f}%" for m, p in zip(sel["months"], pct, strict=True) if pd.notna(p)}
            )
        rows = []
        for month in sorted(g["months"].unique()):
            v = g.loc[g["months"] == month]
            dose = v["dose"].dropna()
            start, reported = age_at_start.get(pid), v["age_years"].dropna()
            if start is not None and pd.notna(start):
                age = f"{float(start) + month / 12:.1f}"
            else:
                age = f"{float(reported.iloc[0]):.0f}" if len(reported) else ""
            e2 = v.loc[v["outcome"] == "estradiol"]
            row = {
                "Month": f"{month:g}",
                "Age (y)": age,
                "Dose": _dose_text(dose.iloc[0])
                if len(dose)
                else ("none (start)" if month == 0 else ""),
                "Estradiol (pmol/L)": (
                    f"{e2['censor'].iloc[0]}{float(e2['value'].iloc[0]):.0f}" if len(e2) else ""
                ),
            }
            for name, values in columns.items():
                row[name] = values.get(month, "")
            rows.append(row)
        table = pd.DataFrame(rows)
        out[man] = table.loc[:, (table != "").any(axis=0) | (table.columns == "Month")]
    return out


def _dose_text(text: str) -> str:
    return re.sub(r"\bug\b", "µg", str(text))
