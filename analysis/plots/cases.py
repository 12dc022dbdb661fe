"""Case-report panel: each patient's BMD before and under estrogen, with dose and estradiol."""

from __future__ import annotations

import textwrap

import pandas as pd
from plotnine import (
    aes,
    facet_wrap,
    geom_hline,
    geom_line,
    geom_point,
    geom_text,
    ggplot,
    labs,
    scale_x_continuous,
    scale_y_continuous,
    theme,
)

from analysis.plots.theme import OUTCOME_LABELS, outcome_label, plain, theme_report


def _e2(r: pd.Series, when: str) -> str:
    """Estradiol before or after, with a detection-limit sign, '?' when not reported."""
    value = r.get(f"estradiol_{when}")
    if pd.isna(value):
        return "?" if when == "after" else "E2 ?"
    censor = r.get(f"estradiol_{when}_censor")
    sign = str(censor) if isinstance(censor, str) and censor else ""
    text = f"{sign}{float(value):.3g}"
    return text if when == "after" else f"E2 {text}"


def cases_data(patient_changes: pd.DataFrame) -> pd.DataFrame:
    """Long frame of BMD percent change (0 at the start of estrogen) per patient and site.

    Percent change is the common scale: several reports give only the percent change, not
    the values before and after.

    Parameters
    ----------
    patient_changes : pandas.DataFrame
        ``data/processed/cases/patient_changes.csv``.

    Returns
    -------
    pandas.DataFrame
        ``patient_id, patient, outcome, outcome_name, months, value, note`` (value: percent
        change; ``patient``: legend name from the reports, see :func:`patient_name`)
        with ``note`` (dose and estradiol before -> under estrogen) on the end point only;
        bone-mass outcomes with a percent change only.
    """
    bone = patient_changes.loc[
        patient_changes["outcome"].astype(str).str.match(r"^(v?bmd|bmc)_")
        & patient_changes["percent_change"].notna()
    ]
    rows = []
    for _, r in bone.iterrows():
        dose = r["dose"] if pd.notna(r["dose"]) else "dose not reported"
        before, after = _e2(r, "before"), _e2(r, "after")
        if before == "E2 ?" and after == "?":
            e2 = "E2 not reported"
        else:
            unit = r["estradiol_unit"] if pd.notna(r.get("estradiol_unit")) else ""
            e2 = f"{before}→{after} {unit}".strip()
        # the colour legend names the patient; the label carries dose and estradiol
        note = plain(textwrap.fill(f"{dose}; {e2}", 34))
        base = {
            "patient_id": r["patient_id"],
            "patient": patient_name(r["patient_id"], r.get("study_ids")),
            "outcome": r["outcome"],
            "outcome_name": outcome_label(r["outcome"]),
        }
        rows.append({**base, "months": 0.0, "value": 0.0, "note": ""})
        rows.append(
            {
                **base,
                "months": float(r["months"]),
                "value": float(r["percent_change"]),
                "note": note,
            }
        )
    out = pd.DataFrame(
        rows,
        columns=["patient_id", "patient", "outcome", "outcome_name", "months", "value", "note"],
    )
    order = list(OUTCOME_LABELS)
    present = sorted(set(out["outcome"]), key=lambda o: (order.index(o) if o in order else 99, o))
    out["outcome_name"] = pd.Categorical(
        out["outcome_name"], categories=[outcome_label(o) for o in present]
    )
    return out


def patient_name(patient_id: object, study_ids: object) -> str:
    """Legend name of a man: the report(s) describing him, e.g. ``Man of Bouillon 2004``.

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


def cases_plot(df: pd.DataFrame):
    """Draw each patient's BMD change under estrogen, one facet per skeletal site.

    Parameters
    ----------
    df : pandas.DataFrame
        From :func:`cases_data`.

    Returns
    -------
    plotnine.ggplot
        Lines from 0 at the start of estrogen to the percent change under estrogen, coloured
        by patient, labelled with dose and serum estradiol before -> under estrogen.
    """
    n_facets = max(1, df["outcome_name"].nunique())
    ncol = 1 if n_facets <= 4 else 2
    nrow = (n_facets + ncol - 1) // ncol
    xmax = float(df["months"].max()) if len(df) else 12.0
    return (
        ggplot(df, aes(x="months", y="value", color="patient", group="patient_id"))
        + geom_hline(yintercept=0, color="#999999", size=0.4)
        + geom_line(size=0.8)
        + geom_point(size=2.2)
        + geom_text(aes(label="note"), ha="left", nudge_x=0.02 * xmax, size=7.5, show_legend=False)
        + facet_wrap("outcome_name", ncol=ncol)
        + scale_x_continuous(expand=(0.03, 0, 0.6 if ncol == 1 else 1.2, 0))
        + scale_y_continuous(expand=(0.05, 0, 0.18, 0))
        + labs(
            x="Months from start of estrogen",
            y="Change in BMD from start of estrogen (%)",
            color="Patient",
            title="Men with aromatase deficiency: BMD under estrogen",
            caption="Labels: estrogen dose; serum estradiol before → under estrogen "
            "(< : below the assay's detection limit; ? : not reported).",
        )
        + theme_report()
        + theme(figure_size=(10, 2.2 * nrow + 1.6))
    )
