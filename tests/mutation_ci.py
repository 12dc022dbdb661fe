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

``make mutation`` runs the same check over every module with ``--keep``: the copy is then
kept in ``.mutation/<modules>-<key>/`` (git-ignored), where the key is a hash of the module
list, the mutmut version and the content of every tracked file the tests can see
(``analysis/``, ``tests/``, ``config/``, ``data/``, ``docs/`` but for docs/testing.md,
``pyproject.toml``, the lock files). A run that is interrupted (the whole run takes hours)
resumes where it stopped when started again on the same sources and tests; any change to them
starts a new run, so the scores printed are always those of one set of sources and tests.

Not a test module: pytest collects only ``test_*.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from mutation_score import KILLED, MODULES, NO_TESTS, SURVIVED  # noqa: E402

DEFAULT_MODULES = ("conversions",)
KEPT = ROOT / ".mutation"
# What the selected tests can read, besides the survivor list the scores are checked against.
KEYED = ("analysis/", "tests/", "config/", "data/", "docs/", "pyproject.toml", "requirements")
UNKEYED = ("docs/testing.md",)
COPIED = ".copied"  # written last: a copy without it is incomplete and is made again


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


def tracked(root: Path | None = None) -> list[str]:
    """The repository's tracked files that exist in the working tree, sorted."""
    root = ROOT if root is None else root
    listing = subprocess.run(
        ["git", "ls-files", "-z"], cwd=root, check=True, capture_output=True
    ).stdout.decode("utf-8")
    return sorted(name for name in filter(None, listing.split("\0")) if (root / name).is_file())


def copy_tracked(dest: Path, root: Path | None = None) -> None:
    """Copy the repository's tracked files (as in the working tree) into ``dest``."""
    root = ROOT if root is None else root
    for name in tracked(root):
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, dest / name)


def run_key(modules: list[str], root: Path | None = None) -> str:
    """A hash of what a mutation run's results depend on (see the module's docstring)."""
    root = ROOT if root is None else root
    digest = hashlib.sha256()
    digest.update(f"mutmut {importlib.metadata.version('mutmut')}\0".encode())
    digest.update(("modules " + " ".join(modules) + "\0").encode())
    for name in tracked(root):
        if name.startswith(KEYED) and name not in UNKEYED:
            digest.update(name.encode("utf-8") + b"\0")
            digest.update(hashlib.sha256((root / name).read_bytes()).digest())
    return digest.hexdigest()[:16]


def kept_copy(
    modules: list[str], kept: Path | None = None, root: Path | None = None
) -> tuple[Path, bool]:
    """The kept run folder for ``modules`` and whether it holds an earlier run to resume.

    The folder is ``<label>-<key>``, the label naming the modules ("all" for every module).
    Folders with the same label and another key (the same modules at older sources) are
    removed, as their results can never be resumed; runs of other modules are left alone.
    """
    kept = KEPT if kept is None else kept
    label = "all" if sorted(modules) == sorted(MODULES) else "+".join(modules)
    work = kept / f"{label}-{run_key(modules, root)}"
    resumed = (work / COPIED).exists()
    if kept.exists():
        for old in kept.iterdir():
            stale = old.name.rpartition("-")[0] == label and (old != work or not resumed)
            if stale:
                shutil.rmtree(old)
    if not resumed:
        work.mkdir(parents=True)
        prepare(work, modules, root)
        (work / COPIED).write_text(" ".join(modules) + "\n", "utf-8")
    return work, resumed


def prepare(work: Path, modules: list[str], root: Path | None = None) -> None:
    """Copy the tracked files into ``work`` and narrow its ``[tool.mutmut]`` to ``modules``."""
    copy_tracked(work, root)
    pyproject = work / "pyproject.toml"
    pyproject.write_text(narrowed_pyproject(pyproject.read_text("utf-8"), modules), "utf-8")


def unsettled(work: Path, modules: list[str]) -> list[str]:
    """Mutants with no verdict, or one that is none of killed, survived or untested (as
    when a run is stopped while they are being tested)."""
    names = []
    for module in modules:
        meta = work / "mutants" / "analysis" / f"{module}.py.meta"
        if meta.exists():
            codes = json.loads(meta.read_text("utf-8"))["exit_code_by_key"]
            names += [k for k, c in codes.items() if c not in KILLED | SURVIVED | NO_TESTS]
    return sorted(names)


def check(work: Path, modules: list[str], goal: float, mutmut: Path) -> list[str]:
    """Print each module's score from the run in ``work``; return what fails the check."""
    listed = documented_survivors((ROOT / "docs" / "testing.md").read_text("utf-8"))
    failures = []
    for module in modules:
        meta = work / "mutants" / "analysis" / f"{module}.py.meta"
        codes = json.loads(meta.read_text("utf-8"))["exit_code_by_key"]
        short = {key.removeprefix(f"analysis.{module}."): code for key, code in codes.items()}
        killed = sum(code in KILLED for code in short.values())
        survived = sorted(k for k, code in short.items() if code in SURVIVED)
        untested = sorted(k for k, code in short.items() if code in NO_TESTS)
        judged = killed + len(survived) + len(untested)
        other = len(short) - judged
        score = 100 * killed / judged if judged else 0.0
        unlisted = [k for k in survived + untested if k not in listed.get(module, set())]
        print(
            f"{module}: {len(short)} mutants, {killed} killed, {len(survived)} survived, "
            f"{len(untested)} without tests, score {score:.1f}%"
            + (f"; {other} without a verdict" if other else "")
        )
        if other:
            failures.append(f"{module}: {other} mutants have no verdict (rerun to finish)")
        if score < goal:
            failures.append(f"{module} scores {score:.1f}%, below {goal:g}%")
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
    return failures


def run_mutmut(mutmut: Path, work: Path, extra: list[str], log: Path | None) -> int:
    """``mutmut run`` in ``work``; its output goes to ``log`` (appended) or is captured and
    shown only on failure."""
    command = [str(mutmut), "run", *extra]
    if log is None:
        run = subprocess.run(command, cwd=work, capture_output=True, text=True, check=False)
        if run.returncode != 0:
            print(run.stdout[-4000:], run.stderr[-4000:], sep="\n")
        return run.returncode
    with log.open("a", encoding="utf-8") as out:
        run = subprocess.run(command, cwd=work, stdout=out, stderr=out, check=False)
    if run.returncode != 0:
        print(log.read_text("utf-8", errors="replace")[-4000:])
    return run.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", default=list(DEFAULT_MODULES))
    parser.add_argument("--goal", default=90.0, type=float)
    parser.add_argument(
        "--keep",
        action="store_true",
        help="run in .mutation/<key>/ and resume an interrupted run of the same sources",
    )
    parser.add_argument("--max-children", type=int, help="mutmut's parallel test processes")
    args = parser.parse_args(argv)
    mutmut = Path(sys.executable).with_name("mutmut")
    extra = [] if args.max_children is None else ["--max-children", str(args.max_children)]
    with tempfile.TemporaryDirectory(prefix="mutation-ci-") as tmp:
        if args.keep:
            work, resumed = kept_copy(args.modules)
            log = work / "mutmut.log"
            state = "resuming the run" if resumed else "new run"
            print(f"{state} in {work.relative_to(ROOT)} (mutmut's output: {log.name} there)")
        else:
            work, log = Path(tmp), None
            prepare(work, args.modules)
        if run_mutmut(mutmut, work, extra, log) != 0:
            print("mutmut run exited with an error")
            return 1
        rerun = unsettled(work, args.modules)
        if rerun:
            print(f"rerunning {len(rerun)} mutants left without a verdict")
            if run_mutmut(mutmut, work, extra + rerun, log) != 0:
                print("mutmut run exited with an error")
                return 1
        failures = check(work, args.modules, args.goal, mutmut)
    for failure in failures:
        print(failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
