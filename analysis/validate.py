"""Validation of ``data/raw/`` against the data contract, once, at the boundary.

Every table of ``data/raw/`` is checked against ``analysis/schema/raw_tables.yaml`` and every
problem is reported as one line naming the file, the row (the line number in the file, the
header being row 1), the column, the value and the rule broken::

    data/raw/arm_outcomes.csv row 14, column sd: -0.2 is negative; a standard deviation must be >= 0

All messages come from the single table :data:`RULES` (rule -> template), so that the same
fault is always worded the same way (the pattern PyMARE uses for its options).

The validator only reads: it never writes, never rewrites a file and never drops a row. A row
it cannot read (wrong number of fields, broken quoting) is reported, not skipped quietly.

Decisions recorded here because the data engineers and the pipeline depend on them:

- A UTF-8 byte order mark (BOM) is *reported*, not tolerated: a reader that decodes plain
  UTF-8 would otherwise see a first column named ``\\ufeffstudy_id``. The rest of the file is
  still checked.
- Windows line ends (CRLF) and a missing newline after the last row are tolerated; the CSV
  reader handles both identically.
- A blank cell is the only missing value; ``NA``, ``NR`` or ``-`` in a number column are
  reported as not a number.
- Blank lines are reported, so that row numbers stay unambiguous and nothing is skipped.
- Column order is free (tables are read by column name), but every column of the contract
  must be in the header, even if all its cells are blank.
"""

from __future__ import annotations

import argparse
import csv
import difflib
import io
import math
import re
import stat
import sys
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "RULES",
    "SCHEMA_PATH",
    "RawDataError",
    "ValidationProblem",
    "check_raw",
    "load_schema",
    "main",
    "validate_raw",
]

SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "raw_tables.yaml"

# The one table of rules and their message templates. Placeholders: {value} is the cell as
# written, {column} the column, {table} the file name; the rest are named where used.
RULES: dict[str, str] = {
    # files
    "dir_missing": "not a directory; give the folder that holds the raw tables (data/raw)",
    "file_missing": "file is missing; the contract lists {table} (add it with its header line)",
    "unknown_table": "not a table of the contract; add it to {schema} or remove it",
    "file_empty": "file is empty; the first line must be the header: {header}",
    "no_header": "the first line is blank; it must be the header: {header}",
    "no_rows": "has a header but no rows; {table} needs at least {min_rows} row(s)",
    "not_utf8": "byte {offset} ({byte}) is not valid UTF-8; save the file as UTF-8",
    "symlink": "is a symbolic link; a raw table must be a regular file inside {raw_dir} "
    "(copy the file here instead of linking it)",
    "not_regular": "is {kind}, not a regular file; a raw table must be a regular file",
    "too_large": "the file has {size} bytes, more than the {limit} a raw table may have",
    "bom": "the file starts with a byte order mark (BOM); save it as UTF-8 without BOM",
    "delimiter": "the header is separated by {found}, not commas; save the file as comma-separated",
    # records
    "unterminated_quote": "a quoted value opened in this row is never closed; "
    "the rows after it were not read",
    "bad_quoting": "the quoting cannot be read ({error}); the rows after it were not read",
    "field_too_long": "a field is longer than {limit} characters (a quote never closed, or "
    "pasted text); the rows after it were not read",
    "blank_line": "blank line; remove it",
    "too_few_fields": "{found} fields, the header has {expected}; "
    "the row is truncated or a comma is missing",
    "too_many_fields": "{found} fields, the header has {expected}; "
    "quote values that contain a comma",
    # header
    "unknown_column": "'{value}' is not a column of {table}{hint}; see docs/data-dictionary.md",
    "missing_column": "missing from the header; every column of the contract must be present "
    "(leave its cells blank)",
    "duplicate_column": "'{value}' appears more than once in the header (columns {positions})",
    # cells
    "required": "blank; {column} is required",
    "blank_text": "only spaces; {column} is required",
    "control_character": "contains {char} at character {position}, a control or "
    "text-direction character; write printable text only",
    "whitespace": "'{value}' has leading or trailing spaces; remove them",
    "not_number": "'{value}' is not a number; leave the cell blank when the report gives none",
    "not_integer": "'{value}' is not an integer",
    "non_ascii_digit": "'{value}' has a non-ASCII digit or sign ({char}); write the digits 0-9",
    "not_finite": "'{value}' is too large to be stored as a number; check the value",
    "negative": "{value} is negative; {noun} must be >= 0",
    "below_min": "{value} is below the minimum; {noun} must be >= {min}",
    "above_max": "{value} is above the maximum; {noun} must be <= {max}",
    "implausible": "{value} {unit} is outside the plausible range for {what} of {outcome} "
    "({low} to {high} {unit}; {why}); check the value and its unit",
    "no_range": "'{value}' has no plausible range declared for {outcome}; correct the unit or "
    "declare the range under plausible_ranges in analysis/schema/raw_tables.yaml",
    "not_allowed": "'{value}' is not an allowed {what}{hint}; allowed: {allowed}",
    "pattern": "'{value}' does not match {pattern}{hint}",
    "pmid": "'{value}' is not a PMID; write the digits only, e.g. 19820017",
    "doi": "'{value}' is not a DOI; write it as 10.<prefix>/<suffix>, e.g. 10.1210/jc.2009-0739",
    "boolean": "'{value}' is not a boolean; write true or false",
    # rows
    "duplicate_key": "duplicate key ({key}); the same key is in row {first_row}",
    "order": "{value} is greater than {other} {other_value}; {column} must be <= {other}",
    "needs": "{value} is given but {other} is blank; {reason}",
    "provenance": "blank, but the row reports {numbers}; every number needs its {column}",
    "conditional_required": "blank, but {condition}; {reason}",
    "no_statistic": "the row reports no statistic; give at least one of {columns} "
    "or remove the row",
    "baseline_time": "{value} months, but measure is baseline; a baseline is at timepoint_months 0",
    "sd_needs_n": "{value}, but the row gives an SD or SE; a spread needs n >= 2",
    "duplicate_study": "'{value}' is also the {column} of study '{other}' (row {first_row}); "
    "one study is one row (list further reports in companion_reports)",
    "same_arm": "'{value}' is also the treatment_arm; a contrast compares two different arms",
    "domain_of_tool": "'{value}' is not a domain of {tool}; {tool} domains: {domains}",
    "judgement_of_tool": "'{value}' is not a judgement of {tool}; {tool} judgements: {judgements}",
    "not_screened": "'{value}' has no included record in screening.csv; add the record "
    "that reports it",
    "case_report_patient": "blank; an observation of {design} study '{study}' must name "
    "the man it describes (patients.csv patient_id)",
    # references
    "foreign_key": "'{value}' is {not_a} {ref_column} in {ref_table}",
    "foreign_key_scoped": "'{value}' is {not_a} {ref_column} of {scope} in {ref_table}",
    "patient_report": "'{value}' is not a report of patient '{patient}' in patients.csv; "
    "add it to his also_reported_in, or correct the study_id",
}

# How a column is named in "must be >= 0" messages; other columns are named as in the header.
NOUNS: dict[str, str] = {
    "sd": "a standard deviation",
    "se": "a standard error",
    "n": "a sample size",
    "n_randomized": "a number randomized",
    "p_value": "a p-value",
    "year": "a year",
    "duration_months": "a duration",
    "timepoint_months": "a time point",
    "ci_level": "a confidence level",
    "age_years": "an age",
    "age_at_estrogen_start_years": "an age",
}

PROVENANCE_COLUMNS = ("source", "location")
# Pairs (low, high) that must be ordered; (q1, q3) is checked only without a median.
ORDERED_PAIRS = (("ci_low", "ci_high"), ("q1", "median"), ("median", "q3"), ("q1", "q3"))
# (column given, column it needs, why): a half-given pair cannot be used downstream.
NEEDS = (
    ("ci_low", "ci_high", "give both bounds or neither"),
    ("ci_high", "ci_low", "give both bounds or neither"),
    ("q1", "q3", "give both quartiles or neither"),
    ("q3", "q1", "give both quartiles or neither"),
    ("censor", "value", "a censored value needs its detection limit in value"),
    ("p_value_bound", "p_value", "a bound needs the p-value it bounds"),
)
# Columns of which an arm_outcomes row must give at least one.
ARM_STATISTICS = ("mean", "median", "sd", "se", "ci_low", "ci_high", "q1", "q3", "p_value")
CONTRAST_STATISTICS = ("estimate", "se", "ci_low", "ci_high", "p_value")
CASE_DESIGNS = ("case_report", "case_series")
MAX_LISTED = 8  # longer lists of allowed values are shortened in messages

# ASCII digits only: Python's \\d also matches Arabic-Indic or full-width digits, which
# float() reads but pandas (and every later step) does not.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_PMID = re.compile(r"[1-9][0-9]{0,8}")
_DOI = re.compile(r"10\.[0-9]{4,9}/\S+")
# The largest magnitude an integer column may hold: pandas' Int64.
_INT64 = 2**63 - 1
# Unicode categories refused anywhere in a cell: controls (Cc; a newline inside a quoted
# cell is allowed), format characters such as the bidi overrides U+202A-U+202E and
# U+2066-U+2069 or zero-width characters (Cf), surrogates, private use, unassigned code
# points and the line/paragraph separators.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_ALLOWED_CONTROLS = frozenset("\n")
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# File limits: a raw table is a small hand-made CSV. The reader stops at these rather than
# reading a device or a runaway file into memory.
MAX_FILE_BYTES = 20_000_000
MAX_FIELD_CHARS = 131_072  # the csv module's default field limit
_BOOLEAN = ("true", "false")
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class ValidationProblem:
    """One problem found in ``data/raw/``.

    Attributes
    ----------
    file : str
        Path of the file as given (the raw directory joined with the file name).
    row : int or None
        Line number in the file (header = 1); None for a problem of the whole file.
    column : str or None
        Column concerned, if any.
    value : str or None
        The offending value as written, if any.
    rule : str
        Key of :data:`RULES`.
    message : str
        The whole one-line message, ``"<file> row <row>, column <column>: <what is wrong>"``.
    """

    file: str
    row: int | None
    column: str | None
    value: str | None
    rule: str
    message: str

    def __str__(self) -> str:
        return self.message


class RawDataError(ValueError):
    """``data/raw/`` breaks the contract; the message lists every problem, one per line."""

    def __init__(self, problems: Iterable[ValidationProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(p.message for p in self.problems))


def load_schema(path: str | Path | None = None) -> dict[str, Any]:
    """Read the data contract (by default ``analysis/schema/raw_tables.yaml``)."""
    with open(SCHEMA_PATH if path is None else path, encoding="utf-8") as handle:
        # libyaml's safe loader when PyYAML has it: the same documents, ten times faster
        # than the pure-Python one, which took two thirds of a validation of the shipped data.
        return yaml.load(handle, Loader=_SAFE_LOADER)


def validate_raw(
    raw_dir: str | Path, schema: Mapping[str, Any] | str | Path | None = None
) -> list[ValidationProblem]:
    """Check every table of ``raw_dir`` against the contract and return all problems.

    Parameters
    ----------
    raw_dir : path
        Directory holding the raw tables (``data/raw``). Paths in messages are this path
        joined with the file name, exactly as given.
    schema : mapping or path, optional
        The contract, already loaded or as a YAML path; default :data:`SCHEMA_PATH`.

    Returns
    -------
    list of ValidationProblem
        Empty when the data satisfy the contract. Ordered by table (as in the contract), then
        row, then column.
    """
    return _Validator(Path(raw_dir), _as_schema(schema)).run()


def check_raw(
    raw_dir: str | Path, schema: Mapping[str, Any] | str | Path | None = None
) -> dict[str, int]:
    """Validate ``raw_dir`` and raise if anything is wrong.

    Returns
    -------
    dict
        Number of data rows of each table, when the data are valid.

    Raises
    ------
    RawDataError
        With every problem in its message, one per line.
    """
    validator = _Validator(Path(raw_dir), _as_schema(schema))
    problems = validator.run()
    if problems:
        raise RawDataError(problems)
    return dict(validator.row_counts)


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m analysis validate [RAW_DIR] [--schema PATH]``.

    Prints ``"<raw_dir>: N tables, M rows valid"`` and returns 0, or prints every problem on
    stderr and returns 2.
    """
    parser = argparse.ArgumentParser(
        prog="python -m analysis validate",
        description="Check the raw tables against the data contract; writes nothing.",
    )
    parser.add_argument("raw_dir", nargs="?", default="data/raw", help="default: data/raw")
    parser.add_argument("--schema", default=None, help=f"default: {SCHEMA_PATH}")
    args = parser.parse_args(argv)
    raw_dir = Path(args.raw_dir)
    try:
        schema = _as_schema(args.schema)
        if not isinstance(schema, Mapping) or not isinstance(schema.get("tables"), Mapping):
            raise ValueError("it has no 'tables' mapping")
    except (OSError, ValueError, yaml.YAMLError) as err:
        reason = getattr(err, "strerror", None) or str(err).splitlines()[0]
        print(f"{args.schema}: not a usable data contract ({reason})", file=sys.stderr)
        return 2
    validator = _Validator(raw_dir, schema)
    problems = validator.run()
    if problems:
        for problem in problems:
            print(problem.message, file=sys.stderr)
        print(f"{raw_dir}: {len(problems)} problem(s); nothing was changed", file=sys.stderr)
        return 2
    rows = sum(validator.row_counts.values())
    print(f"{raw_dir}: {len(validator.row_counts)} tables, {rows} rows valid")
    return 0


def report_for_pipeline(raw_dir: str | Path, file: Any = None) -> int:
    """Print the validator's report for a failed pipeline run (Snakemake's ``onerror``).

    Prints nothing when ``raw_dir`` is valid (the run failed for another reason). Returns
    the number of problems.
    """
    problems = validate_raw(raw_dir)
    if problems:
        out = sys.stderr if file is None else file
        print(f"\n{raw_dir} does not satisfy the data contract; the run stopped at validation. "
              f"{len(problems)} problem(s):", file=out)  # fmt: skip
        for problem in problems:
            print(f"  {problem.message}", file=out)
    return len(problems)


# --------------------------------------------------------------------------------------------


def _as_schema(schema: Mapping[str, Any] | str | Path | None) -> Mapping[str, Any]:
    if schema is None or isinstance(schema, str | Path):
        return load_schema(schema)
    return schema


def _ascii_digits(value: str) -> str:
    """``value`` with every Unicode digit and full-width sign or point as its ASCII twin,
    to tell 'a number in other digits' from 'not a number'."""
    out = []
    for char in value:
        if char.isdigit():
            out.append(str(unicodedata.digit(char, 0)))
        else:
            out.append(unicodedata.normalize("NFKC", char))
    return "".join(out).replace("\u066b", ".")


def _fmt(x: float) -> str:
    """A bound from the contract as a reader writes it: 0, 1950, 0.999."""
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _listing(values: list[str]) -> str:
    if len(values) <= MAX_LISTED:
        return ", ".join(values)
    shown = ", ".join(values[: MAX_LISTED - 2])
    return f"{shown}, ... ({len(values)} in all, see docs/data-dictionary.md)"


def _suggest(value: str, choices: list[str]) -> str:
    """' (did you mean 'x'?)' for a near miss, else ''."""
    lowered = {c.lower(): c for c in choices}
    match = lowered.get(value.strip().lower())
    if match is None:
        close = difflib.get_close_matches(value, choices, n=1, cutoff=0.75)
        match = close[0] if close else None
    return f" (did you mean '{match}'?)" if match else ""


@dataclass
class _Table:
    name: str
    path: Path
    spec: Mapping[str, Any]
    header: list[str] = field(default_factory=list)
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)  # (line, cells)
    complete: bool = True  # False when a reading error stopped before the end


class _Validator:
    def __init__(self, raw_dir: Path, schema: Mapping[str, Any]) -> None:
        self.raw_dir = raw_dir
        self.schema = schema
        self.vocabularies: Mapping[str, Any] = schema.get("vocabularies", {})
        self.problems: list[tuple[int, int, int, ValidationProblem]] = []
        self.tables: dict[str, _Table] = {}
        self.row_counts: dict[str, int] = {}
        self._order: dict[str, int] = {}

    # reporting ------------------------------------------------------------------------------

    def report(
        self,
        table: str,
        rule: str,
        *,
        row: int | None = None,
        column: str | None = None,
        value: str | None = None,
        **fields: Any,
    ) -> None:
        file = str(self.raw_dir / table)
        text = RULES[rule].format(value=value, column=column, table=table, **fields)
        where = file
        if row is not None:
            where += f" row {row}"
            if column is not None:
                where += f", column {column}"
        problem = ValidationProblem(file, row, column, value, rule, f"{where}: {text}")
        spec = self.schema["tables"].get(table, {}).get("columns", {})
        position = list(spec).index(column) if column in spec else -1
        self.problems.append(
            (self._order.get(table, len(self._order)), row or 0, position, problem)
        )

    # driver ---------------------------------------------------------------------------------

    def run(self) -> list[ValidationProblem]:
        tables = self.schema["tables"]
        self._order = {name: i for i, name in enumerate(tables)}
        if not self.raw_dir.is_dir():
            self.report("", "dir_missing")  # one line, not one per missing table
            return [p for *_, p in self.problems]
        for name, spec in tables.items():
            table = self.read(name, spec)
            if table is None:
                continue
            self.tables[name] = table
            self.row_counts[name] = len(table.rows)
            for line, cells in table.rows:
                self.check_row(table, line, cells)
            self.check_keys(table)
        self.check_references()
        self.check_duplicate_studies()
        self.check_patient_reports()
        self.check_screened()
        if self.raw_dir.is_dir():
            for path in sorted(self.raw_dir.glob("*.csv")):
                if path.name not in tables:
                    self.report(
                        path.name, "unknown_table", schema="analysis/schema/raw_tables.yaml"
                    )
        # sorted() is stable: problems of one cell keep the order they were found in.
        return [p for *_, p in sorted(self.problems, key=lambda t: t[:3])]

    # reading --------------------------------------------------------------------------------

    def read(self, name: str, spec: Mapping[str, Any]) -> _Table | None:
        path = self.raw_dir / name
        columns = list(spec["columns"])
        data = self.read_bytes(name, path)
        if data is None:
            return None
        if not data:
            self.report(name, "file_empty", header=",".join(columns))
            return None
        skipped = 0
        if data.startswith(_BOM):
            self.report(name, "bom", row=1)
            skipped = len(_BOM)
            data = data[skipped:]
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as err:
            offset = err.start + skipped  # offsets count from the first byte of the file
            line = data.count(b"\n", 0, err.start) + 1
            self.report(name, "not_utf8", row=line, offset=offset, byte=f"0x{data[err.start]:02x}")
            return None
        table = _Table(name, path, spec)
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        while True:
            start = reader.line_num + 1
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error as err:
                table.complete = False
                if "field larger than field limit" in str(err):
                    self.report(name, "field_too_long", row=start, limit=MAX_FIELD_CHARS)
                elif "unexpected end of data" in str(err):
                    self.report(name, "unterminated_quote", row=start)
                else:
                    self.report(name, "bad_quoting", row=start, error=str(err))
                break
            if start == 1:
                if not fields:
                    self.report(name, "no_header", row=1, header=",".join(columns))
                    return None
                if not self.read_header(table, fields, columns):
                    return None
                continue
            if not fields:
                self.report(name, "blank_line", row=start)
            elif len(fields) != len(table.header):
                rule = "too_few_fields" if len(fields) < len(table.header) else "too_many_fields"
                self.report(name, rule, row=start, found=len(fields), expected=len(table.header))
            else:
                table.rows.append((start, dict(zip(table.header, fields, strict=True))))
        if not table.header:
            if table.complete:  # a header line that could not be read is reported above
                self.report(name, "file_empty", header=",".join(columns))
            return None
        min_rows = spec.get("min_rows", 0)
        if reader.line_num and len(table.rows) < min_rows and not self._has_row_problems(name):
            self.report(name, "no_rows", min_rows=min_rows)
        return table

    def read_bytes(self, name: str, path: Path) -> bytes | None:
        """The file's bytes, or None (reported) when it is not a regular file of the raw
        directory or is too large. A link or a device is never opened: a link out of the
        raw directory would print another file's content in a message."""
        try:
            info = path.lstat()
        except FileNotFoundError:
            self.report(name, "file_missing")
            return None
        if stat.S_ISLNK(info.st_mode):
            self.report(name, "symlink", raw_dir=self.raw_dir)
            return None
        if not stat.S_ISREG(info.st_mode):
            kinds = {stat.S_ISDIR: "a directory", stat.S_ISFIFO: "a named pipe",
                     stat.S_ISCHR: "a device", stat.S_ISBLK: "a device",
                     stat.S_ISSOCK: "a socket"}  # fmt: skip
            kind = next((k for test, k in kinds.items() if test(info.st_mode)), "special")
            self.report(name, "not_regular", kind=kind)
            return None
        if info.st_size > MAX_FILE_BYTES:
            self.report(name, "too_large", size=info.st_size, limit=MAX_FILE_BYTES)
            return None
        with path.open("rb") as handle:
            return handle.read(MAX_FILE_BYTES + 1)

    def _has_row_problems(self, name: str) -> bool:
        return any(p.file == str(self.raw_dir / name) and p.row for *_, p in self.problems)

    def read_header(self, table: _Table, fields: list[str], columns: list[str]) -> bool:
        name = table.name
        if len(fields) == 1 and len(columns) > 1:
            for sep, label in ((";", "semicolons"), ("\t", "tabs"), ("|", "bars")):
                if sep in fields[0]:
                    self.report(name, "delimiter", row=1, found=label)
                    return False
        seen: dict[str, list[int]] = {}
        for i, col in enumerate(fields, start=1):
            seen.setdefault(col, []).append(i)
        for col, positions in seen.items():
            if len(positions) > 1:
                self.report(
                    name,
                    "duplicate_column",
                    row=1,
                    column=col,
                    value=col,
                    positions=" and ".join(map(str, positions)),
                )
            if col not in columns:
                hint = _suggest(col, [c for c in columns if c not in seen])
                self.report(name, "unknown_column", row=1, column=col, value=col, hint=hint)
        for col in columns:
            if col not in seen:
                self.report(name, "missing_column", row=1, column=col)
        table.header = fields
        return True

    # cells and rows -------------------------------------------------------------------------

    def check_row(self, table: _Table, line: int, cells: dict[str, str]) -> None:
        columns: Mapping[str, Mapping[str, Any]] = table.spec["columns"]
        for col, spec in columns.items():
            if col not in cells:
                continue  # reported once, as a missing column
            value = cells[col]
            if self.check_characters(table.name, line, col, value):
                continue
            if value == "" or (value.strip() == "" and spec.get("required")):
                if value != "":
                    self.report(table.name, "blank_text", row=line, column=col)
                    continue
                rule_fields = self.blank_rule(table, col, cells)
                if rule_fields is not None:
                    rule, fields = rule_fields
                    self.report(table.name, rule, row=line, column=col, **fields)
                elif spec.get("required"):
                    self.report(table.name, "required", row=line, column=col)
                continue
            self.check_cell(table.name, line, col, value, spec)
        self.check_row_rules(table, line, cells)

    def check_characters(self, table: str, line: int, col: str, value: str) -> bool:
        """Report the first control or bidi character of a cell; True when one was found.

        The character is named by its code point, never printed: a U+202E would reverse the
        message itself."""
        if value.isascii() and value.isprintable():
            return False  # printable ASCII holds no character of a refused category
        for position, char in enumerate(value, start=1):
            if char in _ALLOWED_CONTROLS or (
                char == "\r" and value[position : position + 1] == "\n"
            ):
                continue  # a line break inside a quoted cell (LF or CRLF)
            if unicodedata.category(char) in _REFUSED_CATEGORIES:
                name = unicodedata.name(char, "")
                shown = f"U+{ord(char):04X}" + (f" ({name})" if name else "")
                self.report(table, "control_character", row=line, column=col,
                            char=shown, position=position)  # fmt: skip
                return True
        return False

    def blank_rule(
        self, table: _Table, col: str, cells: dict[str, str]
    ) -> tuple[str, dict[str, Any]] | None:
        """A more telling rule than 'required' for some blank cells, or None."""
        columns = table.spec["columns"]
        if col in PROVENANCE_COLUMNS:
            key = set(table.spec.get("key", []))
            numbers = [
                c
                for c, s in columns.items()
                if s.get("type") in ("number", "integer") and c not in key and cells.get(c, "")
            ]
            if numbers:
                return "provenance", {"numbers": ", ".join(numbers)}
        if table.name == "patient_observations.csv" and col == "patient_id":
            # a blank or absent study_id has no design (it is reported on its own), even when
            # a row of studies.csv has a blank study_id too
            study = cells.get("study_id", "")
            design = self._study_design(study) if study else None
            if design in CASE_DESIGNS:
                return "case_report_patient", {"design": design, "study": study}
        included = cells.get("decision") == "included"
        if table.name == "screening.csv" and col == "study_id" and included:
            return "conditional_required", {
                "condition": "decision is included",
                "reason": "name the study the record reports",
            }
        in_words = cells.get("measure") == "reported_in_words"
        if table.name == "contrasts.csv" and col == "reported_text" and in_words:
            return "conditional_required", {
                "condition": "measure is reported_in_words",
                "reason": "give the report's words",
            }
        return None

    def _study_design(self, study_id: str) -> str | None:
        studies = self.tables.get("studies.csv")
        if studies is None:
            return None
        for _, cells in studies.rows:
            if cells.get("study_id") == study_id:
                return cells.get("design")
        return None

    def check_cell(self, table: str, line: int, col: str, value: str, spec: Mapping) -> None:
        kind = spec.get("type", "string")
        is_free_text = kind == "string" and "pattern" not in spec and "references" not in spec
        if not is_free_text and value != value.strip():
            self.report(table, "whitespace", row=line, column=col, value=value)
            return
        items = [value]
        if "separator" in spec:
            items = [item.strip() for item in value.split(spec["separator"]) if item.strip()]
        for item in items:
            self.check_value(table, line, col, item, spec, kind)

    def check_value(
        self, table: str, line: int, col: str, value: str, spec: Mapping, kind: str
    ) -> None:
        where: dict[str, Any] = {"row": line, "column": col, "value": value}
        if kind in ("number", "integer"):
            if not value.isascii() and _NUMBER.fullmatch(_ascii_digits(value)):
                char = next(c for c in value if not c.isascii())
                shown = f"U+{ord(char):04X}"
                self.report(table, "non_ascii_digit", char=shown, **where)
                return
            if kind == "integer" and not _INTEGER.fullmatch(value):
                self.report(table, "not_integer", **where)
                return
            if not _NUMBER.fullmatch(value):
                self.report(table, "not_number", **where)
                return
            x = float(value)
            if not math.isfinite(x) or (kind == "integer" and abs(int(value)) > _INT64):
                self.report(table, "not_finite", **where)
                return
            noun = NOUNS.get(col, col)
            low, high = spec.get("min"), spec.get("max")
            if low is not None and x < low:
                rule = "negative" if low == 0 else "below_min"
                self.report(table, rule, noun=noun, min=_fmt(low), **where)
            elif high is not None and x > high:
                self.report(table, "above_max", noun=noun, max=_fmt(high), **where)
        elif kind == "enum":
            allowed = self.allowed(spec)
            if value not in allowed:
                what = spec.get("vocabulary", col)
                hint = _suggest(value, allowed)
                self.report(
                    table, "not_allowed", what=what, hint=hint, allowed=_listing(allowed), **where
                )
        elif kind == "pmid":
            if not _PMID.fullmatch(value):
                self.report(table, "pmid", **where)
        elif kind == "doi":
            if not _DOI.fullmatch(value):
                self.report(table, "doi", **where)
        elif kind == "boolean":
            if value not in _BOOLEAN:
                self.report(table, "boolean", **where)
        elif "pattern" in spec and not re.fullmatch(spec["pattern"], value):
            hint = (
                " (lower-case letters, digits and _ only)"
                if spec["pattern"] == "^[a-z0-9_]+$"
                else ""
            )
            self.report(table, "pattern", pattern=spec["pattern"], hint=hint, **where)

    def allowed(self, spec: Mapping[str, Any]) -> list[str]:
        if "allowed" in spec:
            return [str(v) for v in spec["allowed"]]
        return [str(v) for v in self.vocabularies[spec["vocabulary"]]]

    def check_row_rules(self, table: _Table, line: int, cells: dict[str, str]) -> None:
        name = table.name

        def number(col: str) -> float | None:
            value = cells.get(col, "")
            return float(value) if _NUMBER.fullmatch(value) else None

        for given, other, reason in NEEDS:
            if cells.get(given, "") and other in cells and not cells[other]:
                self.report(
                    name,
                    "needs",
                    row=line,
                    column=given,
                    value=cells[given],
                    other=other,
                    reason=reason,
                )
        for low, high in ORDERED_PAIRS:
            if (low, high) == ("q1", "q3") and cells.get("median", ""):
                continue  # already covered by q1 <= median <= q3
            a, b = number(low), number(high)
            if a is not None and b is not None and a > b:
                self.report(
                    name,
                    "order",
                    row=line,
                    column=low,
                    value=cells[low],
                    other=high,
                    other_value=cells[high],
                )
        statistics = {"arm_outcomes.csv": ARM_STATISTICS, "contrasts.csv": CONTRAST_STATISTICS}
        if name in statistics and cells.get("measure") != "reported_in_words":
            present = [c for c in statistics[name] if c in cells]
            if present and not any(cells[c] for c in present):
                self.report(name, "no_statistic", row=line, columns=", ".join(present))
        self.check_table_rules(table, line, cells)

    def check_plausible(self, table: _Table, line: int, cells: dict[str, str]) -> None:
        """Values within the contract's plausible range for their outcome and unit.

        The table's ``plausible`` entry names the value columns and, through the row's
        measure, whether they are levels, changes or differences (see the contract)."""
        rule = table.spec.get("plausible")
        outcome, unit = cells.get("outcome", ""), cells.get("unit", "")
        outcomes = [str(v) for v in self.vocabularies.get("outcome", [])]
        if not rule or outcome not in outcomes or unit not in self.allowed_units():
            return  # a blank or unknown outcome or unit is reported on its own
        kind = rule.get("kind") or rule.get("measure", {}).get(cells.get("measure", ""))
        columns = [c for c in (*rule.get("values", ()), *rule.get("spreads", ())) if cells.get(c)]
        if kind is None or not columns:
            return
        ranges = self.schema.get("plausible_ranges", {})
        found = ranges.get("any_outcome", {}).get(unit)
        found = found or ranges.get("outcomes", {}).get(outcome, {}).get(unit)
        if found is None:
            self.report(table.name, "no_range", row=line, column="unit", value=unit,
                        outcome=outcome)  # fmt: skip
            return
        low, high = (float(x) for x in found["range"])
        span = high - low
        if unit == "percent":
            bounds = {"level": (low, high), "change": (low, high), "difference": (-span, span)}
        else:
            bounds = {"level": (low, high), "change": (-span, span), "difference": (-span, span)}
        what = {"level": "a value", "change": "a change", "difference": "a difference"}
        for col in columns:
            value = cells[col]
            if not _NUMBER.fullmatch(value) or not math.isfinite(float(value)):
                continue  # reported by the cell checks
            spec = table.spec["columns"].get(col, {})
            low_ok = spec.get("min") is None or float(value) >= spec["min"]
            if not (low_ok and (spec.get("max") is None or float(value) <= spec["max"])):
                continue  # already outside the column's own bounds (negative SD ...)
            spread = col in rule.get("spreads", ())
            lo, hi = (0.0, span) if spread else bounds[kind]
            if not lo <= float(value) <= hi:
                self.report(
                    table.name, "implausible", row=line, column=col, value=value, unit=unit,
                    what="an SD or SE" if spread else what[kind],
                    outcome=outcome, low=_fmt(lo), high=_fmt(hi), why=found["why"],
                )  # fmt: skip

    def allowed_units(self) -> list[str]:
        return [str(v) for v in self.vocabularies.get("unit", [])]

    def check_table_rules(self, table: _Table, line: int, cells: dict[str, str]) -> None:
        """Rules between columns of one row that belong to a single table."""
        name = table.name
        self.check_plausible(table, line, cells)
        n, spread = cells.get("n", ""), cells.get("sd", "") or cells.get("se", "")
        if spread and _INTEGER.fullmatch(n) and int(n) == 1:
            self.report(name, "sd_needs_n", row=line, column="n", value=n)
        if name == "arm_outcomes.csv" and cells.get("measure") == "baseline":
            time = cells.get("timepoint_months", "")
            if _NUMBER.fullmatch(time) and float(time) != 0:
                self.report(name, "baseline_time", row=line, column="timepoint_months", value=time)
        if name == "contrasts.csv":
            arm = cells.get("control_arm", "")
            if arm and arm == cells.get("treatment_arm"):
                self.report(name, "same_arm", row=line, column="control_arm", value=arm)
        domains = table.spec.get("domains_by_tool", {})
        tool, domain = cells.get("tool", ""), cells.get("domain", "")
        if tool in domains and domain and domain not in domains[tool]:
            allowed = ", ".join(domains[tool])
            self.report(
                name,
                "domain_of_tool",
                row=line,
                column="domain",
                value=domain,
                tool=tool,
                domains=allowed,
            )
        judgements = table.spec.get("judgements_by_tool", {})
        judgement = cells.get("judgement", "")
        allowed_anywhere = {j for js in judgements.values() for j in js}
        if (
            judgement in allowed_anywhere
            and tool in judgements
            and judgement not in judgements[tool]
        ):
            self.report(name, "judgement_of_tool", row=line, column="judgement", value=judgement,
                        tool=tool, judgements=", ".join(judgements[tool]))  # fmt: skip

    def check_duplicate_studies(self) -> None:
        """One study, one row: the same PMID or DOI, or the same label and year, on two rows
        would pool a trial with itself."""
        studies = self.tables.get("studies.csv")
        if studies is None:
            return
        seen: dict[tuple[str, str], tuple[int, str]] = {}
        for line, cells in studies.rows:
            study = cells.get("study_id", "")
            keys = [("pmid", cells.get("pmid", "")), ("doi", cells.get("doi", "").lower())]
            if cells.get("label", "").strip() and cells.get("year", ""):
                label = " ".join(cells["label"].split()).lower()
                keys.append(("label", f"{label} ({cells['year']})"))
            for column, value in keys:
                if not value:
                    continue
                if (column, value) in seen:
                    first_row, other = seen[(column, value)]
                    shown = cells[column] if column != "label" else value
                    self.report(studies.name, "duplicate_study", row=line, column=column,
                                value=shown, other=other, first_row=first_row)  # fmt: skip
                else:
                    seen[(column, value)] = (line, study)

    def check_keys(self, table: _Table) -> None:
        key = table.spec.get("key", [])
        if not key or any(col not in table.header for col in key):
            return
        columns = table.spec["columns"]
        seen: dict[tuple, int] = {}
        for line, cells in table.rows:
            values = [cells[col] for col in key]
            if any(
                v == "" and columns[c].get("required") for c, v in zip(key, values, strict=True)
            ):
                continue  # a blank required key cell is already reported as required
            # 6 and 6.0 months are the same time point.
            normal = tuple(
                float(v)
                if columns[c].get("type") in ("number", "integer") and _NUMBER.fullmatch(v)
                else v
                for c, v in zip(key, values, strict=True)
            )
            if normal in seen:
                shown = ", ".join(f"{c}={v}" for c, v in zip(key, values, strict=True))
                self.report(
                    table.name, "duplicate_key", row=line, key=shown, first_row=seen[normal]
                )
            else:
                seen[normal] = line

    # references -----------------------------------------------------------------------------

    def _resolves(self, table: _Table, col: str, value: str) -> bool:
        """Whether ``value`` of ``col`` exists where the column's own reference points."""
        spec = table.spec["columns"].get(col, {})
        if "references" not in spec:
            return True
        ref_table_name, ref_col = spec["references"].rsplit(".", 1)
        ref_table = self.tables.get(ref_table_name)
        if ref_table is None:
            return False
        return any(cells.get(ref_col) == value for _, cells in ref_table.rows)

    def check_references(self) -> None:
        for table in self.tables.values():
            for col, spec in table.spec["columns"].items():
                if "references" in spec and col in table.header:
                    self.check_reference(table, col, spec)

    def check_patient_reports(self) -> None:
        """Each observation's study must be a report of its man, so one man is one man.

        A man described by several reports has one ``patient_id``; the reports are his
        ``first_report`` and ``also_reported_in``. An observation from any other study means
        either a wrong id or a link not recorded, and both would count him twice or lose him.
        """
        observations = self.tables.get("patient_observations.csv")
        patients = self.tables.get("patients.csv")
        if observations is None or patients is None or not patients.complete:
            return
        reports: dict[str, set[str]] = {}
        for _, cells in patients.rows:
            later = cells.get("also_reported_in", "").split(";")
            first = cells.get("first_report", "")
            reports[cells.get("patient_id", "")] = {first, *(s.strip() for s in later)}
        studies = self._values("studies.csv", "study_id")
        for line, cells in observations.rows:
            study, patient = cells.get("study_id", ""), cells.get("patient_id", "")
            if not study or not patient:
                continue  # a blank cell is reported on its own (required)
            known = reports.get(patient, set()) - {""}
            if not known or not known <= studies or study not in studies:
                continue  # an unknown man, report or study is reported on its own
            if study not in known:
                self.report(
                    observations.name,
                    "patient_report",
                    row=line,
                    column="study_id",
                    value=study,
                    patient=patient,
                )

    def check_screened(self) -> None:
        """Every study comes from an included screening record, so the PRISMA flow adds up."""
        studies, screening = self.tables.get("studies.csv"), self.tables.get("screening.csv")
        if studies is None or screening is None or "decision" not in screening.header:
            return
        if not screening.complete:
            return  # rows after a reading error are unknown
        included = {
            cells.get("study_id", "")
            for _, cells in screening.rows
            if cells.get("decision") == "included"
        }
        for line, cells in studies.rows:
            study = cells.get("study_id", "")
            if study and study not in included:
                self.report(studies.name, "not_screened", row=line, column="study_id", value=study)

    def _values(self, table: str, column: str) -> set[str]:
        found = self.tables.get(table)
        return {cells.get(column, "") for _, cells in found.rows} if found else set()

    def check_reference(self, table: _Table, col: str, spec: Mapping[str, Any]) -> None:
        ref_table_name, ref_col = spec["references"].rsplit(".", 1)
        ref_table = self.tables.get(ref_table_name)
        if ref_table is None or ref_col not in ref_table.header:
            return  # the missing file or column is reported already
        if not ref_table.complete:
            return  # rows after a reading error are unknown; a miss proves nothing
        # A reference to arms.csv.arm is a reference to (study_id, arm): the parent key's
        # other columns scope it, when the child row has them.
        # A key column missing from the parent is reported there; it scopes nothing.
        parent_key = ref_table.spec.get("key", [])
        scope = [
            c for c in parent_key if c != ref_col and c in table.header and c in ref_table.header
        ]
        targets = {
            tuple(cells.get(c, "") for c in [*scope, ref_col]) for _, cells in ref_table.rows
        }
        for line, cells in table.rows:
            raw = cells[col]
            items = [raw]
            if "separator" in spec:
                items = [item.strip() for item in raw.split(spec["separator"]) if item.strip()]
            for value in items:
                if value == "" or value != value.strip():
                    continue  # blank or badly spaced: reported by the cell checks
                here = tuple(cells.get(c, "") for c in scope)
                if (*here, value) in targets:
                    continue
                if not all(self._resolves(table, c, cells[c]) for c in scope):
                    continue  # an unknown study is reported once, on its own column
                where: dict[str, Any] = {"row": line, "column": col, "value": value}
                article = "not an" if ref_col[0] in "aeiou" else "not a"
                fields = {"ref_column": ref_col, "ref_table": ref_table_name, "not_a": article}
                if scope:
                    shown = ", ".join(f"{c} '{v}'" for c, v in zip(scope, here, strict=True))
                    self.report(table.name, "foreign_key_scoped", scope=shown, **where, **fields)
                else:
                    self.report(table.name, "foreign_key", **where, **fields)


if __name__ == "__main__":
    sys.exit(main())
