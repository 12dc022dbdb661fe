"""The report sections that state claims, all read from the findings table.

Every claim is the same text wherever it appears: :func:`result_text` turns one row of
``findings/findings.csv`` into its result (status, estimate with CI or range, k, n) and
:func:`certainty_text` into its certainty. Each section wraps the claim in a span
``[...]{.claim finding="line:outcome:scale" status=... certainty=...}`` so a reader (and the
tests) can match a claim across sections and back to its row.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pandas as pd

from analysis.plots.theme import line_label, line_order, line_short, outcome_label
from analysis.report.tables import (
    CERTAINTY,
    GRADE_DOMAINS,
    _method_words,
    breakable,
    digits_for,
    effect_ci,
    fmt_ci,
    fmt_num,
    md_escape,
    md_table,
    unit_text,
)

STATUS_TEXT = {
    "numeric": "numeric result",
    "words_only": "in words only (no number)",
    "measured_not_retrieved": "measured, not retrieved",
    "not_measured": "not measured",
}
DOMAIN_TEXT = {
    "risk_of_bias": "risk of bias",
    "inconsistency": "inconsistency",
    "indirectness": "indirectness",
    "imprecision": "imprecision",
    "publication_bias": "publication bias",
}
BONE = ("bmd_", "bmc_", "vbmd_")
CASE_LINE = "estrogen_aromatase_deficiency"


def _s(x: object) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    return str(x)


def _n(x: object) -> float | None:
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def finding_id(f: Mapping) -> str:
    return f"{f['evidence_line']}:{f['outcome']}:{_s(f['scale'])}"


def is_bone(outcome: object) -> bool:
    return str(outcome).startswith(BONE)


def order(findings: pd.DataFrame) -> pd.DataFrame:
    """Lines in report order, bone outcomes first (primary first), then the rest."""
    from analysis.plots.theme import OUTCOME_LABELS

    ranks = list(OUTCOME_LABELS)
    lines = line_order(findings["evidence_line"]) if len(findings) else []
    df = findings.copy()
    df["_line"] = [lines.index(x) if x in lines else 99 for x in df["evidence_line"]]
    df["_bone"] = [0 if is_bone(o) else 1 for o in df["outcome"]]
    df["_rank"] = [ranks.index(o) if o in ranks else 98 for o in df["outcome"]]
    df["_scale"] = [{"percent": 0, "absolute": 1}.get(_s(s), 2) for s in df["scale"]]
    df = df.sort_values(["_line", "_bone", "_rank", "outcome", "_scale"], kind="mergesort")
    return df.drop(columns=["_line", "_bone", "_rank", "_scale"])


def n_text(f: Mapping) -> str:
    n = _n(f.get("n"))
    who = "men" if f["evidence_line"] == CASE_LINE else "participants"
    if n is None:
        return f"{who} not reported" if f["status"] in ("numeric", "words_only") else ""
    if int(n) == 1:
        who = who.removesuffix("s").replace("men", "man")
    return f"{int(n)} {who}"


def result_text(f: Mapping) -> str:
    """The result of a finding as plain text (escape before use in markdown)."""
    status = f["status"]
    k = int(f.get("k") or 0)
    kind = "report" if f["evidence_line"] == CASE_LINE else "study"
    plural = {"study": "studies", "report": "reports"}[kind]
    studies = f"{k} {kind if k == 1 else plural}"
    if status == "numeric":
        unit = unit_text(f.get("unit"), f.get("scale"))
        if f["evidence_line"] == CASE_LINE:
            unit = "%" if f.get("scale") == "percent" else " " + unit
            d = digits_for([f["estimate"], f.get("range_low"), f.get("range_high")])
            rng = ""
            if _n(f.get("range_low")) is not None and int(_n(f.get("n")) or 0) > 1:
                rng = (
                    f" (range {fmt_num(f['range_low'], d)} to {fmt_num(f['range_high'], d)}{unit})"
                )
            return (
                f"median change {fmt_num(f['estimate'], d)}{unit}{rng} under estrogen, "
                f"{n_text(f)} in {studies}, within-man, no control"
            )
        pooled = "pooled" if str(f.get("pooled")).lower() == "true" else "not pooled"
        ci = effect_ci(f["estimate"], f["ci_low"], f["ci_high"], f.get("scale"))
        rule = ""
        if "SE taken from the reported p" in _s(f.get("consistency")):
            rule = "; SE from the reported p by the consistency rule"
        return f"{ci} {unit} ({studies}, {n_text(f)}, {pooled}{rule})"
    if status == "words_only":
        return f"in words only, no number ({studies}, {n_text(f)})"
    if status == "measured_not_retrieved":
        return f"measured but not retrieved ({_s(f.get('studies_not_retrieved'))})"
    return "not measured in any retrieved study"


def certainty_text(f: Mapping) -> str:
    c = _s(f.get("certainty"))
    return CERTAINTY.get(c, "not rated (no result)")


def downgrades(f: Mapping) -> str:
    parts = []
    for d in GRADE_DOMAINS:
        r = _s(f.get(d))
        if r in ("serious", "very_serious"):
            parts.append(f"{DOMAIN_TEXT[d]} −{1 if r == 'serious' else 2}")
    up = _n(f.get("upgrade"))
    if up:
        parts.append(f"upgraded +{int(up)}")
    return "; ".join(parts) or ("none" if f["status"] in ("numeric", "words_only") else "")


def words_quote(f: Mapping, n: int = 220) -> str:
    """The words of a words-only finding, quoted and clipped (in full in the completeness
    table), escaped; empty for other statuses."""
    words = _s(f.get("words"))
    if f["status"] != "words_only" or not words:
        return ""
    text = " ".join(words.split())
    if len(text) > n:
        text = text[:n].rsplit(" ", 1)[0] + " …"
    return " " + md_escape(text)


def claim(f: Mapping, text: str) -> str:
    """Wrap escaped text in the claim span that names its finding."""
    return (
        f'[{text}]{{.claim finding="{finding_id(f)}" status="{f["status"]}" '
        f'certainty="{_s(f.get("certainty"))}"}}'
    )


def label(f: Mapping) -> str:
    scale = {"log_ratio": "ratio of means"}.get(_s(f.get("scale")), _s(f.get("scale")))
    return outcome_label(f["outcome"]) + (f" ({scale})" if scale else "")


# --------------------------------------------------------------------------- the answer


def answer_text(findings: pd.DataFrame) -> str:
    """Per evidence line: its bone findings with result, certainty and GRADE statement."""
    lines = []
    df = order(findings)
    for line in line_order(df["evidence_line"]):
        sub = df.loc[(df["evidence_line"] == line) & df["outcome"].map(is_bone)]
        shown = sub.loc[sub["status"].isin(["numeric", "words_only"])]
        # beside the bone results, a pooled hormone response (the contrast behind them)
        hormones = df.loc[(df["evidence_line"] == line) & (df["scale"] == "log_ratio")
                          & (df["status"] == "numeric")]  # fmt: skip
        shown = pd.concat([shown, hormones])
        parts = []
        for f in shown.to_dict("records"):
            parts.append(
                f"{md_escape(label(f))}: {claim(f, md_escape(result_text(f)))}"
                f"{words_quote(f)}. Certainty: "
                f"**{md_escape(certainty_text(f))}** ({md_escape(downgrades(f))}). "
                f"{md_escape(f['statement'])}"
            )
        missing = sub.loc[sub["status"].isin(["measured_not_retrieved", "not_measured"])]
        for f in missing.to_dict("records"):
            parts.append(f"{md_escape(label(f))}: {claim(f, md_escape(result_text(f)))}.")
        if not parts:
            parts.append("no bone outcome in the retrieved text.")
        lines.append(f"- **{md_escape(line_label(line))}**")
        lines += [f"    - {p}" for p in parts]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- SoF


def sof_table(findings: pd.DataFrame) -> str:
    rows = []
    for f in order(findings).to_dict("records"):
        rows.append(
            [
                md_escape(label(f)),
                md_escape(line_short(f["evidence_line"])),
                md_escape(STATUS_TEXT[f["status"]]),
                claim(f, md_escape(result_text(f))) + words_quote(f, 160),
                md_escape(_s(f.get("comparator")) or "–"),
                md_escape(_s(f.get("timepoint_months")) or "–"),
                md_escape(certainty_text(f)),
                md_escape(downgrades(f)),
                md_escape(f["statement"]),
            ]
        )
    return md_table(
        rows,
        [
            "Outcome",
            "Evidence line",
            "Status",
            "Result",
            "Comparator",
            "Months",
            "Certainty",
            "Downgraded",
            "What it means",
        ],
        caption="Summary of findings: every evidence line and outcome with its status, result "
        "(treatment minus control with 95% CI; median within-man change in case reports), "
        "studies, participants and GRADE certainty by the declared rules (−1 serious, −2 very "
        "serious; each domain's basis in @tbl-grade).",
        ident="tbl-sof",
        widths=[12, 9, 9, 22, 14, 5, 10, 14, 20],
    )


# --------------------------------------------------------------------------- GRADE appendix


def grade_table(findings: pd.DataFrame) -> str:
    rows = []
    rated = order(findings.loc[findings["status"].isin(["numeric", "words_only"])])
    for f in rated.to_dict("records"):
        domains = "; ".join(
            f"{DOMAIN_TEXT[d]}: {_s(f.get(d)).replace('_', ' ')} ({_s(f.get(d + '_basis'))})"
            for d in GRADE_DOMAINS
        )
        extra = ""
        if _n(f.get("upgrade")):
            extra += f" Upgraded +{int(_n(f['upgrade']))}: {_s(f.get('upgrade_basis'))}."
        if _s(f.get("override")):
            extra += f" Override: {_s(f.get('override'))}."
        rows.append(
            [
                md_escape(label(f)),
                md_escape(line_short(f["evidence_line"])),
                claim(f, md_escape(certainty_text(f))),
                md_escape(
                    f"Start {_s(f.get('start')).replace('_', ' ')} ({_s(f.get('start_basis'))})."
                ),
                md_escape(domains + "." + extra),
            ]
        )
    return md_table(
        rows,
        ["Outcome", "Evidence line", "Certainty", "Starting level", "Domains: rating (basis)"],
        caption="GRADE by the declared rules (Methods): risk of bias, inconsistency and "
        "imprecision computed from the data; indirectness, publication bias and upgrading are "
        "reviewer judgements with their rationale (data/raw/grade.csv); an override of a "
        "computed domain is named with its reason.",
        ident="tbl-grade",
        widths=[12, 9, 10, 14, 55],
    )


# --------------------------------------------------------------------------- completeness


def completeness_table(
    findings: pd.DataFrame,
    studies: pd.DataFrame,
    effects: pd.DataFrame,
    derivations: pd.DataFrame,
) -> str:
    """Per study and outcome: the study's part in each finding, by the findings' keys."""
    by_id = derivations.set_index("derivation_id") if len(derivations) else pd.DataFrame()
    method = by_id["method"] if "method" in by_id else pd.Series(dtype=object)
    step = by_id["step"] if "step" in by_id else pd.Series(dtype=object)
    rows = []
    for line in line_order(studies["evidence_line"]):
        sub = studies.loc[studies["evidence_line"] == line].sort_values(["year", "study_id"])
        for s in sub.to_dict("records"):
            sid, found = s["study_id"], False
            for f in order(findings.loc[findings["evidence_line"] == line]).to_dict("records"):
                ids = _s(f.get("study_ids")).split(";")
                not_ret = [x.strip() for x in _s(f.get("studies_not_retrieved")).split(";")]
                words_in = [x.strip() for x in _s(f.get("studies_in_words")).split(";")]
                if sid in ids and f["status"] == "numeric":
                    e = effects.loc[
                        (effects["study_id"] == sid)
                        & (effects["outcome"] == f["outcome"])
                        & (effects["scale"] == f["scale"])
                    ]
                    how = "number as reported"
                    detail = ""
                    if len(e) and str(e["derived"].iloc[0]).lower() == "true":
                        how = "number derived"
                        ids_ = [i for i in _s(e["derivation_ids"].iloc[0]).split(";") if i]
                        # the ledger's steps in words; its ids are in the appendix ledger
                        detail = "; ".join(
                            f"{_s(step.get(i)) or n}. {_method_words(method.get(i))}"
                            for n, i in enumerate(ids_, start=1)
                        )
                    elif f["evidence_line"] == CASE_LINE:
                        how = "number (within-man change)"
                    status = how
                elif sid in ids and f["status"] == "words_only":
                    status, detail = "in words only (no number)", _s(f.get("words"))
                elif s["label"] in words_in:
                    status, detail = "in words only (no number)", "quoted in the findings' inputs"
                elif s["label"] in not_ret:
                    status = "measured, not retrieved"
                    detail = _s(f.get("reason")) or "values not in any retrieved text"
                else:
                    continue
                found = True
                rows.append(
                    [
                        md_escape(s["label"]),
                        md_escape(label(f)),
                        md_escape(status),
                        md_escape(breakable(detail))
                        if detail.startswith(sid)
                        else md_escape(detail),
                    ]
                )
            if not found:
                rows.append(
                    [
                        md_escape(s["label"]),
                        "–",
                        md_escape("no result in the synthesis"),
                        md_escape(_s(s.get("note"))),
                    ]
                )
    return md_table(
        rows,
        ["Study", "Outcome", "Status", "Derivation (ledger steps), words, or reason"],
        caption="Data completeness per study, by the keys of the findings table: a number as "
        "reported or derived (ledger, @tbl-derivations), words only, or measured but not "
        "retrieved (distinct from not measured).",
        ident="tbl-completeness",
        widths=[12, 14, 14, 60],
    )


# --------------------------------------------------------------------------- sensitivity


def sensitivity_table(findings: pd.DataFrame, table: pd.DataFrame) -> str:
    keyed = {finding_id(f): f for f in findings.to_dict("records")}
    rows = []
    for r in table.to_dict("records"):
        f = keyed.get(f"{r['evidence_line']}:{r['outcome']}:{_s(r['scale'])}")
        if f is None:
            continue
        if r["result"] == "removes all evidence":
            alt = "removes all evidence (no study left)"
        else:
            alt = f"{fmt_ci(r['estimate'], r['ci_low'], r['ci_high'])} (k = {int(r['k'])})"
        rows.append(
            [
                md_escape(label(f)),
                md_escape(line_short(f["evidence_line"])),
                claim(f, md_escape(result_text(f))),
                md_escape(r["analysis"]),
                md_escape(r["assumption"]),
                md_escape(alt),
                md_escape(r["result"]),
            ]
        )
    return md_table(
        rows,
        [
            "Outcome",
            "Evidence line",
            "Primary result",
            "Analysis",
            "Assumption it varies",
            "Result",
            "Conclusion",
        ],
        caption="Sensitivity analyses generated per finding from the assumptions its "
        "derivation used; a rule that leaves no study is shown as removing all evidence.",
        ident="tbl-sensitivity",
        widths=[11, 9, 18, 18, 24, 14, 10],
    )


def consistency_table(checks: pd.DataFrame) -> str:
    flagged = checks.loc[checks["status"] != "ok"]
    rows = [
        [
            md_escape(c["check"].replace("_", " ")),
            md_escape(c["study_id"]),
            md_escape(outcome_label(c["outcome"])),
            md_escape(c["status"]),
            md_escape(c["reported"]),
            md_escape(c["implied"]),
            md_escape(c["decision"]),
        ]
        for c in flagged.to_dict("records")
    ]
    n_ok = int((checks["status"] == "ok").sum())
    return md_table(
        rows,
        ["Check", "Study", "Outcome", "Status", "Reported", "Implied", "Decision (declared rule)"],
        caption=f"Numeric consistency checks of the extracted data: the {len(rows)} result(s) "
        f"that conflict or are flagged; {n_ok} other check(s) passed "
        "(data/processed/consistency/checks.csv).",
        ident="tbl-consistency",
        widths=[9, 12, 10, 7, 16, 18, 28],
    )


# --------------------------------------------------------------------------- essentials


def _id_links(pmid: object, doi: object) -> str:
    parts = []
    p = _s(pmid).removesuffix(".0")
    if p:
        parts.append(f"PMID: [{md_escape(p)}](https://pubmed.ncbi.nlm.nih.gov/{p}/)")
    d = _s(doi)
    if d:
        parts.append(f"DOI: [{md_escape(d)}](https://doi.org/{d})")
    return "; ".join(parts)


def references_md(studies: pd.DataFrame, screening: pd.DataFrame) -> str:
    """Numbered reference list of the included reports, grouped by study."""
    out = []
    included = screening.loc[screening["decision"] == "included"]
    i = 0
    for line in line_order(studies["evidence_line"]):
        for s in (
            studies.loc[studies["evidence_line"] == line]
            .sort_values(["year", "study_id"])
            .to_dict("records")
        ):
            recs = included.loc[included["study_id"] == s["study_id"]].sort_values("record_id")
            for r in recs.to_dict("records"):
                i += 1
                ids = _id_links(r.get("pmid"), r.get("doi"))
                if not ids and len(recs) == 1:
                    ids = _id_links(s.get("pmid"), s.get("doi"))
                out.append(
                    f"{i}. {md_escape(r['citation'])}. "
                    + (ids or "No PMID or DOI in the retrieved text.")
                    + f" (study: {md_escape(s['label'])}; record {md_escape(r['record_id'])})"
                )
    return "\n".join(out) + "\n"


def search_md(search_log: pd.DataFrame, screening: pd.DataFrame) -> str:
    rows = [
        [
            md_escape(r["search_id"]),
            md_escape(r["source"]),
            md_escape(r["query"]),
            md_escape(_s(r.get("date_searched")) or "not recorded"),
            md_escape(_s(r.get("records_found")).removesuffix(".0") or "not recorded"),
            md_escape(_s(r.get("note"))),
        ]
        for r in search_log.to_dict("records")
    ]
    counts = screening["decision"].value_counts()
    text = (
        f"Searches as recorded in the search log (data/raw/search_log.csv): {len(search_log)} "
        f"searches; {len(screening)} records screened, {int(counts.get('included', 0))} "
        f"included, {int(counts.get('excluded', 0))} excluded, "
        f"{int(counts.get('not_retrieved', 0))} not retrieved, "
        f"{int(counts.get('duplicate', 0))} duplicate(s) (@fig-prisma). A date or count that "
        "was not recorded is shown as such, never estimated.\n\n"
    )
    return text + md_table(
        rows,
        ["Id", "Source", "Query", "Date", "Records", "Note"],
        caption="Search log.",
        ident="tbl-search",
        widths=[4, 18, 28, 9, 7, 30],
    )


def limitations_md(
    findings: pd.DataFrame,
    screening: pd.DataFrame,
    numbers: Sequence[pd.DataFrame],
    checks: pd.DataFrame,
) -> str:
    """Limitations computed from the data (every count from a file)."""
    located = pd.concat([n[["location"]] for n in numbers], ignore_index=True)
    n_all = len(located)
    n_abs = int(located["location"].astype(str).str.startswith("Abstract").sum())
    not_ret = int((screening["decision"] == "not_retrieved").sum())
    mnr = findings.loc[findings["status"] == "measured_not_retrieved"]
    mnr_bone = mnr.loc[mnr["outcome"].map(is_bone)]
    bone_studies = sorted(
        {
            x.strip()
            for v in findings.loc[
                findings["outcome"].map(is_bone), "studies_not_retrieved"
            ].dropna()
            for x in str(v).split(";")
            if x.strip()
        }
    )
    rated = findings.loc[findings["status"].isin(["numeric", "words_only"])]
    single = int((rated["k"] == 1).sum())
    words = int((rated["status"] == "words_only").sum())
    vl = int((rated["certainty"] == "very_low").sum())
    conflicts = checks.loc[checks["status"] == "conflict"]
    items = [
        f"{n_abs} of {n_all} extracted data rows (arm values, between-group results and case "
        f"observations; {100 * n_abs / max(n_all, 1):.0f}%) come from abstracts; no full-text "
        "table or figure was available for most studies.",
        f"{not_ret} reports found by the searches could not be retrieved (screening.csv).",
        f"{len(bone_studies)} studies measured a bone outcome whose values are out of reach "
        f"(measured but not retrieved): {', '.join(bone_studies)}; "
        f"{len(mnr_bone)} bone findings rest on no retrieved result.",
        f"{single} of {len(rated)} rated findings rest on a single study and {words} only on "
        f"words; {vl} are of very low certainty.",
        f"{len(conflicts)} extracted result(s) conflict with the numbers that imply them; "
        "the declared rule decided each (see the consistency table).",
        "Case reports are uncontrolled and few; the same man may appear in several reports "
        "and each man is counted once.",
    ]
    text = "\n".join(f"- {md_escape(x)}" for x in items) + "\n"
    return text.replace("see the consistency table", "@tbl-consistency")


def grade_rules_md(config: Mapping) -> str:
    """The GRADE and consistency rules of the config, for the methods."""
    g = config.get("grade") or {}
    c = config.get("consistency") or {}
    if not g:
        return ""
    start = ", ".join(
        f"{k.replace('_', ' ')} {({4: 'high', 3: 'moderate', 2: 'low', 1: 'very low'})[v]}"
        for k, v in g["start"].items()
    )
    rob = "; ".join(
        f"{ {'rob2': 'RoB 2', 'robins_i': 'ROBINS-I', 'murad2018': 'Murad 2018'}.get(t, t) }: "
        + ", ".join(f"{j.replace('_', ' ')} −{v}" for j, v in m.items())
        for t, m in g["risk_of_bias"].items()
    )
    paras = [
        f"Certainty of the evidence (GRADE) follows declared rules (config/config.yaml). "
        f"Starting level by design: {start}; a finding starts at the lowest level of its "
        f"studies. Risk of bias: the worst overall judgement among the contributing results "
        f"({rob}). Inconsistency: not assessable with one study; with two or more, serious "
        f"when I² ≥ {g['inconsistency_i2']:g}%, and for case reports when the men's "
        f"changes differ in direction. Imprecision, one rule for every row: one level for a "
        f"CI that includes no effect and one for fewer participants than the optimal "
        f"information size ({g['optimal_information_size']}); a result in words only "
        f"−{g['words_only_imprecision']}; a summary without a variance "
        f"−{g['no_variance_imprecision']}. Indirectness, publication bias and upgrading are "
        "reviewer judgements with a rationale (data/raw/grade.csv); a computed domain "
        "changes only through an override with its own reason, shown in @tbl-grade. "
        'Statements use GRADE\'s wording ("reduces", "probably reduces", "may reduce", '
        '"the evidence is very uncertain").',
    ]
    if c:
        paras.append(
            "Numeric consistency checks (in the spirit of statcheck and GRIM) compare the "
            "p-value implied by the arms' means, SDs and n (z, pooled-variance and Welch t) "
            "with the reported p (conflict when their normal quantiles differ by more than "
            f"{100 * c['quantile_tolerance']:.0f}%), the SDs of the arms (flag above a ratio "
            f"of {c['sd_ratio_max']:g}), n·SE² against SD², percent change against the means, "
            "p-values printed as bounds, and censored values. On a p conflict the declared "
            "rule is "
            + (
                "to take the SE from the reported p (the conservative route) and to show the "
                "arm-SD route as a sensitivity analysis"
                if c["on_conflict"] == "se_from_reported_p"
                else "to flag it only"
            )
            + " (@tbl-consistency)."
        )
    return "\n\n".join(paras) + "\n"


def metadata_yaml(config: Mapping) -> str:
    date = (config.get("report") or {}).get("data_freeze")
    return f'date: "{date}"\n' if date else "{}\n"
