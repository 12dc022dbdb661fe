"""The pipeline's configuration (``config/config.yaml``): data, never code.

The workflow loads its configuration here instead of through Snakemake's ``configfile:``,
whose loader evaluates YTE template expressions when a file sets ``__use_yte__: true``. The
file is read with a strict YAML reader and then checked twice:

1. against ``config/config.schema.yaml`` (types, allowed values, required sections);
2. against the data contract (``analysis/schema/raw_tables.yaml``) and the repository: every
   outcome named is an outcome of the contract, every canonical unit has a plausible range
   declared for its outcome (so the pipeline can convert to it and check it), and
   ``paths.raw`` is a directory inside the repository.

Every problem is one line, ``"<file>: <key path>: <what is wrong>"``, raised as
:class:`ConfigError`.

Strict YAML means: a duplicate key, an explicit tag (``!!python/...``, ``!foo``, even
``!!str``), an anchor or alias, and the key ``__use_yte__`` are refused, so the file can only
hold plain mappings, lists, strings, numbers and booleans.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

__all__ = ["ConfigError", "load_config", "read_strict_yaml"]

SCHEMA = Path("config/config.schema.yaml")


class ConfigError(ValueError):
    """The configuration is not usable; the message names the file and every problem."""


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (PyYAML keeps the last one silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise ConfigError(
                    f"line {line}: key '{key}' is given twice (first on line {seen[key]}); keep one"
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def read_strict_yaml(path: str | Path) -> Any:
    """Parse a YAML file that may hold only plain data.

    Raises
    ------
    ConfigError
        For an unreadable file, a syntax error, a tag, an anchor or alias, a duplicate key or
        ``__use_yte__``; the message starts with the file name and names the line.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot be read ({err})") from None
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            kind = {
                yaml.TagToken: "a tag",
                yaml.AnchorToken: "an anchor",
                yaml.AliasToken: "an alias",
            }.get(type(token))
            if kind is not None:
                raise ConfigError(
                    f"{path}: line {token.start_mark.line + 1}: {kind} is not allowed; "
                    "the configuration holds plain values only"
                )
        data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except ConfigError as err:
        message = str(err)
        raise ConfigError(
            message if message.startswith(str(path)) else f"{path}: {message}"
        ) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err)
        raise ConfigError(f"{path}: {where}not valid YAML ({problem})") from None
    if isinstance(data, Mapping) and "__use_yte__" in data:
        raise ConfigError(
            f"{path}: __use_yte__: templates are not allowed; the configuration is data, not code"
        )
    return data


def _merge(base: Any, override: Any) -> Any:
    """``override`` on top of ``base``, mappings merged key by key (Snakemake's --config)."""
    if isinstance(base, Mapping) and isinstance(override, Mapping):
        out = dict(base)
        for key, value in override.items():
            out[key] = _merge(base.get(key), value)
        return out
    return override


def _suggest(value: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(value, choices, n=1, cutoff=0.75)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _schema_problems(config: Mapping[str, Any], schema_path: Path) -> list[str]:
    import jsonschema

    schema = read_strict_yaml(schema_path)
    validator = jsonschema.Draft202012Validator(schema)
    problems = []
    for error in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.path))):
        where = ".".join(str(p) for p in error.path) or "(top level)"
        problems.append(f"{where}: {error.message}")
    return problems


def _contract_problems(
    config: Mapping[str, Any], contract: Mapping[str, Any], root: Path
) -> list[str]:
    problems = []
    vocabularies = contract.get("vocabularies", {})
    outcomes = [str(o) for o in vocabularies.get("outcome", [])]
    named: list[tuple[str, Any]] = [("outcomes.primary", config["outcomes"]["primary"])]
    named += [
        (f"outcomes.secondary[{i}]", o) for i, o in enumerate(config["outcomes"]["secondary"])
    ]
    named += [(f"cases.outcomes[{i}]", o) for i, o in enumerate(config["cases"]["outcomes"])]
    named += [(f"canonical_units.{o}", o) for o in config["canonical_units"]]
    for where, outcome in named:
        if outcome not in outcomes:
            problems.append(
                f"{where}: '{outcome}' is not an outcome of the data contract"
                f"{_suggest(str(outcome), outcomes)}; see docs/data-dictionary.md"
            )
    ranges = contract.get("plausible_ranges", {})
    for outcome, unit in config["canonical_units"].items():
        declared = {**ranges.get("outcomes", {}).get(outcome, {}), **ranges.get("any_outcome", {})}
        if outcome in outcomes and unit not in declared:
            allowed = ", ".join(sorted(declared)) or "none"
            problems.append(
                f"canonical_units.{outcome}: '{unit}' is not a unit of {outcome} in the data "
                f"contract (plausible_ranges); allowed: {allowed}"
            )
    raw = str(config["paths"]["raw"])
    resolved = (root / raw).resolve()
    if Path(raw).is_absolute() or not resolved.is_relative_to(root.resolve()):
        problems.append(f"paths.raw: '{raw}' is outside the repository; give a relative path")
    elif (root / raw).is_symlink() or not resolved.is_dir():
        problems.append(f"paths.raw: '{raw}' is not a directory of the repository")
    return problems


def load_config(
    path: str | Path,
    overrides: Mapping[str, Any] | None = None,
    *,
    root: str | Path = ".",
    schema: str | Path | None = None,
) -> dict[str, Any]:
    """Read, merge and check the pipeline configuration.

    Parameters
    ----------
    path
        The YAML file (``config/config.yaml``), read with :func:`read_strict_yaml`.
    overrides
        Values given on the command line (Snakemake's ``--config``), merged on top.
    root
        The repository; ``paths.raw`` must lie inside it.
    schema
        JSON schema of the file; default ``config/config.schema.yaml`` under ``root``.

    Returns
    -------
    dict
        The checked configuration.

    Raises
    ------
    ConfigError
        Naming the file and listing every problem, one per line.
    """
    from analysis.validate import load_schema  # stdlib and yaml only: parsing stays cheap

    root = Path(root)
    data = read_strict_yaml(path)
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: the file must hold a mapping of sections")
    config = _merge(data, dict(overrides or {}))
    problems = _schema_problems(config, Path(schema) if schema else root / SCHEMA)
    if not problems:
        problems = _contract_problems(config, load_schema(), root)
    if problems:
        raise ConfigError("\n".join(f"{path}: {p}" for p in problems))
    return config
