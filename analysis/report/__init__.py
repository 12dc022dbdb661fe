"""The report: markdown tables from processed files, provenance, and rendering.

Rendering uses Quarto when it is on PATH, otherwise pandoc (``pypandoc-binary``) to HTML and
pandoc's typst writer with the ``typst`` package to PDF.
"""
