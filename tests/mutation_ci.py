"""CI's mutation check: mutmut on a few modules, failing on a low score or an unlisted survivor.

``make mutation-ci`` (run by ``.ci/run``). The whole mutation run takes too long for every
push (docs/testing.md), so CI mutates only ``modules`` (by default ``conversions``, a few
minutes on two cores) with the unit tests ``make mutation`` uses, and
fails when

- a module scores below ``--goal`` percent (killed / (killed + survived + no tests)), or
- a mutant survives that docs/testing.md does not list as equivalent. Mutant names are
  numbered within their function, so a change to a mutated function renumbers its mutants:
  rerun ``make mutation MODULES=<module>`` and update the list.

mutmut reads its settings only from ``pyproject.toml`` in the folder it runs in, so the check
runs in a temporary copy of the repository's tracked files whose ``[tool.mutmut]`` mutates
only the chosen modules; the working tree is never touched.

Not a test module: pytest collects only ``test_*.py``.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from mutation_score import KILLED, NO_TESTS, SURVIVED  # noqa: E402

DEFAULT_MODULES = ("conversions",)


def documented_survivors(text: str) -> dict[str, set[str]]:
    """Mutant names listed as equivalent in docs/testing.md, per module.

    The lists sit under a ``**<module>** (`analysis/<module>.py`)`` line; a row names mutants
    in backticks, in full (``x_q_test__mutmut_23``) or, after a full name, by number alone
    (```_8```), which takes the function of the name before it.
    """
    listed: dict[str, set[str]] = {}
    module = None
    for line in text.splitlines():
        heading = re.match(r"\*\*(\w+)\*\* \(`analysis/\w+\.py`\)", line.strip())
        if heading:
            module = heading.group(1)
            listed.setdefault(module, set())
            continue
        if module is None or not line.startswith("|"):
            continue
        first_cell = line.split("|")[1]
        prefix = None
        for token in re.findall(r"`([^`]+)`", first_cell):
            full = re.fullmatch(r"(x\S+__mutmut_)(\d+)", token)
            if full:
                prefix = full.group(1)
                listed[module].add(token)
            elif prefix and re.fullmatch(r"_\d+", token):
                listed[module].add(prefix + token[1:])
    return listed


def narrowed_pyproject(text: str, modules: list[str]) -> str:
    """``text`` with ``[tool.mutmut]``'s ``only_mutate`` set to ``modules``."""
    files = ", ".join(f'"analysis/{m}.py"' for m in modules)
    new, count = re.subn(
        r"(?ms)^(\[tool\.mutmut\]\n.*?^only_mutate = )\[.*?\]",
        lambda m: f"{m.group(1)}[{files}]",
        text,
    )
    if count != 1:
        raise SystemExit("pyproject.toml: no only_mutate list under [tool.mutmut]")
    return new


def copy_tracked(dest: Path) -> None:
    """Copy the repository's tracked files (as in the working tree) into ``dest``."""
    listing = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True
    ).stdout.decode("utf-8")
    for name in filter(None, listing.split("\0")):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", default=list(DEFAULT_MODULES))
    parser.add_argument("--goal", default=90.0, type=float)
    args = parser.parse_args(argv)
    mutmut = Path(sys.executable).with_name("mutmut")
    listed = documented_survivors((ROOT / "docs" / "testing.md").read_text("utf-8"))
    failures = []
    with tempfile.TemporaryDirectory(prefix="mutation-ci-") as tmp:
        work = Path(tmp)
        copy_tracked(work)
        pyproject = work / "pyproject.toml"
        pyproject.write_text(narrowed_pyproject(pyproject.read_text("utf-8"), args.modules))
        run = subprocess.run(
            [str(mutmut), "run"], cwd=work, capture_output=True, text=True, check=False
        )
        if run.returncode != 0:
            print(run.stdout[-4000:], run.stderr[-4000:], sep="\n")
            print(f"mutmut run exited with {run.returncode}")
            return 1
        for module in args.modules:
            meta = work / "mutants" / "analysis" / f"{module}.py.meta"
            codes = json.loads(meta.read_text("utf-8"))["exit_code_by_key"]
            short = {key.removeprefix(f"analysis.{module}."): code for key, code in codes.items()}
            killed = sum(code in KILLED for code in short.values())
            survived = sorted(k for k, code in short.items() if code in SURVIVED)
            untested = sorted(k for k, code in short.items() if code in NO_TESTS)
            judged = killed + len(survived) + len(untested)
            score = 100 * killed / judged if judged else 0.0
            unlisted = [k for k in survived + untested if k not in listed.get(module, set())]
            print(
                f"{module}: {len(short)} mutants, {killed} killed, {len(survived)} survived, "
                f"{len(untested)} without tests, score {score:.1f}%"
            )
            if score < args.goal:
                failures.append(f"{module} scores {score:.1f}%, below {args.goal:g}%")
            for key in unlisted:
                failures.append(
                    f"{module}: {key} survives and docs/testing.md does not list it as "
                    "equivalent (kill it with a test, or list it with the reason)"
                )
                show = subprocess.run(
                    [str(mutmut), "show", f"analysis.{module}.{key}"],
                    cwd=work,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                print(show.stdout.rstrip())
    for failure in failures:
        print(failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
