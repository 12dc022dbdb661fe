"""Provenance appendix: software versions and the SHA-256 of every input file."""

from __future__ import annotations

import hashlib
import platform
import shutil
import subprocess
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

from analysis.report.tables import breakable, md_escape, md_table

PACKAGES = (
    "numpy",
    "scipy",
    "pandas",
    "statsmodels",
    "matplotlib",
    "plotnine",
    "mizani",
    "snakemake",
    "pyyaml",
    "jsonschema",
    "pypandoc-binary",
    "typst",
)


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def software_versions() -> dict[str, str]:
    """Versions of Python, the packages that made the numbers and figures, pandoc and Quarto."""
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    try:
        import pypandoc

        versions["pandoc"] = pypandoc.get_pandoc_version()
    except (ImportError, OSError):
        versions["pandoc"] = "not found"
    quarto = shutil.which("quarto")
    if quarto:
        out = subprocess.run([quarto, "--version"], capture_output=True, text=True, check=False)
        versions["quarto"] = out.stdout.strip() or "unknown"
    else:
        versions["quarto"] = "not on PATH (rendered with pandoc + typst)"
    return versions


def provenance_md(files: Iterable[str | Path], versions: dict[str, str]) -> str:
    """Two tables: ``tbl-software`` (name, version) and ``tbl-inputs`` (path, bytes, sha256).

    Parameters
    ----------
    files : iterable of path
        Every input file of the analysis, shown with the path as given, sorted.
    versions : dict
        From :func:`software_versions`.
    """
    soft = [[md_escape(k), md_escape(v)] for k, v in versions.items()]
    rows = []
    for f in sorted({str(f) for f in files}):
        rows.append(
            [breakable(md_escape(f)), str(Path(f).stat().st_size), "`" + sha256_file(f) + "`"]
        )
    return (
        md_table(soft, ["Software", "Version"], caption="Software versions.", ident="tbl-software")
        + "\n"
        + md_table(
            rows,
            ["Input file", "Bytes", "SHA-256"],
            caption="Every input file of the analysis with its SHA-256 checksum.",
            ident="tbl-inputs",
            align="lrl",
        )
    )


def write_provenance(files: Iterable[str | Path], output: str | Path) -> None:
    """Write :func:`provenance_md` of ``files`` with the current software versions."""
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    Path(output).write_text(provenance_md(files, software_versions()), encoding="utf-8")
