"""Timings of the Snakemake pipeline (prints figures; not a test).

Runs, on temporary copies of the repository:

1. the shipped data: a cold run of the data targets, a cold run of the default target (the
   report), a no-op run against an empty Snakemake run, and a run after editing one
   study's value;
2. a synthetic review of 1,000 studies x 10 outcomes generated here (data targets only).

Targets: shipped cold < 15 s; no-op within 20% of an empty Snakemake run; 1000 x 10 < 60 s
on 2 cores.

Usage: ``.venv/bin/python benchmarks/bench_pipeline.py [--studies 1000] [--outcomes 10]``;
``--noop-only`` measures only the no-op overhead (after one cold run), with the no-op and the
empty runs interleaved so that the load of a shared machine falls on both alike.
"""

from __future__ import annotations

import argparse
import csv
import io
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
DATA_TARGETS = [
    "data/processed/validate/validated.json",
    "data/processed/pool/pooled.csv",
    "data/processed/effects/derivations.csv",
    "data/processed/cases/summary.csv",
    "data/processed/regression/bmd_vs_estradiol.csv",
    "data/processed/sensitivity/grid.csv",
]
OUTCOMES = ["bmd_lumbar_spine", "bmd_femoral_neck", "bmd_total_hip", "bmd_trochanter",
            "bmd_total_body", "bmd_radius", "ctx", "p1np", "osteocalcin", "estradiol",
            "testosterone", "bsap", "ntx", "lh", "fsh", "shbg"]  # fmt: skip
UNITS = {"ctx": "ng/mL", "p1np": "ug/L", "osteocalcin": "ng/mL", "estradiol": "pg/mL",
         "testosterone": "ng/dL", "bsap": "U/L", "ntx": "nmol BCE/mmol creatinine",
         "lh": "IU/L", "fsh": "IU/L", "shbg": "nmol/L"}  # fmt: skip
ROB2 = ["randomization", "deviations", "missing_data", "measurement", "selection_of_result",
        "overall"]  # fmt: skip


#: Committed outputs of the workflow, left out of the copy so that its first run is cold.
GENERATED = ("data/processed/", "reports/figures/", "reports/tables/", "reports/report.html",
             "reports/report.pdf")  # fmt: skip


def copy_repo(dest: Path) -> Path:
    """Tracked files plus data/raw (what a clone has), without processed outputs."""
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True,
                             check=True).stdout.decode().split("\0")  # fmt: skip
    extra = [str(p.relative_to(REPO)) for p in (REPO / "data/raw").glob("*.csv")]
    for name in [*tracked, *extra]:
        if name and (REPO / name).is_file() and not name.startswith(GENERATED):
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, dest / name)
    return dest


def run(workdir: Path, *targets: str) -> float:
    """Wall time of one Snakemake run (default target unless ``targets``), 2 cores."""
    # Targets first: --quiet takes any number of values and would swallow them.
    command = [SNAKEMAKE, *targets, "--cores", "2", "--quiet"]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=workdir, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"snakemake failed in {workdir}:\n{result.stderr[-3000:]}")
    return elapsed


def median_of(n: int, fn) -> float:
    return statistics.median(fn() for _ in range(n))


def edit_one_value(workdir: Path) -> None:
    """Lower the first arm-level mean of arm_outcomes.csv by a tenth of its size."""
    path = workdir / "data/raw/arm_outcomes.csv"
    rows = list(csv.reader(path.read_text("utf-8").splitlines()))
    mean = rows[0].index("mean")
    row = next(r for r in rows[1:] if r[mean])
    row[mean] = repr(float(row[mean]) * 0.9 - 0.01)
    write_rows(path, rows)


def write_rows(path: Path, rows: list[list]) -> None:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), "utf-8")


def synthetic_review(raw: Path, n_studies: int, n_outcomes: int, seed: int = 1) -> None:
    """Write a valid data/raw of ``n_studies`` two-arm trials x ``n_outcomes`` outcomes.

    Half the study-outcomes report change per arm (route b), half baseline and final
    values (route c); case-report tables keep only their headers.
    """
    rng = np.random.default_rng(seed)
    headers = {p.name: next(csv.reader([p.read_text("utf-8").splitlines()[0]]))
               for p in raw.glob("*.csv")}  # fmt: skip
    tables: dict[str, list[dict]] = {name: [] for name in headers}
    outcomes = OUTCOMES[:n_outcomes]
    for i in range(n_studies):
        sid = f"syn_{i:05d}"
        line = ["ai_older_men", "ai_boys", "other"][i % 3]
        tables["studies.csv"].append({
            "study_id": sid, "label": f"Synthetic {i}", "year": 1990 + i % 35, "design": "rct",
            "evidence_line": line, "population": "synthetic men", "intervention": "AI",
            "comparator": "placebo", "duration_months": 12, "include_reason": "synthetic",
        })  # fmt: skip
        tables["screening.csv"].append({
            "record_id": f"r{i:05d}", "citation": f"Synthetic trial {i}",
            "source_of_record": "database", "stage": "eligibility", "decision": "included",
            "study_id": sid, "reason": "synthetic",
        })  # fmt: skip
        for domain in ROB2:
            judgement = ["low", "some_concerns", "high"][int(rng.integers(3))]
            tables["risk_of_bias.csv"].append({"study_id": sid, "tool": "rob2", "domain": domain,
                                               "judgement": judgement, "rationale": "synthetic",
                                               "source": "PMID:1"})  # fmt: skip
        n = {"ai": int(rng.integers(10, 80)), "placebo": int(rng.integers(10, 80))}
        for arm, role in (("ai", "treatment"), ("placebo", "control")):
            tables["arms.csv"].append({"study_id": sid, "arm": arm, "role": role,
                                       "description": arm, "n_randomized": n[arm],
                                       "source": "PMID:1", "location": "Table 1"})  # fmt: skip
        for j, outcome in enumerate(outcomes):
            unit = UNITS.get(outcome, "g/cm2")
            level = 1.0 if unit == "g/cm2" else 50.0
            effect = -0.02 * level + rng.normal(0, 0.01 * level)
            for arm in ("ai", "placebo"):
                base = {"study_id": sid, "arm": arm, "outcome": outcome, "n": n[arm],
                        "unit": unit, "source": "PMID:1", "location": "Table 2"}  # fmt: skip
                shift = effect if arm == "ai" else 0.0
                sd = 0.1 * level
                if (i + j) % 2:
                    tables["arm_outcomes.csv"].append({
                        **base, "timepoint_months": 12, "measure": "change",
                        "mean": round(shift + rng.normal(0, sd / 10), 6), "sd": round(sd / 3, 6),
                    })  # fmt: skip
                else:
                    start = level + rng.normal(0, sd / 5)
                    tables["arm_outcomes.csv"].append({
                        **base, "timepoint_months": 0, "measure": "baseline",
                        "mean": round(start, 6), "sd": round(sd, 6)})  # fmt: skip
                    tables["arm_outcomes.csv"].append({
                        **base, "timepoint_months": 12, "measure": "final",
                        "mean": round(start + shift, 6), "sd": round(sd, 6)})  # fmt: skip
    for name, header in headers.items():
        rows = [header] + [[row.get(c, "") for c in header] for row in tables[name]]
        write_rows(raw / name, rows)


def empty_workflow(folder: Path) -> Path:
    """One rule whose input exists: Snakemake parses, builds the DAG, finds nothing to do."""
    folder.mkdir()
    (folder / "Snakefile").write_text('rule all:\n    input: "Snakefile"\n', "utf-8")
    return folder


def cpu_of_children() -> float:
    """User + system CPU seconds of the finished child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(workdir: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of one Snakemake run of the default target."""
    before = cpu_of_children()
    wall = run(workdir)
    return wall, cpu_of_children() - before


def noop_overhead(repeats: int) -> None:
    """No-op run of the shipped pipeline against an empty Snakemake run, interleaved.

    CPU time is printed beside wall time: on a machine shared with other work the wall
    time of a 2-second run varies by more than the overhead measured.
    """
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        shipped = copy_repo(Path(tmp) / "shipped")
        empty = empty_workflow(Path(tmp) / "empty")
        run(shipped)
        pairs = [(timed(shipped), timed(empty)) for _ in range(repeats)]
    for i, what in enumerate(("wall", "CPU")):
        noop = statistics.median(n[i] for n, _ in pairs)
        base = statistics.median(e[i] for _, e in pairs)
        ratio = statistics.median(n[i] / e[i] for n, e in pairs)
        print(f"{what:4}  no-op {noop:5.2f} s, empty {base:5.2f} s, no-op / empty {ratio:.2f} "
              f"(median of {repeats} paired runs; target <= 1.20)")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=1000)
    parser.add_argument("--outcomes", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--noop-only",
        action="store_true",
        help="only the no-op run against an empty run (median of --repeats)",
    )
    args = parser.parse_args(argv)
    if args.noop_only:
        noop_overhead(args.repeats)
        return
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        tmp = Path(tmp)
        shipped = copy_repo(tmp / "shipped")
        empty = empty_workflow(tmp / "empty")

        cold_data = run(shipped, *DATA_TARGETS)
        cold_all = run(shipped)
        noop = median_of(args.repeats, lambda: run(shipped))
        empty_run = median_of(args.repeats, lambda: run(empty))
        edit_one_value(shipped)
        edit = run(shipped, *DATA_TARGETS)
        edit_all = run(shipped)

        synthetic = copy_repo(tmp / "synthetic")
        start = time.perf_counter()
        synthetic_review(synthetic / "data/raw", args.studies, args.outcomes)
        generate = time.perf_counter() - start
        big = run(synthetic, *DATA_TARGETS)
        big_noop = run(synthetic, *DATA_TARGETS)

    print("shipped data")
    print(f"  cold run, data targets          {cold_data:6.1f} s   (target < 15 s)")
    print(f"  then the report (figures+render) {cold_all:5.1f} s")
    print(f"  no-op run                       {noop:6.2f} s   median of {args.repeats}")
    print(f"  empty Snakemake run             {empty_run:6.2f} s   no-op / empty = "
          f"{noop / empty_run:.2f} (target <= 1.20)")  # fmt: skip
    print(f"  one-study edit, data targets    {edit:6.1f} s;  then the report {edit_all:.1f} s")
    print(f"synthetic review: {args.studies} studies x {args.outcomes} outcomes "
          f"(generated in {generate:.1f} s)")  # fmt: skip
    print(f"  cold run, data targets          {big:6.1f} s   (target < 60 s on 2 cores)")
    print(f"  no-op run                       {big_noop:6.2f} s")


if __name__ == "__main__":
    main()
