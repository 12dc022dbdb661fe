"""docs/adding-a-study.md works as written: its rows, appended to data/raw/, validate clean.

The rows are parsed from the page's fenced ``csv data/raw/<table>.csv`` blocks
(``conftest.example_blocks``), so the page and this test cannot drift apart.
"""

import csv
import io
import re
from pathlib import Path

from conftest import ADDING_A_STUDY, RAW_DIR, append_example_rows, example_blocks

from analysis.validate import validate_raw


def problems_of(raw: Path) -> list[str]:
    return [p.message for p in validate_raw(raw)]


def test_page_shows_rows_for_every_table_an_included_study_needs():
    tables = {table for table, _ in example_blocks()}
    assert tables >= {
        "screening.csv",
        "studies.csv",
        "arms.csv",
        "arm_outcomes.csv",
        "contrasts.csv",
        "risk_of_bias.csv",
        "patients.csv",
        "patient_observations.csv",
    }


def test_rows_of_the_page_add_no_problem_to_shipped_data(raw_copy):
    before = problems_of(raw_copy)
    added = append_example_rows(raw_copy)
    after = problems_of(raw_copy)
    assert sum(len(v) for v in added.values()) >= 20
    assert [m for m in after if m not in before] == []


def test_rows_of_the_page_validate_clean_on_their_own(tmp_path):
    """Against empty tables, the example alone satisfies the contract (studies has rows)."""
    raw = tmp_path / "raw"
    raw.mkdir()
    for path in RAW_DIR.glob("*.csv"):
        (raw / path.name).write_text(path.read_text("utf-8").splitlines()[0] + "\n", "utf-8")
    append_example_rows(raw)
    assert problems_of(raw) == []


def test_misspelt_arm_gives_the_message_the_page_shows(raw_copy):
    before = problems_of(raw_copy)
    added = append_example_rows(raw_copy)
    path = raw_copy / "contrasts.csv"
    lines = path.read_text("utf-8").splitlines(keepends=True)
    row = added["contrasts.csv"][1]  # the second contrast of the example, as the page says
    fields = next(csv.reader([lines[row - 1]]))
    assert fields[:3] == ["example_2029", "anastrozole", "placebo"]
    fields[2] = "placebos"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(fields)
    lines[row - 1] = out.getvalue()
    path.write_text("".join(lines), "utf-8")

    new = [m for m in problems_of(raw_copy) if m not in before]

    expected = (
        f"{raw_copy}/contrasts.csv row {row}, column control_arm: "
        "'placebos' is not an arm of study_id 'example_2029' in arms.csv"
    )
    assert new == [expected]
    page = ADDING_A_STUDY.read_text("utf-8")
    shown = re.search(r"^data/raw/contrasts\.csv row \d+, .*$", page, re.M)
    assert shown is not None
    assert re.sub(r"row \d+", f"row {row}", shown[0]) == expected.replace(f"{raw_copy}", "data/raw")
