"""Shared fixtures: small named inputs and temporary copies of shipped data."""

import re
import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
RAW_DIR = REPO_ROOT / "data" / "raw"
ADDING_A_STUDY = REPO_ROOT / "docs" / "adding-a-study.md"
_CSV_BLOCK = re.compile(r"^```csv data/raw/(?P<table>\S+)\n(?P<body>.*?)^```$", re.M | re.S)


def example_blocks() -> list[tuple[str, list[str]]]:
    """(table, lines) of each ``csv data/raw/<table>`` block of docs/adding-a-study.md.

    The first line of each block is the table's header; the others are the rows of the
    page's fictional example studies.
    """
    text = ADDING_A_STUDY.read_text("utf-8")
    return [(m["table"], m["body"].splitlines()) for m in _CSV_BLOCK.finditer(text)]


def append_example_rows(raw: Path) -> dict[str, list[int]]:
    """Append the example rows of docs/adding-a-study.md to the tables in ``raw``.

    Returns the line numbers the rows got, per table.
    """
    lines_added: dict[str, list[int]] = {}
    for table, (header, *rows) in example_blocks():
        path = raw / table
        text = path.read_text("utf-8")
        assert text.splitlines()[0] == header, f"{table}: the page's header is not the file's"
        if not text.endswith("\n"):
            text += "\n"
        first = text.count("\n") + 1
        path.write_text(text + "".join(f"{row}\n" for row in rows), "utf-8")
        lines_added.setdefault(table, []).extend(range(first, first + len(rows)))
    return lines_added


@pytest.fixture
def raw_copy(tmp_path: Path) -> Path:
    """A temporary copy of the shipped ``data/raw/`` (CSV tables only) to edit freely."""
    target = tmp_path / "data" / "raw"
    target.mkdir(parents=True)
    for path in sorted(RAW_DIR.glob("*.csv")):
        shutil.copy2(path, target / path.name)
    return target


@pytest.fixture
def raw_with_example(raw_copy: Path) -> Path:
    """``raw_copy`` with the fictional example studies of docs/adding-a-study.md appended,
    so that every table has rows (shipped rows first) whatever the shipped data hold."""
    append_example_rows(raw_copy)
    return raw_copy
