"""analysis.cases on small frames: one man counted once, censoring, phases, summaries."""

import math

import pandas as pd
import pytest

from analysis.cases import patient_changes, summarise_changes


def obs(patient, study, outcome, phase, t, value, unit="g/cm2", censor=None, dose=None):
    return {"patient_id": patient, "study_id": study, "outcome": outcome, "phase": phase,
            "timepoint_months": float(t), "value": value, "censor": censor, "unit": unit,
            "unit_canonical": "pmol/L" if outcome == "estradiol" else unit,
            "regimen": "estradiol transdermal", "dose": dose}  # fmt: skip


def patients(*rows):
    return pd.DataFrame(rows, columns=["patient_id", "first_report"])


def changes(rows, people, outcomes=("bmd_lumbar_spine",)):
    return patient_changes(pd.DataFrame(rows), people, outcomes=list(outcomes))


def test_a_man_in_two_reports_is_one_row_and_one_patient():
    rows = [
        obs("p1", "early_1997", "bmd_lumbar_spine", "estrogen", 0, 0.80),
        obs("p1", "early_1997", "bmd_lumbar_spine", "estrogen", 6, 0.88),
        # the later report repeats the 6-month value and adds 24 months
        obs("p1", "late_2000", "bmd_lumbar_spine", "estrogen", 6, 0.87),
        obs("p1", "late_2000", "bmd_lumbar_spine", "estrogen", 24, 0.96),
        obs("p2", "other_2004", "bmd_lumbar_spine", "estrogen", 0, 1.00),
        obs("p2", "other_2004", "bmd_lumbar_spine", "estrogen", 12, 1.05),
    ]
    out = changes(rows, patients(("p1", "early_1997"), ("p2", "other_2004")))
    assert out["patient_id"].tolist() == ["p1", "p2"]
    p1 = out.iloc[0]
    assert p1["study_ids"] == "early_1997;late_2000" and p1["n_reports"] == 2
    assert (p1["value_before"], p1["value_after"], p1["months"]) == (0.80, 0.96, 24.0)
    assert p1["change"] == pytest.approx(0.16)
    assert p1["percent_change"] == pytest.approx(20.0)
    summary = summarise_changes(out).iloc[0]
    assert summary["n_patients"] == 2
    assert summary["change_median"] == pytest.approx((0.16 + 0.05) / 2)
    assert (summary["change_min"], summary["change_max"]) == pytest.approx((0.05, 0.16))


def test_without_an_estrogen_baseline_the_last_testosterone_value_is_the_start():
    rows = [
        obs("p1", "s", "bmd_lumbar_spine", "untreated", 0, 0.70),
        obs("p1", "s", "bmd_lumbar_spine", "testosterone", 6, 0.72),
        obs("p1", "s", "bmd_lumbar_spine", "testosterone", 12, 0.74),
        obs("p1", "s", "bmd_lumbar_spine", "estrogen_plus_testosterone", 12, 0.84),
    ]
    out = changes(rows, patients(("p1", "s"))).iloc[0]
    assert (out["value_before"], out["value_after"]) == (0.74, 0.84)
    assert out["phase"] == "estrogen_plus_testosterone"


def test_a_censored_estradiol_is_kept_as_its_limit_with_the_flag():
    rows = [
        obs("p1", "s", "bmd_lumbar_spine", "estrogen", 0, 0.90),
        obs("p1", "s", "bmd_lumbar_spine", "estrogen", 12, 0.99, dose="25 ug/week"),
        obs("p1", "s", "estradiol", "estrogen", 0, 36.7, unit="pmol/L", censor="<"),
        obs("p1", "s", "estradiol", "estrogen", 6, 150.0, unit="pmol/L"),
        obs("p1", "s", "estradiol", "estrogen", 12, 90.0, unit="pmol/L"),
    ]
    out = changes(rows, patients(("p1", "s"))).iloc[0]
    assert (out["estradiol_before"], out["estradiol_before_censor"]) == (36.7, "<")
    assert out["estradiol_after"] == 90.0  # the value closest to the bone follow-up
    assert pd.isna(out["estradiol_after_censor"])
    assert out["dose"] == "25 ug/week"


def test_a_censored_bone_value_gives_no_change():
    rows = [
        obs("p1", "s", "bmd_lumbar_spine", "estrogen", 0, 0.5, censor="<"),
        obs("p1", "s", "bmd_lumbar_spine", "estrogen", 12, 0.9),
    ]
    out = changes(rows, patients(("p1", "s"))).iloc[0]
    assert math.isnan(out["change"]) and "censored" in out["note"]
    assert summarise_changes(changes(rows, patients(("p1", "s")))).empty


def test_a_reported_percent_change_enters_only_the_percent_summary():
    rows = [obs("p1", "s", "bmd_lumbar_spine", "estrogen", 36, 23.0, unit="percent")]
    out = changes(rows, patients(("p1", "s")))
    assert out["percent_change"].tolist() == [23.0]
    assert math.isnan(out["change"].iloc[0])
    summary = summarise_changes(out).iloc[0]
    assert (summary["n_patients"], summary["n_change"], summary["n_percent_change"]) == (1, 0, 1)


def test_a_man_without_a_value_under_estrogen_is_left_out():
    rows = [obs("p1", "s", "bmd_lumbar_spine", "testosterone", 12, 0.74)]
    assert changes(rows, patients(("p1", "s"))).empty
