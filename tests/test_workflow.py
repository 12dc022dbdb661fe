"""The workflow as a user runs it: Snakemake on a temporary copy of the repository.

One module-scoped copy is run cold (default target: the report), then re-run, edited and
broken in turn; the statistics themselves are tested on ``analysis`` directly. Also here:
the deterministic, atomic writers of ``analysis.io`` that the workflow relies on.
"""

import csv
import hashlib
import io as stdio
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis import io

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
TARGETS = [
    "data/processed/validate/validated.json",
    "data/processed/pool/pooled.csv",
    "data/processed/pool/weights.csv",
    "data/processed/pool/small_study.csv",
    "data/processed/pool/bayes.csv",
    "data/processed/effects/derivations.csv",
    "data/processed/effects/reported_in_words.csv",
    "data/processed/effects/hormone_changes.csv",
    "data/processed/cases/summary.csv",
    "data/processed/regression/bmd_vs_estradiol.csv",
    "data/processed/sensitivity/grid.csv",
]
#: The processed-file contract of docs/architecture.md: file -> (key, required columns).
CONTRACT = {
    "harmonize/arm_outcomes.csv": (
        ["study_id", "arm", "outcome", "timepoint_months", "measure"],
        ["unit", "unit_canonical", "mean", "sd"],
    ),
    "harmonize/patient_observations.csv": (
        ["study_id", "patient_id", "outcome", "timepoint_months", "phase"],
        ["value", "unit_canonical"],
    ),
    "effects/effects.csv": (
        ["study_id", "outcome", "scale"],
        ["label", "year", "evidence_line", "design", "unit", "yi", "vi", "sei", "ci_low",
         "ci_high", "n_treatment", "n_control", "derived", "derivation_ids", "rob_overall"],
    ),
    "effects/derivations.csv": (
        ["derivation_id"],
        ["study_id", "outcome", "scale", "step", "method", "inputs", "assumptions", "value",
         "reference"],
    ),
    "effects/reported_in_words.csv": (
        ["study_id", "outcome"],
        ["label", "evidence_line", "timepoint_months", "reported_text", "p_value",
         "p_value_bound", "source", "location"],
    ),
    "pool/pooled.csv": (
        ["evidence_line", "outcome", "scale"],
        ["k", "pooled", "method", "test", "level", "estimate", "se", "ci_low", "ci_high",
         "pvalue", "tau2", "tau2_ci_low", "tau2_ci_high", "i2", "h2", "q", "q_df", "q_pvalue",
         "pi_low", "pi_high", "converged", "note"],
    ),
    "effects/not_estimable.csv": (
        ["study_id", "outcome", "scale"],
        ["label", "evidence_line", "timepoint_months", "reason"],
    ),
    "effects/hormone_changes.csv": (
        ["study_id", "arm", "outcome"],
        ["role", "compared", "unit", "unit_reported", "factor_baseline", "factor_follow_up",
         "baseline", "follow_up", "months", "change", "percent_change", "source_rows"],
    ),
    "pool/weights.csv": (["evidence_line", "outcome", "scale", "study_id"], ["weight"]),
    "pool/bayes.csv": (
        ["evidence_line", "outcome", "scale"],
        ["unit", "k", "tau_prior_scale", "mu_median", "mu_low", "mu_high", "tau_median",
         "tau_low", "tau_high", "pred_median", "pred_low", "pred_high", "reml_estimate",
         "reml_ci_low", "reml_ci_high"],
    ),
    "cases/patient_changes.csv": (
        ["patient_id", "outcome"],
        ["study_ids", "unit", "value_before", "value_after", "months", "change",
         "percent_change", "regimen", "dose", "estradiol_before", "estradiol_after",
         "estradiol_unit"],
    ),
    "cases/summary.csv": (["outcome"], ["n_patients", "change_median", "change_min"]),
    "regression/bmd_vs_estradiol.csv": (
        ["source_id", "outcome", "scale"],
        ["evidence_line", "bmd_effect", "estradiol_change", "estradiol_basis",
         "estradiol_months"],
    ),
    "sensitivity/grid.csv": (
        ["outcome", "evidence_line", "scale", "method", "test", "r", "inclusion"],
        ["estimate", "ci_low", "ci_high", "k", "direction", "excludes_zero",
         "conclusion_changed"],
    ),
}  # fmt: skip


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [SNAKEMAKE, "--cores", "2", *args], cwd=workdir, capture_output=True, text=True,
        check=False,
    )  # fmt: skip


def digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def scheduled(result: subprocess.CompletedProcess) -> set[str]:
    """Rules of the jobs a dry run would execute."""
    return set(re.findall(r"^(?:local)?rule (\w+):", result.stdout + result.stderr, re.M))


#: Committed outputs of the workflow, left out of the copy so that its run is cold.
GENERATED = ("data/processed/", "reports/figures/", "reports/tables/", "reports/report.html",
             "reports/report.pdf")  # fmt: skip
#: git blob ids of data/processed/ right after the cold run (later tests edit the copy).
COLD_PROCESSED: dict[str, str] = {}


def blob_ids(folder: Path, root: Path) -> dict[str, str]:
    """``{path relative to root: git blob id}`` of every file under ``folder``."""
    files = sorted(str(p.relative_to(root)) for p in folder.rglob("*") if p.is_file())
    if not files:
        return {}
    ids = subprocess.run(["git", "hash-object", "--", *files], cwd=root, capture_output=True,
                         text=True, check=True).stdout.split()  # fmt: skip
    return dict(zip(files, ids, strict=True))


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """A copy of the tracked files of the repository (data/raw included), run cold once."""
    root = tmp_path_factory.mktemp("repo")
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True,
                             check=True).stdout.decode().split("\0")  # fmt: skip
    for name in [*tracked, *(str(p.relative_to(REPO)) for p in (REPO / "data/raw").glob("*"))]:
        source = REPO / name
        if name and source.is_file() and not name.startswith(GENERATED):
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / name)
    result = snakemake(root)
    assert result.returncode == 0, result.stderr[-3000:]
    COLD_PROCESSED.update(blob_ids(root / "data/processed", root))
    return root


@pytest.mark.workflow
def test_a_cold_run_makes_the_report_and_every_processed_file_of_the_contract(repo):
    assert (repo / "reports/report.html").stat().st_size > 0
    assert (repo / "reports/report.pdf").read_bytes().startswith(b"%PDF")
    for name, (key, columns) in CONTRACT.items():
        path = repo / "data/processed" / name
        text = path.read_text("utf-8")
        assert "\r" not in text, name
        frame = pd.read_csv(stdio.StringIO(text), keep_default_na=False)
        assert set(key) | set(columns) <= set(frame.columns), name
        ordered = frame.sort_values(key, kind="mergesort").reset_index(drop=True)
        pd.testing.assert_frame_equal(frame, ordered, obj=f"{name} sorted by {key}")
    validated = (repo / "data/processed/validate/validated.json").read_text("utf-8")
    for table in (repo / "data/raw").glob("*.csv"):
        assert hashlib.sha256(table.read_bytes()).hexdigest() in validated


@pytest.mark.workflow
def test_a_cold_run_reproduces_the_committed_processed_files_byte_for_byte(repo):
    # data/processed/ is committed; a change to the data, the config or the code without
    # regenerating it fails here. The report (HTML/PDF) holds software versions: not checked.
    listed = subprocess.run(["git", "ls-files", "-s", "--", "data/processed"], cwd=REPO,
                            capture_output=True, text=True, check=True).stdout  # fmt: skip
    committed = {line.split("\t", 1)[1]: line.split()[1] for line in listed.splitlines()}
    assert committed, "data/processed/ is not committed"
    assert sorted(COLD_PROCESSED) == sorted(committed), "regenerate and commit data/processed"
    changed = sorted(name for name, blob in committed.items() if COLD_PROCESSED[name] != blob)
    assert not changed, f"out of date (regenerate and commit): {changed}"


@pytest.mark.workflow
def test_the_study_table_shows_each_trials_hormone_change_and_bmd_effect(repo):
    from analysis.report.tables import fmt_ci, fmt_num, md_escape

    studies = (repo / "reports/tables/studies.md").read_text("utf-8")
    hormones = io.read_processed(repo / "data/processed/effects/hormone_changes.csv")
    shown = hormones.loc[hormones["compared"]]
    assert len(shown), "no trial arm with a hormone before and after"
    for h in shown.itertuples():
        text = f"{md_escape(fmt_num(h.baseline, 1))} → {md_escape(fmt_num(h.follow_up, 1))}"
        assert text in studies, (h.study_id, h.arm, h.outcome)
    effects = io.read_processed(repo / "data/processed/effects/effects.csv")
    for e in effects.loc[effects["outcome"].str.startswith("bmd_")].itertuples():
        assert md_escape(fmt_ci(e.yi, e.ci_low, e.ci_high)) in studies, e.study_id


@pytest.mark.workflow
def test_rerunning_gives_byte_identical_outputs(repo):
    before = digests(repo / "data/processed")
    assert "Nothing to be done" in snakemake(repo, "--dry-run").stdout
    result = snakemake(repo, "--forceall", *TARGETS)
    assert result.returncode == 0, result.stderr[-3000:]
    assert digests(repo / "data/processed") == before


def _treatment_mean_cell(repo: Path) -> tuple[str, str, str, int]:
    """(evidence_line, outcome, scale, line) of the treatment arm's follow-up mean behind
    the first absolute-scale arm-level effect, found through the derivation ledger."""
    effects = pd.read_csv(repo / "data/processed/effects/effects.csv")
    ledger = pd.read_csv(repo / "data/processed/effects/derivations.csv").set_index("derivation_id")
    arm_level = effects.loc[effects["route"].isin(["b", "c", "d"])
                            & (effects["scale"] == "absolute")]  # fmt: skip
    if arm_level.empty:
        pytest.skip("the shipped data have no arm-level effect to edit")
    effect = arm_level.iloc[0]
    steps = ledger.loc[effect["derivation_ids"].split(";")]
    md_step = steps.loc[steps["method"].str.startswith("md_of_")].iloc[0]
    cells = [c.split(":") for c in md_step["inputs"].split(";")]
    treatment = cells[: len(cells) // 2]  # the MD step lists treatment cells first
    line = [int(row) for _, row, column in treatment if column == "mean"][-1]
    return effect["evidence_line"], effect["outcome"], effect["scale"], line


@pytest.mark.workflow
def test_editing_one_value_reruns_only_its_chain_and_moves_the_estimate(repo):
    line_, outcome, scale, line = _treatment_mean_cell(repo)
    pooled = pd.read_csv(repo / "data/processed/pool/pooled.csv")
    group = (
        (pooled["evidence_line"] == line_)
        & (pooled["outcome"] == outcome)
        & (pooled["scale"] == scale)
    )
    before = pooled.loc[group, "estimate"].item()

    path = repo / "data/raw/arm_outcomes.csv"
    rows = list(csv.reader(path.read_text("utf-8").splitlines()))
    header = rows[0]
    record = rows[line - 1]  # line numbers count the header as 1
    sd = float(record[header.index("sd")] or 1.0)
    record[header.index("mean")] = repr(float(record[header.index("mean")]) - 2 * sd)
    out = stdio.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), "utf-8")
    cases_before = digests(repo / "data/processed/cases")

    dry = snakemake(repo, "--dry-run", *TARGETS)
    assert scheduled(dry) == {"validate", "validate_trials", "harmonize_arms", "effects",
                              "hormone_changes", "pool", "sensitivity",
                              "regression"}  # fmt: skip
    result = snakemake(repo, *TARGETS)
    assert result.returncode == 0, result.stderr[-3000:]
    pooled = pd.read_csv(repo / "data/processed/pool/pooled.csv")
    assert pooled.loc[group, "estimate"].item() < before
    assert digests(repo / "data/processed/cases") == cases_before


@pytest.mark.workflow
def test_a_malformed_raw_table_stops_the_run_at_validation_and_changes_nothing(repo):
    snakemake(repo, *TARGETS)
    before = digests(repo / "data/processed")
    path = repo / "data/raw/arm_outcomes.csv"
    rows = list(csv.reader(path.read_text("utf-8").splitlines()))
    sd = rows[0].index("sd")
    line = next(i for i, r in enumerate(rows[1:], start=2) if r[sd])
    rows[line - 1][sd] = "-0.5"
    out = stdio.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), "utf-8")

    result = snakemake(repo, *TARGETS)
    assert result.returncode != 0
    message = f"row {line}, column sd: -0.5 is negative"
    assert message in result.stderr + result.stdout
    assert "Error in rule validate" in result.stderr + result.stdout
    assert not re.search(r"^rule (harmonize|effects|pool)", result.stdout + result.stderr, re.M)
    assert digests(repo / "data/processed") == before


def test_write_csv_sorts_by_key_and_formats_floats_and_booleans(tmp_path):
    frame = pd.DataFrame({"id": ["b", "a", "c"], "x": [1 / 3, 2.0, float("nan")],
                          "flag": [True, False, True]})  # fmt: skip
    io.write_csv(frame, tmp_path / "out.csv", key=["id"])
    assert (tmp_path / "out.csv").read_bytes() == (
        b"id,x,flag\na,2,false\nb,0.3333333333,true\nc,,true\n"
    )


def test_write_csv_gives_identical_bytes_whatever_the_input_order(tmp_path):
    frame = pd.DataFrame({"k": [3, 1, 2], "v": [0.1, 0.2, 0.3]})
    io.write_csv(frame, tmp_path / "a.csv", key=["k"])
    io.write_csv(frame.iloc[::-1], tmp_path / "b.csv", key=["k"])
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_a_failed_write_leaves_the_previous_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.json"
    io.write_json({"b": 1, "a": [1.5, float("nan")]}, target)
    assert target.read_text("utf-8") == '{\n  "a": [\n    1.5,\n    null\n  ],\n  "b": 1\n}\n'
    with pytest.raises(TypeError, match="not JSON serializable"):
        io.write_json({"a": object()}, target)
    assert target.read_text("utf-8").startswith('{\n  "a"')
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_read_table_keeps_line_numbers_of_records_spanning_lines(tmp_path):
    path = tmp_path / "arms.csv"
    path.write_text(
        "study_id,arm,role,description,n_randomized,source,location,note\n"
        's1,a,treatment,"two\nlines",10,PMID:1,Abstract,\n'
        "s1,b,control,one line,12,PMID:1,Abstract,\n",
        "utf-8",
    )
    frame = io.read_table(path)
    assert frame["source_row"].tolist() == [2, 4]
    assert str(frame["n_randomized"].dtype) == "Int64"


def test_read_processed_keeps_number_like_identifiers_as_text(tmp_path):
    frame = pd.DataFrame({"study_id": ["2009", "0042"], "outcome": ["1", "2"],
                          "yi": [0.5, 1.0], "derived": [True, False]})  # fmt: skip
    io.write_csv(frame, tmp_path / "effects.csv", key=["study_id"])
    back = io.read_processed(tmp_path / "effects.csv")
    assert back["study_id"].tolist() == ["0042", "2009"]
    assert back["outcome"].tolist() == ["2", "1"]
    assert back["derived"].tolist() == [False, True]
    assert back["yi"].dtype == float
