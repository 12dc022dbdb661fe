"""The mutation check's bookkeeping (tests/mutation_ci.py): which survivors docs/testing.md
lists, when a kept run may be resumed, and what counts as finished.

mutmut itself is not run here (CI runs it through ``make mutation-ci``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import mutation_ci
import pytest

PYPROJECT = """[project]
name = "x"

[tool.mutmut]
source_paths = ["analysis/"]
only_mutate = [
    "analysis/a.py",
    "analysis/b.py",
]
also_copy = ["docs/"]
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A small git repository laid out like this one, with its files added to the index."""
    root = tmp_path / "repo"
    files = {
        "analysis/a.py": "def f():\n    return 1\n",
        "analysis/b.py": "def g():\n    return 2\n",
        "tests/test_a.py": "def test_f():\n    assert True\n",
        "docs/testing.md": "survivors\n",
        "docs/other.md": "read by a test\n",
        "README.md": "readme\n",
        "pyproject.toml": PYPROJECT,
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, "utf-8")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "."], cwd=root, check=True)
    return root


def test_survivor_lists_are_read_per_module_with_short_numbers_taking_the_last_function():
    text = "\n".join([
        "**conversions** (`analysis/conversions.py`)",
        "",
        "| mutant | change | why |",
        "|---|---|---|",
        "| `x_f__mutmut_3`, `_7`, `x_g__mutmut_1`, `_2` | `a` → `b` (`_9` here is prose) | r |",
        "outside a table: `x_h__mutmut_5`",
        "**tau2** (`analysis/tau2.py`)",
        "| `x_k__mutmut_12` | c | r |",
    ])  # fmt: skip
    listed = mutation_ci.documented_survivors(text)
    assert listed == {
        "conversions": {"x_f__mutmut_3", "x_f__mutmut_7", "x_g__mutmut_1", "x_g__mutmut_2"},
        "tau2": {"x_k__mutmut_12"},
    }


def test_the_narrowed_pyproject_mutates_only_the_chosen_modules():
    narrowed = mutation_ci.narrowed_pyproject(PYPROJECT, ["b", "c"])
    assert 'only_mutate = ["analysis/b.py", "analysis/c.py"]' in narrowed
    assert "analysis/a.py" not in narrowed
    assert narrowed.replace('["analysis/b.py", "analysis/c.py"]', "") == PYPROJECT.replace(
        '[\n    "analysis/a.py",\n    "analysis/b.py",\n]', ""
    )
    with pytest.raises(SystemExit, match="no only_mutate"):
        mutation_ci.narrowed_pyproject("[tool.other]\nonly_mutate = []\n", ["a"])


def test_the_run_key_changes_with_sources_tests_and_modules_but_not_the_survivor_list(repo):
    key = mutation_ci.run_key(["a"], repo)
    assert len(key) == 16

    def key_after(name: str, text: str) -> str:
        path = repo / name
        before = path.read_text("utf-8")
        path.write_text(text, "utf-8")
        try:
            return mutation_ci.run_key(["a"], repo)
        finally:
            path.write_text(before, "utf-8")

    assert key_after("docs/testing.md", "another list\n") == key
    assert key_after("README.md", "another readme\n") == key
    for changed in ("analysis/a.py", "analysis/b.py", "tests/test_a.py", "docs/other.md",
                    "pyproject.toml"):  # fmt: skip
        assert key_after(changed, "changed\n") != key, changed
    assert mutation_ci.run_key(["a"], repo) == key  # each change undone
    assert mutation_ci.run_key(["b"], repo) != key
    assert mutation_ci.run_key(["a", "b"], repo) != mutation_ci.run_key(["b", "a"], repo)
    (repo / "analysis" / "untracked.py").write_text("x = 1\n", "utf-8")
    assert mutation_ci.run_key(["a"], repo) == key


def test_a_kept_run_resumes_only_from_a_complete_copy_of_the_same_sources(repo, tmp_path):
    kept = tmp_path / "kept"
    work, resumed = mutation_ci.kept_copy(["a"], kept, repo)
    assert not resumed
    assert work.parent == kept and work.name == "a-" + mutation_ci.run_key(["a"], repo)
    assert (work / "analysis" / "a.py").read_text("utf-8") == "def f():\n    return 1\n"
    assert 'only_mutate = ["analysis/a.py"]' in (work / "pyproject.toml").read_text("utf-8")
    assert (work / mutation_ci.COPIED).exists()
    (work / "mutants").mkdir()
    (work / "mutants" / "result").write_text("a verdict", "utf-8")

    assert mutation_ci.kept_copy(["a"], kept, repo) == (work, True)
    assert (work / "mutants" / "result").exists()

    # a copy interrupted before its marker was written is made again, results and all
    (work / mutation_ci.COPIED).unlink()
    assert mutation_ci.kept_copy(["a"], kept, repo) == (work, False)
    assert not (work / "mutants").exists()

    other, _ = mutation_ci.kept_copy(["b"], kept, repo)
    (repo / "analysis" / "a.py").write_text("def f():\n    return 3\n", "utf-8")
    newer, resumed = mutation_ci.kept_copy(["a"], kept, repo)
    assert not resumed and newer != work
    assert (newer / "analysis" / "a.py").read_text("utf-8") == "def f():\n    return 3\n"
    assert not work.exists()  # the older sources' run can never be resumed
    assert other.exists()  # another module's run is left alone


def test_all_modules_are_kept_under_one_label(repo, tmp_path):
    work, _ = mutation_ci.kept_copy(list(reversed(mutation_ci.MODULES)), tmp_path, repo)
    assert work.name.startswith("all-")


def _meta(work: Path, module: str, codes: dict) -> None:
    folder = work / "mutants" / "analysis"
    folder.mkdir(parents=True, exist_ok=True)
    full = {f"analysis.{module}.{name}": code for name, code in codes.items()}
    (folder / f"{module}.py.meta").write_text(json.dumps({"exit_code_by_key": full}), "utf-8")


def test_mutants_stopped_mid_run_or_never_run_are_rerun(tmp_path):
    codes = {1: 1, 2: 0, 3: 33, 4: None, 5: -15, 6: -24}  # -15: stopped by SIGTERM
    _meta(tmp_path, "a", {f"x_f__mutmut_{i}": code for i, code in codes.items()})
    _meta(tmp_path, "b", {"x_g__mutmut_1": None})
    assert mutation_ci.unsettled(tmp_path, ["a"]) == ["analysis.a.x_f__mutmut_4",
                                                      "analysis.a.x_f__mutmut_5"]  # fmt: skip
    assert mutation_ci.unsettled(tmp_path, ["a", "b", "absent"]) == [
        "analysis.a.x_f__mutmut_4", "analysis.a.x_f__mutmut_5", "analysis.b.x_g__mutmut_1"
    ]  # fmt: skip


def test_the_check_fails_on_an_unlisted_survivor_a_missing_verdict_and_a_low_score(
    tmp_path, capsys
):
    listed = mutation_ci.documented_survivors(
        (mutation_ci.ROOT / "docs" / "testing.md").read_text("utf-8")
    )
    documented = sorted(listed["conversions"])[0]
    true = Path(shutil.which("true"))
    codes = {f"x_k__mutmut_{i}": 1 for i in range(1, 19)}
    codes |= {documented: 0, "x_new__mutmut_1": 0}
    _meta(tmp_path, "conversions", codes)
    assert mutation_ci.check(tmp_path, ["conversions"], 90.0, true) == [
        "conversions: x_new__mutmut_1 survives and docs/testing.md does not list it as "
        "equivalent (kill it with a test, or list it with the reason)"
    ]
    assert capsys.readouterr().out.splitlines()[0] == (
        "conversions: 20 mutants, 18 killed, 2 survived, 0 without tests, score 90.0%"
    )

    _meta(tmp_path, "conversions", codes | {"x_new__mutmut_1": 1, "x_k__mutmut_1": None})
    assert mutation_ci.check(tmp_path, ["conversions"], 95.0, true) == [
        "conversions: 1 mutants have no verdict (rerun to finish)",
        "conversions scores 94.7%, below 95%",
    ]
    assert capsys.readouterr().out.splitlines() == [
        "conversions: 20 mutants, 18 killed, 1 survived, 0 without tests, score 94.7%; "
        "1 without a verdict"
    ]
