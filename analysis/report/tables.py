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
    OUTCOME_LABELS,
    line_label,
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
    """Allow line breaks after ``/ : ; ( =`` in long tokens (paths, ledger inputs, calls).

    A zero-width space is inserted, so narrow table columns wrap instead of overflowing.
    """
    for ch in "/:;(=":
        text = text.replace(ch, ch + "\u200b")
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
                            f"{md_escape(c['patient_id'])} "
                            f"{md_escape(outcome_label(c['outcome']))}: "
                            f"{md_escape(fmt_num(c['percent_change'], 1))}% in "
                            f"{md_escape(fmt_num(c['months'], 0))} months"
                        )
                    if not hormone and pd.notna(c.get("estradiol_after")):
                        hormone.append(
                            f"E2 {md_escape(fmt_num(c['estradiol_before'], 0) or '?')} → "
                            f"{md_escape(fmt_num(c['estradiol_after'], 0))} "
                            f"{md_escape(c['estradiol_unit'])}"
                        )
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
                    "; ".join(hormone) or "not reported",
                    "; ".join(bone) or "not reported",
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


def _outcome_rank(outcome: str) -> tuple[int, str]:
    """Bone outcomes first, in the order of the outcome vocabulary, then the rest by name."""
    order = list(OUTCOME_LABELS)
    return (order.index(outcome) if outcome in order else len(order), str(outcome))


def _downgrades(g: pd.Series) -> str:
    """``risk of bias −1; imprecision −2`` from a ``grade.csv`` row (not serious: left out)."""
    steps = {"serious": "−1", "very_serious": "−2"}
    parts = [
        f"{d.replace('_', ' ')} {steps.get(str(g.get(d)), md_escape(g.get(d)))}"
        for d in GRADE_DOMAINS
        if str(g.get(d, "not_serious")) not in ("not_serious", "nan", "")
    ]
    return "; ".join(parts) if parts else "not downgraded"


def sof_table(pooled: pd.DataFrame, grade: pd.DataFrame, effects: pd.DataFrame) -> str:
    """Summary of findings: effect, studies, participants and GRADE certainty with reasons.

    Parameters
    ----------
    pooled : pandas.DataFrame
        ``pooled.csv``.
    grade : pandas.DataFrame
        ``data/raw/grade.csv``.
    effects : pandas.DataFrame
        ``effects.csv`` (for the participants column: sum of arm sizes).

    Returns
    -------
    str
        Markdown table ``tbl-sof``: one row per evidence line x outcome x scale of ``pooled.csv``
        and one per ``grade.csv`` row without a pooled result, bone outcomes first. The reasons
        column names the downgraded domains (−1 serious, −2 very serious); the full rationale
        is a ``.details`` span (expandable in HTML, dropped in the PDF) and is in
        :func:`grade_table`.
    """
    rows = []
    keys = pd.concat(
        [pooled[["evidence_line", "outcome"]], grade[["evidence_line", "outcome"]]]
    ).drop_duplicates()
    for line in _by_line(keys):
        outcomes = sorted(
            set(keys.loc[keys["evidence_line"] == line, "outcome"]), key=_outcome_rank
        )
        for outcome in outcomes:
            g = grade.loc[(grade["evidence_line"] == line) & (grade["outcome"] == outcome)]
            if len(g):
                gr = g.iloc[0]
                certainty = CERTAINTY.get(str(gr["certainty"]), md_escape(gr["certainty"]))
                reasons = md_escape(_downgrades(gr))
                if isinstance(gr.get("rationale"), str) and gr["rationale"].strip():
                    reasons += f' [{md_escape(gr["rationale"])}]{{.details summary="Rationale"}}'
            else:
                certainty, reasons = "not graded", "no GRADE judgement in grade.csv"
            p = pooled.loc[(pooled["evidence_line"] == line) & (pooled["outcome"] == outcome)]
            for _, r in p.sort_values("scale").iterrows() if len(p) else [(None, None)]:
                if r is None:
                    effect, k, n = "no numeric result", "–", "–"
                else:
                    eff = effects.loc[
                        (effects["evidence_line"] == line)
                        & (effects["outcome"] == outcome)
                        & (effects["scale"] == r["scale"])
                    ]
                    unit = eff["unit"].iloc[0] if len(eff) else ""
                    n_total = int(
                        eff["n_treatment"].fillna(0).sum() + eff["n_control"].fillna(0).sum()
                    )
                    effect = md_escape(
                        effect_ci(r["estimate"], r["ci_low"], r["ci_high"], r["scale"])
                        + f" {unit_text(unit, r['scale'])}"
                    ) + ("" if truthy(r["pooled"]) else " (single study, not pooled)")
                    k, n = str(int(r["k"])), str(n_total) if n_total else "not reported"
                rows.append(
                    [
                        md_escape(outcome_label(outcome)),
                        md_escape(line_label(line)),
                        effect,
                        k,
                        n,
                        certainty,
                        reasons,
                    ]
                )
    return md_table(
        rows,
        [
            "Outcome",
            "Evidence line",
            "Effect [95% CI]",
            "Studies",
            "Participants",
            "Certainty (GRADE)",
            "Downgraded for",
        ],
        caption="Summary of findings with GRADE certainty of the evidence per outcome. "
        "Downgrading per domain: −1 serious, −2 very serious; the full rationale of each "
        "judgement is in @tbl-grade.",
        ident="tbl-sof",
        align="lllrrll",
        # the reasons cell also carries the folded rationale: size it by what is shown
        widths=[14, 26, 22, 7, 11, 13, 30],
    )


def grade_table(grade: pd.DataFrame) -> str:
    """The GRADE rationale per evidence line and outcome, in full (``tbl-grade``, appendix).

    Parameters
    ----------
    grade : pandas.DataFrame
        ``data/raw/grade.csv``.

    Returns
    -------
    str
        Markdown table: evidence line, outcome, certainty, downgraded domains, rationale.
    """
    rows = []
    for line in _by_line(grade):
        sub = grade.loc[grade["evidence_line"] == line]
        for outcome in sorted(set(sub["outcome"]), key=_outcome_rank):
            gr = sub.loc[sub["outcome"] == outcome].iloc[0]
            rows.append(
                [
                    md_escape(line_short(line)),
                    md_escape(outcome_label(outcome)),
                    CERTAINTY.get(str(gr["certainty"]), md_escape(gr["certainty"])),
                    md_escape(_downgrades(gr)),
                    md_escape(gr.get("rationale")),
                ]
            )
    return md_table(
        rows,
        ["Evidence line", "Outcome", "Certainty", "Downgraded for", "Rationale"],
        caption="GRADE: the rationale of each certainty judgement (data/raw/grade.csv).",
        ident="tbl-grade",
        widths=[11, 12, 10, 18, 60],
    )


def completeness_table(
    effects: pd.DataFrame,
    derivations: pd.DataFrame,
    reported_in_words: pd.DataFrame,
    studies: pd.DataFrame,
    not_estimable: pd.DataFrame | None = None,
) -> str:
    """What each study reported: numbers as reported, derived (how), words only, not estimable.

    Parameters
    ----------
    effects, derivations, reported_in_words : pandas.DataFrame
        ``effects.csv``, ``derivations.csv``, ``reported_in_words.csv``.
    studies : pandas.DataFrame
        ``data/raw/studies.csv`` (studies with nothing at all get a row too).
    not_estimable : pandas.DataFrame, optional
        ``effects/not_estimable.csv``: study x outcome x scale without an effect, with the reason.

    Returns
    -------
    str
        Markdown table ``tbl-completeness``: one row per study x outcome x scale.
    """
    labels = dict(zip(studies["study_id"], studies["label"], strict=False))
    methods = (
        derivations.groupby("derivation_id")["method"].first().to_dict() if len(derivations) else {}
    )
    entries = []
    for _, e in effects.iterrows():
        if truthy(e["derived"]):
            ids = [i for i in str(e["derivation_ids"]).split(";") if i and i != "nan"]
            how = "; ".join(f"{i}: {methods.get(i, '?')}" for i in ids)
            status, how = "derived", breakable(md_escape(how))
        else:
            status, how = "as reported", ""
        entries.append((e["study_id"], e["outcome"], e["scale"], e["label"], status, how))
    for _, w in reported_in_words.iterrows():
        entries.append(
            (
                w["study_id"],
                w["outcome"],
                "",
                w["label"],
                "in words only (no number)",
                "“" + md_escape(w["reported_text"]) + "”",
            )
        )
    if not_estimable is not None:
        for _, n in not_estimable.iterrows():
            entries.append(
                (
                    n["study_id"],
                    n["outcome"],
                    n["scale"],
                    n["label"],
                    "not estimable",
                    md_escape(n["reason"]),
                )
            )
    seen = {e[0] for e in entries}
    for sid in sorted(set(studies["study_id"]) - seen):
        entries.append(
            (
                sid,
                "",
                "",
                labels.get(sid, sid),
                "no usable outcome",
                "nothing extracted for the synthesis",
            )
        )
    order = {
        sid: k
        for k, sid in enumerate(
            studies.sort_values(["evidence_line", "year", "study_id"])["study_id"]
        )
    }
    entries.sort(key=lambda e: (order.get(e[0], 10**6), str(e[0]), str(e[1]), str(e[2])))
    rows = [
        [
            md_escape(label),
            md_escape(outcome_label(outcome) if outcome else ""),
            md_escape(scale),
            status,
            how,
        ]
        for _sid, outcome, scale, label, status, how in entries
    ]
    return md_table(
        rows,
        [
            "Study",
            "Outcome",
            "Scale",
            "Status",
            "Derivation (ledger ids: method), words, or reason",
        ],
        caption="Data completeness: what each study reported, what was derived and how "
        "(details in the derivation ledger, @tbl-derivations), what was reported only "
        "in words, and why an effect could not be estimated.",
        ident="tbl-completeness",
        widths=[14, 14, 7, 12, 60],
    )


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
                md_escape(d["method"]).replace("\\_", "\\_\u200b"),
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


def _setting(g: pd.Series) -> str:
    return (
        f"{g['method']}/{g['test']}/r={fmt_num(g['r'], 1)}/{str(g['inclusion']).replace('_', ' ')}"
    )


def _range_text(estimates: pd.Series, scale: object, d: int) -> str:
    """Lowest to highest estimate; a log ratio written as ratios (its null is 1, not 0)."""
    lo, hi = float(estimates.min()), float(estimates.max())
    if scale == "log_ratio":
        return f"{fmt_num(math.exp(lo), 2)} to {fmt_num(math.exp(hi), 2)} (ratio)"
    return f"{fmt_num(lo, d)} to {fmt_num(hi, d)}"


def sensitivity_table(grid: pd.DataFrame, pooled: pd.DataFrame | None = None) -> str:
    """The sensitivity grid summarized per outcome x evidence line x scale (``tbl-sensitivity``).

    Parameters
    ----------
    grid : pandas.DataFrame
        ``sensitivity/grid.csv``: one row per setting (estimator, test, r, inclusion).
    pooled : pandas.DataFrame, optional
        ``pooled.csv``, for the main analysis' estimate shown beside the grid's range.

    Returns
    -------
    str
        Markdown table: number of settings, range of k and of the estimates, how many CIs
        exclude zero, and the settings that changed the conclusion (first five listed).
    """
    rows = []
    keys = (
        ["outcome", "evidence_line", "scale"]
        if "scale" in grid.columns
        else ["outcome", "evidence_line"]
    )
    for key, g in grid.groupby(keys, sort=True):
        key = dict(zip(keys, key, strict=True))
        d = digits_for(list(g["estimate"]) + list(g["ci_low"]) + list(g["ci_high"]))
        main = ""
        if pooled is not None and len(pooled):
            sel = pooled
            for k, v in key.items():
                sel = sel.loc[sel[k] == v]
            if len(sel):
                r = sel.iloc[0]
                main = effect_ci(r["estimate"], r["ci_low"], r["ci_high"], r["scale"], d)
        changed = g.loc[g["conclusion_changed"].map(truthy)]
        listed = "; ".join(_setting(c) for _, c in changed.head(5).iterrows())
        if len(changed) > 5:
            listed += f"; and {len(changed) - 5} more"
        kmin, kmax = int(g["k"].min()), int(g["k"].max())
        rows.append(
            [
                md_escape(outcome_label(key["outcome"])),
                md_escape(line_label(key["evidence_line"])),
                md_escape(key.get("scale", "")),
                md_escape(main),
                str(len(g)),
                f"{kmin}" if kmin == kmax else f"{kmin}–{kmax}",
                md_escape(_range_text(g["estimate"], key.get("scale"), d)),
                f"{int(g['excludes_zero'].map(truthy).sum())} of {len(g)}",
                f"**{len(changed)}**: " + md_escape(listed) if len(changed) else "none",
            ]
        )
    return md_table(
        rows,
        [
            "Outcome",
            "Evidence line",
            "Scale",
            "Main analysis [95% CI]",
            "Settings",
            "k",
            "Estimates (range)",
            "CI excludes 0",
            "Settings that changed the conclusion",
        ],
        caption="Sensitivity analyses: each pooled result re-estimated over τ² estimators, "
        "tests, assumed pre-post correlations r and inclusion rules (setting = "
        "estimator/test/r/inclusion); the full grid is data/processed/sensitivity/grid.csv.",
        ident="tbl-sensitivity",
        align="lllllrlll",
    )


BONE_PREFIXES = ("bmd_", "vbmd_", "bmc_")


def _is_bone(outcome: object) -> bool:
    return str(outcome).startswith(BONE_PREFIXES)


def _certainty(grade: pd.DataFrame, line: str, outcome: str) -> str:
    """``**⊕⊕◯◯ Low** (downgraded for ...)`` for one line x outcome, or an empty string."""
    g = grade.loc[(grade["evidence_line"] == line) & (grade["outcome"] == outcome)]
    if not len(g):
        return ""
    gr = g.iloc[0]
    cert = CERTAINTY.get(str(gr["certainty"]), md_escape(gr["certainty"]))
    why = _downgrades(gr)
    return f"**{cert}**" + ("" if why == "not downgraded" else f" ({md_escape(why)})")


def _line_certainty(grade: pd.DataFrame, line: str, outcome: str | None) -> str:
    """Certainty of the shown outcome, else of the line's first graded bone outcome (named)."""
    if outcome is not None:
        own = _certainty(grade, line, outcome)
        if own:
            return f"Certainty: {own}."
    graded = sorted(
        (o for o in grade.loc[grade["evidence_line"] == line, "outcome"] if _is_bone(o)),
        key=_outcome_rank,
    )
    if not graded:
        return "Certainty: **not graded**."
    lead = "Not graded for this outcome; " if outcome is not None else ""
    return (
        f"{lead}certainty for {md_escape(outcome_label(graded[0]))}: "
        f"{_certainty(grade, line, graded[0])}."
    )


def _direction(lo: float, hi: float) -> str:
    if lo > 0:
        return "higher with treatment than with control, the CI excluding zero"
    if hi < 0:
        return "lower with treatment than with control, the CI excluding zero"
    return "no clear difference, the CI including zero"


def _single_study_text(
    effects: pd.DataFrame | None, studies: pd.DataFrame | None, line: str, row: pd.Series
) -> str:
    """' (Label, vs comparator)' for a line whose result is one study, so that a reader sees
    what the treatment was compared with (a placebo, or an active comparator)."""
    if effects is None or studies is None:
        return ""
    eff = effects.loc[
        (effects["evidence_line"] == line)
        & (effects["outcome"] == row["outcome"])
        & (effects["scale"] == row["scale"])
    ]
    if len(eff) != 1:
        return ""
    study = studies.loc[studies["study_id"] == eff.iloc[0]["study_id"]]
    if not len(study):
        return ""
    label = md_escape(str(study.iloc[0]["label"]))
    comparator = study.iloc[0].get("comparator")
    if pd.isna(comparator) or not str(comparator).strip():
        return f" ({label})"
    return f" ({label}, vs {md_escape(_clip(str(comparator), 80))})"


def _hormone_sentence(pooled: pd.DataFrame, line: str) -> str:
    """The mechanism beside a line's bone result: the pooled hormone ratios (log_ratio scale,
    written back-transformed), or nothing when the line has none pooled."""
    rows = pooled.loc[
        (pooled["evidence_line"] == line)
        & (pooled["scale"] == "log_ratio")
        & pooled["pooled"].map(truthy)
    ].sort_values("outcome")
    if rows.empty:
        return ""
    parts = [
        f"{md_escape(outcome_label(r['outcome']).lower())} "
        f"{md_escape(effect_ci(r['estimate'], r['ci_low'], r['ci_high'], 'log_ratio'))} "
        f"(k = {int(r['k'])})"
        for _, r in rows.iterrows()
    ]
    return (
        " Hormones under the aromatase inhibitor, ratio of means after/before treatment "
        "(pooled, 95% CI): " + "; ".join(parts) + "."
    )


def answer_text(
    pooled: pd.DataFrame,
    grade: pd.DataFrame,
    cases_summary: pd.DataFrame,
    reported_in_words: pd.DataFrame | None = None,
    not_estimable: pd.DataFrame | None = None,
    effects: pd.DataFrame | None = None,
    studies: pd.DataFrame | None = None,
) -> str:
    """The answer first: per evidence line, what the bone evidence shows and how certain it is.

    Parameters
    ----------
    pooled : pandas.DataFrame
        ``pooled.csv``; the main result of a line is lumbar-spine BMD (the most
        estrogen-sensitive site), percent scale when present, else its first bone outcome.
    grade : pandas.DataFrame
        ``data/raw/grade.csv``: the certainty (and downgraded domains) of the shown outcome,
        else of the line's first graded bone outcome, named.
    cases_summary : pandas.DataFrame
        ``cases/summary.csv``, for the case reports (never pooled).
    reported_in_words, not_estimable : pandas.DataFrame, optional
        Bone results reported only in words (quoted) and bone outcomes measured but without
        an effect (with the reason), for lines without a numeric result.
    effects : pandas.DataFrame, optional
        ``effects.csv``, for the number of participants behind a result.
    studies : pandas.DataFrame, optional
        ``data/raw/studies.csv``: every line with a study gets a bullet, even with no result.

    Returns
    -------
    str
        Markdown bullets. Every number is read from the processed files; the only judgement
        made here is whether a CI lies on one side of zero.
    """
    empty = pd.DataFrame(columns=["evidence_line", "outcome", "study_id", "label"])
    words = reported_in_words if reported_in_words is not None else empty
    missing = not_estimable if not_estimable is not None else empty
    bone = pooled.loc[pooled["outcome"].map(_is_bone)]
    lines = list(bone["evidence_line"]) + list(
        words.loc[words["outcome"].map(_is_bone), "evidence_line"]
    )
    lines += list(missing.loc[missing["outcome"].map(_is_bone), "evidence_line"])
    if studies is not None:
        lines += list(studies["evidence_line"])
    if len(cases_summary):
        lines.append("estrogen_aromatase_deficiency")
    bullets = []
    for line in line_order(lines):
        head = f"- **{md_escape(line_label(line))}**: "
        sub = bone.loc[bone["evidence_line"] == line].copy()
        if line == "estrogen_aromatase_deficiency" and len(cases_summary):
            bullets.append(
                head
                + _cases_sentence(cases_summary)
                + " "
                + _line_certainty(grade, line, "bmd_lumbar_spine")
            )
            continue
        if len(sub):
            sub["rank"] = [
                (o != "bmd_lumbar_spine", sc != "percent", _outcome_rank(o))
                for o, sc in zip(sub["outcome"], sub["scale"], strict=True)
            ]
            r = sub.sort_values("rank").iloc[0]
            unit = unit_text(r.get("unit", ""), r["scale"]) if pd.notna(r.get("unit")) else ""
            if r["scale"] == "percent":
                unit = "percentage points"
            level = float(r.get("level", 0.95))
            n_text = ""
            if effects is not None:
                eff = effects.loc[
                    (effects["evidence_line"] == line)
                    & (effects["outcome"] == r["outcome"])
                    & (effects["scale"] == r["scale"])
                ]
                n = int(eff["n_treatment"].fillna(0).sum() + eff["n_control"].fillna(0).sum())
                n_text = f", {n} participants" if n else ""
            k = int(r["k"])
            basis = (
                f"pooled over {k} studies{n_text}"
                if truthy(r["pooled"])
                else f"1 study{_single_study_text(effects, studies, line, r)}{n_text}, not pooled"
            )
            others = sub["outcome"].nunique() - 1
            more = f" {others} other bone outcome(s) in @tbl-sof." if others > 0 else ""
            bullets.append(
                head
                + f"{md_escape(outcome_label(r['outcome']))} difference "
                + f"{md_escape(fmt_ci(r['estimate'], r['ci_low'], r['ci_high']))} {unit} "
                + f"({level:.0%} CI; {basis}): "
                + _direction(float(r["ci_low"]), float(r["ci_high"]))
                + f".{more} "
                + _line_certainty(grade, line, str(r["outcome"]))
                + _hormone_sentence(pooled, line)
            )
            continue
        parts = []
        m = missing.loc[(missing["evidence_line"] == line) & missing["outcome"].map(_is_bone)]
        if len(m):
            m = m.assign(rank=[_outcome_rank(o) for o in m["outcome"]]).sort_values("rank")
            first = m.iloc[0]
            labels = ", ".join(md_escape(x) for x in dict.fromkeys(m["label"]))
            parts.append(
                f"bone density was measured ({labels}) but no effect could be computed; "
                f"for {md_escape(first['label'])}, {md_escape(outcome_label(first['outcome']))}: "
                f"{md_escape(first['reason'])}."
            )
        w = words.loc[(words["evidence_line"] == line) & words["outcome"].map(_is_bone)]
        if len(w):
            w0 = w.sort_values("study_id").iloc[0]
            parts.append(
                f"reported only in words ({len(w)} result(s)), e.g. {md_escape(w0['label'])}, "
                f"{md_escape(outcome_label(w0['outcome']))}: "
                f"“{md_escape(_clip(w0['reported_text'], 140))}”"
            )
        if not parts:
            parts.append("no bone result could be extracted.")
        shown = str(w.iloc[0]["outcome"]) if len(w) else None
        bullets.append(
            head
            + "no numeric bone result; "
            + " ".join(parts)
            + " "
            + _line_certainty(grade, line, shown)
        )
    if not bullets:
        bullets.append("- No bone outcome could be quantified.")
    return "\n".join(bullets) + "\n"


def _cases_sentence(cases_summary: pd.DataFrame) -> str:
    """Lumbar spine (else the first site) change under estrogen from ``cases/summary.csv``."""
    cs = cases_summary.assign(rank=[_outcome_rank(o) for o in cases_summary["outcome"]])
    c = cs.sort_values("rank").iloc[0]
    n = int(c["n_patients"])
    men = "1 man" if n == 1 else f"{n} men"
    if n == 1:
        change = f"{md_escape(fmt_num(c.get('percent_change_median'), 1))}%"
    else:
        change = (
            f"median {md_escape(fmt_num(c.get('percent_change_median'), 1))}% (range "
            f"{md_escape(fmt_num(c.get('percent_change_min'), 1))} to "
            f"{md_escape(fmt_num(c.get('percent_change_max'), 1))}%)"
        )
    return (
        f"{md_escape(outcome_label(c['outcome']))} rose under estrogen in case reports "
        f"({men}, within-man change, not pooled, no control): {change} over a median of "
        f"{md_escape(fmt_num(c.get('months_median'), 0))} months (@fig-cases-bmd)."
        if float(c.get("percent_change_min", 0)) > 0
        else f"{md_escape(outcome_label(c['outcome']))} changed under estrogen in case "
        f"reports ({men}, within-man change, not pooled, no control): {change} over a median "
        f"of {md_escape(fmt_num(c.get('months_median'), 0))} months (@fig-cases-bmd)."
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
