"""The workflow as a user runs it: Snakemake on a temporary copy of the repository.

One module-scoped copy is run cold (default target: the report), then re-run, edited and
broken in turn; the statistics themselves are tested on ``analysis`` directly. Also here:
the deterministic, atomic writers of ``analysis.io`` that the workflow relies on.
"""

import csv
import hashlib
import io as stdio
import json
import random
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
    "data/processed/findings/findings.csv",
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
#: git blob ids of data/processed/ and of the generated reports/ files right after the cold
#: run (later tests edit the copy).
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
    COLD_PROCESSED.update(generated_reports(root))
    return root


def generated_reports(root: Path) -> dict[str, str]:
    """git blob ids of the generated files under reports/ (figures, tables, HTML, PDF)."""
    ids = blob_ids(root / "reports", root)
    return {name: blob for name, blob in ids.items() if name.startswith(GENERATED)}


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
def test_a_cold_run_reproduces_the_committed_outputs_byte_for_byte(repo):
    # data/processed/ and the generated reports/ files are committed; a change to the data,
    # the config or the code without regenerating them fails here.
    listed = subprocess.run(["git", "ls-files", "-s", "--", "data/processed", "reports"],
                            cwd=REPO, capture_output=True, text=True,
                            check=True).stdout  # fmt: skip
    committed = {line.split("\t", 1)[1]: line.split()[1] for line in listed.splitlines()}
    committed = {name: blob for name, blob in committed.items() if name.startswith(GENERATED)}
    assert any(name.startswith("data/processed/") for name in committed), "not committed"
    assert "reports/report.pdf" in committed, "reports/ is not committed"
    assert sorted(COLD_PROCESSED) == sorted(committed), "regenerate and commit the outputs"
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
    assert scheduled(dry) == {"validate", "validate_trials", "harmonize_arms", "consistency",
                              "effects", "hormone_changes", "pool", "sensitivity",
                              "regression", "findings"}  # fmt: skip
    result = snakemake(repo, *TARGETS)
    assert result.returncode == 0, result.stderr[-3000:]
    pooled = pd.read_csv(repo / "data/processed/pool/pooled.csv")
    assert pooled.loc[group, "estimate"].item() < before
    assert digests(repo / "data/processed/cases") == cases_before


def _set_cell(path: Path, where, column: str, value: str) -> int:
    """Set ``column`` of the first row satisfying ``where``; return its line (header = 1)."""
    header, records = _read_records(path)
    index = next(i for i, (_, r) in enumerate(records) if where(dict(zip(header, r, strict=True))))
    records[index][1][header.index(column)] = value
    _write_records(path, header, [r for _, r in records])
    return records[index][0]


def _read_records(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and (first line, fields) of each record; quoted cells may span lines."""
    reader = csv.reader(stdio.StringIO(path.read_text("utf-8"), newline=""))
    header = next(reader)
    records = []
    while True:
        start = reader.line_num + 1
        try:
            records.append((start, next(reader)))
        except StopIteration:
            return header, records


def _write_records(path: Path, header: list[str], rows: list[list[str]]) -> None:
    out = stdio.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *rows])
    path.write_text(out.getvalue(), "utf-8")


INVALID_EDITS = {
    # table, which row, column, value, the message's tail. The first is read by the
    # controlled-study chain (validate_trials); the second only by rule validate.
    "p_value_above_one": ("contrasts.csv", lambda r: r["study_id"].startswith("burnett_bowie")
                          and r["p_value"] != "", "p_value", "1.4",
                          "1.4 is above the maximum; a p-value must be <= 1"),
    # screening.csv is covered by rule validate only (no chain reads it but the report)
    "unknown_screening_stage": ("screening.csv", lambda r: True, "stage", "screend",
                                "'screend' is not an allowed stage"),
}  # fmt: skip


@pytest.mark.workflow
@pytest.mark.parametrize("name", sorted(INVALID_EDITS))
def test_an_invalid_table_fails_every_run_with_one_readable_report_and_builds_nothing(repo, name):
    restore_raw(repo)
    assert snakemake(repo).returncode == 0
    before = digests(repo / "data/processed")
    reports_before = generated_reports(repo)
    table, where, column, value, tail = INVALID_EDITS[name]
    path = repo / "data/raw" / table
    original = path.read_bytes()
    try:
        line = _set_cell(path, where, column, value)
        message = f"data/raw/{table} row {line}, column {column}: {tail}"
        for attempt in (1, 2):  # the second run must not take the restored record for success
            result = snakemake(repo)
            output = result.stdout + result.stderr
            assert result.returncode != 0, f"run {attempt} succeeded on invalid data"
            assert output.count(message) == 1, (attempt, output[-3000:])
            assert "does not satisfy the data contract" in output
            assert "Traceback" not in output
            assert not re.search(r"^rule (harmonize|effects|pool|report)", output, re.M)
            assert not (repo / "data/processed/validate/validated.json").exists()
        after = digests(repo / "data/processed")
        assert {k: v for k, v in after.items() if not k.startswith("validate/")} == {
            k: v for k, v in before.items() if not k.startswith("validate/")
        }
        assert generated_reports(repo) == reports_before
    finally:
        path.write_bytes(original)


def test_a_chain_validation_record_holds_only_its_own_tables(raw_copy, tmp_path):
    from analysis import steps

    chain = [raw_copy / n for n in ("studies.csv", "patients.csv", "patient_observations.csv")]
    steps.validate(tables=chain, validated=tmp_path / "cases.json")
    record = json.loads((tmp_path / "cases.json").read_text("utf-8"))
    assert sorted(record["rows"]) == sorted(record["files"]) == sorted(p.name for p in chain)
    with (raw_copy / "screening.csv").open("a", encoding="utf-8") as handle:
        handle.write("rec_extra,Another record,,,database,screening,excluded,,not about bone\n")
    steps.validate(tables=chain, validated=tmp_path / "again.json")
    assert (tmp_path / "again.json").read_bytes() == (tmp_path / "cases.json").read_bytes()


# --- incremental runs equal fresh runs --------------------------------------------------------


def _scale(rng: random.Random, path: Path, column: str, keep) -> str:
    """Multiply one random non-blank ``column`` cell (rows where ``keep``) by 0.97-1.03, in
    the table and in the second extraction (extraction_2.csv), as a corrected value is."""
    header, records = _read_records(path)
    rows = [r for _, r in records]
    chosen = rng.choice(
        [r for r in rows if r[header.index(column)] and keep(dict(zip(header, r, strict=True)))]
    )
    old = float(chosen[header.index(column)])
    new = f"{old * rng.uniform(0.97, 1.03):.4g}"
    chosen[header.index(column)] = new
    _write_records(path, header, rows)
    second = path.parent / "extraction_2.csv"
    if second.exists():
        key = io.contract()["tables"][path.name]["key"]
        row_key = "|".join(chosen[header.index(c)] for c in key)
        header2, records2 = _read_records(second)
        rows2 = [r for _, r in records2]
        for r in rows2:
            cells = dict(zip(header2, r, strict=True))
            if (cells["table"], cells["row_key"], cells["column"]) == (path.name, row_key, column):
                r[header2.index("value")] = new
        _write_records(second, header2, rows2)
    return f"{path.name}: {column} {old:g} -> {new}"


def restore_raw(repo: Path) -> None:
    """data/raw of the copy as shipped (earlier tests edit it)."""
    for source in (REPO / "data/raw").glob("*.csv"):
        target = repo / "data/raw" / source.name
        if target.read_bytes() != source.read_bytes():
            shutil.copy2(source, target)


def _edit_screening(rng: random.Random, path: Path, step: int) -> str:
    header, records = _read_records(path)
    rows = [r for _, r in records]
    excluded = [r for r in rows if r[header.index("decision")] == "excluded"]
    if rng.random() < 0.5 and excluded:
        rows.remove(rng.choice(excluded))
        _write_records(path, header, rows)
        return "screening.csv: an excluded record removed"
    values = {"record_id": f"rec_incremental_{step}", "citation": "Record added by a test",
              "source_of_record": "database", "stage": "screening", "decision": "excluded",
              "reason": "not about bone"}  # fmt: skip
    rows.append([values.get(c, "") for c in header])
    _write_records(path, header, rows)
    return "screening.csv: an excluded record appended"


def random_edit(rng: random.Random, raw: Path, originals: dict[str, bytes], step: int) -> str:
    """One valid edit of the raw tables: a value, a row added or removed, or a revert."""
    edited = [name for name, data in originals.items() if (raw / name).read_bytes() != data]
    kinds = ["arm_value", "patient_value", "screening"] + (["revert"] if edited else [])
    kind = rng.choice(kinds)
    if kind == "revert":
        name = rng.choice(sorted(edited))
        (raw / name).write_bytes(originals[name])
        return f"{name}: reverted"
    if kind == "arm_value":
        return _scale(rng, raw / "arm_outcomes.csv", "mean", lambda r: True)
    if kind == "patient_value":
        return _scale(rng, raw / "patient_observations.csv", "value",
                      lambda r: r["unit"] != "percent")  # fmt: skip
    return _edit_screening(rng, raw / "screening.csv", step)


def outputs(root: Path) -> dict[str, str]:
    """Digest of every file of data/processed/ and of the generated reports/ files."""
    found = {f"data/processed/{k}": v for k, v in digests(root / "data/processed").items()}
    found.update({f"reports/{k}": v for k, v in digests(root / "reports").items()
                  if f"reports/{k}".startswith(GENERATED)})  # fmt: skip
    return found


def fresh_copy(source: Path, target: Path) -> Path:
    """The inputs of ``source`` (no outputs, no Snakemake state) in ``target``."""

    def ignore(folder: str, names: list[str]) -> list[str]:
        rel = Path(folder).relative_to(source)
        return [
            n
            for n in names
            if n in (".snakemake", "logs")
            or str(rel / n).startswith(GENERATED)
            or f"{rel / n}/".startswith(GENERATED)
        ]

    shutil.copytree(source, target, ignore=ignore)
    return target


@pytest.mark.workflow
@pytest.mark.parametrize("seed", [20261203])
def test_incremental_runs_after_random_edits_equal_fresh_runs_byte_for_byte(repo, tmp_path, seed):
    restore_raw(repo)
    assert snakemake(repo).returncode == 0
    rng = random.Random(seed)
    raw = repo / "data/raw"
    originals = {p.name: p.read_bytes() for p in raw.glob("*.csv")}
    done = []
    for step in range(1, 4):
        done.append(random_edit(rng, raw, originals, step))
        result = snakemake(repo)
        assert result.returncode == 0, (done, result.stderr[-3000:])
        fresh = fresh_copy(repo, tmp_path / f"fresh_{step}")
        cold = snakemake(fresh)
        assert cold.returncode == 0, (done, cold.stderr[-3000:])
        incremental, expected = outputs(repo), outputs(fresh)
        assert sorted(incremental) == sorted(expected), done
        differ = sorted(name for name in expected if incremental[name] != expected[name])
        assert not differ, f"after {done}: incremental run differs from a fresh run in {differ}"
        shutil.rmtree(fresh)


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


def test_text_that_a_spreadsheet_would_run_is_neutralised_and_read_back(tmp_path):
    frame = pd.DataFrame({"id": ["a", "b", "c", "d", "e"],
                          "note": ['=HYPERLINK("http://x","y")', "+1 more", "-1.8", "=",
                                   "@SUM(A1)"]})  # fmt: skip
    io.write_csv(frame, tmp_path / "out.csv", key=["id"])
    cells = [line.split(",", 1)[1] for line in (tmp_path / "out.csv").read_text().splitlines()]
    assert cells == ["note", '"\'=HYPERLINK(""http://x"",""y"")"', "'+1 more", "-1.8", "=",
                     "'@SUM(A1)"]  # fmt: skip
    assert io.read_processed(tmp_path / "out.csv")["note"].tolist() == frame["note"].tolist()
