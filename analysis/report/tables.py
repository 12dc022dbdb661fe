"""Markdown tables and generated text of the report, from the processed files.

Every string that comes from data passes through :func:`md_escape`, which backslash-escapes
all ASCII punctuation (pandoc's ``all_symbols_escapable``): a study label containing HTML,
typst or markdown markup is then read by pandoc as plain text, and each writer escapes it for
its own format. Numbers are formatted here; nothing is computed beyond counting rows and
summing arm sizes for the "participants" column.
"""

from __future__ import annotations

import json
import math
import string
from collections.abc import Mapping, Sequence

import pandas as pd

from analysis.plots.forest import ESTIMATORS, TESTS
from analysis.plots.theme import (
    line_order,
    line_short,
    outcome_label,
)

_PUNCT = set(string.punctuation)
CERTAINTY = {
    "high": "⊕⊕⊕⊕ High",
    "moderate": "⊕⊕⊕◯ Moderate",
    "low": "⊕⊕◯◯ Low",
    "very_low": "⊕◯◯◯ Very low",
}
GRADE_DOMAINS = ["risk_of_bias", "inconsistency", "indirectness", "imprecision", "publication_bias"]


def md_escape(value: object) -> str:
    """Make a value from data literal text in pandoc markdown (inline, one line).

    Parameters
    ----------
    value : object
        Anything; ``None``/NaN become an empty string.

    Returns
    -------
    str
        The text with every ASCII punctuation character backslash-escaped and line breaks
        replaced by spaces, so no markup (HTML, raw typst, citations, emphasis, table pipes)
        survives.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = " ".join(str(value).split())
    return "".join("\\" + ch if ch in _PUNCT else ch for ch in text)


def breakable(text: str) -> str:
    """Long tokens (paths, ledger inputs, calls) as they are: no character is inserted.

    Narrow columns wrap them by style rules, ``overflow-wrap: anywhere`` in
    ``templates/report.css`` and a break opportunity after ``/ _ : ; =`` in
    ``templates/typst-header.typ``, so copying an id or path gives it back unchanged.
    """
    return text


def fmt_num(x: object, digits: int = 2) -> str:
    """Fixed decimals with a true minus sign; empty for missing."""
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    if math.isnan(v):
        return ""
    s = f"{v:.{digits}f}"
    if float(s) == 0:
        s = s.lstrip("-")
    return s.replace("-", "−")


def digits_for(values: Sequence[object]) -> int:
    """Decimals giving about three significant digits of the largest absolute value."""
    finite = []
    for v in values:
        try:
            f = abs(float(v))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        if not math.isnan(f):
            finite.append(f)
    top = max(finite, default=1.0)
    return 3 if top < 1 else 2 if top < 10 else 1


def fmt_ci(est: object, lo: object, hi: object, digits: int | None = None) -> str:
    """``est [lo, hi]`` with shared decimals."""
    d = digits_for([est, lo, hi]) if digits is None else digits
    return f"{fmt_num(est, d)} [{fmt_num(lo, d)}, {fmt_num(hi, d)}]"


def fmt_p(p: object, bound: object = "=") -> str:
    try:
        v = float(p)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    if math.isnan(v):
        return ""
    b = "=" if not isinstance(bound, str) or not bound.strip() else bound.strip()
    if v < 0.001 and b == "=":
        return "p < 0.001"
    return f"p {b} {v:.3g}"


def truthy(x: object) -> bool:
    if isinstance(x, str):
        return x.strip().lower() in {"true", "1", "yes"}
    return bool(x) and not pd.isna(x)  # type: ignore[arg-type]


def effect_ci(est: object, lo: object, hi: object, scale: object, digits: int | None = None) -> str:
    """``est [lo, hi]`` of an effect as read: a log ratio (scale ``log_ratio``) is written
    back-transformed, as the ratio of means with its CI."""
    if scale == "log_ratio":
        vals = [
            math.exp(float(x)) if x is not None and not pd.isna(x) else x  # type: ignore[arg-type]
            for x in (est, lo, hi)
        ]
        return fmt_ci(vals[0], vals[1], vals[2], 2 if digits is None else digits)
    return fmt_ci(est, lo, hi, digits)


def unit_text(unit: object, scale: object) -> str:
    """Unit shown after an effect: percentage points for the percent scale, "ratio of
    means" for the log_ratio scale (written back-transformed)."""
    if scale == "percent":
        return "% points"
    if scale == "log_ratio":
        return "ratio of means"
    if unit is None or (isinstance(unit, float) and math.isnan(unit)):
        return ""
    return str(unit).replace("cm2", "cm²").replace("cm3", "cm³")


def md_table(
    rows: Sequence[Sequence[str]],
    header: Sequence[str],
    *,
    caption: str,
    ident: str,
    align: str | None = None,
    widths: Sequence[int] | None = None,
) -> str:
    """A pipe table with a caption and a cross-reference id.

    Parameters
    ----------
    rows : sequence of sequence of str
        Cells already escaped with :func:`md_escape` (or trusted markdown made here).
    header : sequence of str
        Column names (trusted text).
    caption : str
        Caption text (trusted markdown).
    ident : str
        Cross-reference id, e.g. ``tbl-studies``.
    align : str, optional
        One letter per column: ``l``, ``r`` or ``c``.
    widths : sequence of int, optional
        Relative column widths (dashes of the separator line); by default from the typical
        content and the longest word of each column.

    Returns
    -------
    str
        Markdown: the table, then ``: caption {#ident}``. An empty table becomes a paragraph
        saying so (with the same caption) so the report still renders.
    """
    align = align or "l" * len(header)
    widths_given = widths
    if not rows:
        rows = [["*(no rows)*"] + [""] * (len(header) - 1)]
    # Pandoc takes relative column widths from the dashes of the separator line when a row is
    # longer than the page: give each column dashes in proportion to its typical content.
    widths = []
    for j, name in enumerate(header):
        lengths = sorted(len(str(r[j]).replace("\\", "")) for r in rows)
        typical = max(lengths[(3 * len(lengths)) // 4], len(name) // 2)
        words = [len(w) for r in rows for w in str(r[j]).replace("\\", "").split()]
        longest_word = max([len(w) for w in name.split()] + [min(max(words, default=0), 16)])
        widths.append(min(max(typical, int(1.6 * longest_word) + 4, 8), 50))
    if widths_given is not None:
        widths = [max(int(w), 3) for w in widths_given]
    sep = [
        {"l": ":" + "-" * w, "r": "-" * w + ":", "c": ":" + "-" * w + ":"}[a]
        for a, w in zip(align, widths, strict=True)
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(sep) + "|"]
    for row in rows:
        cells = [str(c).replace("\n", " ") for c in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + f"\n\n: {caption} {{#{ident}}}\n"


def _clip(text: object, n: int) -> str:
    """At most ``n`` characters, cut at a word with an ellipsis (full text elsewhere)."""
    s = " ".join(str(text).split())
    return s if len(s) <= n else s[:n].rsplit(" ", 1)[0] + " …"


def _by_line(df: pd.DataFrame) -> list[str]:
    return line_order(df["evidence_line"]) if len(df) else []


def studies_table(
    studies: pd.DataFrame,
    effects: pd.DataFrame,
    reported_in_words: pd.DataFrame,
    patient_changes: pd.DataFrame | None = None,
    hormone_changes: pd.DataFrame | None = None,
    findings: pd.DataFrame | None = None,
) -> str:
    """Evidence table: population, intervention, hormonal change and effect on BMD per study.

    Parameters
    ----------
    studies : pandas.DataFrame
        ``data/raw/studies.csv``.
    effects, reported_in_words : pandas.DataFrame
        ``effects.csv`` and ``reported_in_words.csv``.
    patient_changes : pandas.DataFrame, optional
        ``cases/patient_changes.csv``, for case reports without a row in ``effects.csv``.
    hormone_changes : pandas.DataFrame, optional
        ``effects/hormone_changes.csv``: estradiol and testosterone before and after in the
        arms a study's effects compare ("Hormonal change"; which arm, and whether the
        control arm reported them).

    Returns
    -------
    str
        Markdown table ``tbl-studies`` ordered by evidence line then year.

    Notes
    -----
    With ``findings`` (``findings/findings.csv``) the "Effect on BMD" column states each
    bone finding the study is part of, in the same words as every other section.
    """
    rows = []
    for line in _by_line(studies):
        sub = studies.loc[studies["evidence_line"] == line].sort_values(["year", "study_id"])
        for _, s in sub.iterrows():
            eff = effects.loc[effects["study_id"] == s["study_id"]]
            words = reported_in_words.loc[reported_in_words["study_id"] == s["study_id"]]
            hormone, bone = [], []
            hc = pd.DataFrame()
            if hormone_changes is not None and len(hormone_changes):
                hc = hormone_changes.loc[hormone_changes["study_id"] == s["study_id"]]
                if hc["compared"].astype(str).str.lower().eq("true").any():
                    hc = hc.loc[hc["compared"].astype(str).str.lower() == "true"]
            for arm, arm_rows in sorted(
                hc.groupby("arm", sort=False) if len(hc) else [],
                key=lambda item: (str(item[1]["role"].iloc[0]) != "treatment", item[0]),
            ):
                parts = []
                for _, h in arm_rows.sort_values("outcome").iterrows():
                    pc = float(h["percent_change"])
                    sign = "" if math.isnan(pc) else ("−" if pc < 0 else "+")
                    parts.append(
                        f"{md_escape(outcome_label(h['outcome']))} "
                        f"{md_escape(fmt_num(h['baseline'], 1))} → "
                        f"{md_escape(fmt_num(h['follow_up'], 1))} {md_escape(h['unit'])}"
                        + (f" ({sign}{abs(pc):.0f}%)" if sign else "")
                        + f" at {round(float(h['months']), 1):g} mo"
                    )
                side = f"{md_escape(str(arm).replace('_', ' '))} arm"
                if (
                    str(arm_rows["role"].iloc[0]) == "treatment"
                    and not (hc["role"] == "control").any()
                ):
                    side += "; control arm not reported"
                hormone.append("; ".join(parts) + f" ({side})")
            for _, e in eff.sort_values(["outcome", "scale"]).iterrows():
                text = (
                    f"{md_escape(outcome_label(e['outcome']))}: "
                    f"{md_escape(effect_ci(e['yi'], e['ci_low'], e['ci_high'], e['scale']))} "
                    f"{md_escape(unit_text(e['unit'], e['scale']))}"
                )
                if pd.notna(e.get("timepoint_months")):
                    text += f" at {round(float(e['timepoint_months']), 1):g} mo"
                if e["outcome"] in ("estradiol", "testosterone", "shbg", "lh", "fsh"):
                    hormone.append(text)
                elif str(e["outcome"]).startswith(("bmd_", "bmc_", "vbmd_")):
                    bone.append(text)
            for _, w in words.iterrows():
                text = (
                    f"{md_escape(outcome_label(w['outcome']))}: "
                    f"“{md_escape(_clip(w['reported_text'], 160))}”"
                    + (
                        f" ({md_escape(fmt_p(w['p_value'], w['p_value_bound']))})"
                        if pd.notna(w.get("p_value"))
                        else ""
                    )
                )
                target = hormone if w["outcome"] in ("estradiol", "testosterone") else bone
                if w["outcome"] in ("estradiol", "testosterone") or str(w["outcome"]).startswith(
                    ("bmd_", "bmc_", "vbmd_")
                ):
                    target.append(text)
            if patient_changes is not None and not bone and len(patient_changes):
                pc = patient_changes.loc[
                    patient_changes["study_ids"]
                    .astype(str)
                    .str.split(";")
                    .map(lambda ids, sid=s["study_id"]: sid in ids)
                ]
                for _, c in pc.iterrows():
                    if str(c["outcome"]).startswith(("bmd_", "bmc_")):
                        bone.append(
                            f"{md_escape(outcome_label(c['outcome']))}: "
                            f"{md_escape(fmt_num(c['percent_change'], 1))}% in "
                            f"{md_escape(fmt_num(c['months'], 0))} months"
                        )
                    if not hormone and pd.notna(c.get("estradiol_after")):
                        censor = c.get("estradiol_before_censor")
                        censor = censor if isinstance(censor, str) else ""
                        hormone.append(
                            f"E2 {md_escape(censor)}"
                            f"{md_escape(fmt_num(c['estradiol_before'], 0) or '?')} → "
                            f"{md_escape(fmt_num(c['estradiol_after'], 0))} "
                            f"{md_escape(c['estradiol_unit'])}"
                        )
            if findings is not None:
                bone = _bone_claims(findings, s)
            comparator = s.get("comparator")
            interv = md_escape(s["intervention"]) + (
                f" vs {md_escape(comparator)}" if isinstance(comparator, str) and comparator else ""
            )
            rows.append(
                [
                    md_escape(line_short(line)),
                    md_escape(s["label"]),
                    md_escape(str(s["design"]).replace("_", " ")),
                    md_escape(s["population"]),
                    interv,
                    md_escape(fmt_num(s.get("duration_months"), 0)),
                    "; ".join(hormone) or "none in the retrieved text",
                    "; ".join(bone) or "no bone result in the retrieved text",
                ]
            )
    return md_table(
        rows,
        [
            "Evidence line",
            "Study",
            "Design",
            "Population",
            "Intervention",
            "Months",
            "Hormonal change",
            "Effect on BMD",
        ],
        caption="Characteristics of the included studies, by evidence line (AI: aromatase "
        "inhibitor). Effects are "
        "treatment minus control (or after minus before in case reports) with 95% CIs; "
        "results reported only in words are quoted (in full in @tbl-completeness).",
        ident="tbl-studies",
        align="lllllrll",
        # the hormone and BMD cells hold several results each: as wide as the text columns
        widths=[10, 11, 7, 24, 24, 6, 26, 24],
    )


def _bone_claims(findings: pd.DataFrame, study: Mapping) -> list[str]:
    """The bone findings a study is part of, as the same claims as the other sections."""
    from analysis.report import claims

    out = []
    bone = findings.loc[findings["outcome"].map(claims.is_bone)]
    for f in claims.order(bone).to_dict("records"):
        ids = str(f.get("study_ids") or "").split(";")
        named = [x.strip() for x in str(f.get("studies_not_retrieved") or "").split(";")]
        if study["study_id"] in ids:
            out.append(
                f"{md_escape(claims.label(f))}: {claims.claim(f, md_escape(claims.result_text(f)))}"
            )
        elif study["label"] in named:
            out.append(f"{md_escape(claims.label(f))}: measured, not retrieved")
    return out


def _method_words(method: object) -> str:
    """A ledger method in words: its description after the code (``code: words``), else
    the code with spaces."""
    text = str(method)
    return text.split(": ", 1)[1] if ": " in text else text.replace("_", " ")


def _assumptions_text(raw: object) -> str:
    """A ledger's JSON assumptions as ``key: value; key: value`` (else the text as it is)."""
    try:
        parsed = json.loads(str(raw))
    except (TypeError, ValueError):
        return "" if raw is None or (isinstance(raw, float) and math.isnan(raw)) else str(raw)
    if not isinstance(parsed, dict):
        return json.dumps(parsed, ensure_ascii=False)
    parts = []
    for key, value in parsed.items():
        if isinstance(value, float):
            shown = f"{value:.4g}"  # no more digits than the report shows elsewhere
        else:
            shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        parts.append(f"{str(key).replace('_', ' ')}: {shown}")
    return "; ".join(parts)


def derivations_table(derivations: pd.DataFrame) -> str:
    """The derivation ledger as an appendix table (``tbl-derivations``).

    Study, outcome, scale and step are carried by the ledger id (and the outcome is shown);
    the table keeps to seven columns so that it fits a portrait page.
    """
    rows = []
    for _, d in derivations.sort_values("derivation_id").iterrows():
        assumptions = _assumptions_text(d["assumptions"])
        rows.append(
            [
                breakable(md_escape(d["derivation_id"])),
                md_escape(f"{outcome_label(d['outcome'])}, {d['scale']}, step {d['step']}"),
                md_escape(d["method"]),
                breakable(md_escape(d["inputs"])),
                breakable(md_escape(assumptions)),
                md_escape(fmt_num(d["value"], digits_for([d["value"]]) + 1)),
                breakable(md_escape(d["reference"])),
            ]
        )
    return md_table(
        rows,
        [
            "Id",
            "Outcome",
            "Method",
            "Inputs (file:row:column)",
            "Assumptions",
            "Value",
            "Reference",
        ],
        caption="Derivation ledger: every number not taken directly from a report.",
        ident="tbl-derivations",
        align="lllllrl",
    )


def methods_text(config: Mapping, pooled: pd.DataFrame | None = None) -> str:
    """Methods paragraph generated from the configuration.

    Parameters
    ----------
    config : mapping
        The workflow configuration; keys read (all optional): ``pooling.method``,
        ``pooling.test``, ``pooling.adhoc``, ``pooling.level``, ``prepost_r``,
        ``few_studies.*``, ``sensitivity.*``, ``outcomes.primary``/``outcomes.secondary``.
        Missing keys fall back to the values in ``pooled.csv`` or are left out.
    pooled : pandas.DataFrame, optional
        ``pooled.csv``, the source of truth for the estimator used when the config is silent.

    Returns
    -------
    str
        Markdown paragraphs (data-derived parts escaped).
    """
    pooling = config.get("pooling", {}) or {}
    method = pooling.get("method")
    test = pooling.get("test")
    if test == "knha" and pooling.get("adhoc"):
        test = "adhoc"
    level = pooling.get("level")
    if pooled is not None and len(pooled):
        method = method or str(pooled["method"].iloc[0])
        test = test or str(pooled["test"].iloc[0])
        level = level or float(pooled["level"].iloc[0])
    method = method or "REML"
    test = test or "z"
    level = float(level or 0.95)
    r = config.get("prepost_r")
    paras = [
        "Effects are differences between arms in the change from baseline (treatment minus "
        "control), on the absolute scale of the outcome's canonical unit and as differences "
        "in percent change; in case reports, the change under estrogen within the patient.",
        f"Studies were pooled within each evidence line only, with a "
        f"{md_escape(ESTIMATORS.get(str(method), str(method)))} model "
        f"(estimator {md_escape(method)}) and {md_escape(TESTS.get(str(test), str(test)))}; "
        f"intervals are at the {level:.0%} level. Lines with a single study are shown, "
        "not pooled. Heterogeneity is reported as τ², Q and I², with a prediction interval "
        "where k ≥ 3.",
    ]
    if r is not None:
        paras.append(
            f"Where a change-score SD had to be derived from baseline and final SDs, the "
            f"pre-post correlation was assumed to be r = {md_escape(r)} (Cochrane Handbook "
            "6.5.2.8); each derivation is listed in the ledger (@tbl-derivations)."
        )
    few = config.get("few_studies", {}) or {}
    if few:
        paras.append(
            f"A line was pooled when it had at least {md_escape(few.get('min_k_pool', 2))} "
            f"studies; a prediction interval was given from "
            f"{md_escape(few.get('min_k_prediction_interval', 3))} studies, and small-study "
            f"tests only from {md_escape(few.get('min_k_small_study_tests', 10))}."
        )
    sens = config.get("sensitivity", {}) or {}
    if sens:
        names = {
            "methods": "τ² estimators",
            "tests": "tests",
            "r": "pre-post correlations r",
            "inclusion": "inclusion rules",
        }
        parts = [
            f"{names.get(k, md_escape(k))} "
            + ", ".join(
                md_escape(str(x).replace("_", " ")) for x in (v if isinstance(v, list) else [v])
            )
            for k, v in sens.items()
        ]
        paras.append(
            "Sensitivity analyses varied the " + "; the ".join(parts) + " (@tbl-sensitivity)."
        )
    outcomes = config.get("outcomes")
    if isinstance(outcomes, Mapping):
        primary = outcomes.get("primary")
        secondary = outcomes.get("secondary") or []
        if primary:
            paras.append(
                f"The primary outcome was {md_escape(outcome_label(str(primary)))}; secondary "
                "outcomes were "
                + ", ".join(md_escape(outcome_label(str(o))) for o in secondary)
                + "."
            )
    elif outcomes:
        paras.append(
            "Outcomes: " + ", ".join(md_escape(outcome_label(str(o))) for o in outcomes) + "."
        )
    return "\n\n".join(paras) + "\n"


def figure_md(image: str, caption: str, ident: str, alt: str, width: str = "100%") -> str:
    """A figure with cross-reference id and alt text, for the include filter.

    Parameters
    ----------
    image : str
        Path relative to ``reports/`` (e.g. ``figures/prisma.png``).
    caption : str
        Caption (trusted markdown, data parts escaped by the caller).
    ident : str
        ``fig-...`` id.
    alt : str
        Alt text (plain text; double quotes are replaced so the attribute stays well formed).

    Returns
    -------
    str
        ``![caption](image){#ident fig-alt="..." width="..."}``
    """
    alt = " ".join(str(alt).replace('"', "'").replace("\\", "/").split())
    return f'![{caption}]({image}){{#{ident} fig-alt="{alt}" width="{width}"}}\n'
