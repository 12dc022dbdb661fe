"""Command line: ``python -m analysis pool FILE.csv --method REML --test knha --level 0.95``.

``pool`` reads a CSV with columns ``yi`` and ``vi`` (``study`` optional), pools it with
:func:`analysis.pooling.rma` and prints one JSON object (keys ``analysis.pooling.DICT_KEYS``,
NaN as null). Estimates are iterated to the optimum; ``--metafor-defaults`` stops where
metafor's default control does instead. A file that cannot be used gives one line on stderr
naming the file, the row (line number, header = 1) and the column, and exit code 2.

``validate`` and ``dictionary`` hand their arguments to ``analysis.validate.main(argv)`` and
``analysis.dictionary.main(argv)``, imported only when called.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import json
import math
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from analysis.pooling import METHODS, TESTS, rma
from analysis.warnings import MetaAnalysisWarning

EXIT_BAD_INPUT = 2
DELEGATED = {
    "validate": ("analysis.validate", "check data/raw against the data contract"),
    "dictionary": ("analysis.dictionary", "data dictionary of the raw tables"),
}


class InputError(ValueError):
    """A problem with the input file; the message is the one line printed on stderr."""


def read_effects(path: Path) -> tuple[list[float], list[float], list[str]]:
    """Read ``yi``, ``vi`` and optional ``study`` from a CSV, validating every cell.

    Parameters
    ----------
    path : Path
        CSV file with a header row.

    Returns
    -------
    yi, vi, study : list
        Effect sizes, sampling variances and labels (``"row N"`` without a study column).

    Raises
    ------
    InputError
        With ``"<file> row <line>, column <name>: <what is wrong>"``; the header is row 1.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read file ({exc})") from exc
    if not text.strip():
        raise InputError(
            f"{path} row 1, column yi: empty file; expected a header with columns yi and vi"
        )
    reader = csv.reader(text.splitlines(keepends=True))
    header = [h.strip() for h in next(reader)]
    for column in ("yi", "vi"):
        if column not in header:
            raise InputError(
                f"{path} row 1, column {column}: missing; the header has {', '.join(header)}"
            )
    index: dict[str, int] = {
        name: header.index(name) for name in ("yi", "vi", "study") if name in header
    }
    yi: list[float] = []
    vi: list[float] = []
    study: list[str] = []
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise InputError(
                f"{path} row {line}, column {header[min(len(row), len(header) - 1)]}: "
                f"{len(row)} fields where the header has {len(header)}"
            )
        values = {}
        for column in ("yi", "vi"):
            raw = row[index[column]].strip()
            try:
                value = float(raw)
            except ValueError:
                shown = repr(raw) if raw else "empty value"
                raise InputError(
                    f"{path} row {line}, column {column}: {shown} is not a number"
                ) from None
            if not math.isfinite(value):
                raise InputError(
                    f"{path} row {line}, column {column}: {raw!r} is not a finite number"
                )
            values[column] = value
        if values["vi"] <= 0:
            raise InputError(
                f"{path} row {line}, column vi: {row[index['vi']].strip()} is not > 0; "
                "a sampling variance must be positive"
            )
        yi.append(values["yi"])
        vi.append(values["vi"])
        study.append(row[index["study"]].strip() if "study" in index else f"row {line}")
    if not yi:
        raise InputError(f"{path} row 2, column yi: no data rows after the header")
    return yi, vi, study


def _level(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not in (0, 1), e.g. 0.95")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with subcommands ``pool``, ``validate`` and ``dictionary``."""
    parser = argparse.ArgumentParser(
        prog="python -m analysis",
        description="Meta-analysis of estradiol suppression/restoration and bone in males.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    pool = sub.add_parser(
        "pool",
        help="pool yi/vi from a CSV file and print one JSON object",
        description="Pool effect sizes (columns yi, vi; study optional) as metafor's rma().",
    )
    pool.add_argument("file", type=Path, help="CSV file with columns yi and vi")
    pool.add_argument("--method", default="REML", choices=METHODS, help="tau2 estimator")
    pool.add_argument("--test", default="z", choices=TESTS, help="inference for the estimate")
    pool.add_argument("--level", default=0.95, type=_level, help="confidence level")
    pool.add_argument(
        "--metafor-defaults",
        action="store_true",
        help="stop iterating where metafor's default control does (threshold 1e-5, "
        "tol eps^0.25) instead of at the optimum, to reproduce metafor's default answers",
    )
    for name, (_module, text) in DELEGATED.items():
        # The real options are parsed by the delegated module's own main(argv).
        delegated = sub.add_parser(name, help=text, add_help=False)
        delegated.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def _run_delegated(name: str, argv: list[str]) -> int:
    module_name = DELEGATED[name][0]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        print(f"{module_name} is not available in this installation", file=sys.stderr)
        return EXIT_BAD_INPUT
    result = module.main(argv)
    return int(result or 0)


def _pool(args: argparse.Namespace) -> int:
    try:
        yi, vi, study = read_effects(args.file)
    except InputError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", MetaAnalysisWarning)
        result = rma(
            yi,
            vi,
            method=args.method,
            test=args.test,
            level=args.level,
            slab=study,
            control="metafor" if args.metafor_defaults else None,
        )
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    print(json.dumps(result.to_dict(), allow_nan=False))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m analysis`` and of the ``analysis`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in DELEGATED:
        return _run_delegated(argv[0], argv[1:])
    args = build_parser().parse_args(argv)
    if args.command == "pool":
        return _pool(args)
    return _run_delegated(args.command, args.args)  # pragma: no cover - caught above
