"""Figures of the report: each function takes tidy frames and returns a plotnine ggplot.

Plot functions draw, they do not compute: numbers come from the processed files.
"""
