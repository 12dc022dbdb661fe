"""The rendered HTML in headless Chromium: images decode, cross-references land, tables are
there, no console error, and text from data runs nothing."""

from pathlib import Path

import pytest

from analysis.report import render
from analysis.report.demo import build_demo_report

CHROMIUM = Path("/usr/bin/chromium")
#: Desktop, tablet and phone widths (CSS px) the page must fit without sideways scrolling.
WIDTHS = (1280, 820, 420)
REPORTS = Path(__file__).resolve().parents[1] / "reports"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed"),
]


@pytest.fixture(scope="module")
def page_report(tmp_path_factory):
    sync_api = pytest.importorskip("playwright.sync_api")
    root = tmp_path_factory.mktemp("browser")
    build_demo_report(REPORTS, root, figures=False)
    html = root / "report.html"
    render.render_html_pandoc(root / "report.qmd", html)
    errors, dialogs, requests = [], [], []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(html.as_uri(), wait_until="load")
        result = page.evaluate(
            """() => ({
              images: [...document.images].map(i => ({w: i.naturalWidth, ok: i.complete,
                                                      alt: i.getAttribute('alt')})),
              links: [...document.querySelectorAll('a.crossref')].map(a => a.getAttribute('href')),
              targets: [...document.querySelectorAll('a.crossref')].map(
                 a => document.getElementById(a.getAttribute('href').slice(1)) !== null),
              tables: [...document.querySelectorAll('table')].map(t => t.id),
              scripts: document.querySelectorAll('script').length,
              text: document.body.innerText,
            })"""
        )
        widths = {}
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            widths[width] = page.evaluate(
                """() => ({
                  scroll: document.documentElement.scrollWidth,
                  client: document.documentElement.clientWidth,
                  images: [...document.images].map(i => i.complete && i.naturalWidth > 0),
                  wider: [...document.querySelectorAll('.table-scroll')].filter(
                     d => d.scrollWidth > d.clientWidth).length,
                })"""
            )
        order = page.evaluate(
            """() => {
              const h = document.querySelector('#the-answer h1.callout-heading');
              const toc = document.querySelector('nav#TOC');
              return {heading: h ? h.textContent : null,
                      before: !!(h && toc && (h.compareDocumentPosition(toc)
                                 & Node.DOCUMENT_POSITION_FOLLOWING)),
                      toc_links: toc ? toc.querySelectorAll('a').length : 0,
                      unboxed: [...document.querySelectorAll('table')].filter(
                         t => !t.parentElement.classList.contains('table-scroll')).length};
            }"""
        )
        browser.close()
    return {
        "result": result,
        "errors": errors,
        "dialogs": dialogs,
        "requests": requests,
        "widths": widths,
        "order": order,
    }


def test_every_image_is_decoded_and_has_alt_text(page_report):
    images = page_report["result"]["images"]
    assert len(images) == 5
    assert all(i["ok"] and i["w"] > 0 for i in images)
    assert all(i["alt"] for i in images)


def test_every_cross_reference_link_has_a_target(page_report):
    result = page_report["result"]
    assert len(result["links"]) >= 10
    assert all(result["targets"])


def test_the_report_tables_are_present(page_report):
    tables = set(page_report["result"]["tables"])
    expected = {
        "tbl-studies",
        "tbl-sof",
        "tbl-completeness",
        "tbl-sensitivity",
        "tbl-derivations",
        "tbl-software",
        "tbl-inputs",
    }
    assert expected <= tables


def test_no_console_error_no_script_run_and_nothing_fetched(page_report):
    assert page_report["errors"] == []
    assert page_report["dialogs"] == []  # the label's alert(1) must not run
    assert page_report["result"]["scripts"] == 0
    assert all(u.startswith(("file:", "data:")) for u in page_report["requests"])
    assert "<script>alert(1)</script>" in page_report["result"]["text"]


@pytest.mark.parametrize("width", WIDTHS)
def test_page_never_scrolls_sideways_and_images_decode_at(page_report, width):
    w = page_report["widths"][width]
    assert w["scroll"] <= w["client"], f"page {w['scroll']} px wide in a {w['client']} px window"
    assert w["images"] and all(w["images"])


def test_wide_tables_scroll_inside_their_own_box_on_a_phone(page_report):
    assert page_report["order"]["unboxed"] == 0
    assert page_report["widths"][420]["wider"] >= 1  # a table wider than the phone: boxed


def test_the_answer_is_a_heading_before_the_contents(page_report):
    order = page_report["order"]
    assert order["heading"] == "The answer" and order["before"]
    assert order["toc_links"] >= 8
