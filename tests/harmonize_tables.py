"""One two-arm trial's raw tables, for the harmonization tests (not a test module).

The ``test_harmonize_*`` files build rows of ``arm_outcomes.csv`` and ``contrasts.csv`` for
study ``s1`` (arms ``ai`` = treatment and ``placebo`` = control, lumbar-spine BMD in g/cm2)
and run :func:`analysis.harmonize.compute_effects` on them, with the column types
``analysis.io.read_table`` gives (floats; nullable integers for ``n_randomized``).
"""

import numpy as np
import pandas as pd

from analysis.harmonize import canonical_units, compute_effects

AO_COLUMNS = ["study_id", "arm", "outcome", "timepoint_months", "measure", "n", "mean", "sd",
              "se", "ci_low", "ci_high", "median", "q1", "q3", "p_value", "unit"]  # fmt: skip
CONTRAST_COLUMNS = ["study_id", "treatment_arm", "control_arm", "outcome", "timepoint_months",
                    "measure", "estimate", "se", "ci_low", "ci_high", "ci_level", "p_value",
                    "p_value_bound", "direction", "n_analysed", "unit", "source",
                    "location"]  # fmt: skip
NUMERIC = ["timepoint_months", "n", "mean", "sd", "se", "ci_low", "ci_high", "median", "q1",
           "q3", "p_value", "estimate", "ci_level", "n_analysed"]  # fmt: skip
UNITS = {"bmd_lumbar_spine": "g/cm2"}
#: Relative tolerance for closed forms.
TIGHT = 1e-12


def frame(rows, columns):
    """``rows`` (dicts; absent keys blank) as a table with numeric columns as floats and
    ``source_row`` numbered from 2, as in a CSV file under its header."""
    table = pd.DataFrame([{c: r.get(c) for c in columns} for r in rows], columns=columns)
    for c in NUMERIC:
        if c in table:
            table[c] = table[c].astype(float)
    table["source_row"] = np.arange(2, len(table) + 2)
    return table


def arm(arm_name, measure, t, **values):
    """An ``arm_outcomes.csv`` row of ``s1``: ``measure`` at ``t`` months."""
    return {"study_id": "s1", "arm": arm_name, "outcome": "bmd_lumbar_spine",
            "measure": measure, "timepoint_months": t, "unit": "g/cm2", **values}  # fmt: skip


def contrast(measure="difference_in_change", t=12, **values):
    """A ``contrasts.csv`` row of ``s1``, ai against placebo."""
    return {"study_id": "s1", "treatment_arm": "ai", "control_arm": "placebo",
            "outcome": "bmd_lumbar_spine", "timepoint_months": t, "measure": measure,
            "unit": "g/cm2", **values}  # fmt: skip


def compute(arm_rows=(), contrast_rows=(), *, n=(None, None), r=0.5, level=0.95):
    """``compute_effects`` on ``s1``; ``n`` = n randomized per arm (``arms.csv``).

    Returns its four tables: effects, ledger, the selected rows and the not-estimable list.
    """
    studies = pd.DataFrame({"study_id": ["s1"], "label": ["S 2010"], "year": [2010],
                            "design": ["rct"], "evidence_line": ["ai_older_men"]})  # fmt: skip
    arms = pd.DataFrame({"study_id": ["s1", "s1"], "arm": ["ai", "placebo"],
                         "role": ["treatment", "control"],
                         "n_randomized": pd.array(list(n), dtype="Int64"),
                         "source_row": [2, 3]})  # fmt: skip
    risk = pd.DataFrame({"study_id": ["s1"], "domain": ["overall"], "judgement": ["low"]})
    ao = canonical_units(frame(arm_rows, AO_COLUMNS), UNITS)
    return compute_effects(
        ao, arms, frame(contrast_rows, CONTRAST_COLUMNS), studies, risk, r=r,
        outcomes=["bmd_lumbar_spine"], units=UNITS, level=level,
    )  # fmt: skip


def effects_of(arm_rows=(), contrast_rows=(), *, n=(None, None), r=0.5, level=0.95):
    """:func:`compute`'s effects indexed by scale, its ledger and its not-estimable list."""
    effects, ledger, _, missing = compute(arm_rows, contrast_rows, n=n, r=r, level=level)
    return effects.set_index("scale"), ledger, missing
