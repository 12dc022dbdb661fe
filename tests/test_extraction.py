"""Double extraction: each used number compared with the second extraction; disagreements
need a reconciliation; the switchable rule names every uncovered number."""

import pandas as pd
import pytest

from analysis import extraction

KEYS = {"arm_outcomes.csv": ["study_id", "arm", "outcome", "timepoint_months", "measure"]}


def _first():
    arm = pd.DataFrame(
        [{"study_id": "s1", "arm": "ai", "outcome": "estradiol", "timepoint_months": 2.76,
          "measure": "final", "n": 12, "mean": 17.0, "sd": 6.0, "source_row": 5}]
    )  # fmt: skip
    return extraction.first_cells({"arm_outcomes.csv": arm}, KEYS)


def _second(**values):
    rows = []
    for i, (column, (value, statistic)) in enumerate(values.items(), start=1):
        rows.append({"item_id": f"arm_outcomes:{i:03d}", "table": "arm_outcomes.csv",
                     "row_key": "s1|ai|estradiol|2.76|final", "column": column,
                     "value": value, "statistic": statistic})  # fmt: skip
    return pd.DataFrame(rows)


NO_RECONCILIATION = pd.DataFrame(columns=["item_id", "resolution"])


def test_row_key_joins_key_columns_with_numbers_as_printed():
    assert extraction.row_key({"a": "s1", "t": 2.76, "z": 0.0}, ["a", "t", "z"]) == "s1|2.76|0"


def test_equal_values_agree_and_a_missing_second_value_is_uncovered():
    items = extraction.compare(_first(), _second(mean=(17.0, None), sd=(6.0, "unlabelled")),
                               NO_RECONCILIATION)  # fmt: skip
    status = items.set_index("column")["status"]
    assert status.to_dict() == {"n": "uncovered", "mean": "agreed", "sd": "agreed"}
    summary = extraction.summary(items)
    assert (summary["numbers_used"], summary["cells_compared"], summary["agreed"]) == (3, 2, 2)
    assert summary["complete"] is False


def test_a_spread_named_as_the_other_statistic_is_a_disagreement():
    items = extraction.compare(_first(), _second(sd=(6.0, "SE")), NO_RECONCILIATION)
    assert items.set_index("column").loc["sd", "status"] == "unresolved"


def test_a_different_value_needs_a_reconciliation_row_to_be_resolved():
    second = _second(n=(12, None), mean=(18.0, None), sd=(6.0, "SD"))
    open_items = extraction.compare(_first(), second, NO_RECONCILIATION)
    [message] = extraction.problems(open_items)
    assert message.startswith("data/raw/arm_outcomes.csv row 5, column mean: 17 disagrees")
    assert "arm_outcomes:002: 18" in message
    rec = pd.DataFrame([{"item_id": "arm_outcomes:002", "resolution": "first_kept"}])
    items = extraction.compare(_first(), second, rec)
    assert extraction.problems(items) == []
    summary = extraction.summary(items)
    assert summary["resolved"] == 1 and summary["resolutions"] == {"first_kept": 1}
    assert summary["complete"] is True


def test_uncovered_number_message_names_file_row_column_and_rule():
    items = extraction.compare(_first(), _second(mean=(17.0, None), sd=(6.0, None)),
                               NO_RECONCILIATION)  # fmt: skip
    assert extraction.problems(items) == [
        "data/raw/arm_outcomes.csv row 5, column n: 12 has no second extraction in "
        "data/raw/extraction_2.csv; every number the synthesis uses needs an agreeing second "
        "value or a resolved disagreement"
    ]


def test_template_descriptions_map_to_the_first_extraction_cell():
    spread = {"s1|ai|estradiol|2.76|final": "se"}
    what = ("arm 'ai', outcome estradiol, month 2.76, final value; quantity: spread after the "
            "mean (write which statistic the source names: SD, SE, or unlabelled +/-)")  # fmt: skip
    assert extraction.item_key("arm_outcomes:007", "s1", what, spread) == (
        "arm_outcomes.csv",
        "s1|ai|estradiol|2.76|final",
        "se",
    )
    what = "arm 'pbo' number randomised; quantity: n_randomized"
    assert extraction.item_key("arms:120", "s1", what, {}) == ("arms.csv", "s1|pbo", "n_randomized")
    with pytest.raises(extraction.ExtractionError, match=r"item contrasts:001: description not"):
        extraction.item_key("contrasts:001", "s1", "something else", {})


TABLES = ("arm_outcomes", "contrasts", "arms", "patient_observations", "arm_events")


def _step(raw, tmp_path, require):
    from analysis import steps

    steps.extraction_agreement(
        tables={t: raw / f"{t}.csv" for t in TABLES},
        second=raw / "extraction_2.csv",
        reconciliation=raw / "reconciliation.csv",
        agreement=tmp_path / "agreement.json",
        items=tmp_path / "items.csv",
        config={"extraction": {"require_second": require}},
    )


def test_switched_on_the_rule_refuses_an_uncovered_number_and_writes_nothing(raw_copy, tmp_path):
    second = raw_copy / "extraction_2.csv"
    lines = second.read_text("utf-8").splitlines(keepends=True)
    second.write_text("".join([lines[0], *lines[2:]]), "utf-8")  # drop the first item
    with pytest.raises(extraction.ExtractionError, match=r"has no second extraction"):
        _step(raw_copy, tmp_path, require=True)
    assert not (tmp_path / "agreement.json").exists()


def test_switched_off_the_counts_are_written_even_with_gaps(raw_copy, tmp_path):
    import json

    second = raw_copy / "extraction_2.csv"
    lines = second.read_text("utf-8").splitlines(keepends=True)
    second.write_text("".join([lines[0], *lines[2:]]), "utf-8")
    _step(raw_copy, tmp_path, require=False)
    record = json.loads((tmp_path / "agreement.json").read_text("utf-8"))
    assert record["uncovered"] >= 1 and record["complete"] is False
    assert record["require_second"] is False
