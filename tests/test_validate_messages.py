"""What the user of analysis.validate reads: the command line (help, exit status, stderr,
stdout), the report printed when a pipeline run stops at validation, and the problems found
under a contract of one's own (a schema path or mapping given to the command or the API).

Small synthetic contracts are written out in full here, so that each case shows the whole
contract, the whole table and every message it must produce.
"""

import csv
import io
import os
import re
import stat
from pathlib import Path

import pytest
import yaml

from analysis.validate import (
    SCHEMA_PATH,
    check_raw,
    load_schema,
    main,
    report_for_pipeline,
    validate_raw,
)

# --- the command line ------------------------------------------------------------------------


def test_command_line_help_names_the_command_its_purpose_and_defaults(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")  # no wrapping inside the schema path
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert out.startswith("usage: python -m analysis validate [-h] [--schema SCHEMA] [raw_dir] ")
    assert " Check the raw tables against the data contract; writes nothing. " in out
    assert " raw_dir default: data/raw " in out
    assert out.endswith(f" --schema SCHEMA default: {SCHEMA_PATH}")


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [
        # the operating system's words for ENOENT, not Python's "[Errno 2] ...: 'path'"
        ("absent.yaml", None, "No such file or directory"),
        ("list.yaml", "- studies.csv\n", "it has no 'tables' mapping"),
        ("tables_list.yaml", "tables: [studies.csv]\n", "it has no 'tables' mapping"),
        # the YAML parser's first line only (libyaml's wording, or pure-Python PyYAML's);
        # the following lines point at the line and column
        ("broken.yaml", "tables: a: b\n", "mapping values are not allowed (in this context|here)"),
    ],
)
def test_an_unusable_schema_is_one_line_on_stderr_and_exit_status_2(
    raw_copy, tmp_path, capsys, name, text, reason
):
    path = tmp_path / name
    if text is not None:
        path.write_text(text, "utf-8")
    assert main([str(raw_copy), "--schema", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert re.fullmatch(re.escape(f"{path}: not a usable data contract (") + reason + r"\)\n", err)


def _schema_with_a_boolean_column(tmp_path: Path) -> Path:
    """The shipped contract plus a boolean column ``blinded`` in studies.csv."""
    schema = load_schema()
    schema["tables"]["studies.csv"]["columns"]["blinded"] = {"type": "boolean"}
    path = tmp_path / "schema.yaml"
    path.write_text(yaml.safe_dump(schema, sort_keys=False), "utf-8")
    return path


def test_the_command_line_and_check_raw_use_the_schema_they_are_given(raw_copy, tmp_path, capsys):
    schema = _schema_with_a_boolean_column(tmp_path)
    studies = raw_copy / "studies.csv"
    rows = check_raw(raw_copy)["studies.csv"]
    with studies.open(newline="", encoding="utf-8") as handle:
        records = list(csv.reader(handle))
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(
        [[*records[0], "blinded"], *([*r, "false"] for r in records[1:])]
    )
    studies.write_text(out.getvalue(), "utf-8")
    # under the shipped contract the extra column is unknown; under the given one it is valid
    assert main([str(raw_copy)]) == 2
    capsys.readouterr()
    assert main([str(raw_copy), "--schema", str(schema)]) == 0
    tables = len(load_schema(schema)["tables"])
    total = 0
    for table in raw_copy.glob("*.csv"):
        with table.open(newline="", encoding="utf-8") as handle:
            total += len(list(csv.reader(handle))) - 1  # records after the header
    assert capsys.readouterr() == (f"{raw_copy}: {tables} tables, {total} rows valid\n", "")
    assert check_raw(raw_copy, schema)["studies.csv"] == rows
    assert check_raw(raw_copy, load_schema(schema))["studies.csv"] == rows


# --- the report of a pipeline run that stopped at validation ---------------------------------


def test_the_pipeline_report_prints_nothing_for_valid_data(raw_copy, capsys):
    out = io.StringIO()
    assert report_for_pipeline(raw_copy, file=out) == 0
    assert report_for_pipeline(raw_copy) == 0
    assert out.getvalue() == ""
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("to_stderr", [True, False])
def test_the_pipeline_report_lists_every_problem_indented_under_a_summary(
    raw_copy, capsys, to_stderr
):
    (raw_copy / "grade.csv").unlink()
    (raw_copy / "notes.csv").write_text("a\n1\n", "utf-8")
    expected = (
        f"\n{raw_copy} does not satisfy the data contract; the run stopped at validation. "
        "2 problem(s):\n"
        f"  {raw_copy}/grade.csv: file is missing; the contract lists grade.csv "
        "(add it with its header line)\n"
        f"  {raw_copy}/notes.csv: not a table of the contract; "
        "add it to analysis/schema/raw_tables.yaml or remove it\n"
    )
    out = io.StringIO()
    if to_stderr:
        assert report_for_pipeline(raw_copy) == 2
        assert capsys.readouterr() == ("", expected)
    else:
        assert report_for_pipeline(str(raw_copy), file=out) == 2
        assert capsys.readouterr() == ("", "")
        assert out.getvalue() == expected


# --- contracts of one's own ------------------------------------------------------------------


def _write(root: Path, schema: dict, tables: dict[str, str]) -> Path:
    """A raw directory holding ``tables`` and the contract ``schema`` beside it."""
    raw = root / "raw"
    raw.mkdir()
    for name, text in tables.items():
        (raw / name).write_text(text, "utf-8")
    path = root / "schema.yaml"
    path.write_text(yaml.safe_dump(schema, sort_keys=False), "utf-8")
    return path


def _messages(raw: Path, schema: Path) -> list[str]:
    return [p.message for p in validate_raw(raw, schema)]


def test_a_table_without_rows_is_reported_even_when_an_earlier_table_has_bad_rows(tmp_path):
    schema = {
        "tables": {
            "counts.csv": {"columns": {"n": {"type": "integer"}}},
            "people.csv": {"columns": {"name": {"required": True}}, "min_rows": 1},
        }
    }
    path = _write(tmp_path, schema, {"counts.csv": "n\nmany\n", "people.csv": "name\n"})
    raw = tmp_path / "raw"
    assert _messages(raw, path) == [
        f"{raw}/counts.csv row 2, column n: 'many' is not an integer",
        f"{raw}/people.csv: has a header but no rows; people.csv needs at least 1 row(s)",
    ]


# A reference to parts.csv.part is scoped by the parent key's other column, group, when the
# child table has it; a part of another group is then a missing reference.
_PARENT = {"key": ["group", "part"], "columns": {"group": {}, "part": {}}}
_PARTS = "group,part\ng1,bolt\ng2,nut\n"


@pytest.mark.parametrize(
    ("group_spec", "extra"),
    [
        # group is a column of the child without a reference of its own
        ({"group": {}}, []),
        # group is not in the child's contract at all (reported as unknown), but it is in
        # the header, so it still scopes the reference
        ({}, ["{raw}/uses.csv row 1, column group: 'group' is not a column of uses.csv; "
              "see docs/data-dictionary.md"]),
    ],
)  # fmt: skip
def test_a_reference_is_scoped_by_a_parent_key_column_without_its_own_reference(
    tmp_path, group_spec, extra
):
    schema = {
        "tables": {
            "parts.csv": _PARENT,
            "uses.csv": {
                "columns": {**group_spec, "part": {"references": "parts.csv.part"}},
            },
        }
    }
    path = _write(tmp_path, schema, {"parts.csv": _PARTS, "uses.csv": "group,part\ng1,nut\n"})
    raw = tmp_path / "raw"
    assert _messages(raw, path) == [
        *(m.format(raw=raw) for m in extra),
        f"{raw}/uses.csv row 2, column part: 'nut' is not a part of group 'g1' in parts.csv",
    ]


def test_a_missing_scope_table_is_reported_alone_not_as_a_wrong_reference(tmp_path):
    schema = {
        "tables": {
            "groups.csv": {"key": ["group"], "columns": {"group": {}}},
            "parts.csv": _PARENT,
            "uses.csv": {
                "columns": {
                    "group": {"references": "groups.csv.group"},
                    "part": {"references": "parts.csv.part"},
                },
            },
        }
    }
    # groups.csv is missing, so whether group g1 exists and owns a nut cannot be decided
    path = _write(tmp_path, schema, {"parts.csv": _PARTS, "uses.csv": "group,part\ng1,nut\n"})
    raw = tmp_path / "raw"
    assert _messages(raw, path) == [
        f"{raw}/groups.csv: file is missing; the contract lists groups.csv "
        "(add it with its header line)"
    ]


# --- files that cannot be read as a table ----------------------------------------------------

_ONE_TABLE = {"tables": {"t.csv": {"columns": {"a": {}, "b": {}}}}}


def _one_table(tmp_path: Path, data: bytes | None = None) -> tuple[Path, Path]:
    path = _write(tmp_path, _ONE_TABLE, {})
    raw = tmp_path / "raw"
    if data is not None:
        (raw / "t.csv").write_bytes(data)
    return raw, path


def test_a_file_over_the_size_limit_is_refused_without_being_read(tmp_path):
    raw, schema = _one_table(tmp_path)
    with (raw / "t.csv").open("wb") as handle:
        handle.truncate(20_000_001)  # sparse: one byte over the documented 20 MB
    assert _messages(raw, schema) == [
        f"{raw}/t.csv: the file has 20000001 bytes, more than the 20000000 a raw table may have"
    ]


def test_a_file_of_exactly_the_size_limit_is_read(tmp_path):
    raw, schema = _one_table(tmp_path, b"a,b\n" + b"x" * (20_000_000 - 4))
    assert _messages(raw, schema) == [
        f"{raw}/t.csv row 2: a field is longer than 131072 characters (a quote never closed, "
        "or pasted text); the rows after it were not read"
    ]


def test_a_bar_separated_file_is_reported(tmp_path):
    raw, schema = _one_table(tmp_path, b"a|b\n1|2\n")
    assert _messages(raw, schema) == [
        f"{raw}/t.csv row 1: the header is separated by bars, not commas; "
        "save the file as comma-separated"
    ]


def test_a_semicolon_in_the_only_column_of_a_one_column_table_is_a_wrong_name(tmp_path):
    schema = {"tables": {"t.csv": {"columns": {"a": {}}}}}
    path = _write(tmp_path, schema, {"t.csv": "a;b\n1\n"})
    raw = tmp_path / "raw"
    assert _messages(raw, path) == [
        f"{raw}/t.csv row 1, column a;b: 'a;b' is not a column of t.csv; "
        "see docs/data-dictionary.md",
        f"{raw}/t.csv row 1, column a: missing from the header; every column of the contract "
        "must be present (leave its cells blank)",
    ]


def test_a_socket_named_like_a_table_is_refused(tmp_path, monkeypatch):
    socket = pytest.importorskip("socket")
    raw, schema = _one_table(tmp_path)
    monkeypatch.chdir(raw)  # a relative name: socket paths are limited to about 100 bytes
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind("t.csv")
        assert _messages(raw, schema) == [
            f"{raw}/t.csv: is a socket, not a regular file; a raw table must be a regular file"
        ]


def test_an_invalid_byte_after_a_bom_is_counted_from_the_first_byte_of_the_file(tmp_path):
    # BOM (3 bytes) + "a,b\n" (4) + "1,2\n" (4) + "x": the Latin-1 byte is byte 12, line 3
    raw, schema = _one_table(tmp_path, b"\xef\xbb\xbfa,b\n1,2\nx\xe9,3\n")
    assert _messages(raw, schema) == [
        f"{raw}/t.csv row 1: the file starts with a byte order mark (BOM); "
        "save it as UTF-8 without BOM",
        f"{raw}/t.csv row 3: byte 12 (0xe9) is not valid UTF-8; save the file as UTF-8",
    ]


# --- cells and the order of the report -------------------------------------------------------


def test_bounds_are_written_as_a_reader_writes_them_and_columns_named_by_their_noun(tmp_path):
    schema = {
        "tables": {
            "t.csv": {
                "columns": {
                    "ratio": {"type": "number", "min": 0.5, "max": 0.999},
                    "year": {"type": "integer", "min": 1950, "max": 2100.0},
                    "sd": {"type": "number", "min": 0},
                    "count": {"type": "integer", "max": 1_000_000},
                }
            }
        }
    }
    rows = "ratio,year,sd,count\n0.25,1949,-1,1000000\n1,2101,0,1000001\n"
    path = _write(tmp_path, schema, {"t.csv": rows})
    raw = tmp_path / "raw"
    assert _messages(raw, path) == [
        f"{raw}/t.csv row 2, column ratio: 0.25 is below the minimum; ratio must be >= 0.5",
        f"{raw}/t.csv row 2, column year: 1949 is below the minimum; a year must be >= 1950",
        f"{raw}/t.csv row 2, column sd: -1 is negative; a standard deviation must be >= 0",
        f"{raw}/t.csv row 3, column ratio: 1 is above the maximum; ratio must be <= 0.999",
        f"{raw}/t.csv row 3, column year: 2101 is above the maximum; a year must be <= 2100",
        # a million in full, not 1e+06
        f"{raw}/t.csv row 3, column count: 1000001 is above the maximum; count must be <= 1000000",
    ]


def test_problems_are_ordered_by_table_row_and_column_whenever_found(tmp_path):
    # The reference of row 2 is checked after every row is read, the unknown table last;
    # the report still follows the contract's tables, then rows, then columns.
    schema = {
        "tables": {
            "a.csv": {"key": ["id"], "columns": {"id": {}}},
            "b.csv": {
                "columns": {"id": {"references": "a.csv.id"}, "n": {"type": "integer"}},
            },
        }
    }
    tables = {"a.csv": "id\nx\n", "b.csv": "id,n\ny,1.5\nx,two\n", "c.csv": "z\n"}
    path = _write(tmp_path, schema, tables)
    raw = tmp_path / "raw"
    assert _messages(raw, path) == [
        f"{raw}/b.csv row 2, column id: 'y' is not an id in a.csv",
        f"{raw}/b.csv row 2, column n: '1.5' is not an integer",
        f"{raw}/b.csv row 3, column n: 'two' is not an integer",
        f"{raw}/c.csv: not a table of the contract; "
        "add it to analysis/schema/raw_tables.yaml or remove it",
    ]


@pytest.mark.parametrize(
    ("cell", "shown", "position"),
    [
        ('"x\ry"', "U+000D", 2),  # a carriage return not followed by a line feed; no name
        ('"ab\r\ncd\u200b"', "U+200B (ZERO WIDTH SPACE)", 7),  # CRLF inside a cell is a break
        ("\u202eab", "U+202E (RIGHT-TO-LEFT OVERRIDE)", 1),
    ],
)
def test_a_control_or_invisible_character_is_named_by_code_point_and_position(
    tmp_path, cell, shown, position
):
    path = _write(tmp_path, _ONE_TABLE, {"t.csv": f"a,b\n{cell},1\n"})
    raw = tmp_path / "raw"
    assert _messages(raw, path) == [
        f"{raw}/t.csv row 2, column a: contains {shown} at character {position}, a control or "
        "text-direction character; write printable text only"
    ]


# --- plausible ranges, by what the row's measure makes of a value ----------------------------

_PLAUSIBLE = {
    "vocabularies": {"outcome": ["bmd"], "unit": ["g/cm2", "percent", "mg/cm2"]},
    "plausible_ranges": {
        "any_outcome": {"percent": {"range": [-100, 300], "why": "a fall stops at -100%"}},
        "outcomes": {"bmd": {"g/cm2": {"range": [0.2, 2.5], "why": "near 1 g/cm2"}}},
    },
    "tables": {
        "t.csv": {
            "plausible": {
                "measure": {"final": "level", "change": "change", "diff": "difference"},
                "values": ["mean"],
                "spreads": ["sd"],
            },
            "columns": {
                "outcome": {"type": "enum", "vocabulary": "outcome"},
                "unit": {"type": "enum", "vocabulary": "unit"},
                "measure": {"type": "enum", "allowed": ["final", "change", "diff", "other"]},
                "mean": {"type": "number", "max": 1000},
                "sd": {"type": "number", "min": 0},
            },
        }
    },
}


def test_values_are_checked_against_the_range_their_measure_gives(tmp_path):
    # g/cm2: level 0.2 to 2.5, so a change or a difference spans -2.3 to 2.3, an SD 0 to 2.3;
    # percent: a level or a change -100 to 300, a difference -400 to 400.
    rows = [
        ("g/cm2", "final", "0.2", "2.2"),  # 2: both at or inside their bounds
        ("g/cm2", "final", "0.1", "2.4"),  # 3: value below 0.2, SD above 2.3
        ("g/cm2", "change", "-2.2", ""),  # 4: a loss near the whole range is a change
        ("g/cm2", "change", "-2.4", ""),  # 5: but not beyond it
        ("g/cm2", "diff", "2.4", ""),  # 6
        ("percent", "change", "-100", ""),  # 7: bounds included
        ("percent", "change", "300", ""),  # 8
        ("percent", "change", "-101", ""),  # 9
        ("percent", "diff", "-400", ""),  # 10
        ("percent", "diff", "401", ""),  # 11
        ("g/cm2", "other", "99", "99"),  # 12: a measure the contract does not range
        ("g/cm2", "final", "", "-1"),  # 13: a negative SD is reported once, as negative
        ("percent", "final", "301", ""),  # 14: a percent level has the level's range
        ("kg", "final", "99", ""),  # 15: an unknown unit is reported as such, once
        ("g/cm2", "final", "2000", ""),  # 16: beyond the column's own maximum, once
    ]
    lines = "".join(f"bmd,{unit},{measure},{mean},{sd}\n" for unit, measure, mean, sd in rows)
    lines += ",g/cm2,final,99,\n"  # 17: no outcome, no range to check against
    path = _write(tmp_path, _PLAUSIBLE, {"t.csv": "outcome,unit,measure,mean,sd\n" + lines})
    raw = tmp_path / "raw"
    g, p = "g/cm2; near 1 g/cm2", "percent; a fall stops at -100%"
    where = f"{raw}/t.csv row"
    tail = "check the value and its unit"
    assert _messages(raw, path) == [
        f"{where} 3, column mean: 0.1 g/cm2 is outside the plausible range for a value of bmd "
        f"(0.2 to 2.5 {g}); {tail}",
        f"{where} 3, column sd: 2.4 g/cm2 is outside the plausible range for an SD or SE of "
        f"bmd (0 to 2.3 {g}); {tail}",
        f"{where} 5, column mean: -2.4 g/cm2 is outside the plausible range for a change of bmd "
        f"(-2.3 to 2.3 {g}); {tail}",
        f"{where} 6, column mean: 2.4 g/cm2 is outside the plausible range for a difference of "
        f"bmd (-2.3 to 2.3 {g}); {tail}",
        f"{where} 9, column mean: -101 percent is outside the plausible range for a change of "
        f"bmd (-100 to 300 {p}); {tail}",
        f"{where} 11, column mean: 401 percent is outside the plausible range for a difference "
        f"of bmd (-400 to 400 {p}); {tail}",
        f"{where} 13, column sd: -1 is negative; a standard deviation must be >= 0",
        f"{where} 14, column mean: 301 percent is outside the plausible range for a value of "
        f"bmd (-100 to 300 {p}); {tail}",
        f"{where} 15, column unit: 'kg' is not an allowed unit; allowed: g/cm2, percent, mg/cm2",
        f"{where} 16, column mean: 2000 is above the maximum; mean must be <= 1000",
    ]


def test_a_unit_without_a_range_for_the_outcome_is_reported_once_per_row(tmp_path):
    text = "outcome,unit,measure,mean,sd\nbmd,mg/cm2,final,900,50\nbmd,mg/cm2,final,,\n"
    path = _write(tmp_path, _PLAUSIBLE, {"t.csv": text})
    raw = tmp_path / "raw"
    # the second row has no value to check, so no range is needed
    assert _messages(raw, path) == [
        f"{raw}/t.csv row 2, column unit: 'mg/cm2' has no plausible range declared for bmd; "
        "correct the unit or declare the range under plausible_ranges in "
        "analysis/schema/raw_tables.yaml"
    ]


# --- rules across rows and tables ------------------------------------------------------------

_STUDIES = {
    "study_id": {"required": True},
    "label": {},
    "year": {"type": "integer"},
    "pmid": {"type": "pmid"},
    "doi": {"type": "doi"},
}


def test_one_trial_on_two_rows_is_found_by_pmid_doi_or_label_and_year(tmp_path):
    schema = {"tables": {"studies.csv": {"key": ["study_id"], "columns": _STUDIES}}}
    text = (
        "study_id,label,year,pmid,doi\n"
        "s1,Smith  2001 Trial,2001,123,10.1000/AB\n"
        "s2,smith 2001 trial,2001,,\n"  # same label once spaces and case are ignored
        "s3,Smith 2001 Trial,2002,,\n"  # another year: another trial
        "s4,,,123,\n"
        "s5, ,2001,,10.1000/ab\n"  # a DOI is case-insensitive; a blank label is no label
    )
    path = _write(tmp_path, schema, {"studies.csv": text})
    raw = tmp_path / "raw"
    also = "one study is one row (list further reports in companion_reports)"
    assert _messages(raw, path) == [
        f"{raw}/studies.csv row 3, column label: 'smith 2001 trial (2001)' is also the label of "
        f"study 's1' (row 2); {also}",
        f"{raw}/studies.csv row 5, column pmid: '123' is also the pmid of study 's1' (row 2); "
        f"{also}",
        f"{raw}/studies.csv row 6, column doi: '10.1000/ab' is also the doi of study 's1' "
        f"(row 2); {also}",
    ]


_SCREENED = {
    "tables": {
        "studies.csv": {"key": ["study_id"], "columns": {"study_id": {}}},
        "screening.csv": {
            "key": ["record_id"],
            "columns": {
                "record_id": {},
                "study_id": {"references": "studies.csv.study_id"},
                "decision": {},
            },
        },
    }
}


def test_a_study_needs_an_included_screening_record(tmp_path):
    text = "record_id,study_id,decision\nr1,s1,included\nr2,s2,excluded\n"
    path = _write(tmp_path, _SCREENED, {"studies.csv": "study_id\ns1\ns2\n", "screening.csv": text})
    raw = tmp_path / "raw"
    assert _messages(raw, path) == [
        f"{raw}/studies.csv row 3, column study_id: 's2' has no included record in "
        "screening.csv; add the record that reports it"
    ]


def test_after_a_reading_error_the_unread_rows_are_not_held_against_other_tables(tmp_path):
    # screening.csv stops at an unclosed quote: the record of s2 and s3 may be in the rest
    text = 'record_id,study_id,decision\nr1,s1,included\nr2,"s2,included\nr3,s3,included\n'
    tables = {"studies.csv": "study_id\ns1\ns2\ns3\n", "screening.csv": text}
    path = _write(tmp_path, _SCREENED, tables)
    raw = tmp_path / "raw"
    assert _messages(raw, path) == [
        f"{raw}/screening.csv row 3: a quoted value opened in this row is never closed; "
        "the rows after it were not read"
    ]


def test_a_reference_into_a_table_cut_short_by_a_reading_error_is_not_reported(tmp_path):
    text = "record_id,study_id,decision\nr1,s1,included\nr3,s3,included\n"
    tables = {"studies.csv": 'study_id\ns1\n"s2\ns3\n', "screening.csv": text}
    path = _write(tmp_path, _SCREENED, tables)
    raw = tmp_path / "raw"
    assert _messages(raw, path) == [
        f"{raw}/studies.csv row 3: a quoted value opened in this row is never closed; "
        "the rows after it were not read"
    ]


def test_rules_within_a_row_of_one_table(tmp_path):
    schema = {
        "tables": {
            "arm_outcomes.csv": {
                "columns": {
                    "measure": {},
                    "timepoint_months": {"type": "number"},
                    "n": {"type": "integer"},
                    "sd": {"type": "number"},
                    "se": {"type": "number"},
                }
            },
            "contrasts.csv": {
                "columns": {"treatment_arm": {}, "control_arm": {}, "estimate": {"type": "number"}}
            },
            "risk_of_bias.csv": {
                "domains_by_tool": {"rob2": ["randomization", "overall"], "murad": ["selection"]},
                "judgements_by_tool": {"rob2": ["low", "high"], "murad": ["low", "unclear"]},
                "columns": {"tool": {}, "domain": {}, "judgement": {}},
            },
        }
    }
    arms = (
        "measure,timepoint_months,n,sd,se\n"
        "final,6,1,0.5,\n"  # 2: an SD from one man
        "final,6,1,,0.2\n"  # 3: an SE from one man
        "final,6,2,0.5,\n"  # 4
        "final,6,1,,\n"  # 5: one man and no spread, but no statistic at all
        "baseline,0.0,2,0.5,\n"  # 6: 0.0 is time zero
        "baseline,0.5,2,0.5,\n"  # 7
        "baseline,,2,0.5,\n"  # 8: a blank time point is not a time point
    )
    contrasts = "treatment_arm,control_arm,estimate\na,b,1\na,a,1\n,,1\n"
    rob = (
        "tool,domain,judgement\n"
        "rob2,overall,high\n"  # 2
        "rob2,selection,low\n"  # 3: a domain of the other tool
        "rob2,overall,unclear\n"  # 4: a judgement of the other tool
        "other,selection,unclear\n"  # 5: a tool without lists
        "rob2,overall,fine\n"  # 6: no tool's judgement at all (an enum would report it)
        "murad,selection,unclear\n"  # 7
        "rob2,,low\n"  # 8
    )
    tables = {"arm_outcomes.csv": arms, "contrasts.csv": contrasts, "risk_of_bias.csv": rob}
    path = _write(tmp_path, schema, tables)
    raw = tmp_path / "raw"
    spread = "1, but the row gives an SD or SE; a spread needs n >= 2"
    assert _messages(raw, path) == [
        f"{raw}/arm_outcomes.csv row 2, column n: {spread}",
        f"{raw}/arm_outcomes.csv row 3, column n: {spread}",
        f"{raw}/arm_outcomes.csv row 5: the row reports no statistic; give at least one of "
        "sd, se or remove the row",
        f"{raw}/arm_outcomes.csv row 7, column timepoint_months: 0.5 months, but measure is "
        "baseline; a baseline is at timepoint_months 0",
        f"{raw}/contrasts.csv row 3, column control_arm: 'a' is also the treatment_arm; "
        "a contrast compares two different arms",
        f"{raw}/risk_of_bias.csv row 3, column domain: 'selection' is not a domain of rob2; "
        "rob2 domains: randomization, overall",
        f"{raw}/risk_of_bias.csv row 4, column judgement: 'unclear' is not a judgement of rob2; "
        "rob2 judgements: low, high",
    ]


def test_pairs_of_columns_must_be_given_together_and_in_order(tmp_path):
    numbers = ("mean", "median", "q1", "q3", "ci_low", "ci_high", "p_value")
    columns = {"measure": {}, **{c: {"type": "number"} for c in numbers}}
    columns |= {"p_value_bound": {}, "censor": {}, "value": {"type": "number"}}
    schema = {"tables": {"arm_outcomes.csv": {"columns": columns}}}
    text = (
        "measure,mean,median,q1,q3,ci_low,ci_high,p_value,p_value_bound,censor,value\n"
        "final,1,,,,0.5,1.5,,,,\n"  # 2
        "final,1,,,,0.5,,,,,\n"  # 3: half an interval
        "final,1,,,,,1.5,,,,\n"  # 4: the other half
        "final,1,,,,2,1,,,,\n"  # 5: reversed interval
        "final,,2,3,1,,,,,,\n"  # 6: q1 > median > q3 (q1 > q3 follows)
        "final,,,3,1,,,,,,\n"  # 7: q1 > q3 without a median
        "final,,,1,3,,,,,,\n"  # 8
        "final,,,1,,,,,,,\n"  # 9: one quartile
        "final,,,,,,,,<,,\n"  # 10: a bound without its p-value, and nothing else
        "final,1,,,,,,,,<,\n"  # 11: a censored value without its limit
        "reported_in_words,,,,,,,,,,\n"  # 12: words need no statistic
        "final,,,,,,,0.04,=,,\n"  # 13
        "final,1,,,,NA,0.5,,,,\n"  # 14: a bound that is no number is not compared
    )
    path = _write(tmp_path, schema, {"arm_outcomes.csv": text})
    raw = tmp_path / "raw"
    where = f"{raw}/arm_outcomes.csv row"
    both = "give both bounds or neither"
    assert _messages(raw, path) == [
        f"{where} 3, column ci_low: 0.5 is given but ci_high is blank; {both}",
        f"{where} 4, column ci_high: 1.5 is given but ci_low is blank; {both}",
        f"{where} 5, column ci_low: 2 is greater than ci_high 1; ci_low must be <= ci_high",
        f"{where} 6, column median: 2 is greater than q3 1; median must be <= q3",
        f"{where} 6, column q1: 3 is greater than median 2; q1 must be <= median",
        f"{where} 7, column q1: 3 is greater than q3 1; q1 must be <= q3",
        f"{where} 9, column q1: 1 is given but q3 is blank; give both quartiles or neither",
        f"{where} 10: the row reports no statistic; give at least one of mean, median, ci_low, "
        "ci_high, q1, q3, p_value or remove the row",
        f"{where} 10, column p_value_bound: < is given but p_value is blank; a bound needs the "
        "p-value it bounds",
        f"{where} 11, column censor: < is given but value is blank; a censored value needs its "
        "detection limit in value",
        f"{where} 14, column ci_low: 'NA' is not a number; leave the cell blank when the report "
        "gives none",
    ]


def test_a_blank_cell_is_named_by_what_the_rest_of_its_row_needs(tmp_path):
    schema = {
        "tables": {
            "studies.csv": {"key": ["study_id"], "columns": {"study_id": {}, "design": {}}},
            "t.csv": {
                "key": ["id"],
                "columns": {
                    "id": {"type": "integer"},
                    "x": {"type": "number"},
                    "n": {"type": "integer"},
                    "source": {"required": True},
                    "location": {},
                },
            },
            "screening.csv": {"columns": {"record_id": {}, "study_id": {}, "decision": {}}},
            "contrasts.csv": {
                "columns": {"measure": {}, "reported_text": {}, "estimate": {"type": "number"}}
            },
            "patient_observations.csv": {
                "columns": {"study_id": {}, "patient_id": {"required": True}}
            },
        }
    }
    tables = {
        "studies.csv": "study_id,design\ncase,case_report\ntrial,rct\nseries,case_series\n",
        # 2: a number without its source; 3: without its location; 4: no number, but
        # source is required anyway; 5: two numbers without either (the key id is no number)
        "t.csv": "id,x,n,source,location\n1,2.5,,,here\n2,,10,src,\n3,,,,\n4,1,2,,\n",
        "screening.csv": (
            "record_id,study_id,decision\nr1,case,included\nr2,trial,included\n"
            "r3,series,included\nr4,,included\nr5,,excluded\n"
        ),
        "contrasts.csv": "measure,reported_text,estimate\nreported_in_words,,\nfinal,,1\n",
        "patient_observations.csv": "study_id,patient_id\ncase,\nseries,\ntrial,\n",
    }
    path = _write(tmp_path, schema, tables)
    raw = tmp_path / "raw"
    man = "must name the man it describes (patients.csv patient_id)"
    assert _messages(raw, path) == [
        f"{raw}/t.csv row 2, column source: blank, but the row reports x; every number needs "
        "its source",
        f"{raw}/t.csv row 3, column location: blank, but the row reports n; every number needs "
        "its location",
        f"{raw}/t.csv row 4, column source: blank; source is required",
        f"{raw}/t.csv row 5, column source: blank, but the row reports x, n; every number "
        "needs its source",
        f"{raw}/t.csv row 5, column location: blank, but the row reports x, n; every number "
        "needs its location",
        f"{raw}/screening.csv row 5, column study_id: blank, but decision is included; name "
        "the study the record reports",
        f"{raw}/contrasts.csv row 2, column reported_text: blank, but measure is "
        "reported_in_words; give the report's words",
        f"{raw}/patient_observations.csv row 2, column patient_id: blank; an observation of "
        f"case_report study 'case' {man}",
        f"{raw}/patient_observations.csv row 3, column patient_id: blank; an observation of "
        f"case_series study 'series' {man}",
        f"{raw}/patient_observations.csv row 4, column patient_id: blank; patient_id is required",
    ]


def test_a_duplicate_key_compares_numbers_as_numbers_and_names_the_first_row(tmp_path):
    key = {"a": {"required": True}, "t": {"type": "number"}, "s": {}}
    schema = {"tables": {"t.csv": {"key": ["a", "t", "s"], "columns": key}}}
    text = (
        "a,t,s\n"
        "x,6,p\n"  # 2
        "x,6.0,p\n"  # 3: 6.0 months is 6 months
        "x,6,6\n"  # 4
        "x,6,6.0\n"  # 5: s is text, so 6.0 is not 6
        ",6,p\n"  # 6: a blank required key cell is reported as required only
        ",6,p\n"  # 7
        "y,1,\n"  # 8: a blank optional key cell is part of the key
        "y,1,\n"  # 9
        "y,1e0,\n"  # 10
    )
    path = _write(tmp_path, schema, {"t.csv": text})
    raw = tmp_path / "raw"
    assert _messages(raw, path) == [
        f"{raw}/t.csv row 3: duplicate key (a=x, t=6.0, s=p); the same key is in row 2",
        f"{raw}/t.csv row 6, column a: blank; a is required",
        f"{raw}/t.csv row 7, column a: blank; a is required",
        f"{raw}/t.csv row 9: duplicate key (a=y, t=1, s=); the same key is in row 8",
        f"{raw}/t.csv row 10: duplicate key (a=y, t=1e0, s=); the same key is in row 8",
    ]


def test_every_item_of_a_list_of_references_must_exist(tmp_path):
    schema = {
        "tables": {
            "a.csv": {"key": ["id"], "columns": {"id": {}, "code": {}}},
            "b.csv": {
                "columns": {
                    "refs": {"references": "a.csv.id", "separator": ";"},
                    "one": {"references": "a.csv.id"},
                    "code": {"references": "a.csv.code"},
                }
            },
        }
    }
    tables = {
        "a.csv": "id,code\nx,c1\ny,c2\n",
        "b.csv": 'refs,one,code\n"x; y",x,c1\nx;;z,y,c2\n," x",\nw,q,c3\n',
    }
    path = _write(tmp_path, schema, tables)
    raw = tmp_path / "raw"
    assert _messages(raw, path) == [
        f"{raw}/b.csv row 3, column refs: 'z' is not an id in a.csv",
        f"{raw}/b.csv row 4, column one: ' x' has leading or trailing spaces; remove them",
        f"{raw}/b.csv row 5, column refs: 'w' is not an id in a.csv",
        f"{raw}/b.csv row 5, column one: 'q' is not an id in a.csv",
        f"{raw}/b.csv row 5, column code: 'c3' is not a code in a.csv",
    ]


_PATIENTS = {
    "tables": {
        "studies.csv": {"key": ["study_id"], "columns": {"study_id": {}}},
        "patients.csv": {
            "key": ["patient_id"],
            "columns": {"patient_id": {}, "first_report": {}, "also_reported_in": {}},
        },
        "patient_observations.csv": {"columns": {"study_id": {}, "patient_id": {}}},
    }
}


def test_an_observation_is_not_held_against_a_patients_table_cut_short(tmp_path):
    tables = {
        "studies.csv": "study_id\ns1\ns2\n",
        # p1's row is read; a quote never closed hides whatever follows it
        "patients.csv": 'patient_id,first_report,also_reported_in\np1,s1,\np2,s2,"s1\n',
        "patient_observations.csv": "study_id,patient_id\ns2,p1\n",
    }
    path = _write(tmp_path, _PATIENTS, tables)
    raw = tmp_path / "raw"
    assert _messages(raw, path) == [
        f"{raw}/patients.csv row 3: a quoted value opened in this row is never closed; "
        "the rows after it were not read"
    ]


def test_an_observation_must_come_from_a_report_of_its_man(tmp_path):
    tables = {
        "studies.csv": "study_id\ns1\ns2\ns3\ns4\n",
        "patients.csv": 'patient_id,first_report,also_reported_in\np1,s1,"s2; s3"\np2,s4,\n'
        "p3,s1,zz\n",
        "patient_observations.csv": (
            "study_id,patient_id\n"
            "s1,p1\n"  # 2: his first report
            "s3,p1\n"  # 3: a later one, spaces around the separator ignored
            "s4,p1\n"  # 4: another man's report
            "s1,p2\n"  # 5
            "s4,p9\n"  # 6: an unknown man (a reference check reports him)
            "s2,p3\n"  # 7: p3's reports include one that is not a study
            "s9,p1\n"  # 8: an unknown study
        ),
    }
    path = _write(tmp_path, _PATIENTS, tables)
    raw = tmp_path / "raw"
    fix = "add it to his also_reported_in, or correct the study_id"
    assert _messages(raw, path) == [
        f"{raw}/patient_observations.csv row 4, column study_id: 's4' is not a report of "
        f"patient 'p1' in patients.csv; {fix}",
        f"{raw}/patient_observations.csv row 5, column study_id: 's1' is not a report of "
        f"patient 'p2' in patients.csv; {fix}",
    ]


def test_each_type_of_cell_names_what_is_wrong_with_its_value(tmp_path):
    columns = {
        "i": {"type": "integer"},
        "x": {"type": "number"},
        "p": {"type": "pmid"},
        "d": {"type": "doi"},
        "code": {"pattern": "^[A-Z]{2}$"},
        "slug": {"pattern": "^[a-z0-9_]+$"},
        "note": {},
        "kind": {"type": "enum", "allowed": ["alpha", "beta"]},
    }
    schema = {"tables": {"t.csv": {"columns": columns}}}
    text = (
        "i,x,p,d,code,slug,note,kind\n"
        "+5,.5,123456789,10.1234/ab,AB,ab_1, free text ,alpha\n"  # 2: all valid
        "1.0,,,,,,,\n"  # 3
        "9223372036854775807,5.,,,,,,\n"  # 4: the largest Int64; 5. is a number
        "9223372036854775808,,,,,,,\n"  # 5: one more
        ",e3,,,,,,\n"  # 6
        ",1e-3,0123,,,,,\n"  # 7: a PMID has no leading zero
        ",,1234567890,10.123/x,,,,\n"  # 8: at most nine digits; a DOI prefix has four
        ",,,,abc,AB,,gamma\n"  # 9
        "\uff0d\uff11,\uff11.5,,,,,,\n"  # 10: full-width minus and digit
        '" 5",,,,,,,\n'  # 11
        ',,,,"AB ",,,\n'  # 12: a pattern is not free text, so spaces are reported as such
    )
    path = _write(tmp_path, schema, {"t.csv": text})
    raw = tmp_path / "raw"
    w = f"{raw}/t.csv row"
    assert _messages(raw, path) == [
        f"{w} 3, column i: '1.0' is not an integer",
        f"{w} 5, column i: '9223372036854775808' is too large to be stored as a number; "
        "check the value",
        f"{w} 6, column x: 'e3' is not a number; leave the cell blank when the report gives none",
        f"{w} 7, column p: '0123' is not a PMID; write the digits only, e.g. 19820017",
        f"{w} 8, column p: '1234567890' is not a PMID; write the digits only, e.g. 19820017",
        f"{w} 8, column d: '10.123/x' is not a DOI; write it as 10.<prefix>/<suffix>, "
        "e.g. 10.1210/jc.2009-0739",
        f"{w} 9, column code: 'abc' does not match ^[A-Z]{{2}}$",
        f"{w} 9, column slug: 'AB' does not match ^[a-z0-9_]+$ (lower-case letters, digits "
        "and _ only)",
        f"{w} 9, column kind: 'gamma' is not an allowed kind; allowed: alpha, beta",
        f"{w} 10, column i: '\uff0d\uff11' has a non-ASCII digit or sign (U+FF0D); "
        "write the digits 0-9",
        f"{w} 10, column x: '\uff11.5' has a non-ASCII digit or sign (U+FF11); "
        "write the digits 0-9",
        f"{w} 11, column i: ' 5' has leading or trailing spaces; remove them",
        f"{w} 12, column code: 'AB ' has leading or trailing spaces; remove them",
    ]


_EMPTY = "file is empty; the first line must be the header: a,b"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", [f": {_EMPTY}"]),
        (b"\xef\xbb\xbf", [f": {_EMPTY}", " row 1: the file starts with a byte order mark (BOM); "
                           "save it as UTF-8 without BOM"]),
        (b"\n", [" row 1: the first line is blank; it must be the header: a,b"]),
        (b"a,b\n", [": has a header but no rows; t.csv needs at least 1 row(s)"]),
        (b"a,b\r\n1,2\r\n", []),
        (b"a,b\r1,2\r\r3,4\r", [" row 3: blank line; remove it"]),  # old Mac line ends (CR)
        (b"a,b\n1,2", []),
        (b"a,b\n\n1,2\n", [" row 2: blank line; remove it"]),
        (b"a,b\n\n", [" row 2: blank line; remove it"]),  # the row problem says it all
        (b'a,b\n"x\ny",1\n1\n1,2,3\n', [
            " row 4: 1 fields, the header has 2; the row is truncated or a comma is missing",
            " row 5: 3 fields, the header has 2; quote values that contain a comma",
        ]),
        (b'a,b\n1,2\n"x"y,1\n3,4\n', [
            " row 3: the quoting cannot be read (',' expected after '\"'); the rows after it "
            "were not read"
        ]),
        (b'a,b\n1,2\n"3,4\n5,6\n', [
            " row 3: a quoted value opened in this row is never closed; the rows after it were "
            "not read"
        ]),
        (b"a,b,a,a\n1,2,3,4\n", [
            " row 1, column a: 'a' appears more than once in the header (columns 1 and 3 and 4)"
        ]),
        # an unknown column comes before the contract's columns
        (b"A,b\n1,2\n", [
            " row 1, column A: 'A' is not a column of t.csv (did you mean 'a'?); "
            "see docs/data-dictionary.md",
            " row 1, column a: missing from the header; every column of the contract must be "
            "present (leave its cells blank)",
        ]),
        (b"b,bb\n1,2\n", [  # a is missing, and bb is no near miss of a
            " row 1, column bb: 'bb' is not a column of t.csv; see docs/data-dictionary.md",
            " row 1, column a: missing from the header; every column of the contract must be "
            "present (leave its cells blank)",
        ]),
    ],
)  # fmt: skip
def test_the_lines_of_a_file_are_read_as_the_contract_requires(tmp_path, data, expected):
    schema = {"tables": {"t.csv": {"columns": {"a": {}, "b": {}}, "min_rows": 1}}}
    path = _write(tmp_path, schema, {})
    raw = tmp_path / "raw"
    (raw / "t.csv").write_bytes(data)
    assert _messages(raw, path) == [f"{raw}/t.csv{m}" for m in expected]


def test_spaces_only_are_blank_when_required_free_text_otherwise_and_bad_in_a_number(tmp_path):
    schema = {
        "tables": {
            "t.csv": {"columns": {"name": {"required": True}, "note": {}, "x": {"type": "number"}}}
        }
    }
    text = 'name,note,x\n"  ","  ","  "\n"a\x00b",,\nok,,\n'
    path = _write(tmp_path, schema, {"t.csv": text})
    raw = tmp_path / "raw"
    assert _messages(raw, path) == [
        f"{raw}/t.csv row 2, column name: only spaces; name is required",
        f"{raw}/t.csv row 2, column x: '  ' has leading or trailing spaces; remove them",
        f"{raw}/t.csv row 3, column name: contains U+0000 at character 2, a control or "
        "text-direction character; write printable text only",
    ]


def test_a_file_given_as_the_raw_directory_is_one_problem(tmp_path):
    path = _write(tmp_path, _ONE_TABLE, {})
    assert _messages(path, path) == [
        f"{path}: not a directory; give the folder that holds the raw tables (data/raw)"
    ]


def test_a_studies_table_without_its_id_column_is_reported_once_not_per_study(tmp_path):
    text = "record_id,study_id,decision\nr1,s1,included\n"
    path = _write(tmp_path, _SCREENED, {"studies.csv": "label\nx\ny\n", "screening.csv": text})
    raw = tmp_path / "raw"
    assert _messages(raw, path) == [
        f"{raw}/studies.csv row 1, column label: 'label' is not a column of studies.csv; "
        "see docs/data-dictionary.md",
        f"{raw}/studies.csv row 1, column study_id: missing from the header; every column of "
        "the contract must be present (leave its cells blank)",
    ]


# --- every table is read, whatever happened to the one before --------------------------------


def test_a_table_that_cannot_be_read_does_not_stop_the_checks_of_the_next(tmp_path):
    schema = {
        "tables": {
            "a.csv": {"columns": {"x": {}}},
            "b.csv": {"columns": {"x": {}}},
            "c.csv": {"columns": {"n": {"type": "integer"}}},
        }
    }
    path = _write(tmp_path, schema, {"c.csv": "n\n1.5\n"})
    raw = tmp_path / "raw"
    (raw / "b.csv").mkdir()
    assert _messages(raw, path) == [
        f"{raw}/a.csv: file is missing; the contract lists a.csv (add it with its header line)",
        f"{raw}/b.csv: is a directory, not a regular file; a raw table must be a regular file",
        f"{raw}/c.csv row 2, column n: '1.5' is not an integer",
    ]


@pytest.mark.parametrize(
    ("kind", "make"),
    [
        ("a named pipe", lambda p: os.mkfifo(p)),
        ("a device", lambda p: os.mknod(p, stat.S_IFCHR | 0o600, os.makedev(1, 3))),
        ("a device", lambda p: os.mknod(p, stat.S_IFBLK | 0o600, os.makedev(7, 0))),
    ],
    ids=["fifo", "character-device", "block-device"],
)
def test_a_pipe_or_a_device_named_like_a_table_is_refused_without_being_opened(
    tmp_path, kind, make
):
    raw, schema = _one_table(tmp_path)
    try:
        make(raw / "t.csv")
    except PermissionError:
        pytest.skip("creating a device needs privileges")
    assert _messages(raw, schema) == [
        f"{raw}/t.csv: is {kind}, not a regular file; a raw table must be a regular file"
    ]


def test_a_file_of_exactly_the_size_limit_is_read_to_its_last_byte(tmp_path):
    # 20 MB exactly: rows of 100 003 bytes, then a last row whose final byte closes a quote;
    # missing that byte would leave the quote open.
    limit = 20_000_000
    body = b"a,b\n" + (b"x" * 100_000 + b",1\n") * 199
    last = b'1,"' + b"y" * (limit - len(body) - 4) + b'"'
    raw, schema = _one_table(tmp_path, body + last)
    assert (raw / "t.csv").stat().st_size == limit
    assert _messages(raw, schema) == []


# --- problems found at the same place --------------------------------------------------------


def test_problems_of_one_place_are_listed_in_the_order_they_were_found(tmp_path):
    # Every problem of a header that names no column of the contract has the same table,
    # row and position: the report keeps them in the order of the header.
    raw, schema = _one_table(tmp_path, b"z,a,y,b,z\n1,2,3,4,5\n")
    where = f"{raw}/t.csv row 1, column"
    unknown = "is not a column of t.csv; see docs/data-dictionary.md"
    assert _messages(raw, schema) == [
        f"{where} z: 'z' appears more than once in the header (columns 1 and 5)",
        f"{where} z: 'z' {unknown}",
        f"{where} y: 'y' {unknown}",
    ]


# --- keys, references and reports across tables ---------------------------------------------


def test_an_integer_key_compares_as_a_number(tmp_path):
    schema = {"tables": {"t.csv": {"key": ["id"], "columns": {"id": {"type": "integer"}}}}}
    path = _write(tmp_path, schema, {"t.csv": "id\n6\n+6\n06\n7\n"})
    raw = tmp_path / "raw"
    assert _messages(raw, path) == [
        f"{raw}/t.csv row 3: duplicate key (id=+6); the same key is in row 2",
        f"{raw}/t.csv row 4: duplicate key (id=06); the same key is in row 2",
    ]


def test_duplicate_trials_are_found_by_the_columns_a_studies_table_has(tmp_path):
    # Without study_id and label, a repeated PMID is still one trial on two rows; the study
    # it repeats has no id to name.
    schema = {"tables": {"studies.csv": {"columns": _STUDIES}}}
    path = _write(tmp_path, schema, {"studies.csv": "year,pmid,doi\n2001,123,\n2001,123,\n"})
    raw = tmp_path / "raw"
    missing = "missing from the header; every column of the contract must be present"
    assert _messages(raw, path) == [
        f"{raw}/studies.csv row 1, column study_id: {missing} (leave its cells blank)",
        f"{raw}/studies.csv row 1, column label: {missing} (leave its cells blank)",
        f"{raw}/studies.csv row 3, column pmid: '123' is also the pmid of study '' (row 2); "
        "one study is one row (list further reports in companion_reports)",
    ]


def test_references_name_every_column_of_their_scope_and_need_no_key_in_the_parent(tmp_path):
    schema = {
        "tables": {
            "codes.csv": {"columns": {"code": {}}},  # no key
            "visits.csv": {
                "key": ["study_id", "arm", "visit"],
                "columns": {"study_id": {}, "arm": {}, "visit": {}},
            },
            "uses.csv": {
                "columns": {
                    "study_id": {},
                    "arm": {},
                    "visit": {"references": "visits.csv.visit"},
                    "code": {"references": "codes.csv.code"},
                }
            },
        }
    }
    tables = {
        "codes.csv": "code\nc1\n",
        "visits.csv": "study_id,arm,visit\ns1,a,v1\ns1,b,v2\n",
        "uses.csv": "study_id,arm,visit,code\ns1,a,v1,c1\ns1,a,v2,c2\n",
    }
    path = _write(tmp_path, schema, tables)
    raw = tmp_path / "raw"
    assert _messages(raw, path) == [
        f"{raw}/uses.csv row 3, column visit: 'v2' is not a visit of study_id 's1', arm 'a' "
        "in visits.csv",
        f"{raw}/uses.csv row 3, column code: 'c2' is not a code in codes.csv",
    ]


@pytest.mark.parametrize(
    ("patients", "header"),
    [
        # his reports without the column of later reports: the first report only
        ("p1,s1\n", "patient_id,first_report"),
        # without the column of the first report: the later reports only
        ("p1,s1\n", "patient_id,also_reported_in"),
    ],
)
def test_an_observation_is_checked_against_the_reports_columns_a_patients_table_has(
    tmp_path, patients, header
):
    missing = next(c for c in ("first_report", "also_reported_in") if c not in header)
    tables = {
        "studies.csv": "study_id\ns1\ns2\n",
        "patients.csv": f"{header}\n{patients}",
        "patient_observations.csv": (
            "study_id,patient_id\n"
            "s1,p9\n"  # 2: an unknown man, left to the reference check
            "s2,p1\n"  # 3: not one of his reports
            "s1,p1\n"  # 4
        ),
    }
    path = _write(tmp_path, _PATIENTS, tables)
    raw = tmp_path / "raw"
    assert _messages(raw, path) == [
        f"{raw}/patients.csv row 1, column {missing}: missing from the header; every column "
        "of the contract must be present (leave its cells blank)",
        f"{raw}/patient_observations.csv row 3, column study_id: 's2' is not a report of "
        "patient 'p1' in patients.csv; add it to his also_reported_in, or correct the study_id",
    ]


def test_the_rows_before_a_reading_error_are_checked(tmp_path):
    schema = {"tables": {"t.csv": {"key": ["a"], "columns": {"a": {}, "n": {"type": "integer"}}}}}
    path = _write(tmp_path, schema, {"t.csv": 'a,n\nx,1.5\nx,2\n"y,3\nz,4\n'})
    raw = tmp_path / "raw"
    assert _messages(raw, path) == [
        f"{raw}/t.csv row 2, column n: '1.5' is not an integer",
        f"{raw}/t.csv row 3: duplicate key (a=x); the same key is in row 2",
        f"{raw}/t.csv row 4: a quoted value opened in this row is never closed; "
        "the rows after it were not read",
    ]


def test_an_invalid_byte_is_placed_on_its_line_when_the_file_starts_with_a_line_end(tmp_path):
    # "\n" (byte 0) + "a,b\n" (bytes 1-4): the Latin-1 byte is byte 5, on line 3
    raw, schema = _one_table(tmp_path, b"\na,b\n\xe9,1\n")
    assert _messages(raw, schema) == [
        f"{raw}/t.csv row 3: byte 5 (0xe9) is not valid UTF-8; save the file as UTF-8"
    ]


def test_a_parent_without_a_key_column_is_reported_once_and_still_checks_its_references(
    tmp_path,
):
    # parts.csv lacks group, the other column of its key: the child's group cannot scope
    # the reference, but a part that parts.csv does not list is still wrong.
    schema = {
        "tables": {
            "parts.csv": _PARENT,
            "uses.csv": {"columns": {"group": {}, "part": {"references": "parts.csv.part"}}},
        }
    }
    tables = {"parts.csv": "part\nbolt\n", "uses.csv": "group,part\ng1,bolt\ng1,nut\n"}
    path = _write(tmp_path, schema, tables)
    raw = tmp_path / "raw"
    assert _messages(raw, path) == [
        f"{raw}/parts.csv row 1, column group: missing from the header; every column of the "
        "contract must be present (leave its cells blank)",
        f"{raw}/uses.csv row 3, column part: 'nut' is not a part in parts.csv",
    ]


def test_a_blank_study_or_patient_id_is_reported_as_blank_not_as_a_report_of_nobody(tmp_path):
    schema = {
        "tables": {
            "studies.csv": {"columns": {"study_id": {"required": True}, "label": {}}},
            "patients.csv": {
                "columns": {
                    "patient_id": {"required": True},
                    "first_report": {},
                    "also_reported_in": {},
                },
            },
            "patient_observations.csv": {
                "columns": {"study_id": {"required": True}, "patient_id": {"required": True}}
            },
        }
    }
    tables = {
        "studies.csv": "study_id,label\ns1,x\ns2,y\n,z\n",
        "patients.csv": "patient_id,first_report,also_reported_in\n,s1,\np1,s1,\n",
        "patient_observations.csv": "study_id,patient_id\ns2,\n,p1\ns2,p1\n",
    }
    path = _write(tmp_path, schema, tables)
    raw = tmp_path / "raw"
    assert _messages(raw, path) == [
        f"{raw}/studies.csv row 4, column study_id: blank; study_id is required",
        f"{raw}/patients.csv row 2, column patient_id: blank; patient_id is required",
        f"{raw}/patient_observations.csv row 2, column patient_id: blank; patient_id is required",
        f"{raw}/patient_observations.csv row 3, column study_id: blank; study_id is required",
        f"{raw}/patient_observations.csv row 4, column study_id: 's2' is not a report of "
        "patient 'p1' in patients.csv; add it to his also_reported_in, or correct the study_id",
    ]
