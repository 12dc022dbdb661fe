"""The report renders on the pandoc path: cross-references, escaping, alt text, no external
resources, and the tables built from the processed-file contract."""

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pypandoc
import pytest

from analysis.report import provenance, render, tables
from analysis.report.demo import HOSTILE_LABEL, build_demo_report, demo_frames

REPORTS = Path(__file__).resolve().parents[1] / "reports"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The real report.qmd rendered from demo data (1-pixel figures: rendering is under test)."""
    root = tmp_path_factory.mktemp("report")
    build_demo_report(REPORTS, root, figures=False)
    html, pdf = root / "report.html", root / "report.pdf"
    engine = render.render_report(str(root / "report.qmd"), str(html), str(pdf), engine="pandoc")
    return {"root": root, "html": html.read_text(encoding="utf-8"), "pdf": pdf, "engine": engine}


def _pdf_text(pdf: Path) -> str:
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) is not installed")
    return subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout


def _visible(markdown: str) -> str:
    """What a reader sees of generated markdown (pandoc's plain-text writer, one line)."""
    out = pypandoc.convert_text(markdown, "plain", format="markdown", extra_args=["--wrap=none"])
    return " ".join(out.replace("\u200b", "").split())


def _mini(tmp_path: Path, body: str) -> Path:
    """A minimal document with the report's filters, for error cases."""
    shutil.copytree(REPORTS / "filters", tmp_path / "filters")
    qmd = tmp_path / "mini.qmd"
    qmd.write_text("---\ntitle: mini\n---\n\n" + body, encoding="utf-8")
    return qmd


def test_cross_references_become_numbered_links_in_html(demo):
    html = demo["html"]
    assert demo["engine"] == "pandoc"
    assert "??" not in html
    assert 'class="citation"' not in html
    for ref in ("@fig-prisma", "@tbl-sof", "@tbl-studies", "@fig-rob", "@tbl-derivations"):
        assert ref not in html
    links = re.findall(r'<a href="#((?:fig|tbl)-[a-z0-9-]+)" class="crossref">(\w+ \d+)</a>', html)
    assert {target for target, _ in links} >= {"fig-prisma", "tbl-sof", "tbl-derivations"}
    for target, _ in links:
        assert f'id="{target}"' in html
    # numbering follows document order: PRISMA is the first figure, the study table the first
    assert ("fig-prisma", "Figure 1") in links and ("tbl-studies", "Table 1") in links
    assert "<strong>Figure 1:</strong> Demo fig-prisma" in html


def test_cross_references_resolve_in_pdf(demo):
    text = _pdf_text(demo["pdf"])
    assert demo["pdf"].read_bytes()[:4] == b"%PDF"
    assert "??" not in text and "@fig-prisma" not in text and "@tbl-sof" not in text
    assert "shown as in Figure 1" in " ".join(text.split()) or "in Figure 1." in text
    assert "Table 1:" in text


def test_text_from_data_is_shown_as_text_in_html(demo):
    html = demo["html"].replace("\u200b", "")  # break opportunities added in long cells
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "#strong[x] $y$" in html  # typst/TeX markup stays literal
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html


def test_text_from_data_is_shown_as_text_in_pdf(demo):
    text = " ".join(_pdf_text(demo["pdf"]).split())
    # the label's typst markup is printed, not evaluated: "#strong[x]" keeps its characters
    assert "#strong[x]" in text and "<script>alert(1)" in text


def test_every_image_has_alt_text_and_is_embedded(demo):
    html = demo["html"]
    imgs = re.findall(r"<img [^>]*>", html)
    assert len(imgs) == 5
    for img in imgs:
        assert re.search(r'src="data:image/png;base64,', img)
        alt = re.search(r'alt="([^"]*)"', img)
        assert alt and alt.group(1).startswith("Alt text of fig-")
        assert "data-fig-alt" not in img


def test_html_references_no_external_resource(demo):
    html = demo["html"]
    assert not re.search(r'<(?:script|img|link|iframe|source)[^>]+(?:src|href)="(?!data:|#)', html)
    assert not re.search(r"url\((?!data:|#)", html)
    assert "@import" not in html
    assert not re.search(r"<link[^>]+href=", html)


def test_callouts_become_styled_boxes(demo):
    assert '<div class="callout callout-important">' in demo["html"]
    assert '<div class="callout-title">' in demo["html"]
    # the answer's callout has a real heading (heading="1"), not a bold title
    assert re.search(r'<section id="the-answer" class="[^"]*callout callout-note"', demo["html"])
    assert '<h1 class="unnumbered callout-heading">The answer</h1>' in demo["html"]
    typ = render._pandoc(demo["root"] / "report.qmd", "typst", [])
    assert b'#block(width: 100%, inset: 9pt, radius: 3pt, fill: rgb("#eaf2fb")' in typ
    assert b"callout-note" not in typ


def test_unknown_cross_reference_stops_the_render(tmp_path):
    qmd = _mini(tmp_path, "See @fig-nowhere.\n")
    with pytest.raises(RuntimeError, match="unknown cross-reference @fig-nowhere"):
        render.render_html_pandoc(qmd, tmp_path / "mini.html")


def test_missing_included_file_stops_the_render(tmp_path):
    qmd = _mini(tmp_path, "```{.include}\ntables/absent.md\n```\n")
    with pytest.raises(RuntimeError, match=r"cannot open included file 'tables/absent\.md'"):
        render.render_html_pandoc(qmd, tmp_path / "mini.html")


def test_render_refuses_an_unknown_engine(tmp_path):
    with pytest.raises(ValueError, match="engine must be 'auto', 'quarto' or 'pandoc'"):
        render.render_report(str(tmp_path / "r.qmd"), "a.html", "a.pdf", engine="latex")


def test_md_escape_neutralizes_markup_and_table_pipes():
    escaped = tables.md_escape("a|b <i>x</i> *y* @fig-z\nnext")
    assert "\n" not in escaped
    assert escaped == r"a\|b \<i\>x\<\/i\> \*y\* \@fig\-z next"
    assert tables.md_escape(float("nan")) == ""


def test_md_table_with_no_rows_still_renders_with_its_caption():
    md = tables.md_table([], ["A", "B"], caption="Empty.", ident="tbl-empty")
    assert "*(no rows)*" in md and md.rstrip().endswith(": Empty. {#tbl-empty}")


def test_methods_text_follows_the_config():
    text = tables.methods_text(
        {"pooling": {"method": "DL", "test": "knha", "adhoc": True, "level": 0.9}, "prepost_r": 0.7}
    )
    seen = _visible(text)
    assert "DerSimonian-Laird" in seen and "never narrower than Wald" in seen
    assert "90% level" in seen and "r = 0.7" in seen


def test_provenance_lists_sha256_of_each_input(tmp_path):
    f = tmp_path / "abc.csv"
    f.write_bytes(b"abc")
    # FIPS 180-2 test vector for "abc"
    expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert provenance.sha256_file(f) == expected
    md = provenance.provenance_md([f], {"python": "3.11"})
    assert f"`{expected}`" in md and "{#tbl-inputs}" in md and "{#tbl-software}" in md
    assert hashlib.sha256(b"abc").hexdigest() == expected


def test_hostile_label_fixture_contains_markup():
    # guards the escaping tests above: the fixture must really carry markup
    assert "<script>" in HOSTILE_LABEL and "#strong[" in HOSTILE_LABEL and "$" in HOSTILE_LABEL


def test_pdf_is_byte_identical_between_renders(demo, tmp_path):
    again = tmp_path / "again.pdf"
    render.render_pdf_pandoc(demo["root"] / "report.qmd", again)
    assert again.read_bytes() == demo["pdf"].read_bytes()


def test_ledger_shows_assumptions_as_key_value_text_and_keeps_bad_json_as_text():
    f = demo_frames()
    seen = _visible(tables.derivations_table(f["derivations"]))
    assert "r: 0.8" in seen and '"r"' not in seen
    assert '{"test": "t"} <b>bold</b>' in seen  # not JSON: shown as it is, markup as text


def test_report_text_colours_have_at_least_4_5_to_1_contrast_on_every_background():
    from analysis.plots.theme import contrast_ratio

    css = (Path(__file__).resolve().parents[1] / "reports/templates/report.css").read_text()
    text = set(re.findall(r"(?<![-\w])color:\s*(#[0-9a-fA-F]{3,6})", css))
    backgrounds = set(re.findall(r"background:\s*(#[0-9a-fA-F]{3,6})", css)) | {"#ffffff"}

    def full(c: str) -> str:
        c = c.lstrip("#")
        return "#" + ("".join(ch * 2 for ch in c) if len(c) == 3 else c)

    assert text and len(backgrounds) > 3
    low = [
        (t, b, round(contrast_ratio(full(t), full(b)), 2))
        for t in text
        for b in backgrounds
        if contrast_ratio(full(t), full(b)) < 4.5
    ]
    assert low == []


def test_consecutive_landscape_sections_share_one_run_of_pages(demo):
    typ = render._pandoc(demo["root"] / "report.qmd", "typst", [])
    qmd = (demo["root"] / "report.qmd").read_text(encoding="utf-8")
    divs = qmd.count("::: {.landscape}")
    runs = typ.count(b"#page(flipped: true")
    assert divs >= 2 and 1 <= runs < divs
