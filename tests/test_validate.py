"""analysis.validate: the shipped data satisfy the contract; each kind of bad input is named
exactly (file, row = line number, column, value, rule); validation writes nothing.

Each malformed case edits one cell or line of a temporary copy of data/raw/ (with the fictional
example study of docs/adding-a-study.md appended, so that every table has rows; shipped rows come
first and are the ones edited whenever they exist). Rows are found by their content, never by a
fixed line, and the expected line number is computed, so the cases hold as the data grow. A case
asserts the problems its edit *adds*: exactly the expected message(s), nothing more.
"""

import csv
import hashlib
import io
import os
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import RAW_DIR, REPO_ROOT

from analysis.dictionary import main as dictionary_main
from analysis.dictionary import render_dictionary
from analysis.validate import (
    RawDataError,
    ValidationProblem,
    check_raw,
    load_schema,
    main,
    validate_raw,
)

SCHEMA = load_schema()
Row = dict[str, str]


# --- editing a table in place, by content --------------------------------------------------


def _records(path: Path) -> tuple[list[str], list[tuple[int, int, list[str]]]]:
    """Physical lines of the file and its records as (first line, last line, fields)."""
    text = path.read_text("utf-8")
    lines = io.StringIO(text, newline="").readlines()
    reader = csv.reader(io.StringIO(text, newline=""))
    records = []
    while True:
        start = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return lines, records
        records.append((start, reader.line_num, fields))


def _line(fields: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(fields)
    return out.getvalue()


def rows_of(raw: Path, table: str) -> list[tuple[int, Row]]:
    """Data rows of ``table`` with the line each starts on."""
    _, records = _records(raw / table)
    header = records[0][2]
    return [(start, dict(zip(header, fields, strict=True))) for start, _, fields in records[1:]]


def find_all(raw: Path, table: str, where: Callable[[Row], bool]) -> list[int]:
    """Line numbers of all rows of ``table`` satisfying ``where``."""
    return [line for line, row in rows_of(raw, table) if where(row)]


def find(raw: Path, table: str, where: Callable[[Row], bool] = lambda row: True) -> tuple[int, Row]:
    """The first row of ``table`` satisfying ``where``, with its line number."""
    for line, row in rows_of(raw, table):
        if where(row):
            return line, row
    raise AssertionError(f"no row of {table} fits this case")


def set_cells(raw: Path, table: str, line: int, **values: str) -> None:
    """Rewrite the row starting at ``line`` with some cells changed."""
    path = raw / table
    lines, records = _records(path)
    header = records[0][2]
    start, end, fields = next(r for r in records if r[0] == line)
    row = dict(zip(header, fields, strict=True)) | values
    lines[start - 1 : end] = [_line([row[c] for c in header])]
    path.write_text("".join(lines), "utf-8")


def append_line(raw: Path, table: str, line: str) -> int:
    """Append one physical line; return its line number."""
    path = raw / table
    text = path.read_text("utf-8")
    path.write_text(text + line + "\n", "utf-8")
    return text.count("\n") + 1


def edit(raw: Path, table: str, where: Callable[[Row], bool], **values: str) -> tuple[int, Row]:
    line, row = find(raw, table, where)
    set_cells(raw, table, line, **values)
    return line, row


def design_of(raw: Path, study_id: str) -> str:
    return find(raw, "studies.csv", lambda r: r["study_id"] == study_id)[1]["design"]


def any_row(row: Row) -> bool:
    return True


def hormone_level(row: Row) -> bool:
    """A hormone level in a unit whose plausible range holds small numbers like 1 to 6, so
    that cases about the order of values add no plausibility message."""
    return row["unit"] in ("ng/dL", "pg/mL") and row["measure"] in ("baseline", "final")


# --- the malformed cases: each edits the copy and returns the message(s) it must add --------

CASES: dict[str, Callable[[Path], list[str]]] = {}


def case(fn: Callable[[Path], list[str]]) -> Callable[[Path], list[str]]:
    CASES[fn.__name__] = fn
    return fn


@case
def missing_file_is_reported(raw):
    (raw / "grade.csv").unlink()
    return [
        f"{raw}/grade.csv: file is missing; "
        "the contract lists grade.csv (add it with its header line)"
    ]


@case
def empty_file_is_reported_with_the_header_it_needs(raw):
    (raw / "grade.csv").write_bytes(b"")
    header = ",".join(SCHEMA["tables"]["grade.csv"]["columns"])
    return [f"{raw}/grade.csv: file is empty; the first line must be the header: {header}"]


@case
def blank_first_line_is_reported_as_no_header(raw):
    path = raw / "grade.csv"
    path.write_text("\n" + path.read_text("utf-8"), "utf-8")
    header = ",".join(SCHEMA["tables"]["grade.csv"]["columns"])
    return [f"{raw}/grade.csv row 1: the first line is blank; it must be the header: {header}"]


@case
def csv_file_outside_the_contract_is_reported(raw):
    (raw / "extra_notes.csv").write_text("a,b\n1,2\n", "utf-8")
    return [
        f"{raw}/extra_notes.csv: not a table of the contract; "
        "add it to analysis/schema/raw_tables.yaml or remove it"
    ]


@case
def truncated_row_is_reported_with_its_field_count(raw):
    line, _ = find(raw, "risk_of_bias.csv")
    lines, _ = _records(raw / "risk_of_bias.csv")
    lines[line - 1] = "only,three,fields\n"
    (raw / "risk_of_bias.csv").write_text("".join(lines), "utf-8")
    return [
        f"{raw}/risk_of_bias.csv row {line}: 3 fields, the header has 7; "
        "the row is truncated or a comma is missing"
    ]


@case
def extra_field_is_reported(raw):
    line, _ = find(raw, "grade.csv")
    lines, _ = _records(raw / "grade.csv")
    lines[line - 1] = lines[line - 1].rstrip("\n") + ",extra\n"
    (raw / "grade.csv").write_text("".join(lines), "utf-8")
    return [
        f"{raw}/grade.csv row {line}: 12 fields, the header has 11; "
        "quote values that contain a comma"
    ]


@case
def unterminated_quote_is_reported_where_it_opens(raw):
    line = append_line(raw, "risk_of_bias.csv", 'example_2029,rob2,overall,low,"never closed')
    return [
        f"{raw}/risk_of_bias.csv row {line}: a quoted value opened in this row is never closed; "
        "the rows after it were not read"
    ]


@case
def header_that_cannot_be_read_is_not_also_called_an_empty_file(raw):
    path = raw / "risk_of_bias.csv"
    path.write_text('"study_id,tool,domain,judgement\n', "utf-8")
    return [
        f"{raw}/risk_of_bias.csv row 1: a quoted value opened in this row is never closed; "
        "the rows after it were not read"
    ]


@case
def blank_line_is_reported(raw):
    line, _ = find(raw, "arm_outcomes.csv")
    lines, _ = _records(raw / "arm_outcomes.csv")
    lines.insert(line - 1, "\n")
    (raw / "arm_outcomes.csv").write_text("".join(lines), "utf-8")
    return [f"{raw}/arm_outcomes.csv row {line}: blank line; remove it"]


@case
def semicolon_separated_file_is_reported(raw):
    path = raw / "grade.csv"
    path.write_text(path.read_text("utf-8").replace(",", ";"), "utf-8")
    return [
        f"{raw}/grade.csv row 1: the header is separated by semicolons, not commas; "
        "save the file as comma-separated"
    ]


@case
def tab_separated_file_is_reported(raw):
    path = raw / "risk_of_bias.csv"
    rows = list(csv.reader(io.StringIO(path.read_text("utf-8"), newline="")))
    out = io.StringIO()
    csv.writer(out, delimiter="\t", lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), "utf-8")
    return [
        f"{raw}/risk_of_bias.csv row 1: the header is separated by tabs, not commas; "
        "save the file as comma-separated"
    ]


@case
def latin1_byte_is_reported_with_its_offset(raw):
    line, _ = edit(raw, "risk_of_bias.csv", any_row, rationale="MARKER")
    path = raw / "risk_of_bias.csv"
    data = path.read_bytes().replace(b"MARKER", "Müller".encode("latin-1"))
    path.write_bytes(data)
    offset = data.index(b"\xfc")
    return [
        f"{raw}/risk_of_bias.csv row {line}: byte {offset} (0xfc) is not valid UTF-8; "
        "save the file as UTF-8"
    ]


@case
def byte_order_mark_is_reported(raw):
    path = raw / "risk_of_bias.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    return [
        f"{raw}/risk_of_bias.csv row 1: the file starts with a byte order mark (BOM); "
        "save it as UTF-8 without BOM"
    ]


@case
def text_after_a_closing_quote_is_reported(raw):
    line = append_line(raw, "risk_of_bias.csv", 'example_2029,rob2,overall,low,"closed"then more,x')
    return [
        f"{raw}/risk_of_bias.csv row {line}: the quoting cannot be read (',' expected after "
        "'\"'); the rows after it were not read"
    ]


@case
def column_given_twice_is_reported(raw):
    path = raw / "grade.csv"
    rows = list(csv.reader(io.StringIO(path.read_text("utf-8"), newline="")))
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([[*r, r[0]] for r in rows])
    path.write_text(out.getvalue(), "utf-8")
    return [
        f"{raw}/grade.csv row 1, column evidence_line: 'evidence_line' appears more than once "
        "in the header (columns 1 and 12)"
    ]


@case
def misspelt_column_is_reported_as_unknown_and_missing(raw):
    path = raw / "arms.csv"
    lines = path.read_text("utf-8").split("\n")
    lines[0] = lines[0].replace("n_randomized", "n_randomised")
    path.write_text("\n".join(lines), "utf-8")
    return [
        f"{raw}/arms.csv row 1, column n_randomised: 'n_randomised' is not a column of arms.csv "
        "(did you mean 'n_randomized'?); see docs/data-dictionary.md",
        f"{raw}/arms.csv row 1, column n_randomized: missing from the header; every column of "
        "the contract must be present (leave its cells blank)",
    ]


@case
def dropped_column_is_reported_missing(raw):
    path = raw / "grade.csv"
    rows = list(csv.reader(io.StringIO(path.read_text("utf-8"), newline="")))
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([r[:-1] for r in rows])
    path.write_text(out.getvalue(), "utf-8")
    return [
        f"{raw}/grade.csv row 1, column override_reason: missing from the header; every column of "
        "the contract must be present (leave its cells blank)"
    ]


@case
def blank_required_cell_is_reported(raw):
    line, _ = edit(raw, "studies.csv", any_row, label="")
    return [f"{raw}/studies.csv row {line}, column label: blank; label is required"]


@case
def words_in_a_number_column_are_not_a_number(raw):
    line, _ = edit(raw, "arm_outcomes.csv", any_row, mean="NR")
    return [
        f"{raw}/arm_outcomes.csv row {line}, column mean: 'NR' is not a number; "
        "leave the cell blank when the report gives none"
    ]


@case
def decimal_comma_is_not_a_number(raw):
    line, _ = edit(raw, "patient_observations.csv", lambda r: r["value"] != "", value="0,762")
    return [
        f"{raw}/patient_observations.csv row {line}, column value: '0,762' is not a number; "
        "leave the cell blank when the report gives none"
    ]


@case
def fractional_sample_size_is_not_an_integer(raw):
    line, _ = edit(raw, "arm_outcomes.csv", any_row, n="12.5")
    return [f"{raw}/arm_outcomes.csv row {line}, column n: '12.5' is not an integer"]


@case
def negative_sd_is_reported(raw):
    line, _ = edit(raw, "arm_outcomes.csv", any_row, sd="-0.2")
    return [
        f"{raw}/arm_outcomes.csv row {line}, column sd: -0.2 is negative; "
        "a standard deviation must be >= 0"
    ]


@case
def negative_se_is_reported(raw):
    line, _ = edit(raw, "arm_outcomes.csv", any_row, se="-1")
    return [
        f"{raw}/arm_outcomes.csv row {line}, column se: -1 is negative; "
        "a standard error must be >= 0"
    ]


@case
def zero_men_randomized_is_below_the_minimum(raw):
    line, _ = edit(raw, "arms.csv", any_row, n_randomized="0")
    return [
        f"{raw}/arms.csv row {line}, column n_randomized: 0 is below the minimum; "
        "a number randomized must be >= 1"
    ]


@case
def p_value_above_one_is_reported(raw):
    line, _ = edit(raw, "arm_outcomes.csv", any_row, p_value="1.2")
    return [
        f"{raw}/arm_outcomes.csv row {line}, column p_value: 1.2 is above the maximum; "
        "a p-value must be <= 1"
    ]


@case
def unknown_outcome_is_reported_with_a_suggestion(raw):
    line, _ = edit(raw, "arm_outcomes.csv", any_row, outcome="bmd_lumbar")
    outcomes = list(SCHEMA["vocabularies"]["outcome"])
    assert len(outcomes) > 8  # the list is shortened
    shown = ", ".join(outcomes[:6])
    return [
        f"{raw}/arm_outcomes.csv row {line}, column outcome: 'bmd_lumbar' is not an allowed "
        f"outcome (did you mean 'bmd_lumbar_spine'?); allowed: {shown}, ... "
        f"({len(outcomes)} in all, see docs/data-dictionary.md)"
    ]


@case
def unit_in_the_wrong_case_is_reported_with_the_right_one(raw):
    line, _ = edit(raw, "patient_observations.csv", lambda r: r["unit"] != "ng/dL", unit="ng/dl")
    units = SCHEMA["vocabularies"]["unit"]
    return [
        f"{raw}/patient_observations.csv row {line}, column unit: 'ng/dl' is not an allowed unit "
        f"(did you mean 'ng/dL'?); allowed: {', '.join(units[:6])}, ... "
        f"({len(units)} in all, see docs/data-dictionary.md)"
    ]


@case
def upper_case_design_is_not_allowed(raw):
    line, _ = edit(raw, "studies.csv", any_row, design="RCT")
    return [
        f"{raw}/studies.csv row {line}, column design: 'RCT' is not an allowed design "
        "(did you mean 'rct'?); allowed: rct, nonrandomized_controlled, single_arm, "
        "case_report, case_series"
    ]


@case
def padded_enum_value_is_reported_as_spaces(raw):
    line, _ = edit(raw, "risk_of_bias.csv", any_row, judgement="low ")
    return [
        f"{raw}/risk_of_bias.csv row {line}, column judgement: 'low ' has leading or trailing "
        "spaces; remove them"
    ]


@case
def arm_id_with_capitals_breaks_the_pattern(raw):
    _, row = find(raw, "arms.csv")
    fields = list((row | {"arm": "Placebo-2"}).values())  # in the order of the file's header
    line = append_line(raw, "arms.csv", _line(fields).rstrip("\n"))
    return [
        f"{raw}/arms.csv row {line}, column arm: 'Placebo-2' does not match "
        "^[a-z0-9_]+$ (lower-case letters, digits and _ only)"
    ]


@case
def study_without_an_included_screening_record_is_reported(raw):
    # A study with a single included record (every shipped study has one; the examples do).
    counts = Counter(
        r["study_id"] for _, r in rows_of(raw, "screening.csv") if r["decision"] == "included"
    )
    _, row = edit(
        raw,
        "screening.csv",
        lambda r: r["decision"] == "included" and counts[r["study_id"]] == 1,
        decision="excluded",
    )
    study_line, _ = find(raw, "studies.csv", lambda r: r["study_id"] == row["study_id"])
    return [
        f"{raw}/studies.csv row {study_line}, column study_id: '{row['study_id']}' has no "
        "included record in screening.csv; add the record that reports it"
    ]


@case
def included_record_without_its_study_is_reported(raw):
    line, row = edit(raw, "screening.csv", lambda r: r["decision"] == "included", study_id="")
    expected = [
        f"{raw}/screening.csv row {line}, column study_id: blank, but decision is included; "
        "name the study the record reports"
    ]
    still_screened = find_all(
        raw,
        "screening.csv",
        lambda r: r["decision"] == "included" and r["study_id"] == row["study_id"],
    )
    if not still_screened:  # the study has lost its only record: that is said too, first
        study_line, _ = find(raw, "studies.csv", lambda r: r["study_id"] == row["study_id"])
        expected.insert(
            0,
            f"{raw}/studies.csv row {study_line}, column study_id: '{row['study_id']}' has no "
            "included record in screening.csv; add the record that reports it",
        )
    return expected


@case
def domain_of_the_other_tool_is_reported(raw):
    line, _ = edit(
        raw, "risk_of_bias.csv", lambda r: r["tool"] == "murad2018", domain="randomization"
    )
    return [
        f"{raw}/risk_of_bias.csv row {line}, column domain: 'randomization' is not a domain of "
        "murad2018; murad2018 domains: selection, ascertainment, causality, reporting, overall"
    ]


@case
def baseline_after_time_zero_is_reported(raw):
    line, _ = edit(
        raw, "arm_outcomes.csv", lambda r: r["measure"] == "baseline", timepoint_months="3"
    )
    return [
        f"{raw}/arm_outcomes.csv row {line}, column timepoint_months: 3 months, but measure is "
        "baseline; a baseline is at timepoint_months 0"
    ]


@case
def contrast_of_an_arm_with_itself_is_reported(raw):
    line, row = find(raw, "contrasts.csv")
    set_cells(raw, "contrasts.csv", line, control_arm=row["treatment_arm"])
    return [
        f"{raw}/contrasts.csv row {line}, column control_arm: '{row['treatment_arm']}' is also "
        "the treatment_arm; a contrast compares two different arms"
    ]


@case
def pmid_with_prefix_is_not_a_pmid(raw):
    line, _ = edit(raw, "studies.csv", any_row, pmid="PMID:19820017")
    return [
        f"{raw}/studies.csv row {line}, column pmid: 'PMID:19820017' is not a PMID; "
        "write the digits only, e.g. 19820017"
    ]


@case
def doi_as_a_link_is_not_a_doi(raw):
    line, _ = edit(raw, "studies.csv", any_row, doi="https://doi.org/10.1210/jc.2009-0739")
    return [
        f"{raw}/studies.csv row {line}, column doi: 'https://doi.org/10.1210/jc.2009-0739' is "
        "not a DOI; write it as 10.<prefix>/<suffix>, e.g. 10.1210/jc.2009-0739"
    ]


@case
def repeated_row_is_a_duplicate_key_naming_the_first(raw):
    first, row = find(raw, "arm_outcomes.csv")
    line = append_line(raw, "arm_outcomes.csv", _line(list(row.values())).rstrip("\n"))
    key = ", ".join(f"{c}={row[c]}" for c in SCHEMA["tables"]["arm_outcomes.csv"]["key"])
    return [
        f"{raw}/arm_outcomes.csv row {line}: duplicate key ({key}); the same key is in row {first}"
    ]


@case
def same_time_point_written_differently_is_a_duplicate_key(raw):
    first, row = find(raw, "arm_outcomes.csv")
    months = row["timepoint_months"]
    row["timepoint_months"] = months + ("0" if "." in months else ".0")  # 12 -> 12.0
    line = append_line(raw, "arm_outcomes.csv", _line(list(row.values())).rstrip("\n"))
    key = ", ".join(f"{c}={row[c]}" for c in SCHEMA["tables"]["arm_outcomes.csv"]["key"])
    return [
        f"{raw}/arm_outcomes.csv row {line}: duplicate key ({key}); the same key is in row {first}"
    ]


@case
def second_judgement_of_a_domain_is_a_duplicate_key(raw):
    first, row = find(raw, "risk_of_bias.csv")
    fields = list((row | {"rationale": "a second judgement of the same domain"}).values())
    line = append_line(raw, "risk_of_bias.csv", _line(fields).rstrip("\n"))
    return [
        f"{raw}/risk_of_bias.csv row {line}: duplicate key (study_id={row['study_id']}, "
        f"outcome={row['outcome']}, domain={row['domain']}); the same key is in row {first}"
    ]


@case
def reversed_confidence_interval_is_reported(raw):
    line, _ = edit(raw, "arm_outcomes.csv", hormone_level, ci_low="3", ci_high="2")
    return [
        f"{raw}/arm_outcomes.csv row {line}, column ci_low: 3 is greater than ci_high 2; "
        "ci_low must be <= ci_high"
    ]


@case
def first_quartile_above_median_is_reported(raw):
    line, _ = edit(raw, "arm_outcomes.csv", hormone_level, q1="5", median="4", q3="6")
    return [
        f"{raw}/arm_outcomes.csv row {line}, column q1: 5 is greater than median 4; "
        "q1 must be <= median"
    ]


@case
def median_above_third_quartile_is_reported(raw):
    line, _ = edit(raw, "arm_outcomes.csv", hormone_level, q1="1", median="4", q3="3.5")
    return [
        f"{raw}/arm_outcomes.csv row {line}, column median: 4 is greater than q3 3.5; "
        "median must be <= q3"
    ]


@case
def half_a_confidence_interval_is_reported(raw):
    line, _ = edit(raw, "arm_outcomes.csv", any_row, ci_low="1.5", ci_high="")
    return [
        f"{raw}/arm_outcomes.csv row {line}, column ci_low: 1.5 is given but ci_high is blank; "
        "give both bounds or neither"
    ]


@case
def censor_without_a_value_is_reported(raw):
    line, _ = edit(raw, "patient_observations.csv", any_row, censor="<", value="")
    return [
        f"{raw}/patient_observations.csv row {line}, column censor: < is given but value is "
        "blank; a censored value needs its detection limit in value"
    ]


@case
def unknown_study_is_a_missing_foreign_key(raw):
    line, _ = edit(raw, "arm_outcomes.csv", any_row, study_id="no_such_study")
    return [
        f"{raw}/arm_outcomes.csv row {line}, column study_id: 'no_such_study' is not a "
        "study_id in studies.csv"
    ]


@case
def arm_of_another_study_is_a_missing_foreign_key(raw):
    line, row = edit(raw, "arm_outcomes.csv", any_row, arm="placebos")
    return [
        f"{raw}/arm_outcomes.csv row {line}, column arm: 'placebos' is not an arm of "
        f"study_id '{row['study_id']}' in arms.csv"
    ]


@case
def unknown_patient_is_a_missing_foreign_key(raw):
    line, _ = edit(raw, "patient_observations.csv", any_row, patient_id="ad_nobody")
    return [
        f"{raw}/patient_observations.csv row {line}, column patient_id: 'ad_nobody' is not a "
        "patient_id in patients.csv"
    ]


@case
def first_report_that_is_not_a_study_is_reported(raw):
    line, _ = edit(raw, "patients.csv", any_row, first_report="nobody_1999")
    return [
        f"{raw}/patients.csv row {line}, column first_report: 'nobody_1999' is not a study_id "
        "in studies.csv"
    ]


@case
def observation_from_a_study_not_linked_to_the_man_is_reported(raw):
    line, row = edit(
        raw, "patient_observations.csv", any_row, study_id="example_2029", timepoint_months="7"
    )
    return [
        f"{raw}/patient_observations.csv row {line}, column study_id: 'example_2029' is not a "
        f"report of patient '{row['patient_id']}' in patients.csv; add it to his "
        "also_reported_in, or correct the study_id"
    ]


@case
def later_report_that_is_not_a_study_is_reported(raw):
    line, row = find(raw, "patients.csv")
    later = ";".join(filter(None, [row["also_reported_in"], "nobody_2001"]))
    set_cells(raw, "patients.csv", line, also_reported_in=later)
    return [
        f"{raw}/patients.csv row {line}, column also_reported_in: 'nobody_2001' is not a "
        "study_id in studies.csv"
    ]


@case
def number_without_its_source_is_reported(raw):
    line, row = edit(raw, "arm_outcomes.csv", lambda r: r["mean"] != "", source="")
    numeric = ("n", "mean", "sd", "se", "ci_low", "ci_high", "median", "q1", "q3", "p_value")
    reported = ", ".join(c for c in numeric if row[c])
    return [
        f"{raw}/arm_outcomes.csv row {line}, column source: blank, but the row reports "
        f"{reported}; every number needs its source"
    ]


@case
def number_without_its_location_is_reported(raw):
    line, _ = edit(raw, "arms.csv", lambda r: r["n_randomized"] != "", location="")
    return [
        f"{raw}/arms.csv row {line}, column location: blank, but the row reports n_randomized; "
        "every number needs its location"
    ]


@case
def case_report_observation_without_patient_is_reported(raw):
    line, row = edit(
        raw,
        "patient_observations.csv",
        lambda r: design_of(raw, r["study_id"]) == "case_report",
        patient_id="",
    )
    return [
        f"{raw}/patient_observations.csv row {line}, column patient_id: blank; an observation "
        f"of case_report study '{row['study_id']}' must name the man it describes "
        "(patients.csv patient_id)"
    ]


@case
def arm_row_without_any_statistic_is_reported(raw):
    blank = dict.fromkeys(("mean", "median", "sd", "se", "ci_low", "ci_high", "q1", "q3"), "")
    line, _ = edit(raw, "arm_outcomes.csv", any_row, p_value="", **blank)
    return [
        f"{raw}/arm_outcomes.csv row {line}: the row reports no statistic; give at least one of "
        "mean, median, sd, se, ci_low, ci_high, q1, q3, p_value or remove the row"
    ]


@case
def result_in_words_without_the_words_is_reported(raw):
    line, _ = edit(
        raw, "contrasts.csv", lambda r: r["measure"] == "reported_in_words", reported_text=""
    )
    return [
        f"{raw}/contrasts.csv row {line}, column reported_text: blank, but measure is "
        "reported_in_words; give the report's words"
    ]


@case
def unknown_grade_override_domain_is_reported(raw):
    line, _ = edit(raw, "grade.csv", any_row, override_domain="certainty")
    return [
        f"{raw}/grade.csv row {line}, column override_domain: 'certainty' is not an allowed "
        "override_domain; allowed: risk_of_bias, inconsistency, imprecision"
    ]


@case
def judgement_outside_the_tools_categories_is_reported(raw):
    line, _ = edit(raw, "risk_of_bias.csv", lambda r: r["tool"] == "rob2", judgement="unclear")
    return [
        f"{raw}/risk_of_bias.csv row {line}, column judgement: 'unclear' is not a judgement of "
        "rob2; rob2 judgements: low, some_concerns, high"
    ]


@case
def unknown_grade_concern_is_reported(raw):
    line, _ = edit(raw, "grade.csv", any_row, publication_bias="serous")
    return [
        f"{raw}/grade.csv row {line}, column publication_bias: 'serous' is not an allowed concern "
        "(did you mean 'serious'?); allowed: not_serious, serious, very_serious"
    ]


# --- hostile and implausible input (issue 10): each refused with one located message --------


def is_bmd_level(row: Row) -> bool:
    return row["outcome"].startswith("bmd_") and row["measure"] in ("baseline", "final")


@case
def arabic_indic_digits_in_a_number_are_refused(raw):
    line, _ = edit(raw, "arm_outcomes.csv", lambda r: r["mean"] != "", mean="\u0661\u0668.\u0661")
    return [
        f"{raw}/arm_outcomes.csv row {line}, column mean: '\u0661\u0668.\u0661' has a non-ASCII "
        "digit or sign (U+0661); write the digits 0-9"
    ]


@case
def full_width_digits_in_an_integer_are_refused(raw):
    line, _ = edit(raw, "arms.csv", lambda r: r["n_randomized"] != "", n_randomized="\uff11\uff15")
    return [
        f"{raw}/arms.csv row {line}, column n_randomized: '\uff11\uff15' has a non-ASCII digit "
        "or sign (U+FF11); write the digits 0-9"
    ]


@case
def a_number_that_overflows_to_infinity_is_refused(raw):
    line, _ = edit(raw, "arm_outcomes.csv", lambda r: r["sd"] != "", sd="1e400")
    return [
        f"{raw}/arm_outcomes.csv row {line}, column sd: '1e400' is too large to be stored as a "
        "number; check the value"
    ]


@case
def an_integer_beyond_int64_is_refused(raw):
    big = "99999999999999999999"
    line, _ = edit(raw, "arm_outcomes.csv", lambda r: r["sd"] != "", n=big)
    return [
        f"{raw}/arm_outcomes.csv row {line}, column n: '{big}' is too large to be stored as a "
        "number; check the value"
    ]


@case
def a_nul_character_in_text_is_refused(raw):
    line, _ = edit(raw, "arm_outcomes.csv", any_row, note="before\x00after")
    return [
        f"{raw}/arm_outcomes.csv row {line}, column note: contains U+0000 at character 7, a "
        "control or text-direction character; write printable text only"
    ]


@case
def a_bidi_override_in_a_label_is_refused(raw):
    line, _ = edit(raw, "studies.csv", any_row, label="\u202eEIWOB 2009")
    return [
        f"{raw}/studies.csv row {line}, column label: contains U+202E (RIGHT-TO-LEFT OVERRIDE) "
        "at character 1, a control or text-direction character; write printable text only"
    ]


@case
def a_label_of_spaces_only_is_blank(raw):
    line, _ = edit(raw, "studies.csv", any_row, label="   ")
    return [f"{raw}/studies.csv row {line}, column label: only spaces; label is required"]


def _two_studies_with(raw: Path, column: str) -> tuple[tuple[int, Row], tuple[int, Row]]:
    rows = [(line, row) for line, row in rows_of(raw, "studies.csv") if row[column]]
    return rows[0], rows[1]


@case
def the_same_trial_under_two_ids_by_pmid_is_refused(raw):
    (first, a), (second, _b) = _two_studies_with(raw, "pmid")
    set_cells(raw, "studies.csv", second, pmid=a["pmid"])
    return [
        f"{raw}/studies.csv row {second}, column pmid: '{a['pmid']}' is also the pmid of study "
        f"'{a['study_id']}' (row {first}); one study is one row (list further reports in "
        "companion_reports)"
    ]


@case
def the_same_trial_under_two_ids_by_doi_is_refused_whatever_the_case(raw):
    (first, a), (second, _b) = _two_studies_with(raw, "doi")
    set_cells(raw, "studies.csv", second, doi=a["doi"].upper())
    return [
        f"{raw}/studies.csv row {second}, column doi: '{a['doi'].upper()}' is also the doi of "
        f"study '{a['study_id']}' (row {first}); one study is one row (list further reports in "
        "companion_reports)"
    ]


@case
def the_same_label_and_year_twice_is_refused(raw):
    (first, a), (second, _b) = _two_studies_with(raw, "label")
    set_cells(raw, "studies.csv", second, label=a["label"], year=a["year"])
    shown = f"{a['label'].lower()} ({a['year']})"
    return [
        f"{raw}/studies.csv row {second}, column label: '{shown}' is also the label of study "
        f"'{a['study_id']}' (row {first}); one study is one row (list further reports in "
        "companion_reports)"
    ]


@case
def an_sd_from_one_man_is_refused(raw):
    line, _ = edit(raw, "arm_outcomes.csv", lambda r: r["sd"] != "", n="1")
    return [
        f"{raw}/arm_outcomes.csv row {line}, column n: 1, but the row gives an SD or SE; "
        "a spread needs n >= 2"
    ]


BMD_WHY = (
    "areal BMD of a man is near 1 g/cm2; the bounds accept severe osteoporosis and high bone "
    "mass but refuse mg/cm2 or a z-score typed as g/cm2"
)


@case
def a_bmd_typed_in_mg_per_cm2_is_implausible(raw):
    line, _row = edit(
        raw,
        "arm_outcomes.csv",
        lambda r: is_bmd_level(r) and r["outcome"] == "bmd_lumbar_spine",
        mean="1121",
    )
    return [
        f"{raw}/arm_outcomes.csv row {line}, column mean: 1121 g/cm2 is outside the plausible "
        f"range for a value of bmd_lumbar_spine (0.2 to 2.5 g/cm2; {BMD_WHY}); check the value "
        "and its unit"
    ]


@case
def an_sd_larger_than_the_whole_range_is_implausible(raw):
    line, _ = edit(
        raw,
        "arm_outcomes.csv",
        lambda r: is_bmd_level(r) and r["outcome"] == "bmd_lumbar_spine" and r["sd"] != "",
        sd="14.1",
    )
    return [
        f"{raw}/arm_outcomes.csv row {line}, column sd: 14.1 g/cm2 is outside the plausible "
        f"range for an SD or SE of bmd_lumbar_spine (0 to 2.3 g/cm2; {BMD_WHY}); check the "
        "value and its unit"
    ]


@case
def ng_per_dl_testosterone_labelled_nmol_per_l_is_implausible(raw):
    line, row = edit(
        raw,
        "arm_outcomes.csv",
        lambda r: r["outcome"] == "testosterone" and r["unit"] == "ng/dL" and r["sd"] != "",
        unit="nmol/L",
    )
    why = (
        "male serum testosterone is tens of nmol/L at most; 100 is beyond supraphysiological dosing"
    )
    return [
        f"{raw}/arm_outcomes.csv row {line}, column {col}: {row[col]} nmol/L is outside the "
        f"plausible range for {what} of testosterone (0 to 100 nmol/L; {why}); check the value "
        "and its unit"
        for col, what in (("mean", "a value"), ("sd", "an SD or SE"))
        if float(row[col]) > 100
    ]


@case
def a_unit_without_a_declared_range_for_the_outcome_is_refused(raw):
    line, _ = edit(raw, "arm_outcomes.csv", is_bmd_level, unit="ng/dL")
    outcome = find(raw, "arm_outcomes.csv", lambda r: r["unit"] == "ng/dL" and is_bmd_level(r))
    return [
        f"{raw}/arm_outcomes.csv row {line}, column unit: 'ng/dL' has no plausible range "
        f"declared for {outcome[1]['outcome']}; correct the unit or declare the range under "
        "plausible_ranges in analysis/schema/raw_tables.yaml"
    ]


@case
def a_fall_of_more_than_100_percent_is_implausible(raw):
    line, row = edit(raw, "patient_observations.csv", lambda r: r["unit"] == "percent",
                     value="-140")  # fmt: skip
    why = (
        "a fall of more than 100% is impossible; 300% (a fourfold value) is far beyond any "
        "change in bone, hormone or growth in these studies"
    )
    return [
        f"{raw}/patient_observations.csv row {line}, column value: -140 percent is outside the "
        f"plausible range for a value of {row['outcome']} (-100 to 300 percent; {why}); check "
        "the value and its unit"
    ]


@case
def a_symlink_named_like_a_table_is_refused_without_reading_it(raw):
    secret = raw.parent / "outside.txt"
    secret.write_text("first line of a file outside data/raw\n", "utf-8")
    (raw / "grade.csv").unlink()
    (raw / "grade.csv").symlink_to(secret)
    return [
        f"{raw}/grade.csv: is a symbolic link; a raw table must be a regular file inside {raw} "
        "(copy the file here instead of linking it)"
    ]


@case
def a_directory_named_like_a_table_is_not_called_missing(raw):
    (raw / "grade.csv").unlink()
    (raw / "grade.csv").mkdir()
    return [
        f"{raw}/grade.csv: is a directory, not a regular file; a raw table must be a regular file"
    ]


@case
def a_named_pipe_named_like_a_table_is_refused_without_blocking(raw):
    (raw / "grade.csv").unlink()
    os.mkfifo(raw / "grade.csv")
    return [
        f"{raw}/grade.csv: is a named pipe, not a regular file; a raw table must be a regular file"
    ]


@case
def an_oversized_field_is_one_message_without_spurious_references(raw):
    line, _ = edit(raw, "studies.csv", any_row, note="x" * 200_000)
    return [
        f"{raw}/studies.csv row {line}: a field is longer than 131072 characters (a quote never "
        "closed, or pasted text); the rows after it were not read"
    ]


def messages(raw: Path) -> list[str]:
    return [p.message for p in validate_raw(raw)]


def test_there_are_at_least_25_distinct_malformed_cases():
    assert len(CASES) >= 25


@pytest.mark.parametrize("name", sorted(CASES))
def test_malformed_input_adds_exactly_the_expected_message(raw_with_example, name):
    before = messages(raw_with_example)
    expected = CASES[name](raw_with_example)
    added = [m for m in messages(raw_with_example) if m not in before]
    assert added == expected


# --- the shipped data and the API ------------------------------------------------------------


def test_shipped_raw_data_satisfy_the_contract():
    problems = validate_raw(RAW_DIR)
    assert [p.message for p in problems] == []


def test_header_only_studies_table_is_reported(tmp_path):
    for name, spec in SCHEMA["tables"].items():
        (tmp_path / name).write_text(",".join(spec["columns"]) + "\n", "utf-8")
    assert messages(tmp_path) == [
        f"{tmp_path}/studies.csv: has a header but no rows; studies.csv needs at least 1 row(s)"
    ]


def test_missing_directory_is_one_problem(tmp_path):
    assert messages(tmp_path / "nowhere") == [
        f"{tmp_path}/nowhere: not a directory; give the folder that holds the raw tables (data/raw)"
    ]


def test_problem_records_file_row_column_value_and_rule(raw_with_example):
    line, _ = edit(raw_with_example, "arm_outcomes.csv", any_row, sd="-0.2")
    (problem,) = [p for p in validate_raw(raw_with_example) if p.rule == "negative"]
    assert problem == ValidationProblem(
        file=f"{raw_with_example}/arm_outcomes.csv",
        row=line,
        column="sd",
        value="-0.2",
        rule="negative",
        message=problem.message,
    )
    assert str(problem) == problem.message


def test_message_names_the_file_as_the_directory_was_given(raw_with_example, monkeypatch, capsys):
    line, _ = edit(raw_with_example, "arm_outcomes.csv", any_row, sd="-0.2")
    monkeypatch.chdir(raw_with_example.parents[1])
    assert main(["data/raw"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == (
        f"data/raw/arm_outcomes.csv row {line}, column sd: -0.2 is negative; "
        "a standard deviation must be >= 0"
    )
    assert err[-1] == "data/raw: 1 problem(s); nothing was changed"


def test_check_raw_raises_with_every_problem_one_per_line(raw_with_example):
    edit(raw_with_example, "arm_outcomes.csv", any_row, sd="-0.2")
    edit(raw_with_example, "studies.csv", any_row, pmid="PMID:1")
    with pytest.raises(RawDataError, match=r"(?s)column pmid: .*\n.*column sd: -0\.2") as info:
        check_raw(raw_with_example)
    assert str(info.value).splitlines() == [p.message for p in info.value.problems]
    assert len(info.value.problems) == len(validate_raw(raw_with_example))


def test_check_raw_returns_row_counts_of_valid_data(raw_with_example):
    counts = check_raw(raw_with_example)
    for name, n in counts.items():
        _, records = _records(raw_with_example / name)
        assert n == len(records) - 1
    assert set(counts) == set(SCHEMA["tables"])


def test_command_line_reports_tables_and_rows_when_valid(raw_with_example, capsys):
    assert main([str(raw_with_example)]) == 0
    rows = sum(len(_records(p)[1]) - 1 for p in raw_with_example.glob("*.csv"))
    tables = len(SCHEMA["tables"])
    assert capsys.readouterr().out == f"{raw_with_example}: {tables} tables, {rows} rows valid\n"


def _snapshot(root: Path) -> dict[str, tuple[int, int, str]]:
    if not root.exists():
        return {}
    return {
        str(p.relative_to(root)): (
            p.stat().st_size,
            p.stat().st_mtime_ns,
            hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "",
        )
        for p in sorted(root.rglob("*"))
    }


def test_validation_writes_nothing_where_it_reads(raw_with_example, monkeypatch, capsys):
    root = raw_with_example.parents[1]
    monkeypatch.chdir(root)  # default "data/raw" is read here; a stray relative write lands here
    for broken in (False, True):
        if broken:
            edit(raw_with_example, "arm_outcomes.csv", any_row, sd="-0.2")
        before = _snapshot(root)
        validate_raw("data/raw")
        assert main([]) == (2 if broken else 0)
        if broken:
            with pytest.raises(RawDataError, match="standard deviation"):
                check_raw(raw_with_example)
        else:
            check_raw(raw_with_example)
        assert _snapshot(root) == before
    capsys.readouterr()


#: Files opened for writing while _WATCH["on"] (a sys.audit hook; hooks cannot be removed,
#: so the one hook is installed once and switched on and off).
_WATCH: dict[str, object] = {"on": False, "writes": []}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _audit(event: str, args: tuple) -> None:
    if _WATCH["on"] and event == "open":
        path, mode, flags = args
        writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & _WRITE_FLAGS
        )
        if writes:
            _WATCH["writes"].append(str(path))  # type: ignore[union-attr]


sys.addaudithook(_audit)


def test_validation_writes_nothing_to_the_repository(capsys):
    # Every open() for writing is seen, whatever else runs on the machine meanwhile (a
    # pipeline writing data/processed/ cannot make this test pass or fail).
    _WATCH["writes"] = []
    _WATCH["on"] = True
    try:
        validate_raw(RAW_DIR)
        main([str(RAW_DIR)])
        main([str(RAW_DIR)])
    finally:
        _WATCH["on"] = False
    capsys.readouterr()
    assert _WATCH["writes"] == []


def test_the_write_watch_sees_a_write():
    _WATCH["writes"] = []
    _WATCH["on"] = True
    try:
        with open(os.devnull, "w", encoding="utf-8") as handle:
            handle.write("x")
    finally:
        _WATCH["on"] = False
    assert _WATCH["writes"] == [os.devnull]


# --- the data dictionary is generated from the same contract ---------------------------------


def test_committed_data_dictionary_is_the_generated_one():
    committed = (REPO_ROOT / "docs" / "data-dictionary.md").read_text("utf-8")
    assert committed == render_dictionary(SCHEMA), "run: python -m analysis dictionary"


def test_data_dictionary_lists_every_column_of_every_table():
    text = render_dictionary(SCHEMA)
    for name, table in SCHEMA["tables"].items():
        section = text.split(f"## `{name}`", 1)[1].split("\n## ", 1)[0]
        rows = [line.split(" | ")[0] for line in section.splitlines() if line.startswith("| `")]
        assert rows == [f"| `{column}`" for column in table["columns"]], name


def test_dictionary_check_flags_a_stale_page(tmp_path, capsys):
    page = tmp_path / "data-dictionary.md"
    assert dictionary_main(["--output", str(page)]) == 0
    assert dictionary_main(["--output", str(page), "--check"]) == 0
    page.write_text(page.read_text("utf-8") + "edited by hand\n", "utf-8")
    assert dictionary_main(["--output", str(page), "--check"]) == 1
    assert "is stale" in capsys.readouterr().err


# --- what is tolerated, and how rows are counted ---------------------------------------------


def test_windows_line_ends_and_a_missing_final_newline_are_accepted(raw_with_example):
    for path in raw_with_example.glob("*.csv"):
        text = path.read_text("utf-8").rstrip("\n")
        path.write_bytes(text.replace("\n", "\r\n").encode("utf-8"))
    assert messages(raw_with_example) == []


def test_row_is_the_line_where_a_record_starts_after_a_multiline_cell(raw_with_example):
    first, _ = edit(raw_with_example, "arm_outcomes.csv", any_row, note="line one\nline two")
    line, _ = find(raw_with_example, "arm_outcomes.csv", lambda r: "\n" not in r["note"])
    set_cells(raw_with_example, "arm_outcomes.csv", line, sd="-1")
    (problem,) = validate_raw(raw_with_example)
    physical = (raw_with_example / "arm_outcomes.csv").read_text("utf-8").split("\n")
    assert line > first + 1  # the multi-line cell pushed it down a line
    assert (problem.row, problem.column, problem.rule) == (line, "sd", "negative")
    assert ",-1," in physical[problem.row - 1]
