"""Render time of the report rule (prints figures; not a test).

The ``report`` rule only renders: ``reports/report.qmd`` with the tables and figures made by
earlier rules, to one self-contained HTML file (pandoc) and a PDF (pandoc's typst writer and
the ``typst`` compiler). This script times that work on a temporary copy of ``reports/``, so
the committed outputs are not touched:

1. ``render_report`` as the rule's script calls it (HTML + PDF), ``--repeat`` times, with the
   HTML and PDF halves timed apart;
2. with ``--snakemake``, the rule itself in a temporary copy of the repository
   (``snakemake -c1 --forcerun report``), which adds Snakemake's start-up and DAG building.

Target: the render under 5 s (median). Run the pipeline once first (``snakemake -c2``) so that
``reports/tables/`` and ``reports/figures/`` exist.

Usage: ``.venv/bin/python benchmarks/bench_report.py [--repeat 5] [--snakemake]``
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from analysis.report import render

REPO = Path(__file__).resolve().parents[1]
REPORTS = REPO / "reports"
TARGET_S = 5.0


def _copy_reports(dest: Path) -> Path:
    """reports/ without the rendered outputs; returns the copied report.qmd."""
    shutil.copytree(
        REPORTS, dest, ignore=shutil.ignore_patterns("report.html", "report.pdf", ".quarto")
    )
    return dest / "report.qmd"


def time_render(repeat: int) -> dict[str, list[float]]:
    """Seconds per run of the HTML half, the PDF half and the whole ``render_report``."""
    missing = [d for d in ("tables", "figures") if not (REPORTS / d).is_dir()]
    if missing:
        sys.exit(f"reports/{' and reports/'.join(missing)} missing: run `snakemake -c2` first")
    out: dict[str, list[float]] = {"html": [], "pdf": [], "render_report": []}
    with tempfile.TemporaryDirectory() as tmp:
        qmd = _copy_reports(Path(tmp) / "reports")
        html, pdf = qmd.with_suffix(".html"), qmd.with_suffix(".pdf")
        for _ in range(repeat):
            t0 = time.perf_counter()
            render.render_html_pandoc(qmd, html)
            t1 = time.perf_counter()
            render.render_pdf_pandoc(qmd, pdf)
            t2 = time.perf_counter()
            render.render_report(str(qmd), str(html), str(pdf), engine="pandoc")
            t3 = time.perf_counter()
            out["html"].append(t1 - t0)
            out["pdf"].append(t2 - t1)
            out["render_report"].append(t3 - t2)
    return out


def time_rule() -> float:
    """Wall time of ``snakemake -c1 --forcerun report`` in a copy of the repository."""
    snakemake = str(Path(sys.executable).with_name("snakemake"))
    ignore = shutil.ignore_patterns(".git", ".venv", ".snakemake", "__pycache__", "logs")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        shutil.copytree(REPO, root, ignore=ignore, symlinks=True)
        # the copy's files all have new mtimes: settle the DAG first so only the rule runs
        subprocess.run([snakemake, "-c1", "--touch", "-q"], cwd=root, check=True,
                       capture_output=True)  # fmt: skip
        t0 = time.perf_counter()
        subprocess.run([snakemake, "-c1", "--forcerun", "report", "-q"], cwd=root, check=True,
                       capture_output=True)  # fmt: skip
        return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--snakemake", action="store_true", help="also time the rule itself")
    args = parser.parse_args()
    times = time_render(args.repeat)
    print(f"report render, {args.repeat} runs (pandoc + typst, no Quarto):")
    for name, values in times.items():
        print(
            f"  {name:14s} median {statistics.median(values):6.2f} s  "
            f"min {min(values):6.2f} s  max {max(values):6.2f} s"
        )
    median = statistics.median(times["render_report"])
    verdict = "meets" if median < TARGET_S else "MISSES"
    print(f"  target < {TARGET_S:.0f} s: {verdict} ({median:.2f} s)")
    if args.snakemake:
        print(f"snakemake -c1 --forcerun report (with start-up): {time_rule():.2f} s")


if __name__ == "__main__":
    main()
