"""Import cost of the statsmodels modules the engine uses, as a Snakemake job pays it.

Run: ``.venv/bin/python benchmarks/bench_imports.py``. Prints a table; asserts nothing.

Every Snakemake ``script:`` job is a fresh Python process that imports what it needs, so the
figure that matters is the wall-clock time of an import in a fresh interpreter, after the
imports every job makes anyway (numpy, scipy.special, pandas). Each module is timed in its own
fresh process, best of ``REPEATS``.
"""

from __future__ import annotations

import subprocess
import sys

REPEATS = 5
BASE = "import numpy, scipy.special, pandas"
MODULES = (
    "analysis.pooling",
    "statsmodels.regression.linear_model",
    "statsmodels.stats.meta_analysis",
    "statsmodels.api",
)
CODE = (
    "import time\n{base}\nt = time.perf_counter()\nimport {module}\n"
    "print(time.perf_counter() - t)\n"
)


def cost(module: str) -> float:
    times = []
    for _ in range(REPEATS):
        out = subprocess.run(
            [sys.executable, "-c", CODE.format(base=BASE, module=module)],
            capture_output=True,
            text=True,
            check=True,
        )
        times.append(float(out.stdout))
    return min(times)


def main() -> None:
    print(f"import cost in a fresh interpreter after `{BASE}` (best of {REPEATS})")
    for module in MODULES:
        print(f"{module:<40}{cost(module) * 1000:9.0f} ms")


if __name__ == "__main__":
    main()
