"""Timing of the pooling engine, and of metafor in the same run when Rscript is available.

Run: ``.venv/bin/python benchmarks/bench_pooling.py``. Prints a table; asserts nothing.

Cases: one REML random-effects meta-analysis of k = 10 ... 100,000 studies; 1,000
meta-analyses of k = 10, one by one (``rma`` in a loop) and at once (``rma_batch``); and
leave-one-out and cumulative meta-analysis at k = 100 and k = 1,000. The engine runs at its
default (tight) control; ``rma`` is timed without and with the Q-profile CI of tau2
(``tau2_ci``); metafor is timed for ``rma(yi, vi)`` (no ``confint``), its loop over the 1,000
analyses (it has no batch), ``leave1out`` and ``cumul``, at its default control.
metafor builds k x k matrices (memory O(k^2), time O(k^3) per iteration), so sizes above
``METAFOR_MAX_K`` are skipped, and leave1out/cumul above ``METAFOR_MAX_LOO`` (k refits of
such fits: about 30 minutes at k = 1,000), and reported as such.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from analysis.batch import rma_batch
from analysis.influence import cumulative, leave_one_out
from analysis.pooling import rma

SIZES = (10, 100, 1_000, 10_000, 100_000)
METAFOR_MAX_K = 2_000  # k = 10,000 needs several 800 MB matrices and O(k^3) products
MANY = 1_000  # number of meta-analyses of k = 10
LOO_SIZES = (100, 1_000)
METAFOR_MAX_LOO = 100


def simulate(k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Effects with tau2 = 0.05 and sampling variances between 0.01 and 0.2."""
    rng = np.random.default_rng(seed)
    vi = rng.uniform(0.01, 0.2, size=k)
    yi = rng.normal(0.2, np.sqrt(vi + 0.05))
    return yi, vi


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def repeats_for(k: int) -> int:
    return 20 if k <= 1_000 else 3


def time_engine(tau2_ci: bool) -> dict[str, float]:
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in SIZES:
            yi, vi = simulate(k, k)
            out[f"k={k:,}"] = best_of(
                lambda yi=yi, vi=vi: rma(yi, vi, tau2_ci=tau2_ci), repeats_for(k)
            )
        sets = [simulate(10, 1000 + i) for i in range(MANY)]
        out[f"{MANY:,} x k=10"] = best_of(lambda: [rma(y, v, tau2_ci=tau2_ci) for y, v in sets], 3)
    return out


def time_engine_batch() -> dict[str, float]:
    """rma_batch on the 1,000 analyses; leave-one-out and cumulative (both use the batch)."""
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sets = [simulate(10, 1000 + i) for i in range(MANY)]
        ys, vs = [s[0] for s in sets], [s[1] for s in sets]
        out[f"{MANY:,} x k=10"] = best_of(lambda: rma_batch(ys, vs), 5)
        for k in LOO_SIZES:
            yi, vi = simulate(k, k)
            out[f"leave1out k={k:,}"] = best_of(lambda yi=yi, vi=vi: leave_one_out(yi, vi), 3)
            out[f"cumul k={k:,}"] = best_of(lambda yi=yi, vi=vi: cumulative(yi, vi), 3)
    return out


R_SCRIPT = r"""
suppressPackageStartupMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]; maxk <- as.integer(args[2]); many <- as.integer(args[3])
best <- function(expr_fn, n) min(replicate(n, system.time(expr_fn())[["elapsed"]]))
for (k in c(10, 100, 1000, 10000, 100000)) {
  if (k > maxk) next
  d <- read.csv(file.path(dir, sprintf("k%d.csv", k)))
  n <- if (k <= 100) 20 else 3
  t <- best(function() try(rma(d$yi, d$vi), silent = TRUE), n)
  cat(sprintf("k=%s\t%.6f\n", format(k, big.mark = ","), t))
}
m <- read.csv(file.path(dir, "many.csv"))
sets <- split(m, m$set)
fails <- 0
for (s in sets) if (inherits(try(rma(s$yi, s$vi), silent = TRUE), "try-error")) fails <- fails + 1
t <- best(function() for (s in sets) try(rma(s$yi, s$vi), silent = TRUE), 3)
cat(sprintf("failures\t%d\n", fails))
cat(sprintf("%s x k=10\t%.6f\n", format(many, big.mark = ","), t))
maxloo <- as.integer(args[4])
for (k in c(100, 1000)) {
  if (k > maxloo) next
  d <- read.csv(file.path(dir, sprintf("loo%d.csv", k)))
  fit <- rma(d$yi, d$vi)
  t1 <- best(function() leave1out(fit), 3)
  t2 <- best(function() cumul(fit), 3)
  cat(sprintf("leave1out k=%s\t%.6f\n", format(k, big.mark = ","), t1))
  cat(sprintf("cumul k=%s\t%.6f\n", format(k, big.mark = ","), t2))
}
cat(sprintf("version\t%s\n", as.character(packageVersion("metafor"))))
"""


def time_metafor() -> tuple[dict[str, float], str]:
    if shutil.which("Rscript") is None:
        return {}, "Rscript not found: metafor not timed"
    check = subprocess.run(
        ["Rscript", "-e", "library(metafor)"], capture_output=True, text=True, check=False
    )
    if check.returncode != 0:
        return {}, "metafor not installed: not timed"
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        for k in SIZES:
            if k <= METAFOR_MAX_K:
                yi, vi = simulate(k, k)
                np.savetxt(
                    tmpdir / f"k{k}.csv",
                    np.column_stack([yi, vi]),
                    delimiter=",",
                    header="yi,vi",
                    comments="",
                    fmt="%.17g",
                )
        for k in LOO_SIZES:
            yi, vi = simulate(k, k)
            np.savetxt(
                tmpdir / f"loo{k}.csv",
                np.column_stack([yi, vi]),
                delimiter=",",
                header="yi,vi",
                comments="",
                fmt="%.17g",
            )
        rows = []
        for i in range(MANY):
            yi, vi = simulate(10, 1000 + i)
            rows += [f"{i},{y:.17g},{v:.17g}" for y, v in zip(yi, vi, strict=True)]
        (tmpdir / "many.csv").write_text("set,yi,vi\n" + "\n".join(rows) + "\n")
        script = tmpdir / "bench.R"
        script.write_text(R_SCRIPT)
        proc = subprocess.run(
            [
                "Rscript",
                str(script),
                str(tmpdir),
                str(METAFOR_MAX_K),
                str(MANY),
                str(METAFOR_MAX_LOO),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    if proc.returncode != 0:
        return {}, "metafor run failed: " + " | ".join(proc.stderr.strip().splitlines()[-3:])
    out, version, failures = {}, "?", "0"
    for line in proc.stdout.splitlines():
        key, value = line.split("\t")
        if key == "version":
            version = value
        elif key == "failures":
            failures = value
        else:
            out[key] = float(value)
    return out, (
        f"metafor {version}; {failures} of the {MANY:,} k = 10 fits stopped with an error in "
        "metafor (timed up to the error)"
    )


def fmt(seconds: float | None) -> str:
    if seconds is None:
        return "skipped"
    if seconds < 1:
        return f"{seconds * 1000:9.2f} ms"
    return f"{seconds:9.2f} s "


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-r", action="store_true", help="do not time metafor")
    args = parser.parse_args()
    engine = time_engine(tau2_ci=False)
    engine_ci = time_engine(tau2_ci=True)
    batch = time_engine_batch()
    if args.no_r:
        metafor, note = {}, "metafor not timed (--no-r)"
    else:
        metafor, note = time_metafor()
    print("REML random-effects pooling, best of repeated runs (wall clock)")
    print(f"{'case':<16}{'engine':>14}{'engine + QP CI':>18}{'metafor rma()':>16}")
    for case in engine:
        print(
            f"{case:<16}{fmt(engine[case]):>14}{fmt(engine_ci[case]):>18}"
            f"{fmt(metafor.get(case)):>16}"
        )
    print("\nMany analyses at once, leave-one-out and cumulative (engine: rma_batch)")
    print(f"{'case':<20}{'engine batch':>14}{'metafor':>16}{'ratio':>10}")
    for case, seconds in batch.items():
        theirs = metafor.get(case)
        ratio = f"{theirs / seconds:8.1f}x" if theirs else "       -"
        print(f"{case:<20}{fmt(seconds):>14}{fmt(theirs):>16}{ratio:>10}")
    print(f"\n{note}.")
    skipped = [k for k in SIZES if k > METAFOR_MAX_K]
    if metafor:
        print(
            "metafor's leave1out/cumul skipped for k > "
            f"{METAFOR_MAX_LOO:,}: k refits of O(k^3) fits (about 30 minutes at k = 1,000)."
        )
    if metafor and skipped:
        print(
            "metafor skipped for k = "
            + ", ".join(f"{k:,}" for k in skipped)
            + ": rma.uni forms k x k matrices (k = 10,000 needs 800 MB each and O(k^3) "
            "products per Fisher-scoring step)."
        )


if __name__ == "__main__":
    main()
