"""The hormone response (log ratio of means, metafor ROMC): per-study effects from arm
numbers, multi-arm trials combined, between-arm contrasts when the control reports, and the
pooled result, checked against R's metafor (tests/reference/metafor_hormones.json)."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from analysis.effect_sizes import escalc
from analysis.harmonize import EFFECT_COLUMNS, LEDGER_COLUMNS
from analysis.hormone_response import hormone_response
from analysis.pooling import rma
from tests.conftest import REPO_ROOT

REF = json.loads((REPO_ROOT / "tests/reference/metafor_hormones.json").read_text("utf-8"))
ARM_COLS = ["study_id", "arm", "outcome", "timepoint_months", "measure", "n", "mean", "sd", "se"]


def _arm_rows(rows):
    frame = pd.DataFrame(rows, columns=ARM_COLS)
    frame["source_row"] = range(2, 2 + len(frame))
    return frame


def _tables(arm_rows, arms, contrasts=()):
    arm_outcomes = _arm_rows(arm_rows)
    arms = pd.DataFrame(arms, columns=["study_id", "arm", "role", "n_randomized"])
    arms["source_row"] = range(2, 2 + len(arms))
    studies = pd.DataFrame(
        [
            {"study_id": s, "label": s, "year": 2000, "design": "rct",
             "evidence_line": "ai_older_men"}
            for s in sorted(set(arms["study_id"]))
        ]
    )  # fmt: skip
    contrasts = pd.DataFrame(list(contrasts), columns=["study_id", "n_analysed"])
    contrasts["source_row"] = range(2, 2 + len(contrasts))
    rob = pd.DataFrame(columns=["study_id", "domain", "judgement"])
    return arm_outcomes, arms, studies, contrasts, rob


def _run(tables, r=0.5):
    return hormone_response(*tables, r=r, columns=EFFECT_COLUMNS, ledger_columns=LEDGER_COLUMNS)


def _shipped_like(outcome):
    """The three trials' arm numbers as printed (the ratio needs no common unit)."""
    numbers = {
        "estradiol": [(15, 4, 12, 4, 3), (26, 8, 17, 6), (27, 8, 17, 5), (119.1, 10.1, 59.2, 6.1)],
        "testosterone": [(319, 93, 474, 145, 12), (343, 61, 572, 139), (397, 106, 520, 91),
                         (8.6, 0.7, 21.5, 1.3)],
    }[outcome]  # fmt: skip
    bb, l1, l2, lv = numbers
    rows = [
        ("bb", "ana", outcome, 0, "baseline", None, bb[0], bb[1], None),
        ("bb", "ana", outcome, bb[4], "final", None, bb[2], bb[3], None),
        ("leder", "daily", outcome, 0, "baseline", 12, l1[0], l1[1], None),
        ("leder", "daily", outcome, 2.76, "final", 12, l1[2], l1[3], None),
        ("leder", "twice", outcome, 0, "baseline", 11, l2[0], l2[1], None),
        ("leder", "twice", outcome, 2.76, "final", 11, l2[2], l2[3], None),
        ("loves", "let", outcome, 0, "baseline", None, lv[0], None, lv[1]),
        ("loves", "let", outcome, 6, "final", None, lv[2], None, lv[3]),
    ]
    arms = [
        ("bb", "ana", "treatment", None), ("bb", "pbo", "control", None),
        ("leder", "daily", "treatment", 12), ("leder", "twice", "treatment", 11),
        ("leder", "pbo", "control", 14),
        ("loves", "let", "treatment", None), ("loves", "pbo", "control", None),
    ]  # fmt: skip
    return _tables(rows, arms, contrasts=[("bb", 69)])


@pytest.mark.parametrize("outcome", ["estradiol", "testosterone"])
def test_within_arm_log_ratios_match_metafor_romc(outcome):
    effects, _ = _run(_shipped_like(outcome))
    assert list(effects["study_id"]) == ["bb", "leder", "loves"]
    # closed forms: agreement to rounding
    np.testing.assert_allclose(effects["yi"], REF[outcome]["yi"], rtol=1e-10)
    np.testing.assert_allclose(effects["vi"], REF[outcome]["vi"], rtol=1e-10)
    assert set(effects["route"]) == {"w"}


@pytest.mark.parametrize("outcome", ["estradiol", "testosterone"])
def test_pooled_hormone_response_matches_metafor_rma(outcome):
    effects, _ = _run(_shipped_like(outcome))
    res = rma(effects["yi"].to_numpy(), effects["vi"].to_numpy(), method="REML", test="knha")
    ref = REF[outcome]["rma"]
    # REML tau2 is iterative: both optimisers stop within ~1e-7 of the optimum
    assert res.tau2 == pytest.approx(ref["tau2"], rel=1e-5)
    assert res.estimate == pytest.approx(ref["estimate"], abs=1e-7)
    assert res.ci_low == pytest.approx(ref["ci_low"], abs=1e-6)
    assert res.pi_low == pytest.approx(ref["pi_low"], abs=1e-5)
    assert res.pi_high == pytest.approx(ref["pi_high"], abs=1e-5)


def test_two_treated_arms_are_combined_into_one_effect_not_counted_twice():
    effects, ledger = _run(_shipped_like("estradiol"))
    leder = effects.loc[effects["study_id"] == "leder"]
    assert len(leder) == 1
    assert int(leder["n_treatment"].iloc[0]) == 23
    methods = ledger.loc[ledger["study_id"] == "leder", "method"]
    assert methods.str.startswith("combine_groups").sum() == 2


def test_arm_n_shared_from_the_analysed_total_is_an_assumption_in_the_ledger():
    effects, ledger = _run(_shipped_like("estradiol"))
    bb = ledger.loc[ledger["study_id"] == "bb"].iloc[0]
    assert "contrasts.csv:2:n_analysed" in bb["inputs"]
    assert "shared equally between its 2 arms" in json.loads(bb["assumptions"])["arm_n"]
    # the shared-out n weighted the variance but is not shown as a count
    assert pd.isna(effects.loc[effects["study_id"] == "bb", "n_treatment"].iloc[0])


def test_control_arm_with_values_gives_a_between_arm_ratio():
    rows = [
        ("t1", "ai", "estradiol", 0, "baseline", 10, 100.0, 20.0, None),
        ("t1", "ai", "estradiol", 6, "final", 10, 60.0, 15.0, None),
        ("t1", "pbo", "estradiol", 0, "baseline", 12, 90.0, 18.0, None),
        ("t1", "pbo", "estradiol", 6, "final", 12, 95.0, 20.0, None),
    ]
    arms = [("t1", "ai", "treatment", 10), ("t1", "pbo", "control", 12)]
    effects, ledger = _run(_tables(rows, arms), r=0.3)
    t = escalc("ROMC", m1i=60, m2i=100, sd1i=15, sd2i=20, ri=0.3, ni=10)
    c = escalc("ROMC", m1i=95, m2i=90, sd1i=20, sd2i=18, ri=0.3, ni=12)
    row = effects.iloc[0]
    assert row["route"] == "r"
    assert row["yi"] == pytest.approx(t.yi[0] - c.yi[0], rel=1e-12)
    assert row["vi"] == pytest.approx(t.vi[0] + c.vi[0], rel=1e-12)
    assert int(row["n_control"]) == 12
    assert ledger["method"].iloc[-1].startswith("between arms")


def test_higher_prepost_correlation_gives_a_smaller_variance():
    low, _ = _run(_shipped_like("testosterone"), r=0.2)
    high, _ = _run(_shipped_like("testosterone"), r=0.8)
    assert (high["vi"].to_numpy() < low["vi"].to_numpy()).all()
    np.testing.assert_allclose(high["yi"], low["yi"])


def test_treated_arm_without_a_spread_gives_no_effect():
    rows = [
        ("t1", "ai", "estradiol", 0, "baseline", 10, 100.0, None, None),
        ("t1", "ai", "estradiol", 6, "final", 10, 60.0, None, None),
    ]
    effects, ledger = _run(_tables(rows, [("t1", "ai", "treatment", 10)]))
    assert effects.empty and ledger.empty


def test_romc_variance_is_metafor_formula():
    es = escalc("ROMC", m1i=12, m2i=15, sd1i=4, sd2i=4, ri=0.5, ni=34.5)
    expected = (4**2 / 12**2 + 4**2 / 15**2 - 2 * 0.5 * 4 * 4 / (12 * 15)) / 34.5
    assert es.vi[0] == pytest.approx(expected, rel=1e-14)
    assert es.yi[0] == pytest.approx(math.log(12 / 15), rel=1e-14)
