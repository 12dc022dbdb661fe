"""analysis.config: the pipeline's configuration is data, checked against its schema, the data
contract and the repository, and the workflow reads it only through this loader."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO_ROOT

from analysis.config import ConfigError, load_config, read_strict_yaml

CONFIG = REPO_ROOT / "config" / "config.yaml"
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def edited(tmp_path: Path, old: str, new: str) -> Path:
    text = CONFIG.read_text("utf-8")
    assert old in text, old
    return write_config(tmp_path, text.replace(old, new, 1))


def test_the_shipped_config_loads():
    config = load_config(CONFIG, root=REPO_ROOT)
    assert config["outcomes"]["primary"] == "bmd_lumbar_spine"
    assert config == yaml.safe_load(CONFIG.read_text("utf-8"))


def test_a_yte_template_is_refused_not_run(tmp_path):
    marker = tmp_path / "ran"
    path = write_config(
        tmp_path,
        f"__use_yte__: true\n?if __import__('os').system('touch {marker}') == 0:\n  x: 1\n",
    )
    with pytest.raises(ConfigError, match=r"__use_yte__: templates are not allowed"):
        read_strict_yaml(path)
    assert not marker.exists()


def test_a_duplicate_key_is_refused_with_both_lines(tmp_path):
    path = write_config(tmp_path, "pooling:\n  method: REML\n  method: DL\n")
    with pytest.raises(
        ConfigError, match=r"line 3: key 'method' is given twice \(first on line 2\)"
    ):
        read_strict_yaml(path)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("a: !!python/object/apply:os.system ['true']\n", "a tag"),
        ("a: !custom 1\n", "a tag"),
        ("a: &x 1\nb: *x\n", "an anchor"),
    ],
)
def test_tags_anchors_and_aliases_are_refused(tmp_path, text, kind):
    path = write_config(tmp_path, text)
    with pytest.raises(ConfigError, match=rf"line 1: {kind} is not allowed"):
        read_strict_yaml(path)


def test_a_misspelt_primary_outcome_is_refused_with_a_suggestion(tmp_path):
    path = edited(tmp_path, "primary: bmd_lumbar_spine", "primary: bmd_lumbar_spin")
    with pytest.raises(
        ConfigError,
        match=r"outcomes.primary: 'bmd_lumbar_spin' is not an outcome of the data contract "
        r"\(did you mean 'bmd_lumbar_spine'\?\)",
    ):
        load_config(path, root=REPO_ROOT)


def test_an_unknown_canonical_unit_is_refused(tmp_path):
    path = edited(tmp_path, "estradiol: pmol/L", "estradiol: mmol/L")
    with pytest.raises(
        ConfigError,
        match=r"canonical_units.estradiol: 'mmol/L' is not a unit of estradiol in the data "
        r"contract \(plausible_ranges\); allowed: [^\n]*pmol/L",
    ):
        load_config(path, root=REPO_ROOT)


def test_a_minimum_k_below_two_is_refused(tmp_path):
    path = edited(tmp_path, "min_k_meta_regression: 3", "min_k_meta_regression: 1")
    with pytest.raises(ConfigError, match=r"few_studies.min_k_meta_regression: 1 is less than"):
        load_config(path, root=REPO_ROOT)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/etc", "'/etc' is outside the repository"),
        ("../..", "'../..' is outside the repository"),
        ("data/nowhere", "'data/nowhere' is not a directory of the repository"),
    ],
)
def test_a_raw_path_outside_the_repository_is_refused(tmp_path, raw, expected):
    path = edited(tmp_path, "raw: data/raw", f"raw: {raw}")
    with pytest.raises(ConfigError, match=rf"paths.raw: {expected}"):
        load_config(path, root=REPO_ROOT)


def test_command_line_values_are_merged_on_top_and_checked(tmp_path):
    config = load_config(CONFIG, {"pooling": {"method": "DL"}}, root=REPO_ROOT)
    assert config["pooling"]["method"] == "DL"
    assert config["pooling"]["test"] == "knha"
    with pytest.raises(ConfigError, match=r"pooling.method: 'XX' is not one of"):
        load_config(CONFIG, {"pooling": {"method": "XX"}}, root=REPO_ROOT)


@pytest.fixture
def workflow_copy(tmp_path):
    """The tracked files of the repository with data/raw (its outputs too), for dry runs."""
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True,
                             check=True).stdout.decode().split("\0")  # fmt: skip
    for name in [*tracked, *(f"data/raw/{p.name}" for p in (REPO_ROOT / "data/raw").glob("*"))]:
        source = REPO_ROOT / name
        if name and source.is_file():
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, tmp_path / name)
    return tmp_path


def dry_run(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [SNAKEMAKE, "--cores", "1", "--dry-run", "--forceall", *args],
        cwd=root, capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_the_workflow_refuses_a_yte_config_before_any_job(workflow_copy):
    marker = workflow_copy / "ran"
    config = workflow_copy / "config/config.yaml"
    config.write_text(
        f"__use_yte__: true\n?if __import__('os').system('touch {marker}') == 0:\n  x: 1\n"
        + config.read_text("utf-8"),
        encoding="utf-8",
    )
    result = dry_run(workflow_copy)
    assert result.returncode != 0
    assert "__use_yte__: templates are not allowed" in result.stderr + result.stdout
    assert not marker.exists()


def test_every_rule_reads_the_raw_directory_that_is_validated(workflow_copy):
    shutil.copytree(workflow_copy / "data/raw", workflow_copy / "data/raw_copy")
    result = dry_run(workflow_copy, "--config", "paths={raw: data/raw_copy}")
    assert result.returncode == 0, result.stderr[-2000:]
    inputs = [line for line in result.stdout.splitlines() if line.strip().startswith("input:")]
    assert any("data/raw_copy/arms.csv" in line for line in inputs)
    assert not any("data/raw/" in line for line in inputs), "a rule still reads data/raw"
