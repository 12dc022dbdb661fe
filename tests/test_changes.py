"""`python -m analysis changes BASE`: what moved between a git revision and the working tree."""

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from analysis import changes as ch
from analysis.cli import main as cli_main

POOLED_HEADER = "evidence_line,outcome,scale,unit,k,estimate,ci_low,ci_high,note\n"
POOLED = {
    ("ai_older_men", "bmd_lumbar_spine", "absolute"): "g/cm2,1,-0.028,-0.045,-0.011,",
    ("ai_older_men", "bmd_lumbar_spine", "percent"): "percent,1,-2.4576,-3.9654,-0.9498,",
    ("ai_boys", "bone_age", "absolute"): "years,1,-0.8,-1.5067,-0.0933,",
}
EFFECTS_HEADER = "study_id,outcome,scale,yi,ci_low,ci_high,n_treatment,n_control\n"
GRADE = (
    "evidence_line,outcome,certainty,rationale\n"
    "ai_older_men,bmd_lumbar_spine,low,one trial\n"
    "ai_boys,bone_age,low,one trial\n"
)
FINDINGS_HEADER = "evidence_line,outcome,scale,status,k,n,estimate,ci_low,ci_high,certainty\n"


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=repo, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


def _write(repo: Path, path: str, text: str) -> None:
    (repo / path).parent.mkdir(parents=True, exist_ok=True)
    (repo / path).write_text(text, "utf-8")


def _pooled(rows: dict) -> str:
    return POOLED_HEADER + "".join(f"{','.join(k)},{v}\n" for k, v in rows.items())


def _validated(repo: Path) -> None:
    files = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((repo / "data/raw").glob("*.csv"))
    }
    _write(repo, ch.VALIDATED, json.dumps({"files": files}))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with one commit of raw tables, config and processed results."""
    _git(tmp_path, "init", "-q")
    _write(tmp_path, "data/raw/grade.csv", GRADE)
    _write(tmp_path, "data/raw/arm_outcomes.csv", "study_id,arm_id,mean\nbb,ai,0.5\n")
    _write(tmp_path, "config/config.yaml", "prepost_r: 0.5\n")
    _write(tmp_path, ch.POOLED, _pooled(POOLED))
    _write(
        tmp_path,
        ch.EFFECTS,
        EFFECTS_HEADER + "bb,bmd_lumbar_spine,absolute,-0.028,-0.045,-0.011,,\n",
    )
    _validated(tmp_path)
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-q", "-m", "base")
    return tmp_path


def test_an_unchanged_working_tree_reports_that_nothing_moved(repo):
    result = ch.changes(repo, "HEAD")
    assert (result.inputs, result.findings, result.effects) == ([], [], [])
    assert result.n_findings == 3
    assert "No finding moved (3 compared)." in result.to_markdown()
    assert "Warning" not in result.to_markdown()


def test_a_moved_estimate_lists_exactly_that_finding_with_old_and_new_values(repo):
    moved = dict(POOLED)
    moved[("ai_older_men", "bmd_lumbar_spine", "percent")] = "percent,1,-3.1,-4.6,-1.6,"
    _write(repo, ch.POOLED, _pooled(moved))
    result = ch.changes(repo, "HEAD")
    assert [c.key for c in result.findings] == [("ai_older_men", "bmd_lumbar_spine", "percent")]
    row = next(line for line in result.to_markdown().splitlines() if "percent" in line)
    assert "-2.458 → **-3.1**" in row
    assert "-0.6424" in row  # the change of the estimate
    assert "-3.965 to -0.9498" in row and "-4.6 to -1.6" in row
    assert "| low |" in row  # certainty unchanged, shown once


def test_a_number_written_differently_but_equal_is_not_a_change(repo):
    same = dict(POOLED)
    same[("ai_boys", "bone_age", "absolute")] = "years,1.0,-0.80,-1.5067,-0.0933,"
    _write(repo, ch.POOLED, _pooled(same))
    assert ch.changes(repo, "HEAD").findings == []


def test_a_changed_certainty_in_grade_csv_moves_its_findings(repo):
    _write(repo, "data/raw/grade.csv", GRADE.replace("bone_age,low", "bone_age,very_low"))
    _validated(repo)
    result = ch.changes(repo, "HEAD")
    assert [c.key for c in result.findings] == [("ai_boys", "bone_age", "absolute")]
    assert "low → **very low**" in result.to_markdown()


def test_changed_inputs_are_listed_by_hash_and_unchanged_ones_are_not(repo):
    old = hashlib.sha256((repo / "data/raw/arm_outcomes.csv").read_bytes()).hexdigest()
    _write(repo, "data/raw/arm_outcomes.csv", "study_id,arm_id,mean\nbb,ai,0.6\n")
    _write(repo, "data/raw/new_table.csv", "a\n1\n")
    _validated(repo)
    new = hashlib.sha256((repo / "data/raw/arm_outcomes.csv").read_bytes()).hexdigest()
    result = ch.changes(repo, "HEAD")
    assert [(p, a is None, b is None) for p, a, b in result.inputs] == [
        ("data/raw/arm_outcomes.csv", False, False),
        ("data/raw/new_table.csv", True, False),
    ]
    assert f"| {old[:12]} | {new[:12]} |" in result.to_markdown()


def test_raw_data_edited_after_the_last_run_gives_a_warning(repo):
    _write(repo, "data/raw/arm_outcomes.csv", "study_id,arm_id,mean\nbb,ai,0.6\n")
    result = ch.changes(repo, "HEAD")
    assert result.stale
    assert "run `make pipeline` first" in result.to_markdown()


def test_findings_csv_is_the_source_when_both_revisions_have_it(repo):
    row = "ai_older_men,bmd_lumbar_spine,absolute,pooled,1,69,-0.028,-0.045,-0.011,low\n"
    _write(repo, ch.FINDINGS, FINDINGS_HEADER + row)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "findings")
    _write(repo, ch.FINDINGS, FINDINGS_HEADER + row.replace(",69,", ",71,"))
    result = ch.changes(repo, "HEAD")
    assert result.source == ch.FINDINGS
    assert [c.key for c in result.findings] == [("ai_older_men", "bmd_lumbar_spine", "absolute")]


def test_findings_csv_in_only_one_revision_falls_back_to_the_pooled_results(repo):
    _write(repo, ch.FINDINGS, FINDINGS_HEADER)
    assert ch.changes(repo, "HEAD").source == ch.POOLED


def test_a_removed_and_an_added_finding_are_both_listed(repo):
    rows = dict(POOLED)
    del rows[("ai_boys", "bone_age", "absolute")]
    rows[("ai_boys", "bmd_total_body", "absolute")] = "g/cm2,1,0.01,-0.01,0.03,"
    _write(repo, ch.POOLED, _pooled(rows))
    text = ch.changes(repo, "HEAD").to_markdown()
    assert "| ai_boys | bmd_total_body | absolute | new: 0.01 |" in text
    assert "| ai_boys | bone_age | absolute | -0.8, removed |" in text


def test_a_changed_study_effect_is_listed(repo):
    _write(repo, ch.EFFECTS, EFFECTS_HEADER + "bb,bmd_lumbar_spine,absolute,-0.03,-0.05,-0.01,,\n")
    result = ch.changes(repo, "HEAD")
    assert [c.key for c in result.effects] == [("bb", "bmd_lumbar_spine", "absolute")]


def test_an_unknown_revision_is_one_clear_error_and_exit_code_2(repo, capsys):
    with pytest.raises(ch.ChangesError, match="'nope' is not a revision of the git repository"):
        ch.changes(repo, "nope")
    assert cli_main(["changes", "nope", "--repo", str(repo)]) == 2
    assert "'nope' is not a revision" in capsys.readouterr().err


def test_the_command_prints_the_markdown_and_writes_it_to_output(repo, tmp_path, capsys):
    out = tmp_path / "summary.md"
    assert cli_main(["changes", "HEAD", "--repo", str(repo), "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("## What changed in the results: working tree against `HEAD`")
    assert out.read_text("utf-8") == printed


@pytest.mark.parametrize(
    ("value", "other", "shown"),
    [("-2.457627119", None, "-2.458"), ("-2.457627119", "-2.45763", "-2.457627"),
     ("", None, "–"), ("very_low", None, "very low"), ("1", "1.0", "1")],
)  # fmt: skip
def test_numbers_get_the_digits_that_tell_old_from_new(value, other, shown):
    assert ch.fmt(value, other) == shown
