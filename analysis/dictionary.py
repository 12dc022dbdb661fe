"""The data dictionary: ``docs/data-dictionary.md`` generated from the data contract.

``python -m analysis dictionary`` rewrites the page from ``analysis/schema/raw_tables.yaml``;
``--check`` only compares and exits 1 when the page is stale. The page is never edited by
hand, so that it cannot disagree with what :mod:`analysis.validate` enforces.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from analysis.validate import RULES, SCHEMA_PATH, load_schema

__all__ = ["DEFAULT_OUTPUT", "main", "render_dictionary"]

DEFAULT_OUTPUT = Path("docs/data-dictionary.md")
MAX_INLINE = 8  # longer vocabularies are linked to their own section instead of listed


def _cell(text: Any) -> str:
    """Text safe inside a markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ").strip()


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _anchor(name: str) -> str:
    return f"vocabulary-{name}".replace("_", "-")


def _range(spec: Mapping[str, Any], table: Mapping[str, Any], schema: Mapping[str, Any]) -> str:
    vocabularies = schema.get("vocabularies", {})
    parts = []
    if "allowed" in spec:
        parts.append(", ".join(f"`{v}`" for v in spec["allowed"]))
    if "vocabulary" in spec:
        name = spec["vocabulary"]
        values = list(vocabularies[name])
        if len(values) <= MAX_INLINE and not isinstance(vocabularies[name], Mapping):
            parts.append(", ".join(f"`{v}`" for v in values))
        elif len(values) <= MAX_INLINE:
            shown = ", ".join(f"`{v}`" for v in values)
            parts.append(f"{shown} ([{name}](#{_anchor(name)}))")
        else:
            parts.append(f"[{name}](#{_anchor(name)}) ({len(values)} values)")
    low, high = spec.get("min"), spec.get("max")
    if low is not None and high is not None:
        parts.append(f"{_number(low)} to {_number(high)}")
    elif low is not None:
        parts.append(f">= {_number(low)}")
    elif high is not None:
        parts.append(f"<= {_number(high)}")
    if "pattern" in spec:
        parts.append(f"pattern `{spec['pattern']}`")
    kind = spec.get("type", "string")
    if kind == "pmid":
        parts.append("digits only, e.g. `19820017`")
    elif kind == "doi":
        parts.append("`10.<prefix>/<suffix>`, no `https://doi.org/`")
    elif kind == "boolean":
        parts.append("`true`, `false`")
    if "references" in spec:
        # Same rule as analysis.validate: the referenced key's other columns scope the match.
        ref_table, ref_column = spec["references"].rsplit(".", 1)
        ref_key = schema["tables"].get(ref_table, {}).get("key", [])
        scope = [c for c in ref_key if c != ref_column and c in table["columns"]]
        within = f" for the row's {', '.join(f'`{c}`' for c in scope)}" if scope else ""
        parts.append(f"must exist in `{spec['references']}`{within}")
    if "separator" in spec:
        parts.append(f"list separated by `{spec['separator']}`")
    return _cell("; ".join(parts))


def _meaning(spec: Mapping[str, Any]) -> str:
    return _cell(spec.get("description", ""))


def _plausible_section(schema: Mapping[str, Any]) -> list[str]:
    """The plausible range of each outcome x unit, with the reason for its bounds."""
    ranges = schema.get("plausible_ranges")
    if not ranges:
        return []
    out = [
        "## Plausible ranges",
        "",
        "A level (a man's value, an arm's mean, median, quartile or CI bound) must lie in the "
        "range of its outcome and unit; a change within an arm or a difference between arms "
        "within +-(high - low); an SD or SE within 0 to (high - low). A percent change lies in "
        "the percent range within an arm and within +-(high - low) between arms. An outcome x "
        "unit pair not listed is refused.",
        "",
        "| outcome | unit | low | high | why |",
        "|---|---|---|---|---|",
    ]
    rows = [("any outcome", unit, spec) for unit, spec in ranges.get("any_outcome", {}).items()]
    rows += [(f"`{outcome}`", unit, spec)
             for outcome, units in ranges.get("outcomes", {}).items()
             for unit, spec in units.items()]  # fmt: skip
    for outcome, unit, spec in rows:
        low, high = spec["range"]
        out.append(f"| {outcome} | {_cell(unit)} | {_number(low)} | {_number(high)} | "
                   f"{_cell(spec.get('why', ''))} |")  # fmt: skip
    return [*out, ""]


def render_dictionary(schema: Mapping[str, Any] | None = None) -> str:
    """The markdown of the data dictionary for ``schema`` (default: the shipped contract).

    Returns
    -------
    str
        One section per table (key, minimum rows, a row per column with type, whether
        required, allowed values or range, unit and meaning), then the vocabularies.
    """
    schema = load_schema() if schema is None else schema
    vocabularies = schema.get("vocabularies", {})
    out: list[str] = [
        "# Data dictionary",
        "",
        "<!-- Generated from analysis/schema/raw_tables.yaml by `python -m analysis dictionary`;"
        " do not edit by hand. -->",
        "",
        "The tables of `data/raw/` and what each column holds. `python -m analysis validate "
        "data/raw` checks every rule below; a blank cell means *not reported*. Files are "
        "UTF-8 (without byte order mark), comma-separated, with the header as the first line.",
        "",
    ]
    for name, table in schema["tables"].items():
        out += [f"## `{name}`", ""]
        if "description" in table:
            out += [table["description"], ""]
        key = ", ".join(f"`{c}`" for c in table.get("key", []))
        out += [f"- Key: {key} (no two rows share it)."]
        if table.get("min_rows"):
            out.append(f"- At least {table['min_rows']} row(s).")
        for tool, domains in table.get("domains_by_tool", {}).items():
            out.append(f"- Domains of `{tool}`: {', '.join(f'`{d}`' for d in domains)}.")
        for tool, judgements in table.get("judgements_by_tool", {}).items():
            out.append(f"- Judgements of `{tool}`: {', '.join(f'`{d}`' for d in judgements)}.")
        out += [
            "",
            "| column | type | required | allowed values / range | unit | meaning |",
            "|---|---|---|---|---|---|",
        ]
        for column, spec in table["columns"].items():
            required = "yes" if spec.get("required") else "no"
            cells = [
                f"`{column}`",
                spec.get("type", "string"),
                required,
                _range(spec, table, schema),
                _cell(spec.get("unit", "")),
                _meaning(spec),
            ]
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    out += _plausible_section(schema)
    out += ["## Vocabularies", ""]
    for name, values in vocabularies.items():
        out += [f'<a id="{_anchor(name)}"></a>', "", f"### {name}", ""]
        if isinstance(values, Mapping):
            out += ["| value | meaning |", "|---|---|"]
            out += [f"| `{v}` | {_cell(meaning)} |" for v, meaning in values.items()]
        else:
            out += [", ".join(f"`{v}`" for v in values)]
        out.append("")
    out += [
        "## Validation messages",
        "",
        "Every problem is one line, `<file> row <line>, column <column>: <message>` (the header "
        "is row 1; problems of a whole file have no row). The messages, by rule "
        "(`analysis.validate.RULES`):",
        "",
        "| rule | message |",
        "|---|---|",
    ]
    out += [f"| `{rule}` | `{_cell(template)}` |" for rule, template in RULES.items()]
    out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m analysis dictionary [--output PATH] [--check]``."""
    parser = argparse.ArgumentParser(
        prog="python -m analysis dictionary",
        description="Write docs/data-dictionary.md from the data contract.",
    )
    parser.add_argument("--schema", default=None, help=f"default: {SCHEMA_PATH}")
    parser.add_argument("--output", default=str(DEFAULT_OUTPUT), help="'-' for stdout")
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 if stale")
    args = parser.parse_args(argv)
    text = render_dictionary(load_schema(args.schema))
    if args.output == "-":
        sys.stdout.write(text)
        return 0
    output = Path(args.output)
    if args.check:
        current = output.read_text("utf-8") if output.is_file() else None
        if current != text:
            print(f"{output} is stale; run: python -m analysis dictionary", file=sys.stderr)
            return 1
        print(f"{output} is up to date")
        return 0
    output.write_text(text, "utf-8")
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
