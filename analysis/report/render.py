"""Render ``reports/report.qmd`` to one self-contained HTML file and a PDF.

With Quarto on PATH, ``quarto render`` does it (``_quarto.yml`` adds the include filter).
Without it, the same document goes through pandoc (from ``pypandoc-binary``) with the Lua
filters of ``reports/filters/`` (include, cross-references, callouts, layout): to HTML with
``--embed-resources --standalone`` and to typst, which the ``typst`` package compiles to PDF.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)

FILTERS = ("include.lua", "crossref.lua", "callout.lua", "layout.lua")


def pandoc_path() -> str:
    """Path of the pandoc binary shipped with ``pypandoc-binary`` (or on PATH)."""
    try:
        import pypandoc

        return pypandoc.get_pandoc_path()
    except (ImportError, OSError):
        found = shutil.which("pandoc")
        if not found:
            raise FileNotFoundError("pandoc not found: install pypandoc-binary") from None
        return found


def _pandoc(qmd: Path, to: str, extra: list[str]) -> bytes:
    """Run pandoc in the document's directory (relative paths of includes and images)."""
    root = qmd.parent
    cmd = [pandoc_path(), qmd.name, "--from", "markdown", "--to", to, "--standalone"]
    for name in FILTERS:
        cmd += ["--lua-filter", str(Path("filters") / name)]
    cmd += extra
    proc = subprocess.run(cmd, cwd=root, capture_output=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(
            f"pandoc --to {to} failed ({proc.returncode}): {proc.stderr.decode(errors='replace')}"
        )
    if proc.stderr:
        log.warning("pandoc --to %s: %s", to, proc.stderr.decode(errors="replace").strip())
    return proc.stdout


def render_html_pandoc(qmd: Path, html: Path) -> None:
    """Self-contained HTML: images and CSS embedded as data, no external reference."""
    css = qmd.parent / "templates" / "report.css"
    # no --toc: layout.lua puts the contents after the answer (as the PDF has them)
    extra = ["--embed-resources", "--section-divs"]
    if css.exists():
        extra += ["--css", str(Path("templates") / "report.css")]
    out = _pandoc(qmd, "html5", extra)
    html.parent.mkdir(parents=True, exist_ok=True)
    html.write_bytes(out)


def render_pdf_pandoc(qmd: Path, pdf: Path) -> None:
    """PDF through pandoc's typst writer and the ``typst`` package, rooted at the report dir."""
    import matplotlib
    import typst

    header = qmd.parent / "templates" / "typst-header.typ"
    # no --toc: report.qmd places the outline after "The answer", so the answer comes first
    extra = ["-V", "papersize=a4", "-V", "fontsize=10pt"]
    if header.exists():
        extra += ["--include-in-header", str(Path("templates") / "typst-header.typ")]
    source = _pandoc(qmd, "typst", extra)
    pdf.parent.mkdir(parents=True, exist_ok=True)
    # A fixed creation date keeps the PDF byte-identical between runs (reproducible builds
    # convention: SOURCE_DATE_EPOCH, else the Unix epoch).
    timestamp = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    # Fonts from the lock file, not the machine: matplotlib ships DejaVu Sans, the font the
    # figures use too, and typst embeds its own fallbacks, so the PDF is the same everywhere.
    fonts = str(Path(matplotlib.get_data_path()) / "fonts" / "ttf")
    typst.compile(  # type: ignore[misc]  # the stub binds input and output to one TypeVar
        source,
        output=str(pdf),
        root=str(qmd.parent.resolve()),
        timestamp=timestamp,
        font_paths=[fonts],
        ignore_system_fonts=True,
    )


def render_quarto(qmd: Path, html: Path, pdf: Path, quarto: str) -> None:
    """Render with Quarto into the document's directory, then move to the requested paths."""
    for fmt, target, produced in (
        ("html", html, qmd.with_suffix(".html")),
        ("typst", pdf, qmd.with_suffix(".pdf")),
    ):
        subprocess.run([quarto, "render", qmd.name, "--to", fmt], cwd=qmd.parent, check=True)
        if produced.resolve() != target.resolve():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(produced, target)


def render_report(qmd: str, html: str, pdf: str, engine: str = "auto") -> str:
    """Render the report to HTML and PDF.

    Parameters
    ----------
    qmd : str
        Path of ``report.qmd`` (its directory holds ``filters/``, ``templates/``, ``tables/``
        and ``figures/``).
    html, pdf : str
        Output paths.
    engine : {"auto", "quarto", "pandoc"}
        ``auto`` uses Quarto when ``quarto`` is on PATH, else pandoc + typst.

    Returns
    -------
    str
        The engine used (``quarto`` or ``pandoc``).
    """
    src = Path(qmd)
    quarto = shutil.which("quarto")
    if engine == "quarto" or (engine == "auto" and quarto):
        if not quarto:
            raise FileNotFoundError("engine='quarto' but quarto is not on PATH")
        render_quarto(src, Path(html), Path(pdf), quarto)
        return "quarto"
    if engine not in ("auto", "pandoc"):
        raise ValueError(f"engine must be 'auto', 'quarto' or 'pandoc', not {engine!r}")
    render_html_pandoc(src, Path(html))
    render_pdf_pandoc(src, Path(pdf))
    log.info("rendered %s and %s with pandoc + typst", html, pdf)
    return "pandoc"
