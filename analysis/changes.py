"""What changed in the results: the working tree's processed files against a git revision.

``python -m analysis changes BASE`` (``make diff``) prints Markdown for a pull request or a
reviewer: which inputs changed (raw tables and configuration, by SHA-256), and per finding
the old and new estimate, CI, k and certainty, for exactly the findings whose values differ,
then the same for the individual study effects.

A finding is one evidence line x outcome x scale. Where both revisions have
``data/processed/findings/findings.csv`` (columns ``evidence_line, outcome, scale, status, k,
n, estimate, ci_low, ci_high, certainty``) it is the source; otherwise the pooled results
``data/processed/pool/pooled.csv`` are, with the certainty of ``data/raw/grade.csv``. The
revision's files are read with ``git show REV:path``; the working tree's from disk, so the
pipeline must have been run after editing (a warning says so when ``data/raw`` is newer than
the validation record).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import math
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

FINDINGS = "data/processed/findings/findings.csv"
POOLED = "data/processed/pool/pooled.csv"
EFFECTS = "data/processed/effects/effects.csv"
GRADE = "data/raw/grade.csv"
VALIDATED = "data/processed/validate/validated.json"
#: Inputs whose hashes are compared: every file under these (raw data, configuration).
INPUT_ROOTS = ("data/raw", "config")
FINDING_KEY = ("evidence_line", "outcome", "scale")
EFFECT_KEY = ("study_id", "outcome", "scale")
#: Values compared per finding, numbers compared as numbers (``1`` equals ``1.0``).
FINDING_VALUES = ("status", "k", "n", "estimate", "ci_low", "ci_high", "certainty")
EFFECT_VALUES = ("yi", "ci_low", "ci_high", "n_treatment", "n_control")

Row = dict[str, str]
Reader = Callable[[str], bytes | None]


class ChangesError(RuntimeError):
    """The revision cannot be read (not a git repository, unknown revision)."""


@dataclass(frozen=True)
class Change:
    """One row that differs: its key and the old and new row (None where absent)."""

    key: tuple[str, ...]
    old: Row | None
    new: Row | None


@dataclass(frozen=True)
class Changes:
    """Everything that differs between a revision and the working tree."""

    base: str
    commit: str
    inputs: list[tuple[str, str | None, str | None]]  # path, old sha256, new sha256
    source: str  # the file the findings come from
    findings: list[Change]
    n_findings: int
    effects: list[Change]
    stale: bool  # data/raw differs from what the working tree's validation record covers

    def to_markdown(self) -> str:
        """The summary as Markdown (a GitHub job summary, a review comment, a terminal)."""
        return render_markdown(self)


# -- reading the two revisions -------------------------------------------------------------


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, check=False)


def revision_reader(repo: Path, rev: str) -> tuple[str, Reader, list[str]]:
    """(commit id, reader of a path at ``rev``, files under INPUT_ROOTS at ``rev``)."""
    found = _git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    if found.returncode != 0:
        raise ChangesError(f"{rev!r} is not a revision of the git repository at {repo}")
    commit = found.stdout.decode().strip()

    def read(path: str) -> bytes | None:
        shown = _git(repo, "show", f"{commit}:{path}")
        return shown.stdout if shown.returncode == 0 else None

    listed = _git(repo, "ls-tree", "-r", "--name-only", commit, "--", *INPUT_ROOTS)
    return commit, read, sorted(listed.stdout.decode().splitlines())


def worktree_reader(repo: Path) -> tuple[Reader, list[str]]:
    """(reader of a path in the working tree, files under INPUT_ROOTS on disk)."""

    def read(path: str) -> bytes | None:
        file = repo / path
        return file.read_bytes() if file.is_file() else None

    files = sorted(
        str(p.relative_to(repo))
        for root in INPUT_ROOTS
        for p in (repo / root).rglob("*")
        if p.is_file() and not p.name.startswith(".")
    )
    return read, files


def parse_csv(data: bytes | None) -> list[Row]:
    """Rows of a CSV file's bytes (none for a missing file)."""
    if data is None:
        return []
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


# -- comparing ---------------------------------------------------------------------------


def same_value(old: str | None, new: str | None) -> bool:
    """Equal as numbers where both are numbers (NaN equals NaN), else as text."""
    old, new = (old or "").strip(), (new or "").strip()
    try:
        a, b = float(old), float(new)
    except ValueError:
        return old == new
    return a == b or (math.isnan(a) and math.isnan(b))


def compare_rows(
    old: list[Row], new: list[Row], key: Sequence[str], values: Sequence[str]
) -> list[Change]:
    """Rows added, removed, or with any of ``values`` different, sorted by key."""
    before = {tuple(r.get(k, "") for k in key): r for r in old}
    after = {tuple(r.get(k, "") for k in key): r for r in new}
    changes = []
    for k in sorted(before.keys() | after.keys()):
        a, b = before.get(k), after.get(k)
        if a is None or b is None or not all(same_value(a.get(v), b.get(v)) for v in values):
            changes.append(Change(k, a, b))
    return changes


def with_certainty(pooled: list[Row], grade: list[Row]) -> list[Row]:
    """Pooled rows with the GRADE certainty of their evidence line x outcome."""
    certainty = {(g["evidence_line"], g["outcome"]): g.get("certainty", "") for g in grade}
    return [
        {**row, "certainty": certainty.get((row["evidence_line"], row["outcome"]), "")}
        for row in pooled
    ]


def compare_inputs(
    old_read: Reader, old_files: list[str], new_read: Reader, new_files: list[str]
) -> list[tuple[str, str | None, str | None]]:
    """(path, old sha256, new sha256) of each input file added, removed or changed."""
    out = []
    for path in sorted(set(old_files) | set(new_files)):
        a = old_read(path) if path in old_files else None
        b = new_read(path) if path in new_files else None
        ha = hashlib.sha256(a).hexdigest() if a is not None else None
        hb = hashlib.sha256(b).hexdigest() if b is not None else None
        if ha != hb:
            out.append((path, ha, hb))
    return out


def is_stale(repo: Path, read: Reader) -> bool:
    """Whether a raw table on disk differs from what the validation record covers."""
    record = read(VALIDATED)
    if record is None:
        return True
    raw = Path("data/raw")
    covered = json.loads(record).get("files", {})
    for name, digest in covered.items():
        data = read(str(raw / name))
        if data is None or hashlib.sha256(data).hexdigest() != digest:
            return True
    return any(p.name not in covered for p in (repo / raw).glob("*.csv"))


def changes(repo: Path, base: str) -> Changes:
    """Compare the processed results of the working tree at ``repo`` with revision ``base``."""
    commit, old_read, old_files = revision_reader(repo, base)
    new_read, new_files = worktree_reader(repo)
    if old_read(FINDINGS) is not None and new_read(FINDINGS) is not None:
        source = FINDINGS
        old_findings, new_findings = parse_csv(old_read(FINDINGS)), parse_csv(new_read(FINDINGS))
    else:
        source = POOLED
        old_findings = with_certainty(parse_csv(old_read(POOLED)), parse_csv(old_read(GRADE)))
        new_findings = with_certainty(parse_csv(new_read(POOLED)), parse_csv(new_read(GRADE)))
    return Changes(
        base=base,
        commit=commit,
        inputs=compare_inputs(old_read, old_files, new_read, new_files),
        source=source,
        findings=compare_rows(old_findings, new_findings, FINDING_KEY, FINDING_VALUES),
        n_findings=len({tuple(r[k] for k in FINDING_KEY) for r in new_findings}),
        effects=compare_rows(
            parse_csv(old_read(EFFECTS)), parse_csv(new_read(EFFECTS)), EFFECT_KEY, EFFECT_VALUES
        ),
        stale=is_stale(repo, new_read),
    )


# -- Markdown ------------------------------------------------------------------------------


def fmt(value: str | None, other: str | None = None) -> str:
    """A number with 4 significant digits, more when needed to tell it from ``other``."""
    if value is None or value.strip() == "":
        return "–"
    try:
        x = float(value)
    except ValueError:
        return value.replace("_", " ")
    if math.isnan(x):
        return "–"
    y = None
    if other not in (None, ""):
        try:
            y = float(other)
        except ValueError:
            y = None
    for digits in range(4, 11):
        text = f"{x:.{digits}g}"
        if y is None or x == y or text != f"{y:.{digits}g}":
            return text
    return repr(x)


def _pair(old: Row | None, new: Row | None, column: str) -> str:
    a = old.get(column) if old else None
    b = new.get(column) if new else None
    if old is None:
        return f"new: {fmt(b)}"
    if new is None:
        return f"{fmt(a)}, removed"
    if same_value(a, b):
        return fmt(b)
    return f"{fmt(a, b)} → **{fmt(b, a)}**"


def _ci(row: Row | None, other: Row | None) -> str:
    if row is None:
        return "–"
    o = other or {}
    return (
        f"{fmt(row.get('ci_low'), o.get('ci_low'))} to {fmt(row.get('ci_high'), o.get('ci_high'))}"
    )


def _delta(old: Row | None, new: Row | None, column: str) -> str:
    try:
        return f"{float(new[column]) - float(old[column]):+.4g}"  # type: ignore[index]
    except (TypeError, ValueError, KeyError):
        return "–"


def _table(header: Sequence[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in r) + " |" for r in rows]
    return lines


def render_markdown(c: Changes) -> str:
    """The summary: inputs, findings, study effects."""
    short = c.commit[:10]
    out = [f"## What changed in the results: working tree against `{c.base}` ({short})", ""]
    if c.stale:
        out += [
            "> **Warning**: `data/raw/` differs from what `data/processed/` was made from; "
            "run `make pipeline` first, or these results are not the data's.",
            "",
        ]
    out += ["### Inputs (SHA-256, first 12 digits)", ""]
    if c.inputs:
        rows = [[f"`{p}`", (a or "absent")[:12], (b or "absent")[:12]] for p, a, b in c.inputs]
        out += _table(["file", short, "working tree"], rows)
    else:
        out.append("No input changed (data/raw/, config/).")
    out += ["", f"### Findings (`{c.source}`)", ""]
    if c.findings:
        out.append(f"{len(c.findings)} of {c.n_findings} findings moved or appeared:")
        out.append("")
        rows = [
            [
                *ch.key,
                _pair(ch.old, ch.new, "estimate"),
                _delta(ch.old, ch.new, "estimate"),
                _ci(ch.old, ch.new),
                _ci(ch.new, ch.old),
                _pair(ch.old, ch.new, "k"),
                _pair(ch.old, ch.new, "certainty"),
            ]
            for ch in c.findings
        ]
        header = ["evidence line", "outcome", "scale", "estimate", "change", "CI before"]
        out += _table([*header, "CI now", "k", "certainty"], rows)
    else:
        out.append(f"No finding moved ({c.n_findings} compared).")
    out += ["", f"### Study effects (`{EFFECTS}`)", ""]
    if c.effects:
        rows = [
            [
                *ch.key,
                _pair(ch.old, ch.new, "yi"),
                _ci(ch.old, ch.new),
                _ci(ch.new, ch.old),
            ]
            for ch in c.effects
        ]
        out += _table(["study", "outcome", "scale", "effect", "CI before", "CI now"], rows)
    else:
        out.append("No study effect changed.")
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m analysis changes BASE [--repo DIR] [--output FILE]``."""
    parser = argparse.ArgumentParser(
        prog="python -m analysis changes",
        description="Markdown summary of what changed in the results against a git revision.",
    )
    parser.add_argument("base", help="git revision to compare with (HEAD, main, a commit)")
    parser.add_argument("--repo", type=Path, default=Path("."), help="repository (default .)")
    parser.add_argument("--output", type=Path, help="also write the Markdown to this file")
    args = parser.parse_args(argv)
    try:
        text = changes(args.repo.resolve(), args.base).to_markdown()
    except ChangesError as exc:
        print(f"analysis changes: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(text)
    if args.output:
        args.output.write_text(text, "utf-8")
    return 0
