"""Per-module mutation score from mutmut 3's results (``make mutation``; docs/testing.md).

Reads ``mutants/analysis/<module>.py.meta`` (written by ``mutmut run``) and prints, for each
module, the mutants killed (a test failed, or it timed out), survived, without a covering
test and not yet run, and the score = killed / (killed + survived + no tests). Exit status
1 when a module that was run scores below ``--goal`` (percent).

Not a test module: pytest collects only ``test_*.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

MODULES = ("harmonize", "conversions", "validate", "cases", "pooling", "tau2",
           "heterogeneity", "effect_sizes")  # fmt: skip
KILLED = {1, 3, 36, -24, 24, 152, 255}  # a failing test or a timeout (mutmut's codes)
SURVIVED = {0}
NO_TESTS = {5, 33}


def score(meta: Path) -> Counter:
    codes = json.loads(meta.read_text("utf-8"))["exit_code_by_key"]
    counts: Counter = Counter()
    for code in codes.values():
        if code is None:
            counts["not run"] += 1
        elif code in KILLED:
            counts["killed"] += 1
        elif code in SURVIVED:
            counts["survived"] += 1
        elif code in NO_TESTS:
            counts["no tests"] += 1
        else:
            counts["other"] += 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutants", default="mutants/analysis", type=Path)
    parser.add_argument("--goal", default=90.0, type=float)
    parser.add_argument("modules", nargs="*", default=list(MODULES))
    args = parser.parse_args(argv)
    print(f"{'module':<15}{'mutants':>8}{'killed':>8}{'survived':>9}{'no tests':>9}"
          f"{'not run':>8}{'score':>8}")  # fmt: skip
    below = []
    for module in args.modules:
        meta = args.mutants / f"{module}.py.meta"
        if not meta.exists():
            print(f"{module:<15}{'(no results: run mutmut first)':>50}")
            continue
        c = score(meta)
        judged = c["killed"] + c["survived"] + c["no tests"]
        pct = 100 * c["killed"] / judged if judged else float("nan")
        shown = f"{pct:.1f}%" if judged else "-"
        print(f"{module:<15}{sum(c.values()):>8}{c['killed']:>8}{c['survived']:>9}"
              f"{c['no tests']:>9}{c['not run']:>8}{shown:>8}")  # fmt: skip
        if judged and pct < args.goal:
            below.append(module)
    if below:
        print(f"below {args.goal:g}%: {', '.join(below)}")
    return 1 if below else 0


if __name__ == "__main__":
    sys.exit(main())
