"""Row rules of analysis.validate that no other rule stands in for.

Each case edits one row of a temporary copy of data/raw/ (with the example studies of
docs/adding-a-study.md appended) so that exactly one rule is broken, and asserts that the
edit adds exactly one problem, of that rule, at that cell: deleting the rule, or letting
another rule catch the case instead, fails the test.

Further cases check that one problem does not hide the next (a refused cell, a column missing
from the header, a missing table), and run small contracts of their own for the parts of the
contract the shipped one does not exercise (a keyless table, a list column, a contract without
ranges); their expected messages are written out in full.
"""

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import analysis.validate
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


# --- rows and columns the other rules must not hide ------------------------------------------

SPINE_WHY = (
    "areal BMD of a man is near 1 g/cm2; the bounds accept severe osteoporosis and high bone "
    "mass but refuse mg/cm2 or a z-score typed as g/cm2"
)  # plausible_ranges.outcomes.bmd_lumbar_spine.g/cm2 in analysis/schema/raw_tables.yaml
MISSING = (
    "missing from the header; every column of the contract must be present (leave its cells blank)"
)


def _spine_level(measure: str):
    def pick(row):
        return (row["outcome"], row["unit"], row["measure"]) == (
            "bmd_lumbar_spine",
            "g/cm2",
            measure,
        )

    return pick


def _drop_column(raw: Path, table: str, column: str) -> None:
    path = raw / table
    rows = list(csv.reader(io.StringIO(path.read_text("utf-8"), newline="")))
    drop = rows[0].index(column)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(r[:drop] + r[drop + 1 :] for r in rows)
    path.write_text(out.getvalue(), "utf-8")


def test_a_first_quartile_equal_to_the_median_is_in_order(raw_with_example):
    # skewed data often have q1 = median; only q1 > median breaks the order
    _, added = _added(
        raw_with_example,
        lambda raw: _rewrite(
            raw, "arm_outcomes.csv", _spine_level("baseline"), median="1.0", q1="1.0", q3="1.2"
        ),
    )
    assert added == []


def test_the_cells_after_a_control_character_are_still_checked(raw_with_example):
    # U+200B is a format character (Cf): reported once, not also as 'not a number', and the
    # negative SD further along the row is reported too
    line, added = _messages_added(
        raw_with_example,
        lambda raw: _rewrite(
            raw, "arm_outcomes.csv", _spine_level("baseline"), mean="\u200b1.0", sd="-0.2"
        ),
    )
    where = f"{raw_with_example}/arm_outcomes.csv row {line}"
    assert added == [
        f"{where}, column mean: contains U+200B (ZERO WIDTH SPACE) at character 1, a control or "
        "text-direction character; write printable text only",
        f"{where}, column sd: -0.2 is negative; a standard deviation must be >= 0",
    ]


@pytest.mark.parametrize(
    ("cells", "first"),
    [
        # a mean that is not a number is reported as such, the SD is still range-checked
        ({"mean": "NA", "sd": "30"}, "column mean: 'NA' is not a number; leave the cell blank "
         "when the report gives none"),
        # a negative SD is reported as negative, the SE is still range-checked
        ({"sd": "-0.2", "se": "30"}, "column sd: -0.2 is negative; a standard deviation must "
         "be >= 0"),
    ],
)  # fmt: skip
def test_a_cell_refused_by_its_column_does_not_stop_the_range_check_of_the_next(
    raw_with_example, cells, first
):
    line, added = _messages_added(
        raw_with_example,
        lambda raw: _rewrite(raw, "arm_outcomes.csv", _spine_level("baseline"), **cells),
    )
    spread = list(cells)[-1]
    where = f"{raw_with_example}/arm_outcomes.csv row {line}"
    # an SD or SE lies in 0 .. (2.5 - 0.2) = 2.3 g/cm2, the width of the contract's range
    assert added == [
        f"{where}, {first}",
        f"{where}, column {spread}: 30 g/cm2 is outside the plausible range for an SD or SE of "
        f"bmd_lumbar_spine (0 to 2.3 g/cm2; {SPINE_WHY}); check the value and its unit",
    ]


def test_a_number_for_an_outcome_reported_in_words_has_no_range(raw_with_example):
    # epiphyseal_closure is 'reported in words (value_text; unit categorical)': the contract
    # declares no range for it, so a number in value is refused
    line, added = _messages_added(
        raw_with_example,
        lambda raw: _rewrite(
            raw,
            "patient_observations.csv",
            lambda row: row["outcome"] == "epiphyseal_closure",
            value="1",
        ),
    )
    assert added == [
        f"{raw_with_example}/patient_observations.csv row {line}, column unit: 'categorical' has "
        "no plausible range declared for epiphyseal_closure; correct the unit or declare the "
        "range under plausible_ranges in analysis/schema/raw_tables.yaml"
    ]


def test_an_arm_of_one_man_may_give_events_without_a_spread(raw_with_example):
    # 'a spread needs n >= 2' is about an SD or SE; arm_events.csv has neither
    _, added = _added(
        raw_with_example,
        lambda raw: _rewrite(raw, "arm_events.csv", lambda row: True, events="1", n="1"),
    )
    assert added == []


def test_rows_of_a_table_missing_a_column_are_still_checked(raw_with_example):
    def edit(raw):
        line = _rewrite(raw, "arm_outcomes.csv", _spine_level("baseline"), sd="-0.2")
        _drop_column(raw, "arm_outcomes.csv", "timepoint_months")
        return line

    line, added = _messages_added(raw_with_example, edit)
    where = f"{raw_with_example}/arm_outcomes.csv row"
    assert added == [
        f"{where} 1, column timepoint_months: {MISSING}",
        f"{where} {line}, column sd: -0.2 is negative; a standard deviation must be >= 0",
    ]


def test_without_a_median_column_the_quartiles_are_still_ordered_and_sourced(raw_with_example):
    def edit(raw):
        first = _rewrite(raw, "arm_outcomes.csv", _spine_level("baseline"), q1="0.9", q3="0.7")
        second = _rewrite(
            raw, "arm_outcomes.csv", _spine_level("final"), n="10", mean="1.0", sd="0.1", se="",
            ci_low="", ci_high="", q1="", q3="", p_value="", p_value_bound="", source="",
        )  # fmt: skip
        _drop_column(raw, "arm_outcomes.csv", "median")
        return first, second

    (first, second), added = _messages_added(raw_with_example, edit)
    where = f"{raw_with_example}/arm_outcomes.csv row"
    assert first < second
    # the numbers named are the contract's number columns the row gives, outside its key
    assert added == [
        f"{where} 1, column median: {MISSING}",
        f"{where} {first}, column q1: 0.9 is greater than q3 0.7; q1 must be <= q3",
        f"{where} {second}, column source: blank, but the row reports n, mean, sd; every number "
        "needs its source",
    ]


def test_a_risk_of_bias_table_without_domains_is_one_missing_column(raw_with_example):
    def edit(raw):
        _drop_column(raw, "risk_of_bias.csv", "domain")
        return 1

    _, added = _messages_added(raw_with_example, edit)
    assert added == [f"{raw_with_example}/risk_of_bias.csv row 1, column domain: {MISSING}"]


def test_a_missing_studies_table_is_one_problem(raw_with_example):
    # the checks that look studies up (references, patients' reports, screening) skip it
    def edit(raw):
        (raw / "studies.csv").unlink()
        return None

    _, added = _messages_added(raw_with_example, edit)
    assert added == [
        f"{raw_with_example}/studies.csv: file is missing; the contract lists studies.csv (add it "
        "with its header line)"
    ]


# --- a small contract of one's own -----------------------------------------------------------

HEIGHT_WHY = "from a newborn to beyond the tallest men recorded"


def _height_contract() -> dict:
    """One table of heights, keyless, with the shipped contract's range for height in cm."""
    return {
        "vocabularies": {"outcome": ["height"], "unit": ["cm"]},
        "tables": {
            "heights.csv": {
                "plausible": {"kind": "level", "values": ["value"]},
                "columns": {
                    "outcome": {"type": "enum", "vocabulary": "outcome", "required": True},
                    "unit": {"type": "enum", "vocabulary": "unit", "required": True},
                    "value": {"type": "number", "min": 0, "max": 300},
                    "source": {"type": "string", "required": True},
                },
            }
        },
        "plausible_ranges": {
            "outcomes": {"height": {"cm": {"range": [40, 260], "why": HEIGHT_WHY}}}
        },
    }


def _messages(tmp_path: Path, contract: dict, tables: dict[str, list[str]]) -> list[str]:
    raw = tmp_path / "raw"
    raw.mkdir()
    for name, lines in tables.items():
        (raw / name).write_text("".join(f"{line}\n" for line in lines), "utf-8")
    return [p.message.removeprefix(f"{raw}/") for p in validate_raw(raw, contract)]


def _heights(*values: str) -> dict[str, list[str]]:
    return {
        "heights.csv": ["outcome,unit,value,source", *(f"height,cm,{v},PMID:1" for v in values)]
    }


def _implausible(row: int, value: str, what: str, low: int, high: int) -> str:
    return (
        f"heights.csv row {row}, column value: {value} cm is outside the plausible range for "
        f"{what} of height ({low} to {high} cm; {HEIGHT_WHY}); check the value and its unit"
    )


def test_a_value_at_the_bound_of_its_column_is_still_range_checked(tmp_path):
    # 0 and 300 are inside the column's own bounds (min 0, max 300) but outside 40 .. 260
    messages = _messages(tmp_path, _height_contract(), _heights("0", "170", "300"))
    assert messages == [
        _implausible(2, "0", "a value", 40, 260),
        _implausible(4, "300", "a value", 40, 260),
    ]


def _no_ranges(contract):
    del contract["plausible_ranges"]


def _ranges_for_any_outcome_only(contract):
    contract["plausible_ranges"] = {"any_outcome": {"percent": {"range": [-100, 300], "why": "-"}}}


def _spreads_only(contract):
    contract["tables"]["heights.csv"]["plausible"] = {"kind": "level", "spreads": ["value"]}


def _neither_kind_nor_measure(contract):
    contract["tables"]["heights.csv"]["plausible"] = {"values": ["value"]}


def _units_listed_in_the_column(contract):
    del contract["vocabularies"]["unit"]
    contract["tables"]["heights.csv"]["columns"]["unit"] = {"type": "enum", "allowed": ["cm"]}


NO_RANGE = (
    "heights.csv row 2, column unit: 'cm' has no plausible range declared for height; correct "
    "the unit or declare the range under plausible_ranges in analysis/schema/raw_tables.yaml"
)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_no_ranges, [NO_RANGE]),
        (_ranges_for_any_outcome_only, [NO_RANGE]),
        # a spread lies in 0 .. the width of the range, 260 - 40 = 220
        (_spreads_only, [_implausible(2, "250", "an SD or SE", 0, 220)]),
        # no kind and no measure: the contract does not say whether values are levels
        (_neither_kind_nor_measure, []),
        # the range check keys on units of the unit vocabulary
        (_units_listed_in_the_column, []),
    ],
)
def test_a_contract_may_leave_out_the_parts_of_the_range_check(tmp_path, change, expected):
    contract = _height_contract()
    change(contract)
    assert _messages(tmp_path, contract, _heights("250")) == expected


def test_a_number_without_its_source_is_named_in_a_table_without_a_key(tmp_path):
    tables = {"heights.csv": ["outcome,unit,value,source", "height,cm,170,"]}
    assert _messages(tmp_path, _height_contract(), tables) == [
        "heights.csv row 2, column source: blank, but the row reports value; every number needs "
        "its source"
    ]


def test_each_item_of_a_list_cell_is_checked_on_its_own(tmp_path):
    contract = {
        "tables": {
            "scans.csv": {
                "columns": {
                    "imaging": {"type": "enum", "allowed": ["dxa", "qct"], "separator": ";"},
                }
            }
        }
    }
    tables = {"scans.csv": ["imaging", "dxa;qct", "qct", "dxa; pqct"]}
    # difflib ratio of pqct and qct: 2 * 3 / 7 = 0.86, above the 0.75 cutoff
    assert _messages(tmp_path, contract, tables) == [
        "scans.csv row 4, column imaging: 'pqct' is not an allowed imaging (did you mean "
        "'qct'?); allowed: dxa, qct"
    ]


def _observation_contract() -> dict:
    required = {"type": "string", "required": True}
    return {
        "tables": {
            "studies.csv": {"columns": {"study_id": required, "design": required}},
            "patient_observations.csv": {"columns": {"study_id": required, "patient_id": required}},
        }
    }


@pytest.mark.parametrize(
    ("observations", "study_problem"),
    [
        (["study_id,patient_id", ","], "row 2, column study_id: blank; study_id is required"),
        (["patient_id", '""'], f"row 1, column study_id: {MISSING}"),
    ],
)
def test_an_observation_without_a_study_plainly_needs_its_patient(
    tmp_path, observations, study_problem
):
    # a row of studies.csv without a study_id is not the study of an observation without one:
    # the blank patient_id is plainly required, not asked of a case report
    tables = {
        "studies.csv": ["study_id,design", ",case_report"],
        "patient_observations.csv": observations,
    }
    assert _messages(tmp_path, _observation_contract(), tables) == [
        "studies.csv row 2, column study_id: blank; study_id is required",
        f"patient_observations.csv {study_problem}",
        "patient_observations.csv row 2, column patient_id: blank; patient_id is required",
    ]


def test_an_observation_table_without_study_ids_names_no_case_report_study(tmp_path):
    # without a study_id column no observation belongs to any study, not even to a case report
    # whose id happens to be written XXXX: the blank patient_id is plainly required
    tables = {
        "studies.csv": ["study_id,design", "XXXX,case_report"],
        "patient_observations.csv": ["patient_id", '""'],
    }
    assert _messages(tmp_path, _observation_contract(), tables) == [
        f"patient_observations.csv row 1, column study_id: {MISSING}",
        "patient_observations.csv row 2, column patient_id: blank; patient_id is required",
    ]


def test_the_contract_is_read_as_utf8_whatever_the_locale(tmp_path):
    # a locale whose encoding is ASCII (C without UTF-8 coercion, PEP 538 and 540) must not
    # change how a contract holding a micro sign is read
    contract = tmp_path / "contract.yaml"
    contract.write_text("tables: {}\nunits: [\u00b5g/L]\n", "utf-8")
    code = (
        "import sys\nfrom analysis.validate import load_schema\n"
        "print(ascii(load_schema(sys.argv[1])))"
    )
    package_root = Path(analysis.validate.__file__).parents[1]
    env = os.environ | {
        "LC_ALL": "C", "LANG": "C", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0",
        "PYTHONPATH": str(package_root),
    }  # fmt: skip
    run = subprocess.run(
        [sys.executable, "-c", code, str(contract)], env=env, capture_output=True, text=True
    )
    assert (run.returncode, run.stdout) == (0, "{'tables': {}, 'units': ['\\xb5g/L']}\n")
    assert load_schema(contract) == {"tables": {}, "units": ["\u00b5g/L"]}


# --- a table missing a column: every other check still runs, on what is there ----------------
# The ids below are written as a user might type them; the contracts give them no pattern, so
# the only problems are the missing column and what the remaining cells say.


def test_without_a_study_id_column_in_screening_no_study_has_an_included_record(tmp_path):
    contract = {
        "tables": {
            "studies.csv": {"columns": {"study_id": {"type": "string", "required": True}}},
            "screening.csv": {
                "columns": {
                    "study_id": {"type": "string"},
                    "decision": {"type": "enum", "allowed": ["included", "excluded"]},
                }
            },
        }
    }
    tables = {"studies.csv": ["study_id", "XXXX"], "screening.csv": ["decision", "included"]}
    assert _messages(tmp_path, contract, tables) == [
        "studies.csv row 2, column study_id: 'XXXX' has no included record in screening.csv; "
        "add the record that reports it",
        f"screening.csv row 1, column study_id: {MISSING}",
    ]


def test_without_a_control_arm_column_no_contrast_compares_an_arm_with_itself(tmp_path):
    contract = {
        "tables": {
            "contrasts.csv": {
                "columns": {"treatment_arm": {"type": "string"}, "control_arm": {"type": "string"}}
            }
        }
    }
    tables = {"contrasts.csv": ["treatment_arm", "XXXX"]}
    assert _messages(tmp_path, contract, tables) == [
        f"contrasts.csv row 1, column control_arm: {MISSING}"
    ]


def _reports_contract() -> dict:
    required = {"type": "string", "required": True}
    return {
        "tables": {
            "studies.csv": {"columns": {"study_id": required}},
            "patients.csv": {
                "columns": {
                    "patient_id": required,
                    "first_report": required,
                    "also_reported_in": {"type": "string"},
                }
            },
            "patient_observations.csv": {"columns": {"study_id": required, "patient_id": required}},
        }
    }


@pytest.mark.parametrize(
    ("tables", "missing"),
    [
        # patients.csv without patient_id: no man's reports are known, so an observation of
        # study b is not compared with anyone's reports (a, here)
        (
            {
                "studies.csv": ["study_id", "a", "b"],
                "patients.csv": ["first_report,also_reported_in", "a,"],
                "patient_observations.csv": ["study_id,patient_id", "b,XXXX"],
            },
            "patients.csv row 1, column patient_id",
        ),
        # observations without study_id: an observation has no study to compare with p1's
        (
            {
                "studies.csv": ["study_id", "XXXX", "a"],
                "patients.csv": ["patient_id,first_report,also_reported_in", "p1,a,"],
                "patient_observations.csv": ["patient_id", "p1"],
            },
            "patient_observations.csv row 1, column study_id",
        ),
        # observations without patient_id: an observation names no man whose reports count
        (
            {
                "studies.csv": ["study_id", "a", "b"],
                "patients.csv": ["patient_id,first_report,also_reported_in", "XXXX,a,"],
                "patient_observations.csv": ["study_id", "b"],
            },
            "patient_observations.csv row 1, column patient_id",
        ),
    ],
)
def test_without_an_id_column_no_observation_is_checked_against_a_mans_reports(
    tmp_path, tables, missing
):
    assert _messages(tmp_path, _reports_contract(), tables) == [f"{missing}: {MISSING}"]


def test_a_column_under_plausible_that_the_table_does_not_declare_is_still_range_checked(
    tmp_path,
):
    # a contract author's slip: plausible names value, but the columns leave it out. The
    # header's value is reported as unknown and, having no bounds of its own, is range-checked.
    contract = _height_contract()
    del contract["tables"]["heights.csv"]["columns"]["value"]
    assert _messages(tmp_path, contract, _heights("170", "300")) == [
        "heights.csv row 1, column value: 'value' is not a column of heights.csv; see "
        "docs/data-dictionary.md",
        _implausible(3, "300", "a value", 40, 260),
    ]


@pytest.mark.parametrize(
    ("column", "article"),
    [
        ("arm", "an"),
        ("study_id", "a"),
        # the article follows the lower-case vowels a, e, i, o, u only: X (read "z" in Xylem)
        # takes "a"
        ("Xylem", "a"),
    ],
)
def test_a_value_missing_from_the_referenced_column_names_it_with_its_article(
    tmp_path, column, article
):
    contract = {
        "tables": {
            "parents.csv": {"columns": {column: {"type": "string"}}},
            "children.csv": {
                "columns": {column: {"type": "string", "references": f"parents.csv.{column}"}}
            },
        }
    }
    tables = {"parents.csv": [column, "p"], "children.csv": [column, "p", "q"]}
    assert _messages(tmp_path, contract, tables) == [
        f"children.csv row 3, column {column}: 'q' is not {article} {column} in parents.csv"
    ]
