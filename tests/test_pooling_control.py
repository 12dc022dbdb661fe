"""The command line's ``--metafor-defaults``: the optimum by default, metafor's stop on request."""

import json

import pytest
from reference import load_reference

from analysis.cli import main

TIGHT = load_reference("metafor_pooling_tight")
METAFOR = load_reference("metafor_pooling")
CASE = (
    "raudenbush1985_SMD"  # REML stops ~4e-4 (relative) short of the optimum at metafor's defaults
)


def _reml(ref):
    case = next(c for c in ref["cases"] if c["name"] == CASE)
    return case, next(f for f in case["fits"] if f["method"] == "REML" and f["test"] == "z")


@pytest.fixture
def effects_csv(tmp_path):
    case, _fit = _reml(TIGHT)
    path = tmp_path / "effects.csv"
    rows = ["yi,vi"] + [f"{y!r},{v!r}" for y, v in zip(case["yi"], case["vi"], strict=True)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("flags", "ref", "control"),
    [([], TIGHT, "tight"), (["--metafor-defaults"], METAFOR, "metafor")],
    ids=["default-is-the-optimum", "metafor-defaults"],
)
def test_pool_reproduces_the_reference_of_its_control(effects_csv, capsys, flags, ref, control):
    assert main(["pool", str(effects_csv), *flags]) == 0
    out = json.loads(capsys.readouterr().out)
    _case, fit = _reml(ref)
    assert out["control"] == control
    assert out["converged"] is True
    assert out["iterations"] >= 1
    # 1e-9: tight agreement is rounding only; metafor's own iterates are repeated exactly
    for ours, theirs in (("tau2", "tau2"), ("estimate", "estimate"), ("pi_low", "pi_lb")):
        assert out[ours] == pytest.approx(fit[theirs], rel=1e-9), ours


def test_metafor_defaults_answer_differs_from_the_optimum(effects_csv, capsys):
    main(["pool", str(effects_csv)])
    tight = json.loads(capsys.readouterr().out)
    main(["pool", str(effects_csv), "--metafor-defaults"])
    loose = json.loads(capsys.readouterr().out)
    assert abs(tight["tau2"] - loose["tau2"]) > 1e-4 * tight["tau2"]
    assert tight["iterations"] > loose["iterations"]
