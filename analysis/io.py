"""Reading the raw tables and writing deterministic outputs.

The only module besides :mod:`analysis.steps` that touches files. Raw tables are read with
the column types of the data contract (``analysis/schema/raw_tables.yaml``) and keep the
line number of every record, so the derivation ledger can point at ``file:row:column``.
Every output is written atomically (a temporary file in the same directory, then
``os.replace``), so a failed job never leaves a half-written file behind, and
deterministically (sorted rows, ``%.10g`` floats, ``\\n`` line ends, UTF-8), so identical
inputs give byte-identical outputs.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import tempfile
from collections.abc import Iterator, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

#: Name of the column holding the record's line number in its file (header = line 1).
ROW = "source_row"
FLOAT_FORMAT = "%.10g"


@cache
def contract() -> dict[str, Any]:
    """Return the data contract of ``data/raw/`` (parsed ``schema/raw_tables.yaml``)."""
    text = resources.files("analysis").joinpath("schema/raw_tables.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def _line_numbers(path: Path) -> list[int]:
    """Line number at which each record of a CSV file starts (header = 1).

    Counted with the csv module rather than from the frame's index, because a quoted field
    may span lines.
    """
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        starts = []
        start = 1
        for _ in reader:
            starts.append(start)
            start = reader.line_num + 1
    return starts[1:]


def read_table(path: str | os.PathLike[str], *, table: str | None = None) -> pd.DataFrame:
    """Read one raw table with the contract's column types.

    Parameters
    ----------
    path
        CSV file; its name selects the contract entry unless ``table`` is given.
    table
        Contract table name (``"arm_outcomes.csv"``); defaults to the file name.

    Returns
    -------
    pandas.DataFrame
        Strings stay strings (blank cells become missing), numbers are ``float64``,
        integers nullable ``Int64``; the extra column ``source_row`` holds each record's
        line number in the file (header = 1).
    """
    path = Path(path)
    spec = contract()["tables"].get(table or path.name, {"columns": {}})
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8")
    for name, column in spec["columns"].items():
        if name not in frame:
            frame[name] = pd.Series(pd.NA, index=frame.index, dtype="string")
        kind = column.get("type")
        if kind == "number":
            frame[name] = pd.to_numeric(frame[name]).astype("float64")
        elif kind == "integer":
            frame[name] = pd.to_numeric(frame[name]).astype("Int64")
        elif kind == "boolean":
            frame[name] = frame[name].str.lower().map({"true": True, "false": False})
        else:
            frame[name] = frame[name].astype("string")
    frame[ROW] = pd.Series(_line_numbers(path), index=frame.index, dtype="int64")
    return frame


#: Columns of processed files that are always text, however their values look.
TEXT_COLUMNS = frozenset({"arm", "outcome", "scale", "evidence_line", "unit", "unit_canonical",
                          "label", "measure", "phase", "omitted", "design"})  # fmt: skip


def read_processed(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a CSV written by :func:`write_csv`.

    Identifiers (``*_id``, ``*_ids``, :data:`TEXT_COLUMNS`) stay text even when they look
    like numbers (a study id ``2009`` is not the number 2009); ``true``/``false`` columns
    become booleans.
    """
    with open(path, encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle), [])
    text = {c: str for c in header if c in TEXT_COLUMNS or c.endswith(("_id", "_ids"))}
    frame = pd.read_csv(path, dtype=text, keep_default_na=False, na_values=[""], encoding="utf-8")
    frame = restore_frame(frame)
    for name in frame.columns:
        values = set(frame[name].dropna().unique())
        if values and values <= {"true", "false"}:
            frame[name] = frame[name].map({"true": True, "false": False})
    return frame


@contextlib.contextmanager
def _atomic(path: str | os.PathLike[str]) -> Iterator[Any]:
    """Open a temporary file beside ``path`` and move it onto ``path`` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            yield handle
        # mkstemp makes the file private (0600); give it the mode open() would have.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _bool_text(series: pd.Series) -> pd.Series:
    """Booleans as ``true``/``false`` (the contract's spelling), other values untouched."""
    if pd.api.types.is_bool_dtype(series):
        return series.map({True: "true", False: "false"}).astype(object)
    if series.dtype == object:
        return series.map(lambda v: ("true" if v else "false") if isinstance(v, bool) else v)
    return series


#: First characters that make a spreadsheet read a cell as a formula (OWASP, "CSV
#: injection"): such a text cell is written with a leading apostrophe.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def neutralise(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula, prefixed with ``'``.

    Numbers written as text (``-1.8``) and a lone sign (``=`` as a p-value bound) are left
    alone: neither is a formula. :func:`restore` undoes it on reading.
    """
    if (
        isinstance(value, str)
        and len(value) > 1
        and value.startswith(FORMULA_START)
        and not _is_number(value)
    ):
        return "'" + value
    return value


def restore(value: Any) -> Any:
    """The text :func:`neutralise` was given."""
    if isinstance(value, str) and value.startswith("'") and neutralise(value[1:]) == value:
        return value[1:]
    return value


def restore_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with :func:`restore` applied to its text columns."""
    for name in frame.columns:
        if frame[name].dtype == object or pd.api.types.is_string_dtype(frame[name]):
            frame[name] = frame[name].map(restore, na_action="ignore")
    return frame


def _neutralise_text(series: pd.Series) -> pd.Series:
    if series.dtype == object or pd.api.types.is_string_dtype(series):
        return series.map(neutralise, na_action="ignore")
    return series


def write_csv(frame: pd.DataFrame, path: str | os.PathLike[str], key: Sequence[str]) -> None:
    """Write a frame deterministically and atomically.

    Rows are sorted by ``key`` (stable sort, missing values last), floats are written with
    ``%.10g``, booleans as ``true``/``false``, lines end with ``\\n``, UTF-8, no index.
    Text cells that a spreadsheet would run as a formula are neutralised
    (:func:`neutralise`); :func:`read_processed` restores them.
    """
    out = frame.sort_values(list(key), kind="mergesort", na_position="last")
    out = out.reset_index(drop=True).apply(_bool_text).apply(_neutralise_text)
    with _atomic(path) as handle:
        out.to_csv(handle, index=False, float_format=FLOAT_FORMAT, lineterminator="\n")


def _plain(value: Any) -> Any:
    """Turn numpy scalars, arrays and NaN into JSON-ready values (NaN -> null)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NA:
        return None
    return value


def json_text(obj: Any) -> str:
    """Serialise with sorted keys, two-space indent, UTF-8 characters kept, NaN as null."""
    return json.dumps(_plain(obj), sort_keys=True, indent=2, ensure_ascii=False)


def write_json(obj: Any, path: str | os.PathLike[str]) -> None:
    """Write ``obj`` as deterministic JSON (see :func:`json_text`), atomically."""
    with _atomic(path) as handle:
        handle.write(json_text(obj) + "\n")
