"""``python -m analysis``: the pool subcommand's JSON and its one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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


# --- hostile and extreme input (issue 10): one line and exit code 2, never a traceback -------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("yi,vi,yi\n0.1,0.01,0.2\n", "row 1, column yi: appears more than once (columns 1 and 3)"),
        ("yi,vi\n1_000,0.01\n", "row 2, column yi: '1_000' is not a number"),
        ("yi,vi\n\u0661\u0668,0.01\n", "row 2, column yi: '\u0661\u0668' is not a number"),
        ("yi,vi\n0.1,\uff10.01\n", "row 2, column vi: '\uff10.01' is not a number"),
        ("yi,vi\n1e400,0.01\n", "row 2, column yi: '1e400' is not a finite number"),
        ("yi,vi\n1e300,1\n2e300,1\n", "row 2, column yi: 1e300 is beyond +-1e+50; rescale"),
        ("yi,vi\n0.5,1e-320\n0.7,1e-320\n", "row 2, column vi: 1e-320 is outside 1e-50 to 1e+50"),
        ("yi,vi\n0.5,1e300\n", "row 2, column vi: 1e300 is outside 1e-50 to 1e+50"),
    ],
)
def test_unusable_numbers_and_columns_are_refused_with_one_line(
    tmp_path, capsys, content, expected
):
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    assert main(["pool", str(path), "--method", "DL"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.strip().splitlines()
    assert line.startswith(f"{path} {expected}")


@pytest.mark.parametrize("method", ["FE", "DL", "REML", "PM", "SJ"])
@pytest.mark.parametrize(
    "rows",
    [
        [(1e50, 1e-50), (-1e50, 1e-50), (3.0, 1e50)],
        [(1e-50, 1e-50), (1e50, 1e50)],
        [(0.5, 1e-50), (0.7, 1e-50)],
        [(1e49, 1e-50), (0.0, 1e50), (-1e49, 1.0)],
    ],
)
def test_extreme_but_accepted_inputs_give_a_finite_answer_or_one_line(
    tmp_path, capsys, method, rows
):
    path = tmp_path / "extreme.csv"
    path.write_text("yi,vi\n" + "".join(f"{y!r},{v!r}\n" for y, v in rows), encoding="utf-8")
    code = main(["pool", str(path), "--method", method])
    captured = capsys.readouterr()
    if code == 0:
        result = json.loads(captured.out)
        assert all(isinstance(result[k], float) for k in ("estimate", "se", "ci_low", "ci_high"))
    else:
        assert code == 2
        assert captured.out == ""
        assert captured.err.startswith(f"{path}: {method} ")
        assert len(captured.err.strip().splitlines()) == 1


@pytest.mark.parametrize("target", ["/dev/zero", "directory"])
def test_a_device_or_directory_is_refused_without_reading_it(tmp_path, capsys, target):
    path = tmp_path if target == "directory" else Path(target)
    if not path.exists():
        pytest.skip(f"{path} does not exist here")
    assert main(["pool", str(path)]) == 2
    assert capsys.readouterr().err == (
        f"{path}: not a regular file; give a CSV file with columns yi and vi\n"
    )


@pytest.mark.parametrize("schema", ["absent.yaml", "not_a_contract.yaml"])
def test_validate_with_a_missing_or_wrong_schema_prints_one_line(tmp_path, capsys, schema):
    (tmp_path / "not_a_contract.yaml").write_text("- just\n- a list\n", encoding="utf-8")
    path = tmp_path / schema
    assert main(["validate", str(tmp_path), "--schema", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{path}: not a usable data contract (")
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
