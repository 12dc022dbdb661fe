"""Numeric consistency checks: each check with its expected verdict written out."""

import math

import pandas as pd
import pytest

from analysis import consistency

CONFIG = {
    "consistency": {
        "quantile_tolerance": 0.10,
        "sd_ratio_max": 5,
        "on_conflict": "se_from_reported_p",
    }
}


def _arms(rows):
    cols = [
        "study_id",
        "arm",
        "outcome",
        "timepoint_months",
        "measure",
        "n",
        "mean",
        "sd",
        "se",
        "p_value",
        "p_value_bound",
        "note",
    ]
    return pd.DataFrame([dict(zip(cols, r, strict=True)) for r in rows], columns=cols)


def _contrast(study, p, bound="=", text=""):
    return pd.DataFrame(
        [
            {
                "study_id": study,
                "treatment_arm": "t",
                "control_arm": "c",
                "outcome": "bmc",
                "timepoint_months": 6,
                "measure": "difference_in_change",
                "p_value": p,
                "p_value_bound": bound,
                "reported_text": text,
                "note": "",
            }
        ]
    )


VARIMO = _arms(
    [
        ("v", "t", "bmc", 6, "change", 15, -1.8, 1.0, None, None, "", ""),
        ("v", "c", "bmc", 6, "change", 12, 18.1, 25.4, None, None, "", ""),
    ]
)


def test_implied_p_of_the_varimo_arms_under_z_and_t():
    p = consistency.implied_p(-1.8, 1.0, 15, 18.1, 25.4, 12)
    assert p["z"] == pytest.approx(0.00668, abs=2e-4)
    assert p["t_pooled"] == pytest.approx(0.0054, abs=3e-4)
    assert p["t_welch"] == pytest.approx(0.020, abs=1e-3)


def test_a_reported_p_of_043_conflicts_with_the_varimo_arms():
    rows = consistency.check_p_implied(VARIMO, _contrast("v", 0.043), 0.10)
    assert [r["status"] for r in rows] == ["conflict"]


def test_a_reported_p_close_to_the_implied_one_is_ok():
    # Wickman-like: -0.8 years, SE 0.2 (n 9) vs 0.3 (n 10), reported p = 0.02
    arms = _arms(
        [
            ("w", "t", "bmc", 6, "change", 9, 0.9, None, 0.2, None, "", ""),
            ("w", "c", "bmc", 6, "change", 10, 1.7, None, 0.3, None, "", ""),
        ]
    )
    rows = consistency.check_p_implied(arms, _contrast("w", 0.02), 0.10)
    assert [r["status"] for r in rows] == ["ok"]


def test_arm_sds_25_times_apart_are_flagged():
    rows = consistency.check_sd_ratio(VARIMO, 5)
    assert rows[0]["status"] == "flag" and "ratio 25.4" in rows[0]["implied"]


def test_sd_and_se_of_one_row_must_agree_through_n():
    arms = _arms(
        [
            ("s", "t", "x", 0, "baseline", 25, 10.0, 5.0, 1.0, None, "", ""),
            ("s", "c", "x", 0, "baseline", 25, 10.0, 5.0, 2.0, None, "", ""),
        ]
    )
    assert [r["status"] for r in consistency.check_se_vs_sd(arms)] == ["ok", "flag"]


def test_percent_change_is_checked_against_the_means():
    arms = _arms(
        [
            ("s", "t", "x", 0, "baseline", 10, 1.0, None, None, None, "", ""),
            ("s", "t", "x", 12, "final", 10, 0.9, None, None, None, "", ""),
            ("s", "t", "x", 12, "percent_change", 10, -10.0, None, None, None, "", ""),
        ]
    )
    assert [r["status"] for r in consistency.check_percent_vs_means(arms)] == ["ok"]
    arms.loc[2, "mean"] = -5.0
    assert [r["status"] for r in consistency.check_percent_vs_means(arms)] == ["flag"]


def test_a_p_printed_with_less_than_must_be_stored_as_a_bound():
    arms = _arms(
        [
            (
                "l",
                "t",
                "e2",
                6,
                "final",
                None,
                59.2,
                None,
                6.1,
                0.001,
                "",
                "reported P < 0.001 for the within-arm change",
            )
        ]
    )
    none = pd.DataFrame(
        columns=[
            "study_id",
            "outcome",
            "timepoint_months",
            "p_value",
            "p_value_bound",
            "reported_text",
            "note",
        ]
    )
    assert consistency.check_p_bounds(arms, none)[0]["status"] == "conflict"
    arms.loc[0, "p_value_bound"] = "<"
    assert consistency.check_p_bounds(arms, none)[0]["status"] == "ok"


def test_a_censored_value_must_keep_its_bound():
    obs = pd.DataFrame(
        [
            {
                "study_id": "h",
                "patient_id": "p",
                "outcome": "estradiol",
                "timepoint_months": 0,
                "value": 10.0,
                "censor": "<",
                "unit": "pg/mL",
            }
        ]
    )
    kept = pd.DataFrame(
        [{"patient_id": "p", "estradiol_before_censor": "<", "estradiol_after_censor": None}]
    )
    lost = kept.assign(estradiol_before_censor=None)
    assert consistency.check_censored(obs, kept)[0]["status"] == "ok"
    assert consistency.check_censored(obs, lost)[0]["status"] == "conflict"


def test_the_declared_rule_takes_the_se_from_the_reported_p():
    checks = pd.DataFrame(consistency.check_p_implied(VARIMO, _contrast("v", 0.043), 0.10))
    checks["decision"] = [
        consistency.decision(r, "se_from_reported_p") for r in checks.to_dict("records")
    ]
    effects = pd.DataFrame(
        [
            {
                "study_id": "v",
                "outcome": "bmc",
                "scale": "absolute",
                "yi": -19.9,
                "vi": 53.83,
                "sei": math.sqrt(53.83),
                "ci_low": -34.28,
                "ci_high": -5.52,
                "derivation_ids": "v:bmc:absolute:01",
                "derived": False,
                "note": "",
            }
        ]
    )
    ledger = pd.DataFrame(columns=["derivation_id"])
    out, led = consistency.apply_decisions(effects, ledger, checks, _contrast("v", 0.043), 0.95)
    assert out.loc[0, "ci_low"] == pytest.approx(-39.17, abs=0.01)
    assert out.loc[0, "ci_high"] == pytest.approx(-0.63, abs=0.01)
    assert out.loc[0, "derivation_ids"].endswith("v:bmc:absolute:02")
    assert "replaced_se_from_arm_sds" in led.iloc[-1]["assumptions"]


def test_flag_only_keeps_the_se_from_the_arm_sds():
    checks = pd.DataFrame(consistency.check_p_implied(VARIMO, _contrast("v", 0.043), 0.10))
    checks["decision"] = [consistency.decision(r, "flag_only") for r in checks.to_dict("records")]
    effects = pd.DataFrame(
        [
            {
                "study_id": "v",
                "outcome": "bmc",
                "scale": "absolute",
                "yi": -19.9,
                "vi": 53.83,
                "sei": math.sqrt(53.83),
                "ci_low": -34.28,
                "ci_high": -5.52,
                "derivation_ids": "",
                "derived": False,
                "note": "",
            }
        ]
    )
    out, _ = consistency.apply_decisions(
        effects, pd.DataFrame(), checks, _contrast("v", 0.043), 0.95
    )
    assert out.loc[0, "ci_low"] == pytest.approx(-34.28)
