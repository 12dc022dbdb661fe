"""Meta-analysis engine and pipeline steps for estradiol and bone in males."""

__version__ = "0.1.0"
