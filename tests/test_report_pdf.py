"""The PDF as a reader and a screen reader get it: text inside the text block, no invisible
characters, alt text on every figure (poppler's pdftotext; the PDF's structure tree)."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from analysis.report import render
from analysis.report.demo import build_demo_report

REPORTS = Path(__file__).resolve().parents[1] / "reports"
PT_PER_IN = 72.0
#: Margins (inches): pandoc's typst template on portrait pages, layout.lua's on landscape.
PORTRAIT_MARGIN_X, LANDSCAPE_MARGIN_X = 1.25, 0.8
#: Characters with no glyph that break copying an id or path (a soft hyphen only at a line end).
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\ufffc"

pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) is not installed"
)

_WORD = re.compile(
    r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>'
)
_PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', re.S)


def words_outside_text_block(pdf: Path, tolerance_pt: float = 1.0) -> list[str]:
    """Words whose box crosses the left or right margin (``pdftotext -bbox``), as
    ``page: word``; the margin depends on the page's orientation."""
    html = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    out = []
    for number, (width, height, body) in enumerate(_PAGE.findall(html), start=1):
        w, h = float(width), float(height)
        margin = (LANDSCAPE_MARGIN_X if w > h else PORTRAIT_MARGIN_X) * PT_PER_IN
        for m in _WORD.finditer(body):
            x0, y0, x1, y1 = (float(v) for v in m.groups()[:4])
            if x0 < margin - tolerance_pt or x1 > w - margin + tolerance_pt or y0 < 0 or y1 > h:
                out.append(f"p{number}: {m.group(5)}")
    return out


def invisible_characters(pdf: Path) -> list[str]:
    """Lines of the PDF's text holding a character without a glyph (a soft hyphen is allowed
    where a printed line ends, before a space or the line's end: it is the hyphen printed
    where typst broke a word; pdftotext puts table cells side by side on one line)."""
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    bad = []
    for line in text.splitlines():
        if any(ch in line for ch in INVISIBLE) or re.search("\u00ad(?=\\S)", line):
            bad.append(line)
    return bad


def _pdf_literal(data: bytes, start: int) -> str:
    """The PDF literal string opening at ``data[start] == "("``: balanced parentheses may
    stand unescaped inside it (PDF 32000-1, 7.3.4.2)."""
    depth, i, out = 0, start, bytearray()
    while True:
        c = data[i : i + 1]
        if c == b"\\":
            out += data[i + 1 : i + 2]
            i += 2
            continue
        if c == b"(":
            depth += 1
            if depth > 1:
                out += c
        elif c == b")":
            depth -= 1
            if depth == 0:
                return out.decode("latin-1")
            out += c
        else:
            out += c
        i += 1


def figure_alt_texts(pdf: Path) -> tuple[int, list[str]]:
    """(number of Figure structure elements, their /Alt texts) from the tagged PDF."""
    data = pdf.read_bytes()
    figures = re.findall(rb"/Type/StructElem/S/Figure\b", data)
    alts = []
    for m in re.finditer(rb"/Type/StructElem/S/Figure/P \d+ 0 R/Alt([(<])", data):
        if m.group(1) == b"<":
            end = data.index(b">", m.start(1))
            raw = bytes.fromhex(data[m.start(1) + 1 : end].decode())
            alts.append(raw[2:].decode("utf-16-be") if raw[:2] == b"\xfe\xff" else raw.decode())
        else:
            alts.append(_pdf_literal(data, m.start(1)))
    return len(figures), alts


@pytest.fixture(scope="module")
def demo_pdf(tmp_path_factory):
    root = tmp_path_factory.mktemp("pdf")
    build_demo_report(REPORTS, root, figures=False)
    pdf = root / "report.pdf"
    render.render_pdf_pandoc(root / "report.qmd", pdf)
    source = "\n".join(p.read_text(encoding="utf-8") for p in (root / "tables").glob("*.md"))
    return pdf, source


def test_every_pdf_figure_carries_its_alt_text(demo_pdf):
    pdf, source = demo_pdf
    n_figures, alts = figure_alt_texts(pdf)
    expected = re.findall(r'fig-alt="([^"]*)"', source)
    assert n_figures == len(expected) == len(alts) == 5
    assert sorted(alts) == sorted(expected)


def test_pdf_text_stays_inside_the_text_block(demo_pdf):
    assert words_outside_text_block(demo_pdf[0]) == []


def test_pdf_text_has_no_invisible_characters(demo_pdf):
    assert invisible_characters(demo_pdf[0]) == []


def test_the_check_finds_a_word_in_the_margin_and_a_zero_width_space(tmp_path):
    import typst

    src = tmp_path / "x.typ"
    src.write_text(
        '#set page(paper: "a4", margin: 1.25in)\n'
        "id\\u{200b}with\\u{200b}space\n"
        "#place(dx: 5.5in)[averylongwordintothemargin]\n",
        encoding="utf-8",
    )
    pdf = tmp_path / "x.pdf"
    typst.compile(str(src), output=str(pdf))
    assert words_outside_text_block(pdf)
    assert invisible_characters(pdf)


# The shipped report (regenerated by the workflow) passes the same checks.


def test_shipped_pdf_text_stays_inside_the_text_block_without_invisible_characters():
    pdf = REPORTS / "report.pdf"
    assert words_outside_text_block(pdf) == []
    assert invisible_characters(pdf) == []


def test_shipped_pdf_has_alt_text_for_every_figure():
    n_figures, alts = figure_alt_texts(REPORTS / "report.pdf")
    source = "\n".join(p.read_text(encoding="utf-8") for p in (REPORTS / "tables").glob("*.md"))
    expected = re.findall(r'fig-alt="([^"]*)"', source)
    assert n_figures == len(alts) == len(expected) >= 5
    assert sorted(alts) == sorted(expected)


def test_shipped_figures_are_placed_at_the_width_they_were_drawn():
    # the printed type size equals the drawn size (>= 7 pt, test_plots) only if the PNG's
    # width at its dpi is the width the PDF places it at
    import struct

    from analysis.report import build

    snippets = "\n".join(p.read_text(encoding="utf-8") for p in (REPORTS / "tables").glob("*.md"))
    placed = re.findall(r"\]\((figures/[^)]+\.png)\)\{[^}]*width=\"([\d.]+)in\"", snippets)
    assert len(placed) >= 5
    for image, width in placed:
        header = (REPORTS / image).read_bytes()[16:24]
        px = struct.unpack(">II", header)[0]
        assert px / build.DPI == pytest.approx(float(width), abs=0.01), image
        assert float(width) <= build.TEXT_WIDTH_IN
