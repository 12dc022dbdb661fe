"""Row rules of analysis.validate that no other rule stands in for.

Each case edits one row of a temporary copy of data/raw/ (with the example studies of
docs/adding-a-study.md appended) so that exactly one rule is broken, and asserts that the
edit adds exactly one problem, of that rule, at that cell: deleting the rule, or letting
another rule catch the case instead, fails the test.
"""

import csv
import io
from pathlib import Path

import pytest
import yaml

from analysis.validate import RULES, load_schema, validate_raw


def _rewrite(raw: Path, table: str, pick, **values: str) -> int:
    """Set cells of the first row of ``table`` for which ``pick(row)`` holds; return its line.

    Rows are rewritten through the csv module, so the line of a record is found by counting
    physical lines, as the validator does.
    """
    path = raw / table
    text = path.read_text("utf-8")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    rows, lines, line = [], [], 2
    for fields in reader:
        rows.append(dict(zip(header, fields, strict=True)))
        lines.append(line)
        line = reader.line_num + 1
    index = next(i for i, row in enumerate(rows) if pick(row))
    rows[index] |= values
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([row[c] for c in header] for row in rows)
    path.write_text(out.getvalue(), "utf-8")
    return lines[index]


def _added(raw: Path, edit) -> list[tuple[str, int | None, str | None, str]]:
    before = validate_raw(raw)
    assert before == [], "the copy must be valid before the edit"
    line = edit(raw)
    after = validate_raw(raw)
    return line, [(p.file.rsplit("/", 1)[-1], p.row, p.column, p.rule) for p in after]


def _arm_with_mean(row):
    return row["mean"] != "" and row["median"] == ""


def _measured(row):
    return row["measure"] != "reported_in_words"


def test_q1_above_q3_is_reported_when_no_median_is_given(raw_with_example):
    line, added = _added(
        raw_with_example,
        lambda raw: _rewrite(raw, "arm_outcomes.csv", _arm_with_mean, q1="0.9", q3="0.7"),
    )
    assert added == [("arm_outcomes.csv", line, "q1", "order")]


@pytest.mark.parametrize(("given", "blank"), [("q1", "q3"), ("q3", "q1")])
def test_one_quartile_without_the_other_is_reported(raw_with_example, given, blank):
    line, added = _added(
        raw_with_example,
        lambda raw: _rewrite(raw, "arm_outcomes.csv", _arm_with_mean, **{given: "0.5", blank: ""}),
    )
    assert added == [("arm_outcomes.csv", line, given, "needs")]


def test_a_p_value_bound_without_a_p_value_is_reported(raw_with_example):
    def edit(raw):
        # the row keeps a statistic (estimate and SE), so only the bound is wrong
        return _rewrite(
            raw, "contrasts.csv", _measured, estimate="0.01", se="0.005", p_value="",
            p_value_bound="<",
        )  # fmt: skip

    line, added = _added(raw_with_example, edit)
    assert added == [("contrasts.csv", line, "p_value_bound", "needs")]


def test_a_contrast_without_any_statistic_is_reported(raw_with_example):
    def edit(raw):
        return _rewrite(
            raw, "contrasts.csv", _measured,
            estimate="", se="", ci_low="", ci_high="", ci_level="", p_value="",
            p_value_bound="",
        )  # fmt: skip

    line, added = _added(raw_with_example, edit)
    assert added == [("contrasts.csv", line, None, "no_statistic")]


def test_a_contrast_reported_in_words_needs_no_statistic(raw_with_example):
    def edit(raw):
        return _rewrite(
            raw, "contrasts.csv", _measured, measure="reported_in_words",
            reported_text="no difference", estimate="", se="", ci_low="", ci_high="",
            ci_level="", p_value="", p_value_bound="",
        )  # fmt: skip

    _, added = _added(raw_with_example, edit)
    assert added == []


@pytest.mark.parametrize(("value", "rules"), [("yes", ["boolean"]), ("true", []), ("false", [])])
def test_a_boolean_column_takes_true_or_false_only(raw_with_example, tmp_path, value, rules):
    schema = load_schema()
    schema["tables"]["studies.csv"]["columns"]["blinded"] = {"type": "boolean"}
    path = tmp_path / "schema.yaml"
    path.write_text(yaml.safe_dump(schema), "utf-8")
    studies = raw_with_example / "studies.csv"
    lines = studies.read_text("utf-8").splitlines()
    lines = [lines[0] + ",blinded", *(f"{line}," for line in lines[1:])]
    lines[1] += value
    studies.write_text("\n".join(lines) + "\n", "utf-8")
    problems = validate_raw(raw_with_example, path)
    assert [(p.row, p.column, p.rule) for p in problems] == [(2, "blinded", r) for r in rules]
    if rules:
        assert problems[0].message.endswith(RULES["boolean"].format(value=value))


def _messages_added(raw: Path, edit) -> tuple[int, list[str]]:
    assert validate_raw(raw) == [], "the copy must be valid before the edit"
    line = edit(raw)
    return line, [p.message for p in validate_raw(raw)]


JUDGEMENTS = "low, some_concerns, high, unclear, moderate, serious, critical, no_information"


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        ("Low", " (did you mean 'low'?)"),  # the same word in another case
        ("critcal", " (did you mean 'critical'?)"),  # difflib ratio 2*7/15 = 0.93
        ("modest", ""),  # nearest is moderate: ratio 2*5/14 = 0.71, below the 0.75 cutoff
    ],
)
def test_a_value_outside_a_list_of_eight_names_all_eight(raw_with_example, value, hint):
    line, added = _messages_added(
        raw_with_example,
        lambda raw: _rewrite(raw, "risk_of_bias.csv", lambda row: True, judgement=value),
    )
    assert added == [
        f"{raw_with_example}/risk_of_bias.csv row {line}, column judgement: '{value}' is not "
        f"an allowed judgement{hint}; allowed: {JUDGEMENTS}"
    ]


def test_a_number_with_the_arabic_decimal_separator_is_a_non_ascii_number(raw_with_example):
    # U+0661 U+0668 U+066B U+0661 is 18.1 in Arabic-Indic digits with the Arabic decimal
    # separator: a number in other digits, not words
    value = "\u0661\u0668\u066b\u0661"
    line, added = _messages_added(
        raw_with_example,
        lambda raw: _rewrite(raw, "arm_outcomes.csv", _arm_with_mean, mean=value),
    )
    assert added == [
        f"{raw_with_example}/arm_outcomes.csv row {line}, column mean: '{value}' has a "
        "non-ASCII digit or sign (U+0661); write the digits 0-9"
    ]


def test_an_observation_of_a_trial_without_a_patient_is_plainly_required(raw_with_example):
    # Only observations of case reports and case series get the message naming the man;
    # the study's own design decides, not that of another study.
    with (raw_with_example / "studies.csv").open(newline="", encoding="utf-8") as handle:
        trial = next(r["study_id"] for r in csv.DictReader(handle) if r["design"] == "rct")
    line, added = _messages_added(
        raw_with_example,
        lambda raw: _rewrite(
            raw, "patient_observations.csv", lambda row: True, study_id=trial, patient_id=""
        ),
    )
    assert added == [
        f"{raw_with_example}/patient_observations.csv row {line}, column patient_id: "
        "blank; patient_id is required"
    ]
