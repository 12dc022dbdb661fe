"""The Makefile as a user meets it: `make` lists the targets, `clean-venv` removes the venv."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MAKE = shutil.which("make")

pytestmark = pytest.mark.skipif(MAKE is None, reason="make is not installed")


def _make(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([MAKE, "--no-print-directory", "-C", str(REPO), *args],
                          capture_output=True, text=True, check=False)  # fmt: skip


def test_make_alone_lists_every_phony_target_with_one_line_each():
    result = _make()
    assert result.returncode == 0, result.stderr
    phony = re.search(r"^\.PHONY:(.*)$", (REPO / "Makefile").read_text(), re.M)[1].split()
    listed = dict(re.findall(r"^  (\S+) +(\S.*)$", result.stdout, re.M))
    assert sorted(listed) == sorted(phony)
    assert _make("help").stdout == result.stdout


def test_clean_venv_deletes_the_environment(tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / ".installed").touch()
    result = _make("clean-venv", f"VENV={venv}")
    assert result.returncode == 0, result.stderr
    assert not venv.exists()


@pytest.mark.parametrize("changed", ["requirements.lock", "requirements-uv.lock", "pyproject.toml"])
def test_a_changed_lock_file_or_pyproject_sets_up_the_environment_again(changed, tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / ".installed").touch()
    assert _make("-q", "setup", f"VENV={venv}").returncode == 0  # up to date
    dry = _make("-n", "-W", changed, "setup", f"VENV={venv}")
    assert f"-m venv {venv}" in dry.stdout
    assert "uv pip install" in dry.stdout and "--require-hashes -r requirements.lock" in dry.stdout
