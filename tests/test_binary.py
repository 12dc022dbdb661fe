"""Binary skeletal outcomes: risk ratio and risk difference as metafor's escalc computes them
(zero cells: 1/2 added to every cell of that table only), and "no data" stated."""

import json

import pandas as pd
import pytest

from analysis.binary import binary_effects
from tests.conftest import REPO_ROOT

REF = json.loads((REPO_ROOT / "tests/reference/metafor_hormones.json").read_text("utf-8"))["binary"]


def _frames(rows):
    events = pd.DataFrame(rows, columns=["study_id", "arm", "outcome", "imaging", "events", "n"])
    arms = pd.DataFrame(
        [(s, "ai", "treatment") for s in events["study_id"].unique()]
        + [(s, "pbo", "control") for s in events["study_id"].unique()],
        columns=["study_id", "arm", "role"],
    )
    studies = pd.DataFrame(
        [{"study_id": s, "label": s.title(), "evidence_line": "ai_boys", "design": "rct"}
         for s in events["study_id"].unique()]
        + [{"study_id": "older", "label": "Older", "evidence_line": "ai_older_men",
            "design": "rct"}]
    )  # fmt: skip
    return events, arms, studies


def _tables():
    return _frames([
        ("s1", "ai", "vertebral_deformity", "dxa", REF["ai"][0], REF["n1i"][0]),
        ("s1", "pbo", "vertebral_deformity", "dxa", REF["ci"][0], REF["n2i"][0]),
        ("s2", "ai", "vertebral_deformity", "mri", REF["ai"][1], REF["n1i"][1]),
        ("s2", "pbo", "vertebral_deformity", "mri", REF["ci"][1], REF["n2i"][1]),
    ])  # fmt: skip


@pytest.mark.parametrize("measure", ["RR", "RD"])
def test_risk_ratio_and_difference_match_metafor_including_a_zero_cell(measure):
    out = binary_effects(*_tables())
    got = out.loc[(out["measure"] == measure) & (out["status"] == "estimated")]
    assert list(got["study_id"]) == ["s1", "s2"]
    key = measure.lower()
    # closed forms: agreement to rounding
    assert list(got["yi"]) == pytest.approx(REF[f"{key}_yi"], rel=1e-12)
    assert list(got["vi"]) == pytest.approx(REF[f"{key}_vi"], rel=1e-12)


def test_zero_cell_correction_is_noted_only_for_the_table_with_a_zero():
    out = binary_effects(*_tables())
    rr = out.loc[out["measure"] == "RR"].set_index("study_id")["note"]
    assert rr["s1"] == ""
    assert "0.5 added to every cell" in rr["s2"]


def test_arm_without_number_assessed_is_not_estimable_with_the_reason():
    events, arms, studies = _frames([
        ("s1", "ai", "vertebral_deformity", "mri", 5, 11),
        ("s1", "pbo", "vertebral_deformity", "mri", 0, None),
    ])  # fmt: skip
    out = binary_effects(events, arms, studies)
    row = out.loc[out["study_id"] == "s1"].iloc[0]
    assert row["status"] == "not_estimable"
    assert row["note"] == "not estimable: control arm: n not reported"


def test_outcomes_no_study_of_a_line_reports_are_stated_as_no_data():
    out = binary_effects(*_tables())
    no_data = out.loc[out["status"] == "no_data"]
    assert set(zip(no_data["evidence_line"], no_data["outcome"], strict=True)) == {
        ("ai_boys", "fracture"),
        ("ai_older_men", "fracture"),
        ("ai_older_men", "vertebral_deformity"),
    }
    assert no_data["note"].str.startswith("no included study of this line reports").all()
