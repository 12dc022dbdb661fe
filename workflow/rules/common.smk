# Config-derived helpers shared by the rule files. Nothing here imports the analysis
# package: parsing the workflow must stay cheap, because every run (even a no-op) pays it.
from pathlib import Path

from snakemake.utils import validate

validate(config, "../../config/config.schema.yaml")


# The statistics modules a rule's results depend on are inputs of the rule, so a change
# to the code reruns what it affects (Snakemake's code trigger sees only the script).
EFFECTS_CODE = [
    "analysis/harmonize.py",
    "analysis/hormone_response.py",
    "analysis/conversions.py",
    "analysis/effect_sizes.py",
    "analysis/units.py",
]
POOLING_CODE = [
    "analysis/sensitivity.py",
    "analysis/pooling.py",
    "analysis/tau2.py",
    "analysis/heterogeneity.py",
]


def get_raw_tables():
    """Every CSV of the raw directory: all of them are validated together."""
    return sorted(str(p) for p in Path(config["paths"]["raw"]).glob("*.csv"))


def config_subset(*keys):
    """The config sections a rule uses (its params), so it reruns only when they change."""
    return {key: config.get(key) for key in keys}  # optional sections come as None
