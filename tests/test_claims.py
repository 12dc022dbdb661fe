"""The report agrees with itself and with the findings table.

Every claim is wrapped in a span that names its finding (``.claim finding=line:outcome:scale``);
these tests read the spans back from the rendered HTML (shipped report and demo report) and
from freshly built sections, and check them against ``findings.csv``.
"""

import html as htmllib
import re
from pathlib import Path

import pandas as pd
import pytest

from analysis import findings as model
from analysis import io
from analysis import sensitivity as sens
from analysis.report import build, claims
from analysis.report.demo import build_demo_report

ROOT = Path(__file__).resolve().parents[1]
SPAN_HTML = re.compile(
    r'<span class="claim" data-finding="([^"]*)" data-status="([^"]*)" '
    r'data-certainty="([^"]*)">(.*?)</span>',
    re.S,
)
SPAN_MD = re.compile(
    r'(?<!\\)\[((?:\\.|[^\]\\\n])*)\]\{\.claim finding="([^"]*)" status="([^"]*)" '
    r'certainty="([^"]*)"\}'
)


def _html_claims(text: str) -> list[tuple[str, str, str, str]]:
    out = []
    for fid, status, certainty, inner in SPAN_HTML.findall(text):
        plain = htmllib.unescape(re.sub(r"<[^>]+>", "", inner))
        out.append((fid, status, certainty, " ".join(plain.split())))
    return out


def _md_claims(text: str) -> list[tuple[str, str, str, str]]:
    return [
        (fid, status, cert, re.sub(r"\\(.)", r"\1", inner))
        for inner, fid, status, cert in SPAN_MD.findall(text)
    ]


def _by_id(findings: pd.DataFrame) -> dict[str, dict]:
    return {claims.finding_id(f): f for f in findings.to_dict("records")}


def _assert_claims_match(found, findings: pd.DataFrame) -> None:
    rows = _by_id(findings)
    assert found, "no claim spans found"
    for fid, status, certainty, text in found:
        f = rows[fid]
        assert status == f["status"], fid
        assert certainty == claims._s(f.get("certainty")), fid
        assert text in (claims.result_text(f), claims.certainty_text(f)), (fid, text)


def _section(html: str, ident: str) -> str:
    start = html.index(f'id="{ident}"')
    nxt = html.find('<section id="', start + 10)
    return html[start : nxt if nxt > 0 else len(html)]


def test_every_claim_in_the_shipped_report_matches_its_finding():
    html = (ROOT / "reports" / "report.html").read_text(encoding="utf-8")
    findings = io.read_processed(ROOT / "data/processed/findings/findings.csv")
    _assert_claims_match(_html_claims(html), findings)


def test_every_finding_is_in_the_summary_of_findings_and_rated_ones_in_the_appendix():
    html = (ROOT / "reports" / "report.html").read_text(encoding="utf-8")
    findings = io.read_processed(ROOT / "data/processed/findings/findings.csv")
    sof = {c[0] for c in _html_claims(_section(html, "summary-of-findings"))}
    assert sof == set(_by_id(findings))
    grade = {c[0] for c in _html_claims(_section(html, "appendix-grade-rationale"))}
    rated = findings.loc[findings["status"].isin(["numeric", "words_only"])]
    assert grade == set(_by_id(rated))


def test_a_finding_reads_the_same_in_answer_sof_studies_and_sensitivity():
    html = (ROOT / "reports" / "report.html").read_text(encoding="utf-8")
    texts: dict[str, set[str]] = {}
    for fid, _, _, text in _html_claims(html):
        if not text.startswith("⊕") and not text.startswith("not rated"):
            texts.setdefault(fid, set()).add(text)
    assert all(len(v) == 1 for v in texts.values()), {k: v for k, v in texts.items() if len(v) > 1}
    start = html.index('<section id="the-answer"')
    answer = {c[0] for c in _html_claims(html[start : html.index("<section id=", start + 1)])}
    studies = {c[0] for c in _html_claims(_section(html, "included-studies"))}
    sof = {c[0] for c in _html_claims(_section(html, "summary-of-findings"))}
    assert "ai_boys:bmc_distal_tibia:absolute" in answer & studies & sof


def test_the_demo_report_agrees_with_its_findings(tmp_path):
    from analysis.report import render

    build_demo_report(ROOT / "reports", tmp_path, figures=False)
    render.render_html_pandoc(tmp_path / "report.qmd", tmp_path / "report.html")
    found = _html_claims((tmp_path / "report.html").read_text(encoding="utf-8"))
    _assert_claims_match(found, pd.read_csv(tmp_path / "inputs" / "findings.csv"))


# --------------------------------------------------------------------------- removal

RAW = [
    "studies",
    "arms",
    "contrasts",
    "outcomes_measured",
    "risk_of_bias",
    "grade",
    "screening",
    "search_log",
    "arm_outcomes",
    "patient_observations",
]
PROCESSED = {
    "effects": "effects/effects.csv",
    "derivations": "effects/derivations.csv",
    "reported_in_words": "effects/reported_in_words.csv",
    "not_estimable": "effects/not_estimable.csv",
    "hormone_changes": "effects/hormone_changes.csv",
    "patient_changes": "cases/patient_changes.csv",
    "cases_summary": "cases/summary.csv",
    "checks": "consistency/checks.csv",
    "grid": "sensitivity/grid.csv",
}


def _config():
    import yaml

    return yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))


def _sections(tmp: Path, drop: str | None) -> tuple[pd.DataFrame, dict[str, str]]:
    """Build findings and every claim section from the shipped inputs without one study."""
    frames = {n: io.read_table(ROOT / "data/raw" / f"{n}.csv") for n in RAW}
    frames |= {n: io.read_processed(ROOT / "data/processed" / p) for n, p in PROCESSED.items()}
    if drop:
        for name, frame in frames.items():
            if "study_id" in frame.columns:
                frames[name] = frame.loc[frame["study_id"] != drop]
    config = _config()
    settings = config["pooling"]
    test = sens.effective_test(settings["test"], settings["adhoc"])
    pooled, _ = sens.pool_by_group(
        frames["effects"], method=settings["method"], test=test, level=settings["level"]
    )
    table = model.build_findings(
        studies=frames["studies"],
        arms=frames["arms"],
        contrasts=frames["contrasts"],
        effects=frames["effects"],
        pooled=pooled,
        reported_in_words=frames["reported_in_words"],
        not_estimable=frames["not_estimable"],
        measured=frames["outcomes_measured"],
        patient_changes=frames["patient_changes"],
        cases_summary=frames["cases_summary"],
        risk_of_bias=frames["risk_of_bias"],
        grade_judgements=frames["grade"],
        consistency=frames["checks"],
        config=config,
    )
    sensitivity = sens.finding_sensitivity(
        table,
        frames["effects"],
        frames["derivations"],
        frames["grid"],
        method=settings["method"],
        test=test,
        level=settings["level"],
        inclusions=config["sensitivity"]["inclusion"],
    )
    paths = {}
    for name, frame in {**frames, "findings": table, "finding_sensitivity": sensitivity}.items():
        paths[name] = str(tmp / f"{name}.csv")
        frame.to_csv(paths[name], index=False)
    names = ["answer", "studies", "sof", "grade", "completeness", "sensitivity"]
    outputs = {n: str(tmp / f"{n}.md") for n in names}
    build.report_tables(paths, outputs, config)
    return table, {n: Path(p).read_text(encoding="utf-8") for n, p in outputs.items()}


@pytest.mark.parametrize("study", ["varimo_2025", "burnett_bowie_2009"])
def test_removing_a_study_changes_every_section_together(tmp_path, study):
    (tmp_path / "full").mkdir()
    (tmp_path / "less").mkdir()
    full, before = _sections(tmp_path / "full", None)
    less, after = _sections(tmp_path / "less", study)
    gone = {
        claims.finding_id(f)
        for f in full.to_dict("records")
        if study in str(f.get("study_ids") or "").split(";")
    }
    assert gone
    for name in ("answer", "sof", "studies", "grade", "sensitivity"):
        ids_before = {c[0] for c in _md_claims(before[name])}
        for fid, status, _certainty, text in _md_claims(after[name]):
            f = _by_id(less).get(fid)
            assert f is not None, (name, fid)
            assert status == f["status"] and text in (
                claims.result_text(f),
                claims.certainty_text(f),
            )
        changed = {fid for fid in gone if fid in ids_before}
        still = {c for c in _md_claims(after[name]) if c[0] in changed}
        old = {c for c in _md_claims(before[name]) if c[0] in changed}
        assert not changed or still != old, (name, changed)
    label = full.loc[full["study_ids"].fillna("").str.contains(study), "studies"].iloc[0]
    assert label.split(";")[0] not in after["sof"]


def test_the_completeness_table_gives_each_study_the_status_of_its_findings():
    findings = io.read_processed(ROOT / "data/processed/findings/findings.csv")
    studies = io.read_table(ROOT / "data/raw/studies.csv").set_index("study_id")["label"]
    text = re.sub(r"\\(.)", r"\1", (ROOT / "reports/tables/completeness.md").read_text("utf-8"))
    rows = [
        [c.strip() for c in line.split("|")[1:5]]
        for line in text.splitlines()[2:]
        if line.startswith("|")
    ]
    seen = {(r[0], r[1]): r[2] for r in rows}
    for f in findings.to_dict("records"):
        outcome = claims.label(f)
        for sid in claims._s(f.get("study_ids")).split(";"):
            if not sid:
                continue
            status = seen[(studies[sid], outcome)]
            if f["status"] == "numeric":
                assert status.startswith("number"), (sid, outcome, status)
            else:
                assert status == "in words only (no number)", (sid, outcome, status)
        for name in claims._s(f.get("studies_not_retrieved")).split(";"):
            if name.strip():
                assert seen[(name.strip(), outcome)] == "measured, not retrieved"
    # case reports with numbers are not "no usable outcome" any more
    for name in ("Rochira 2000", "Bouillon 2004", "Herrmann 2005"):
        assert any(r[0] == name and r[2].startswith("number") for r in rows), name
