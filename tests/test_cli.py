"""``python -m analysis``: the pool subcommand's JSON and its one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from analysis.cli import main, read_effects
from analysis.pooling import DICT_KEYS

BCG = [  # dat.bcg log risk ratios (metafor's escalc), first five trials
    ("Aronson", -0.88931133, 0.32558476),
    ("Ferguson & Simes", -1.58538866, 0.19458112),
    ("Rosenthal et al", -1.34807315, 0.41536797),
    ("Hart & Sutherland", -1.44155119, 0.02001003),
    ("Frimodt-Moller et al", -0.21754732, 0.05121017),
]


@pytest.fixture
def effects_csv(tmp_path):
    path = tmp_path / "effects.csv"
    rows = ["study,yi,vi"] + [f'"{s}",{y},{v}' for s, y, v in BCG]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_pool_prints_one_json_object_with_the_documented_keys(effects_csv, capsys):
    assert main(["pool", str(effects_csv), "--method", "DL", "--test", "knha"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    result = json.loads(out)
    assert tuple(result) == DICT_KEYS
    assert result["k"] == 5
    assert result["method"] == "DL"
    assert result["test"] == "knha"
    assert result["tau2"] > 0
    assert result["ci_low"] < result["estimate"] < result["ci_high"]


def test_pool_writes_null_for_undefined_values(effects_csv, capsys):
    assert main(["pool", str(effects_csv), "--method", "FE"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["tau2_ci_low"] is None
    assert result["pi_low"] is None


def test_level_changes_the_interval(effects_csv, capsys):
    main(["pool", str(effects_csv), "--level", "0.95"])
    wide = json.loads(capsys.readouterr().out)
    main(["pool", str(effects_csv), "--level", "0.80"])
    narrow = json.loads(capsys.readouterr().out)
    assert narrow["ci_high"] - narrow["ci_low"] < wide["ci_high"] - wide["ci_low"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "row 1, column yi: empty file"),
        ("study,yi,vi\n", "row 2, column yi: no data rows"),
        ("study,yi\nA,0.1\n", "row 1, column vi: missing"),
        ("study,yi,vi\nA,0.1,0.01\nB,abc,0.02\n", "row 3, column yi: 'abc' is not a number"),
        ("study,yi,vi\nA,0.1,0.01\nB,0.2,\n", "row 3, column vi: empty value is not a number"),
        ("yi,vi\n0.1,0.01\n0.2,0\n", "row 3, column vi: 0 is not > 0"),
        ("yi,vi\n0.1,-0.5\n", "row 2, column vi: -0.5 is not > 0"),
        ("yi,vi\n0.1,0.01\nnan,0.02\n", "row 3, column yi: 'nan' is not a finite number"),
    ],
)
def test_bad_file_gives_one_line_naming_file_row_and_column(tmp_path, capsys, content, expected):
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    assert main(["pool", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(str(path))
    assert expected in lines[0]


def test_missing_file_is_reported_with_exit_code_2(tmp_path, capsys):
    assert main(["pool", str(tmp_path / "absent.csv")]) == 2
    assert "absent.csv: cannot read file" in capsys.readouterr().err


def test_read_effects_labels_rows_without_a_study_column(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("yi,vi\n0.1,0.01\n\n0.3,0.02\n", encoding="utf-8")
    yi, vi, study = read_effects(path)
    assert yi == [0.1, 0.3]
    assert vi == [0.01, 0.02]
    assert study == ["row 2", "row 4"]


def test_unknown_method_is_refused_by_argparse(effects_csv, capsys):
    with pytest.raises(SystemExit, match="2"):
        main(["pool", str(effects_csv), "--method", "XX"])
    assert "invalid choice" in capsys.readouterr().err


def test_module_help_lists_all_subcommands():
    proc = subprocess.run(
        [sys.executable, "-m", "analysis", "--help"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0
    for command in ("pool", "validate", "dictionary"):
        assert command in proc.stdout


def test_delegated_subcommand_receives_the_remaining_arguments(monkeypatch):
    import types

    seen = {}
    fake = types.ModuleType("analysis.dictionary")
    fake.main = lambda argv: seen.setdefault("argv", argv) and 0
    monkeypatch.setitem(sys.modules, "analysis.dictionary", fake)
    assert main(["dictionary", "--format", "md", "out.md"]) == 0
    assert seen["argv"] == ["--format", "md", "out.md"]
