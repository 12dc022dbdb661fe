"""GRADE certainty of the evidence by declared rules.

Each finding (one evidence line x outcome x scale, see :mod:`analysis.findings`) gets a
starting level from the designs of its studies and a rating per domain. Risk of bias,
inconsistency and imprecision are computed here from the data by the rules in the
``grade`` section of ``config/config.yaml``; indirectness, publication bias and upgrading
are reviewer judgements read from ``data/raw/grade.csv`` with their rationale. A computed
domain is changed only by an override in ``grade.csv`` (its own columns and reason), and
the basis column then says so.

Levels: 4 high, 3 moderate, 2 low, 1 very low. A rating is the number of levels taken off
(0 not serious, 1 serious, 2 very serious).

References
----------
Guyatt GH et al. (2011). GRADE guidelines 1-9. J Clin Epidemiol 64:380-415.
Schünemann HJ et al. (2019). GRADE guidelines 18: how ROBINS-I and other tools to assess
risk of bias in nonrandomized studies should be used. J Clin Epidemiol 111:105-114.
Santesso N et al. (2020). GRADE guidelines 26: informative statements to communicate the
findings of systematic reviews. J Clin Epidemiol 119:126-135.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

DOMAINS = ["risk_of_bias", "inconsistency", "indirectness", "imprecision", "publication_bias"]
JUDGED = ["indirectness", "publication_bias"]
LEVEL_NAME = {4: "high", 3: "moderate", 2: "low", 1: "very_low"}
RATING_NAME = {0: "not_serious", 1: "serious", 2: "very_serious"}
RATING_LEVELS = {v: k for k, v in RATING_NAME.items()}
LEVEL_START = {4: "high", 2: "low", 1: "very low"}


def start_level(designs: Sequence[str], start: Mapping[str, int]) -> tuple[int, str]:
    """Starting level: the lowest of the contributing studies' design levels."""
    known = sorted({d for d in designs if d})
    if not known:
        return 1, "no contributing study: very low"
    level = min(int(start[d]) for d in known)
    return (
        level,
        f"{', '.join(d.replace('_', ' ') for d in known)}: "
        f"starts {LEVEL_NAME[level].replace('_', ' ')}",
    )


def risk_of_bias(
    judgements: Sequence[tuple[str, str, str]], rules: Mapping[str, Mapping[str, int]]
) -> tuple[int, str]:
    """Levels off for the worst overall risk-of-bias judgement of the contributing results.

    ``judgements`` holds ``(label, tool, overall judgement)`` per contributing study (the
    result-specific judgement where the study is judged per outcome). A study without a
    judgement counts as the tool's worst category would not be fair either way, so it is
    named in the basis and takes one level off.
    """
    if not judgements:
        return 0, "no contributing study"
    worst, parts = 0, []
    for label, tool, judgement in judgements:
        if not tool or not judgement:
            levels, text = 1, f"{label}: not judged"
        else:
            levels = int(rules[tool][judgement])
            text = f"{label}: {tool_name(tool)} {judgement.replace('_', ' ')}"
        worst = max(worst, levels)
        parts.append(text)
    return min(worst, 2), "; ".join(parts) + f" (worst takes {min(worst, 2)} off)"


def tool_name(tool: str) -> str:
    return {"rob2": "RoB 2", "robins_i": "ROBINS-I", "murad2018": "Murad 2018"}.get(tool, tool)


def inconsistency(
    status: str, k: int, i2: float | None, signs: Sequence[int], threshold: float
) -> tuple[int, str]:
    """Not assessable at k = 1; I2 rule for pooled numbers; sign rule for case reports."""
    if status not in ("numeric", "words_only") or (k < 2 and len(signs) < 2):
        return 0, "not assessable (one study)" if k <= 1 else "not assessable"
    if status == "numeric" and i2 is not None and math.isfinite(i2) and k >= 2:
        serious = i2 >= threshold
        return int(serious), f"I2 = {i2:.0f}% ({'>=' if serious else '<'} {threshold:g}%)"
    nonzero = {s for s in signs if s != 0}
    if len(signs) >= 2:
        if len(nonzero) > 1:
            return 1, f"changes differ in direction across {len(signs)} units"
        return 0, f"all {len(signs)} changes in the same direction"
    return 0, "not assessable (directions not reported)"


def imprecision(
    status: str,
    *,
    ci_low: float | None,
    ci_high: float | None,
    n: float | None,
    ois: int,
    words_only: int,
    no_variance: int,
) -> tuple[int, str]:
    """One rule for every row (GRADE guidance 6).

    Numeric with a CI: one level when the CI includes no effect (0), one when the number of
    participants is below the optimal information size or unknown. Words only: ``words_only``
    levels. Numeric without a variance (a median of case reports): ``no_variance`` levels.
    """
    if status == "words_only":
        return words_only, "result in words only: no estimate or CI"
    if status != "numeric":
        return 0, "no result to rate"
    if ci_low is None or ci_high is None or not (math.isfinite(ci_low) and math.isfinite(ci_high)):
        return no_variance, "no variance: a summary of single cases without a CI"
    levels, parts = 0, []
    if ci_low <= 0 <= ci_high:
        levels += 1
        parts.append("CI includes no effect")
    else:
        parts.append("CI excludes no effect")
    if n is None or not math.isfinite(n):
        levels += 1
        parts.append(f"number analysed unknown (optimal information size {ois})")
    elif n < ois:
        levels += 1
        parts.append(f"{int(n)} participants < optimal information size {ois}")
    else:
        parts.append(f"{int(n)} participants >= optimal information size {ois}")
    return min(levels, 2), "; ".join(parts)


def certainty(start: int, ratings: Mapping[str, int], upgrade: int = 0) -> str:
    """Start minus the levels taken off plus upgrading, kept within very low..high."""
    level = start - sum(int(v) for v in ratings.values()) + int(upgrade)
    return LEVEL_NAME[max(1, min(4, level))]


def statement(
    certainty_name: str, status: str, direction: str, intervention: str, outcome: str
) -> str:
    """Plain-language statement in GRADE's wording (Santesso 2020).

    ``direction`` is ``"lower"``, ``"higher"`` or ``"unclear"`` (CI includes no effect or
    no estimate).
    """
    if status not in ("numeric", "words_only"):
        return f"No result for {outcome} was retrieved."
    if certainty_name == "very_low":
        return f"The evidence is very uncertain about the effect of {intervention} on {outcome}."
    verb = {"lower": "reduce", "higher": "increase"}.get(direction)
    if verb is None:
        phrase = "result in little to no difference in"
        lead = {"high": "", "moderate": "probably ", "low": "may "}[certainty_name]
        return f"{intervention[0].upper()}{intervention[1:]} {lead}{phrase} {outcome}."
    lead = {"high": f"{verb}s", "moderate": f"probably {verb}s", "low": f"may {verb}"}[
        certainty_name
    ]
    return f"{intervention[0].upper()}{intervention[1:]} {lead} {outcome}."


def rate(
    *,
    status: str,
    designs: Sequence[str],
    rob: Sequence[tuple[str, str, str]],
    k: int,
    i2: float | None,
    signs: Sequence[int],
    ci_low: float | None,
    ci_high: float | None,
    n: float | None,
    judged: Mapping[str, Any] | None,
    rules: Mapping[str, Any],
) -> dict[str, Any]:
    """All GRADE columns of one finding.

    Returns a dict with ``start``, ``start_basis``, ``<domain>`` (rating name),
    ``<domain>_basis`` for the five domains, ``upgrade``, ``upgrade_basis``, ``override``
    and ``certainty`` (``not_rated`` when there is no result to rate).
    """
    out: dict[str, Any] = {}
    if status not in ("numeric", "words_only"):
        out.update(
            start="",
            start_basis="no result to rate",
            certainty="not_rated",
            upgrade="",
            upgrade_basis="",
            override="",
        )
        for d in DOMAINS:
            out[d], out[f"{d}_basis"] = "", ""
        return out
    start, start_basis = start_level(designs, rules["start"])
    levels = {
        "risk_of_bias": risk_of_bias(rob, rules["risk_of_bias"]),
        "inconsistency": inconsistency(status, k, i2, signs, rules["inconsistency_i2"]),
        "imprecision": imprecision(
            status,
            ci_low=ci_low,
            ci_high=ci_high,
            n=n,
            ois=rules["optimal_information_size"],
            words_only=rules["words_only_imprecision"],
            no_variance=rules["no_variance_imprecision"],
        ),
    }
    judged = dict(judged or {})
    for d in JUDGED:
        rating = judged.get(d) or ""
        if rating:
            levels[d] = (
                RATING_LEVELS[rating],
                f"reviewer judgement: {judged.get(d + '_rationale') or ''}".strip(),
            )
        else:
            levels[d] = (0, "not judged: no row in data/raw/grade.csv (provisional)")
    overrides = []
    domain = judged.get("override_domain") or ""
    if domain:
        levels[domain] = (
            RATING_LEVELS[judged["override_rating"]],
            f"override of the computed rating ({levels[domain][1]}): {judged['override_reason']}",
        )
        overrides.append(f"{domain}: {judged['override_reason']}")
    upgrade = int(judged.get("upgrade") or 0)
    out.update(
        start=LEVEL_NAME[start],
        start_basis=start_basis,
        upgrade=upgrade,
        upgrade_basis=judged.get("upgrade_rationale") or "",
        override="; ".join(overrides),
    )
    for d in DOMAINS:
        out[d], out[f"{d}_basis"] = RATING_NAME[levels[d][0]], levels[d][1]
    out["certainty"] = certainty(start, {d: levels[d][0] for d in DOMAINS}, upgrade)
    return out
