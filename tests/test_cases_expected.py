"""analysis.cases: whole output rows written out by hand for men whose reports test each rule.

Each scenario is built so that one wrong choice (the earliest instead of the first report,
a follow-up at month 0, the estradiol of another phase, the dose of another phase, a
percent row taken for a level ...) changes a cell of the expected row.
"""

import math

import pandas as pd
import pytest

from analysis.cases import CHANGE_COLUMNS, SUMMARY_COLUMNS, patient_changes, summarise_changes

NAN = math.nan


def obs(patient, study, outcome, phase, t, value, *, unit="mg/cm2", canonical="g/cm2",
        censor=None, regimen=None, dose=None):  # fmt: skip
    return {"patient_id": patient, "study_id": study, "outcome": outcome, "phase": phase,
            "timepoint_months": float(t), "value": value, "censor": censor, "unit": unit,
            "unit_canonical": canonical, "regimen": regimen, "dose": dose}  # fmt: skip


def estradiol(patient, study, phase, t, value, **kw):
    return obs(patient, study, "estradiol", phase, t, value, unit="pg/mL", canonical="pmol/L",
               **kw)  # fmt: skip


def run(rows, people, outcomes=("bmd_lumbar_spine",)):
    frame = pd.DataFrame(rows)
    # pd.NA where a report gives nothing, as read_table leaves string cells
    for column in ("censor", "regimen", "dose", "unit_canonical"):
        frame[column] = frame[column].astype("string")
    patients = pd.DataFrame(people, columns=["patient_id", "first_report"])
    return patient_changes(frame, patients, outcomes=list(outcomes))


def assert_row(actual: pd.Series, expected: dict) -> None:
    assert list(actual.index) == CHANGE_COLUMNS
    for column, want in expected.items():
        got = actual[column]
        if isinstance(want, float) and math.isnan(want):
            assert isinstance(got, float) and math.isnan(got), column
        elif want is None:
            assert got is None, f"{column}: {got!r}"
        elif isinstance(want, float):
            assert got == pytest.approx(want, rel=1e-12), column
        else:
            assert got == want, column


def test_a_man_in_two_reports_gives_the_whole_expected_row():
    rows = [
        obs("p1", "zeta_2001", "bmd_lumbar_spine", "untreated", 0, 0.70),
        obs("p1", "zeta_2001", "bmd_lumbar_spine", "estrogen", -3, 0.71),
        obs("p1", "zeta_2001", "bmd_lumbar_spine", "estrogen", 0, 0.72),
        obs("p1", "zeta_2001", "bmd_lumbar_spine", "estrogen", 1, 0.74),
        obs("p1", "zeta_2001", "bmd_lumbar_spine", "estrogen", 12, 0.80, regimen="estradiol gel"),
        # the later report repeats month 12 with another value: the first report's is kept
        obs("p1", "alpha_2005", "bmd_lumbar_spine", "estrogen", 12, 0.79, dose="1 mg"),
        # a percent change and a value given in words never replace a measured level
        obs("p1", "alpha_2005", "bmd_lumbar_spine", "estrogen", 24, 15.0, unit="percent",
            canonical="percent"),
        obs("p1", "alpha_2005", "bmd_lumbar_spine", "estrogen", 30, NAN),
        estradiol("p1", "zeta_2001", "estrogen", 0, 20.0, censor="<"),
        estradiol("p1", "zeta_2001", "estrogen", 9, 150.0, regimen="estradiol patch",
                  dose="50 ug/week"),
        estradiol("p1", "zeta_2001", "estrogen", 15, 120.0, censor=">"),
        estradiol("p1", "zeta_2001", "testosterone", 12, 60.0),
    ]  # fmt: skip
    out = run(rows, [("p1", "zeta_2001")])
    assert list(out.columns) == CHANGE_COLUMNS and len(out) == 1
    assert_row(out.iloc[0], {
        "patient_id": "p1", "study_ids": "alpha_2005;zeta_2001", "outcome": "bmd_lumbar_spine",
        "unit": "g/cm2", "value_before": 0.72, "value_after": 0.80, "months": 12.0,
        "change": 0.80 - 0.72, "percent_change": 100 * (0.80 - 0.72) / 0.72,
        # the bone follow-up names a regimen but no dose: both are taken from it
        "regimen": "estradiol gel", "dose": None,
        # estradiol 9 and 15 months are equally far from month 12: the later one is used
        "estradiol_before": 20.0, "estradiol_after": 120.0, "estradiol_unit": "pmol/L",
        "estradiol_before_censor": "<", "estradiol_after_censor": ">", "phase": "estrogen",
        "n_reports": 2, "note": "",
    })  # fmt: skip


def test_a_phase_without_a_follow_up_is_passed_over_for_the_next():
    rows = [
        obs("p2", "b_2010", "bmd_lumbar_spine", "estrogen", 0, 0.90, canonical=None),
        obs("p2", "b_2010", "bmd_lumbar_spine", "estrogen_plus_testosterone", 0, 0.91,
            canonical=None),
        obs("p2", "b_2010", "bmd_lumbar_spine", "estrogen_plus_testosterone", 1, 0.95,
            canonical=None),
        obs("p2", "b_2010", "testosterone", "estrogen", 0, 20.0, regimen="estradiol patch",
            dose="25 ug/week"),
        obs("p2", "b_2010", "testosterone", "estrogen_plus_testosterone", 0, 21.0,
            regimen="estradiol patch and testosterone", dose="25 ug/week + 250 mg"),
        estradiol("p2", "b_2010", "estrogen_plus_testosterone", 1, 80.0),
    ]  # fmt: skip
    out = run(rows, [("p2", "b_2010")])
    assert_row(out.iloc[0], {
        "study_ids": "b_2010", "unit": "mg/cm2", "value_before": 0.91, "value_after": 0.95,
        "months": 1.0, "change": 0.95 - 0.91, "phase": "estrogen_plus_testosterone",
        # neither the bone value nor the estradiol names a dose: the phase's first row that does
        "regimen": "estradiol patch and testosterone", "dose": "25 ug/week + 250 mg",
        "estradiol_before": NAN, "estradiol_after": 80.0, "estradiol_unit": "pmol/L",
        "estradiol_before_censor": None, "estradiol_after_censor": None, "n_reports": 1,
    })  # fmt: skip


def test_a_reported_percent_change_gives_the_whole_expected_row():
    rows = [
        obs("p3", "c_2004", "bmd_lumbar_spine", "estrogen", 36, 23.0, unit="percent",
            canonical="percent", regimen="estradiol valerate", dose="1 mg/day"),
        estradiol("p3", "c_2004", "estrogen", 36, 100.0),
    ]  # fmt: skip
    out = run(rows, [("p3", "c_2004")])
    assert_row(out.iloc[0], {
        "unit": None, "value_before": NAN, "value_after": NAN, "months": 36.0, "change": NAN,
        "percent_change": 23.0, "regimen": "estradiol valerate", "dose": "1 mg/day",
        "estradiol_before": NAN, "estradiol_after": 100.0, "phase": "estrogen",
        "note": "percent change from the start of estrogen as reported; no measured values",
    })  # fmt: skip


def test_a_follow_up_above_a_detection_limit_gives_no_change_and_says_so():
    rows = [
        obs("p4", "d_1999", "bmd_lumbar_spine", "estrogen", 0, 0.5),
        obs("p4", "d_1999", "bmd_lumbar_spine", "estrogen", 12, 0.9, censor=">"),
    ]
    out = run(rows, [("p4", "d_1999")])
    assert_row(out.iloc[0], {
        "value_before": 0.5, "value_after": 0.9, "change": NAN, "percent_change": NAN,
        "note": "bone value censored at a detection limit: change not computed",
    })  # fmt: skip


def test_a_baseline_of_zero_gives_a_change_but_no_percent_change():
    rows = [
        obs("p5", "e_2002", "bone_age", "estrogen", 0, 0.0, unit="years", canonical="years"),
        obs("p5", "e_2002", "bone_age", "estrogen", 12, 1.5, unit="years", canonical="years"),
    ]
    out = run(rows, [("p5", "e_2002")], outcomes=["bone_age"])
    assert_row(out.iloc[0], {"change": 1.5, "percent_change": NAN, "unit": "years"})


def test_no_change_gives_an_empty_table_with_the_declared_columns():
    rows = [obs("p6", "f_2003", "bmd_lumbar_spine", "untreated", 0, 0.8)]
    out = run(rows, [("p6", "f_2003")])
    assert out.empty and list(out.columns) == CHANGE_COLUMNS
    summary = summarise_changes(out)
    assert summary.empty and list(summary.columns) == SUMMARY_COLUMNS


def test_the_summary_gives_each_outcome_in_order_with_its_unit_and_ranges():
    changes = pd.DataFrame(
        [
            {"patient_id": "p1", "outcome": "bmd_total_hip", "unit": "g/cm2", "change": 0.05,
             "percent_change": 6.0, "months": 12.0},
            {"patient_id": "p1", "outcome": "bmd_femoral_neck", "unit": "g/cm2", "change": 0.02,
             "percent_change": 3.0, "months": 12.0},
            {"patient_id": "p2", "outcome": "bmd_femoral_neck", "unit": None, "change": NAN,
             "percent_change": 14.0, "months": 36.0},
            {"patient_id": "p3", "outcome": "bmd_femoral_neck", "unit": "g/cm2", "change": 0.08,
             "percent_change": 9.0, "months": 24.0},
            {"patient_id": "p4", "outcome": "bmd_femoral_neck", "unit": "g/cm2", "change": NAN,
             "percent_change": NAN, "months": 6.0},
        ],
        columns=CHANGE_COLUMNS,
    )  # fmt: skip
    summary = summarise_changes(changes)
    assert list(summary.columns) == SUMMARY_COLUMNS
    assert summary["outcome"].tolist() == ["bmd_femoral_neck", "bmd_total_hip"]
    neck, hip = summary.iloc[0].to_dict(), summary.iloc[1].to_dict()
    assert neck == pytest.approx({
        "outcome": "bmd_femoral_neck", "unit": "g/cm2", "n_patients": 3, "n_change": 2,
        "n_percent_change": 3, "change_median": 0.05, "change_min": 0.02, "change_max": 0.08,
        "percent_change_median": 9.0, "percent_change_min": 3.0, "percent_change_max": 14.0,
        "months_median": 24.0, "months_min": 12.0, "months_max": 36.0,
    })  # fmt: skip
    assert hip["unit"] == "g/cm2" and hip["n_patients"] == 1 and hip["change_median"] == 0.05


def test_estradiol_at_the_start_of_the_phase_is_never_the_value_after():
    rows = [
        obs("p7", "g_2006", "bmd_lumbar_spine", "estrogen", 0, 0.80),
        obs("p7", "g_2006", "bmd_lumbar_spine", "estrogen", 12, 0.86),
        estradiol("p7", "g_2006", "estrogen", 0, 30.0),
    ]
    out = run(rows, [("p7", "g_2006")])
    assert_row(out.iloc[0], {"estradiol_before": 30.0, "estradiol_after": NAN})


@pytest.mark.parametrize(
    ("after", "estradiol_after", "expected"),
    [
        # the bone follow-up names a dose only: its dose, no regimen
        ({"dose": "2 mg/day"}, {"regimen": "estradiol patch"},
         {"dose": "2 mg/day", "regimen": None}),
        # neither: the regimen of the estradiol closest to it, even without a dose
        ({}, {"regimen": "estradiol patch"}, {"dose": None, "regimen": "estradiol patch"}),
    ],
)  # fmt: skip
def test_dose_and_regimen_come_from_the_follow_up_then_its_estradiol(
    after, estradiol_after, expected
):
    rows = [
        # the phase's first row with a dose, used only when neither names one
        obs("p8", "h_2008", "bmd_lumbar_spine", "estrogen", 0, 0.80, dose="first dose",
            regimen="first regimen"),
        obs("p8", "h_2008", "bmd_lumbar_spine", "estrogen", 12, 0.86, **after),
        estradiol("p8", "h_2008", "estrogen", 12, 90.0, **estradiol_after),
    ]  # fmt: skip
    out = run(rows, [("p8", "h_2008")])
    assert_row(out.iloc[0], expected)
