"""The report partial states what the files hold: search counts, the pooled hormone ratio
(back-transformed), binary outcomes with "no data", and the double-extraction counts."""

import math

import pandas as pd

from analysis.binary import BINARY_COLUMNS
from analysis.report.evidence_depth import evidence_depth_md


def _md(agreement):
    search_log = pd.DataFrame(
        {
            "source": ["pages", "pages", "docs"],
            "date_searched": ["2026-12-03"] * 3,
            "records_found": [8, 8, 12],
        }
    )
    pooled = pd.DataFrame(
        [
            {
                "evidence_line": "ai_older_men",
                "outcome": "estradiol",
                "scale": "log_ratio",
                "k": 3,
                "pooled": True,
                "estimate": math.log(0.64),
                "ci_low": math.log(0.36),
                "ci_high": math.log(1.15),
                "i2": 91.6,
                "pi_low": math.log(0.21),
                "pi_high": math.log(1.98),
            }
        ]
    )
    effects = pd.DataFrame(
        {
            "scale": ["log_ratio"] * 3,
            "outcome": ["estradiol"] * 3,
            "evidence_line": ["ai_older_men"] * 3,
            "route": ["w"] * 3,
        }
    )
    binary = pd.DataFrame(
        [
            {
                "evidence_line": "ai_older_men",
                "outcome": "fracture",
                "status": "no_data",
                "note": "none",
            }
        ],
        columns=BINARY_COLUMNS,
    )
    return evidence_depth_md(
        search_log=search_log,
        pooled=pooled,
        effects=effects,
        binary=binary,
        agreement=agreement,
        reconciliation=pd.DataFrame(),
        prepost_r=0.5,
    )


FULL = {
    "numbers_used": 140,
    "cells_compared": 141,
    "agreed": 139,
    "disagreed": 2,
    "resolved": 2,
    "unresolved": 0,
    "uncovered": 0,
    "resolutions": {"location_corrected": 2},
    "require_second": True,
    "spreads_unlabelled": 24,
}


def test_search_counts_come_from_the_log():
    text = _md(FULL)
    assert "with 3 logged queries (1 in the docs corpus (12 records), 2 in the pages" in text


def test_pooled_log_ratio_is_written_as_a_ratio_with_ci_and_prediction_interval():
    text = _md(FULL).replace("\\", "")
    assert "ratio 0.64 (95% CI 0.36 to 1.15; I² 92%, prediction interval 0.21 to 1.98)" in text
    assert "within the treated arm" in text


def test_outcomes_without_data_are_stated_as_no_data():
    assert "Fractures: no data (Aromatase inhibitor vs placebo" in _md(FULL).replace("\\", "")


def test_agreement_counts_and_the_rule_state_are_stated():
    text = _md(FULL)
    assert "141 cells were compared: 139 agreed and 2 disagreed, of which 2 were resolved" in text
    assert "is on." in text and "For 24 spreads" in text
    partial = {**FULL, "uncovered": 7, "require_second": False}
    assert "7 numbers added in this update have no second extraction yet" in _md(partial)


def test_answer_names_the_pooled_hormone_ratios_beside_the_bone_result():
    from analysis.report.tables import _hormone_sentence

    pooled = pd.DataFrame(
        [
            {
                "evidence_line": "ai_older_men",
                "outcome": "estradiol",
                "scale": "log_ratio",
                "pooled": True,
                "k": 3,
                "estimate": math.log(0.64),
                "ci_low": math.log(0.36),
                "ci_high": math.log(1.15),
            },
            {
                "evidence_line": "ai_boys",
                "outcome": "estradiol",
                "scale": "log_ratio",
                "pooled": False,
                "k": 1,
                "estimate": 0.0,
                "ci_low": -1.0,
                "ci_high": 1.0,
            },
        ]
    )
    text = _hormone_sentence(pooled, "ai_older_men").replace("\\", "")
    assert text.endswith("estradiol 0.64 [0.36, 1.15] (k = 3).")
    assert _hormone_sentence(pooled, "ai_boys") == ""
