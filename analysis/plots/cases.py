"""Case-report panel: each patient's BMD before and under estrogen, with dose and estradiol."""

from __future__ import annotations

import pandas as pd
from plotnine import (
    aes,
    facet_wrap,
    geom_line,
    geom_point,
    geom_text,
    ggplot,
    labs,
    scale_x_continuous,
    theme,
)

from analysis.plots.theme import OUTCOME_LABELS, outcome_label, plain, theme_report


def _e2(before, after, unit) -> str:
    fmt = lambda v: "?" if pd.isna(v) else f"{float(v):g}"  # noqa: E731
    return f"E2 {fmt(before)}→{fmt(after)} {unit}"


def cases_data(patient_changes: pd.DataFrame) -> pd.DataFrame:
    """Long frame of BMD points (before at month 0, after at ``months``) per patient and site.

    Parameters
    ----------
    patient_changes : pandas.DataFrame
        ``data/processed/cases/patient_changes.csv``.

    Returns
    -------
    pandas.DataFrame
        ``patient_id, outcome, outcome_name, months, value, unit, note`` with ``note`` (dose
        and estradiol before -> after) on the "after" point only; BMD/BMC outcomes only.
    """
    bone = patient_changes.loc[patient_changes["outcome"].str.match(r"^(v?bmd|bmc)_")]
    rows = []
    for _, r in bone.iterrows():
        name = outcome_label(r["outcome"])
        unit = str(r["unit"]).replace("cm2", "cm²").replace("cm3", "cm³")
        note = f"{r['patient_id']}: {r['dose'] if pd.notna(r['dose']) else 'dose NR'}; " + _e2(
            r["estradiol_before"], r["estradiol_after"], r["estradiol_unit"]
        )
        base = {
            "patient_id": r["patient_id"],
            "outcome": r["outcome"],
            "outcome_name": f"{name} ({unit})",
        }
        rows.append({**base, "months": 0.0, "value": r["value_before"], "note": ""})
        rows.append(
            {**base, "months": float(r["months"]), "value": r["value_after"], "note": plain(note)}
        )
    out = pd.DataFrame(
        rows, columns=["patient_id", "outcome", "outcome_name", "months", "value", "note"]
    )
    order = [outcome_label(o) for o in OUTCOME_LABELS]
    out["rank"] = [
        order.index(n.split(" (")[0]) if n.split(" (")[0] in order else 99
        for n in out["outcome_name"]
    ]
    cats = list(dict.fromkeys(out.sort_values("rank")["outcome_name"]))
    out["outcome_name"] = pd.Categorical(out["outcome_name"], categories=cats)
    return out.drop(columns="rank")


def cases_plot(df: pd.DataFrame):
    """Draw each patient's BMD trajectory under estrogen, one facet per skeletal site.

    Parameters
    ----------
    df : pandas.DataFrame
        From :func:`cases_data`.

    Returns
    -------
    plotnine.ggplot
        Lines from the value before estrogen (month 0) to the value under estrogen, coloured by
        patient, labelled with dose and estradiol before -> after.
    """
    n_facets = max(1, df["outcome_name"].nunique())
    xmax = float(df["months"].max()) if len(df) else 12.0
    return (
        ggplot(df, aes(x="months", y="value", color="patient_id", group="patient_id"))
        + geom_line(size=0.8)
        + geom_point(size=2.2)
        + geom_text(aes(label="note"), ha="left", nudge_x=0.02 * xmax, size=6.5, show_legend=False)
        + facet_wrap("outcome_name", scales="free_y", ncol=1 if n_facets < 3 else 2)
        + scale_x_continuous(expand=(0.03, 0, 0.9, 0))
        + labs(
            x="Months from start of estrogen",
            y="BMD",
            color="Patient",
            title="Men with aromatase deficiency: BMD before and under estrogen",
            caption="Labels: patient, estrogen dose, serum estradiol before → under treatment.",
        )
        + theme_report()
        + theme(figure_size=(10, 2.6 * ((n_facets + 1) // (1 if n_facets < 3 else 2)) + 1.2))
    )
