"""Shared fixtures: small named inputs and temporary copies of shipped data."""

import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
RAW_DIR = REPO_ROOT / "data" / "raw"


@pytest.fixture
def raw_copy(tmp_path: Path) -> Path:
    """A temporary copy of the shipped ``data/raw/`` (CSV tables only) to edit freely."""
    target = tmp_path / "data" / "raw"
    target.mkdir(parents=True)
    for path in sorted(RAW_DIR.glob("*.csv")):
        shutil.copy2(path, target / path.name)
    return target
