# The configuration and config-derived helpers shared by the rule files. Parsing the
# workflow must stay cheap, because every run (even a no-op) pays it: only analysis.config
# (yaml and jsonschema) is imported here.
from pathlib import Path

from analysis.config import load_config

# config/config.yaml is data, not code: read with a strict YAML reader (no duplicate keys,
# tags or YTE templates, which Snakemake's own `configfile:` loader would evaluate), checked
# against config/config.schema.yaml and the data contract. --config values are merged on top.
config.update(
    load_config(
        Path(workflow.basedir) / "config/config.yaml",
        overrides=config,
        root=workflow.basedir,
    )
)


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


def raw_table(name):
    """Path of one raw table in the configured raw directory (config paths.raw), so the
    rules read the same directory that is validated and hashed."""
    return str(Path(config["paths"]["raw"]) / name)


def config_subset(*keys):
    """The config sections a rule uses (its params), so it reruns only when they change."""
    return {key: config.get(key) for key in keys}  # optional sections come as None
