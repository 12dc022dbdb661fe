"""The workflow on a data set that pools: tests/data/pooling/raw/ in place of data/raw/.

The synthetic set has nine trials in two evidence lines, with arm-level data in the formats
reports use (change mean/SD, SE, 95% CI, median and quartiles, baseline and final with a
between-group p, a reported difference with a 90% CI, a difference with a p only, final
values only). Snakemake runs the data targets on a temporary copy of the repository; the
effects and the pooled results are compared with metafor values computed by
tests/data/pooling/make_reference.R from the same raw numbers, written out route by route
(tests/data/pooling/metafor_pooling.json; CI does not run R).
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data" / "pooling"
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
REFERENCE = json.loads((DATA / "metafor_pooling.json").read_text("utf-8"))
TARGETS = ["data/processed/effects/effects.csv", "data/processed/pool/pooled.csv"]
#: Left out of the copy: the shipped data and every committed output.
LEFT_OUT = ("data/raw/", "data/processed/", "reports/")

# Tolerances. Effects are closed forms printed with %.10g: 1e-9 relative. Pooled values rest
# on the REML tau2, solved to the optimum by both programs (analysis.tau2 by default, metafor
# with threshold 1e-12): 1e-8 relative, far below what any wrong formula changes.
CLOSED = 1e-9
OPTIMUM = 1e-8


@pytest.fixture(scope="module")
def pooled_copy(tmp_path_factory):
    """A copy of the repository whose data/raw is the synthetic set, with the data targets
    made by Snakemake."""
    root = tmp_path_factory.mktemp("pooling")
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True,
                             check=True).stdout.decode().split("\0")  # fmt: skip
    for name in tracked:
        source = REPO / name
        if name and source.is_file() and not name.startswith(LEFT_OUT):
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / name)
    shutil.copytree(DATA / "raw", root / "data" / "raw")
    result = subprocess.run([SNAKEMAKE, "--cores", "2", *TARGETS], cwd=root,
                            capture_output=True, text=True, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return root


def _frame(root: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(root / "data" / "processed" / name)


@pytest.mark.workflow
def test_every_synthetic_effect_matches_the_route_written_out_in_r(pooled_copy):
    effects = _frame(pooled_copy, "effects/effects.csv").set_index(["study_id", "scale"])
    expected = REFERENCE["effects"]
    made = {k for k in effects.index if k[0].startswith("synth_")}
    assert made == {(e["study_id"], e["scale"]) for e in expected}
    for e in expected:
        got = effects.loc[(e["study_id"], e["scale"])]
        where = f"{e['study_id']} {e['scale']} ({e['how']})"
        assert got["route"] == e["route"], where
        assert got["yi"] == pytest.approx(e["yi"], rel=CLOSED), where
        assert got["vi"] == pytest.approx(e["vi"], rel=CLOSED), where


@pytest.mark.workflow
def test_the_latest_follow_up_is_used_when_a_trial_reports_two(pooled_copy):
    effects = _frame(pooled_copy, "effects/effects.csv")
    alder = effects.loc[effects["study_id"] == "synth_alder_2011"]
    assert set(alder["timepoint_months"]) == {12}


@pytest.mark.workflow
@pytest.mark.parametrize(
    ("line", "outcome", "scale"),
    [
        ("ai_older_men", "bmd_lumbar_spine", "absolute"),
        ("ai_older_men", "bmd_lumbar_spine", "percent"),
        ("ai_boys", "height", "absolute"),
    ],
)
def test_pooled_results_on_data_that_pools_agree_with_metafor(pooled_copy, line, outcome, scale):
    _assert_pooled_agree(pooled_copy, (line, outcome, scale), "tight", OPTIMUM)


@pytest.mark.workflow
def test_the_pooled_bmd_in_g_per_cm2_is_at_the_reml_optimum_not_at_metafors_default_stop(
    pooled_copy,
):
    # tau2 is about 1e-5 on this scale, as large as metafor's default threshold on its
    # change: metafor with default control stops at 1.640e-5, the optimum is 1.699e-5.
    pooled = _frame(pooled_copy, "pool/pooled.csv").set_index(["evidence_line", "outcome", "scale"])
    tau2 = pooled.loc[("ai_older_men", "bmd_lumbar_spine", "absolute"), "tau2"]
    fits = {
        p["control"]: p["tau2"] for p in REFERENCE["pooled"]
        if (p["outcome"], p["scale"], p["test"]) == ("bmd_lumbar_spine", "absolute", "adhoc")
    }  # fmt: skip
    assert fits["default"] < 0.97 * fits["tight"]
    assert tau2 == pytest.approx(fits["tight"], rel=OPTIMUM)


def _assert_pooled_agree(root: Path, key: tuple[str, str, str], control: str, rel: float):
    pooled = _frame(root, "pool/pooled.csv").set_index(["evidence_line", "outcome", "scale"])
    row = pooled.loc[key]
    # config/config.yaml: REML, Knapp-Hartung with the ad hoc rule (metafor test = "adhoc").
    assert (row["method"], row["test"]) == ("REML", "adhoc")
    ref = next(
        p for p in REFERENCE["pooled"]
        if (p["evidence_line"], p["outcome"], p["scale"]) == key
        and (p["test"], p["control"]) == ("adhoc", control)
    )  # fmt: skip
    assert ref["k"] >= 3 and row["k"] == ref["k"]
    assert ref["tau2"] > 0, "the set is built so that tau2 is estimated, not truncated at 0"
    for ours, theirs in [("estimate", "estimate"), ("se", "se"), ("ci_low", "ci_lb"),
                         ("ci_high", "ci_ub"), ("pvalue", "pval"), ("tau2", "tau2"),
                         ("q", "QE"), ("q_pvalue", "QEp"), ("pi_low", "pi_lb"),
                         ("pi_high", "pi_ub")]:  # fmt: skip
        assert row[ours] == pytest.approx(ref[theirs], rel=rel), ours
    assert row["i2"] == pytest.approx(ref["I2"], rel=rel)  # both in percent
    assert row["h2"] == pytest.approx(ref["H2"], rel=rel)


@pytest.mark.workflow
def test_pooled_weights_on_data_that_pools_agree_with_metafor(pooled_copy):
    weights = _frame(pooled_copy, "pool/weights.csv")
    fits = [p for p in REFERENCE["pooled"] if (p["test"], p["control"]) == ("adhoc", "tight")]
    assert len(fits) == 3
    for ref in fits:
        rows = weights.loc[
            (weights["evidence_line"] == ref["evidence_line"])
            & (weights["outcome"] == ref["outcome"]) & (weights["scale"] == ref["scale"])
        ].set_index("study_id")  # fmt: skip
        got = [rows.loc[s, "weight"] for s in ref["study_id"]]
        assert got == pytest.approx(ref["weights"], rel=OPTIMUM)
