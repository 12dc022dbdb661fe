"""analysis.harmonize on small frames: routes a-e, the ledger, units, results in words."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from analysis.harmonize import canonical_units, compute_effects

AO_COLUMNS = ["study_id", "arm", "outcome", "timepoint_months", "measure", "n", "mean", "sd",
              "se", "ci_low", "ci_high", "median", "q1", "q3", "p_value", "unit"]  # fmt: skip
CONTRAST_COLUMNS = ["study_id", "treatment_arm", "control_arm", "outcome", "timepoint_months",
                    "measure", "estimate", "se", "ci_low", "ci_high", "ci_level", "p_value",
                    "p_value_bound", "unit", "reported_text", "source", "location"]  # fmt: skip
UNITS = {"bmd_lumbar_spine": "g/cm2", "estradiol": "pmol/L"}


def arm_outcomes(*rows):
    """Arm rows as dicts; line numbers start at 2 (header = 1), as read_table gives them."""
    frame = pd.DataFrame([{c: r.get(c) for c in AO_COLUMNS} for r in rows], columns=AO_COLUMNS)
    for c in ["timepoint_months", "mean", "sd", "se", "ci_low", "ci_high", "median", "q1",
              "q3", "p_value", "n"]:  # fmt: skip
        frame[c] = frame[c].astype(float)
    frame["source_row"] = np.arange(2, len(frame) + 2)
    frame["unit"] = frame["unit"].fillna("g/cm2")
    return canonical_units(frame, UNITS)


def contrasts(*rows):
    frame = pd.DataFrame(
        [{c: r.get(c) for c in CONTRAST_COLUMNS} for r in rows], columns=CONTRAST_COLUMNS
    )
    for c in ["timepoint_months", "estimate", "se", "ci_low", "ci_high", "ci_level", "p_value"]:
        frame[c] = frame[c].astype(float)
    frame["source_row"] = np.arange(2, len(frame) + 2)
    return frame


def run(ao, con=None, *, r=0.5, design="rct", n=(20, 20), rob="low", outcomes=None):
    studies = pd.DataFrame({"study_id": ["s1"], "label": ["Study 2009"], "year": [2009],
                            "design": [design], "evidence_line": ["ai_older_men"]})  # fmt: skip
    arms = pd.DataFrame({"study_id": ["s1", "s1"], "arm": ["ai", "placebo"],
                         "role": ["treatment", "control"], "n_randomized": list(n)})  # fmt: skip
    risk = pd.DataFrame({"study_id": ["s1"], "domain": ["overall"], "judgement": [rob]})
    return compute_effects(
        ao, arms, con if con is not None else contrasts(), studies, risk, r=r,
        outcomes=outcomes or ["bmd_lumbar_spine", "estradiol"], units=UNITS,
    )  # fmt: skip


def row(arm, measure, t, **values):
    return {"study_id": "s1", "arm": arm, "outcome": "bmd_lumbar_spine", "measure": measure,
            "timepoint_months": t, **values}  # fmt: skip


def changes(sd_t=0.04, sd_c=0.05):
    return arm_outcomes(
        row("ai", "change", 12, n=30, mean=-0.02, sd=sd_t),
        row("placebo", "change", 12, n=32, mean=0.01, sd=sd_c),
    )


def only(effects, scale="absolute"):
    return effects.loc[effects["scale"] == scale].iloc[0]


def test_reported_changes_give_the_mean_difference_with_its_variance():
    effects, ledger, *_ = run(changes())
    e = only(effects)
    assert e["route"] == "b"
    assert e["yi"] == pytest.approx(-0.03)
    assert e["vi"] == pytest.approx(0.04**2 / 30 + 0.05**2 / 32)
    assert not e["derived"]
    assert (e["n_treatment"], e["n_control"]) == (30, 32)
    step = ledger.set_index("derivation_id").loc[e["derivation_ids"]]
    assert step["inputs"] == (
        "arm_outcomes.csv:2:mean;arm_outcomes.csv:2:sd;arm_outcomes.csv:3:mean;arm_outcomes.csv:3:sd"
    )
    assert step["value"] == pytest.approx(-0.03)


def test_a_reported_difference_with_se_is_preferred_to_arm_changes():
    con = contrasts({"study_id": "s1", "treatment_arm": "ai", "control_arm": "placebo",
                     "outcome": "bmd_lumbar_spine", "timepoint_months": 12,
                     "measure": "difference_in_change", "estimate": -0.025,
                     "se": 0.01})  # fmt: skip
    effects, ledger, *_ = run(changes(), con)
    e = only(effects)
    assert (e["route"], e["yi"], e["vi"]) == ("a", -0.025, pytest.approx(1e-4))
    assert ledger["inputs"].str.startswith("contrasts.csv:2:estimate").all()


def test_baseline_and_final_values_use_the_correlation_for_the_change_sd():
    ao = arm_outcomes(
        row("ai", "baseline", 0, n=30, mean=1.00, sd=0.10),
        row("ai", "final", 12, n=30, mean=0.98, sd=0.12),
        row("placebo", "baseline", 0, n=30, mean=1.01, sd=0.11),
        row("placebo", "final", 12, n=30, mean=1.02, sd=0.11),
    )
    effects, ledger, *_ = run(ao, r=0.5)
    e = only(effects)
    sd_t = math.sqrt(0.10**2 + 0.12**2 - 2 * 0.5 * 0.10 * 0.12)
    sd_c = math.sqrt(0.11**2 + 0.11**2 - 2 * 0.5 * 0.11 * 0.11)
    assert e["route"] == "c" and e["derived"]
    assert e["yi"] == pytest.approx(-0.02 - 0.01)
    assert e["vi"] == pytest.approx(sd_t**2 / 30 + sd_c**2 / 30)
    r_steps = ledger.loc[ledger["assumptions"].str.contains('"r"')]
    assert len(r_steps) >= 2
    assert all(json.loads(a)["r"] == 0.5 for a in r_steps["assumptions"])
    higher_r = only(run(ao, r=0.8)[0])
    assert higher_r["yi"] == pytest.approx(e["yi"])
    assert higher_r["vi"] < e["vi"]


def test_percent_scale_from_baseline_and_final_is_the_difference_of_percent_changes():
    ao = arm_outcomes(
        row("ai", "baseline", 0, n=30, mean=1.00, sd=0.10),
        row("ai", "final", 12, n=30, mean=0.98, sd=0.10),
        row("placebo", "baseline", 0, n=30, mean=1.00, sd=0.10),
        row("placebo", "final", 12, n=30, mean=1.01, sd=0.10),
    )
    e = only(run(ao)[0], "percent")
    assert e["unit"] == "percent" and e["route"] == "c"
    assert e["yi"] == pytest.approx(-2.0 - 1.0, rel=1e-6)
    assert e["vi"] > 0


def test_final_values_only_give_a_flagged_difference_in_finals():
    ao = arm_outcomes(
        row("ai", "final", 12, n=30, mean=0.98, sd=0.12),
        row("placebo", "final", 12, n=30, mean=1.02, sd=0.11),
    )
    effects, *_ = run(ao)
    e = only(effects)
    assert e["route"] == "d"
    assert "final values" in e["note"]
    assert e["yi"] == pytest.approx(-0.04)
    assert (effects["scale"] == "percent").sum() == 0


def test_a_difference_with_only_a_p_value_gets_its_se_from_p():
    con = contrasts({"study_id": "s1", "treatment_arm": "ai", "control_arm": "placebo",
                     "outcome": "bmd_lumbar_spine", "timepoint_months": 12,
                     "measure": "difference_in_change", "estimate": -0.03, "p_value": 0.01,
                     "p_value_bound": "="})  # fmt: skip
    effects, ledger, *_ = run(arm_outcomes(), con, n=(40, 40))
    e = only(effects)
    assert e["route"] == "e" and e["derived"]
    from scipy import stats

    assert e["sei"] == pytest.approx(0.03 / stats.t.isf(0.005, 78))
    assert ledger["method"].str.startswith("se_from_p").any()


def test_a_p_value_without_an_estimate_gives_no_number():
    con = contrasts({"study_id": "s1", "treatment_arm": "ai", "control_arm": "placebo",
                     "outcome": "bmd_lumbar_spine", "timepoint_months": 12,
                     "measure": "difference_in_change", "p_value": 0.001})  # fmt: skip
    effects, *_ = run(arm_outcomes(), con)
    assert effects.empty


def test_results_reported_in_words_are_listed_and_never_numbers():
    con = contrasts({"study_id": "s1", "treatment_arm": "ai", "control_arm": "placebo",
                     "outcome": "bmd_lumbar_spine", "timepoint_months": 12,
                     "measure": "reported_in_words", "reported_text": "no significant change",
                     "source": "PMID:1", "location": "Abstract"})  # fmt: skip
    effects, _, words, _ = run(arm_outcomes(), con)
    assert effects.empty
    assert words[["study_id", "reported_text", "label"]].to_numpy().tolist() == [
        ["s1", "no significant change", "Study 2009"]
    ]


def test_sd_back_calculated_from_se_marks_the_effect_derived():
    ao = arm_outcomes(
        row("ai", "change", 12, n=25, mean=-0.02, se=0.008),
        row("placebo", "change", 12, n=25, mean=0.01, sd=0.04),
    )
    e = only(run(ao)[0])
    assert e["derived"]
    assert e["vi"] == pytest.approx(0.008**2 + 0.04**2 / 25)


def test_missing_arm_n_falls_back_to_the_randomized_n_and_says_so():
    ao = arm_outcomes(
        row("ai", "change", 12, mean=-0.02, sd=0.04),
        row("placebo", "change", 12, mean=0.01, sd=0.05),
    )
    effects, ledger, *_ = run(ao, n=(18, 19))
    assert (only(effects)["n_treatment"], only(effects)["n_control"]) == (18, 19)
    assert (ledger["method"] == "n_from_randomized").sum() == 2


def test_case_reports_are_not_turned_into_controlled_effects():
    effects, *_ = run(changes(), design="case_report")
    assert effects.empty


def test_canonical_units_convert_means_and_sds_by_one_factor():
    frame = pd.DataFrame({"outcome": ["estradiol", "estradiol", "bmd_lumbar_spine"],
                          "unit": ["pg/mL", "percent", "g/cm2"], "mean": [10.0, -20.0, 1.0],
                          "sd": [2.0, 5.0, 0.1]})  # fmt: skip
    out = canonical_units(frame, UNITS)
    assert out["unit_canonical"].tolist() == ["pmol/L", "percent", "g/cm2"]
    factor = out.loc[0, "mean"] / 10.0
    assert factor == pytest.approx(3.671, abs=1e-3)  # 1 pg/mL estradiol = 3.671 pmol/L
    assert out.loc[0, "sd"] == pytest.approx(2.0 * factor)
    assert out.loc[1, ["mean", "sd"]].tolist() == [-20.0, 5.0]
    assert out["unit"].tolist() == ["pg/mL", "percent", "g/cm2"]


def test_without_any_sample_size_nothing_is_estimated_and_the_reason_is_listed():
    ao = arm_outcomes(
        row("ai", "change", 12, mean=-0.02, sd=0.04),
        row("placebo", "change", 12, mean=0.01, sd=0.05),
    )
    effects, _, _, missing = run(ao, n=(None, None))
    assert effects.empty
    absolute = missing.set_index("scale").loc["absolute"]
    assert absolute["reason"].startswith("arm sample sizes not reported")
    assert absolute["timepoint_months"] == 12


def test_the_arm_named_by_the_contrasts_is_used_when_a_side_has_several_arms():
    ao = arm_outcomes(
        row("ai", "change", 12, n=30, mean=-0.02, sd=0.04),
        row("ai_weekly", "change", 12, n=30, mean=-0.50, sd=0.04),
        row("placebo", "change", 12, n=30, mean=0.01, sd=0.05),
    )
    con = contrasts({"study_id": "s1", "treatment_arm": "ai_weekly", "control_arm": "placebo",
                     "outcome": "estradiol", "timepoint_months": 12,
                     "measure": "reported_in_words", "reported_text": "lower"})  # fmt: skip
    studies = pd.DataFrame({"study_id": ["s1"], "label": ["S"], "year": [2009],
                            "design": ["rct"], "evidence_line": ["ai_older_men"]})  # fmt: skip
    arms = pd.DataFrame({"study_id": ["s1"] * 3, "arm": ["ai", "ai_weekly", "placebo"],
                         "role": ["treatment", "treatment", "control"],
                         "n_randomized": [30, 30, 30], "source_row": [2, 3, 4]})  # fmt: skip
    risk = pd.DataFrame({"study_id": ["s1"], "domain": ["overall"], "judgement": ["low"]})
    effects, *_ = compute_effects(ao, arms, con, studies, risk, r=0.5,
                                  outcomes=["bmd_lumbar_spine"], units=UNITS)  # fmt: skip
    e = only(effects)
    assert e["yi"] == pytest.approx(-0.51)
    assert "ai_weekly used (named by its contrasts)" in e["note"]


def test_a_median_without_quartiles_or_a_zero_change_with_p_gives_no_effect_and_no_error():
    ao = arm_outcomes(
        row("ai", "change", 12, n=30, median=-0.02),
        row("placebo", "change", 12, n=30, mean=0.0, p_value=0.5),
    )
    effects, *_ = run(ao)
    assert effects.empty


def test_a_median_with_quartiles_gives_a_derived_mean_and_sd():
    ao = arm_outcomes(
        row("ai", "change", 12, n=30, median=-0.02, q1=-0.05, q3=0.01),
        row("placebo", "change", 12, n=30, mean=0.01, sd=0.05),
    )
    effects, ledger, *_ = run(ao)
    e = only(effects)
    assert e["derived"]
    assert ledger["inputs"].str.contains("arm_outcomes.csv:2:median").any()
    assert e["yi"] == pytest.approx((-0.05 - 0.02 + 0.01) / 3 - 0.01, abs=0.005)


def test_a_between_group_p_beside_baseline_and_final_values_reports_the_implied_r():
    from scipy import stats

    ao = arm_outcomes(
        row("ai", "baseline", 0, n=30, mean=1.00, sd=0.10),
        row("ai", "final", 12, n=30, mean=0.97, sd=0.10),
        row("placebo", "baseline", 0, n=30, mean=1.00, sd=0.10),
        row("placebo", "final", 12, n=30, mean=1.00, sd=0.10),
    )
    # the p-value a t test would give if the true pre-post correlation were 0.9
    se = math.sqrt(2 * (0.1**2 + 0.1**2 - 2 * 0.9 * 0.1 * 0.1) / 30)
    p = 2 * stats.t.sf(0.03 / se, 58)
    con = contrasts({"study_id": "s1", "treatment_arm": "ai", "control_arm": "placebo",
                     "outcome": "bmd_lumbar_spine", "timepoint_months": 12,
                     "measure": "difference_in_change", "p_value": p,
                     "p_value_bound": "="})  # fmt: skip
    effects, ledger, *_ = run(ao, con, r=0.5)
    e = only(effects)
    assert e["route"] == "c"
    check = ledger.loc[ledger["method"] == "implied_r_check"].iloc[0]
    assert check["value"] == pytest.approx(0.9, abs=1e-6)
    assert check["inputs"] == "contrasts.csv:2:p_value"
    assert not json.loads(check["assumptions"])["used_for_effect"]
    assert e["vi"] == pytest.approx(2 * (0.1**2 + 0.1**2 - 2 * 0.5 * 0.1 * 0.1) / 30)


def burnett_bowie_like():
    """Baseline and final arm means with SDs, no n anywhere, a between-group p only."""
    return arm_outcomes(
        row("ai", "baseline", 0, mean=1.121, sd=0.141),
        row("ai", "final", 12, mean=1.102, sd=0.138),
        row("placebo", "baseline", 0, mean=1.180, sd=0.145),
        row("placebo", "final", 12, mean=1.189, sd=0.146),
    )


def p_contrast(p=0.0014, bound="=", direction="treatment_lower"):
    frame = contrasts({"study_id": "s1", "treatment_arm": "ai", "control_arm": "placebo",
                       "outcome": "bmd_lumbar_spine", "timepoint_months": 12,
                       "measure": "difference_in_change", "p_value": p,
                       "p_value_bound": bound})  # fmt: skip
    frame["direction"] = direction
    return frame


def test_arm_means_without_n_give_the_difference_in_change_with_se_from_the_p_value():
    from scipy import stats

    effects, ledger, _, missing = run(burnett_bowie_like(), p_contrast(), n=(None, None))
    absolute, percent = only(effects, "absolute"), only(effects, "percent")
    z = stats.norm.isf(0.0014 / 2)
    change = (1.102 - 1.121) - (1.189 - 1.180)
    assert absolute["route"] == "e" and absolute["derived"]
    assert absolute["yi"] == pytest.approx(change)
    assert absolute["sei"] == pytest.approx(abs(change) / z)
    pct = 100 * (1.102 - 1.121) / 1.121 - 100 * (1.189 - 1.180) / 1.180
    assert percent["yi"] == pytest.approx(pct)
    assert percent["sei"] == pytest.approx(abs(pct) / z)
    assert missing.loc[missing["outcome"] == "bmd_lumbar_spine"].empty
    steps = ledger.loc[ledger["scale"] == "absolute"].sort_values("step")
    assert steps["inputs"].iloc[0] == "arm_outcomes.csv:2:mean;arm_outcomes.csv:3:mean"
    se_step = steps.iloc[-1]
    assert se_step["inputs"].startswith("contrasts.csv:2:p_value")
    assert "6.5.2.3" in se_step["reference"]
    assumptions = json.loads(se_step["assumptions"])
    assert assumptions["statistic"] == "z"
    assert assumptions["df_note"].startswith("normal approximation, df unknown")


def test_the_percent_scale_borrows_the_p_of_the_change_and_says_so():
    _, ledger, *_ = run(burnett_bowie_like(), p_contrast(), n=(None, None))
    last = ledger.loc[ledger["scale"] == "percent"].sort_values("step").iloc[-1]
    assert (
        "applies to the difference in percent change too" in json.loads(last["assumptions"])["p_of"]
    )
    first = ledger.loc[ledger["scale"] == "percent"].sort_values("step").iloc[0]
    assert first["value"] == pytest.approx(100 * (1.102 - 1.121) / 1.121)


def test_a_total_analysed_n_states_how_a_t_test_would_change_the_se():
    from scipy import stats

    studies = pd.DataFrame({"study_id": ["s1"], "label": ["S"], "year": [2009],
                            "design": ["rct"], "evidence_line": ["ai_older_men"]})  # fmt: skip
    arms = pd.DataFrame({"study_id": ["s1", "s1"], "arm": ["ai", "placebo"],
                         "role": ["treatment", "control"], "n_randomized": [None, None],
                         "source_row": [2, 3]})  # fmt: skip
    risk = pd.DataFrame({"study_id": ["s1"], "domain": ["overall"], "judgement": ["low"]})
    contrast = p_contrast().assign(n_analysed=[69])
    effects, ledger, *_ = compute_effects(
        burnett_bowie_like(), arms, contrast, studies, risk, r=0.5,
        outcomes=["bmd_lumbar_spine"], units=UNITS,
    )  # fmt: skip
    step = ledger.loc[ledger["scale"] == "absolute"].sort_values("step").iloc[-1]
    assumptions = json.loads(step["assumptions"])
    shrink = 100 * (1 - stats.norm.isf(0.0007) / stats.t.isf(0.0007, 67))
    assert "with t on 67 df" in assumptions["df_note"]
    assert f"{shrink:.1f}% smaller" in assumptions["df_note"]
    assert "contrasts.csv:2:n_analysed" in step["inputs"]
    # the note never changes the SE: still the normal quantile
    assert only(effects)["sei"] == pytest.approx(0.028 / stats.norm.isf(0.0007))


def test_a_p_below_a_bound_gives_a_conservative_se_and_a_p_above_one_gives_none():
    from scipy import stats

    effects, ledger, *_ = run(burnett_bowie_like(), p_contrast(0.01, "<"), n=(None, None))
    assert only(effects)["sei"] == pytest.approx(0.028 / stats.norm.isf(0.005))
    step = ledger.loc[ledger["scale"] == "absolute"].sort_values("step").iloc[-1]
    assumptions = json.loads(step["assumptions"])
    assert assumptions["se_is"] == "upper bound" and "upper bound" in assumptions["conservative"]
    effects, *_ = run(burnett_bowie_like(), p_contrast(0.01, ">"), n=(None, None))
    assert effects.empty


def test_arm_means_pointing_against_the_reported_direction_give_no_effect():
    effects, *_ = run(burnett_bowie_like(), p_contrast(direction="treatment_higher"),
                      n=(None, None))  # fmt: skip
    assert effects.empty


def test_with_arm_n_the_baseline_and_final_route_is_still_preferred():
    effects, *_ = run(
        arm_outcomes(
            row("ai", "baseline", 0, n=30, mean=1.121, sd=0.141),
            row("ai", "final", 12, n=30, mean=1.102, sd=0.138),
            row("placebo", "baseline", 0, n=30, mean=1.180, sd=0.145),
            row("placebo", "final", 12, n=30, mean=1.189, sd=0.146),
        ),
        p_contrast(),
    )
    assert set(effects["route"]) == {"c"}


def test_a_median_with_one_quartile_only_gives_no_effect_and_no_error():
    ao = arm_outcomes(
        row("ai", "change", 12, n=30, median=-0.02, q1=-0.05),
        row("placebo", "change", 12, n=30, mean=0.01, sd=0.05),
    )
    effects, *_ = run(ao)
    assert effects.empty


def test_a_median_with_quartiles_uses_the_derived_sd_in_the_variance():
    from analysis.conversions import mean_sd_from_median

    ao = arm_outcomes(
        row("ai", "change", 12, n=30, median=-0.02, q1=-0.05, q3=0.01),
        row("placebo", "change", 12, n=30, mean=0.01, sd=0.05),
    )
    effects, *_ = run(ao)
    sd = mean_sd_from_median(n=30, median=-0.02, q1=-0.05, q3=0.01).sd
    assert only(effects)["vi"] == pytest.approx(sd**2 / 30 + 0.05**2 / 30)


def test_hormone_changes_are_in_canonical_units_with_the_factor_and_source_rows():
    from analysis.harmonize import hormone_changes

    frame = pd.DataFrame([
        {"study_id": "s1", "arm": "ai", "outcome": "estradiol", "timepoint_months": t,
         "measure": m, "mean": v, "unit": "pg/mL", "source": "PMID:1"}
        for t, m, v in [(0, "baseline", 15.0), (3, "final", 12.0)]
    ] + [
        {"study_id": "s1", "arm": "ai", "outcome": "testosterone", "timepoint_months": t,
         "measure": m, "mean": v, "unit": u, "source": "PMID:1"}
        for t, m, v, u in [(0, "baseline", 319.0, "ng/dL"), (6, "final", 17.6, "nmol/L"),
                           (12, "final", 474.0, "ng/dL")]
    ])  # fmt: skip
    frame["source_row"] = np.arange(2, len(frame) + 2)
    ao = canonical_units(frame, {"estradiol": "pmol/L", "testosterone": "nmol/L"})
    studies = pd.DataFrame({"study_id": ["s1"], "label": ["S"], "year": [2009],
                            "design": ["rct"], "evidence_line": ["ai_older_men"]})  # fmt: skip
    arms = pd.DataFrame({"study_id": ["s1", "s1"], "arm": ["ai", "placebo"],
                         "role": ["treatment", "control"], "n_randomized": [None, None],
                         "source_row": [2, 3]})  # fmt: skip
    out = hormone_changes(ao, arms, studies, contrasts()).set_index("outcome")
    e2 = out.loc["estradiol"]
    assert e2["baseline"] == pytest.approx(15 * 3.6713, rel=1e-4)
    assert e2["follow_up"] == pytest.approx(12 * 3.6713, rel=1e-4)
    assert e2["percent_change"] == pytest.approx(-20.0)
    assert e2["factor_baseline"] == pytest.approx(3.6713, rel=1e-4) and e2["months"] == 3
    assert e2["role"] == "treatment" and e2["compared"]
    assert e2["source_rows"] == "arm_outcomes.csv:2;arm_outcomes.csv:3"
    t = out.loc["testosterone"]  # the latest follow-up, whatever unit it was printed in
    assert t["months"] == 12 and t["follow_up"] == pytest.approx(474 / 28.842, rel=1e-4)
    assert t["unit"] == "nmol/L" and t["unit_reported"] == "ng/dL"
    assert list(out.index) == ["estradiol", "testosterone"]  # placebo reported nothing


# --- nothing dropped silently (issue 10): every effect not computed is listed with its reason


def reasons(missing, scale="absolute"):
    return missing.loc[missing["scale"] == scale, "reason"].tolist()


def test_zero_sds_in_both_arms_are_listed_as_zero_variance_not_dropped():
    effects, _, _, missing = run(changes(sd_t=0.0, sd_c=0.0))
    assert effects.loc[effects["scale"] == "absolute"].empty
    assert reasons(missing) == [
        "zero variance: the SDs or SEs of the arms are 0, so the effect has no weight "
        "(check the reported spread)"
    ]


def test_zero_ses_in_both_arms_are_listed_as_zero_variance_not_dropped():
    ao = arm_outcomes(
        row("ai", "change", 18, n=9, mean=0.9, se=0.0),
        row("placebo", "change", 18, n=10, mean=1.7, se=0.0),
    )
    effects, _, _, missing = run(ao)
    assert effects.empty
    assert reasons(missing) == [
        "zero variance: the SDs or SEs of the arms are 0, so the effect has no weight "
        "(check the reported spread)"
    ]


def test_an_overflowing_sd_is_listed_as_not_finite_not_dropped():
    effects, _, _, missing = run(changes(sd_t=1e200, sd_c=1e200))
    assert effects.loc[effects["scale"] == "absolute"].empty
    assert reasons(missing) == [
        "the effect or its variance is not a finite number (a value too large to compute with)"
    ]


@pytest.mark.parametrize("p", [0.0, 1.0])
def test_a_p_of_zero_or_one_is_the_reason_given_not_missing_sample_sizes(p):
    con = contrasts({"study_id": "s1", "treatment_arm": "ai", "control_arm": "placebo",
                     "outcome": "bmd_lumbar_spine", "timepoint_months": 12,
                     "measure": "difference_in_change", "estimate": -0.03, "p_value": p,
                     "p_value_bound": "="})  # fmt: skip
    effects, _, _, missing = run(arm_outcomes(), con, n=(40, 40))
    assert effects.empty
    assert reasons(missing) == [
        f"a p-value of {p:g} gives no SE (only 0 < p < 1 does), and no SD, SE or CI is "
        "reported beside it"
    ]


def test_a_zero_baseline_is_the_reason_for_no_percent_effect():
    ao = arm_outcomes(
        row("ai", "baseline", 0, n=20, mean=0.0, sd=0.1),
        row("ai", "final", 12, n=20, mean=1.102, sd=0.138),
        row("placebo", "baseline", 0, n=20, mean=1.180, sd=0.145),
        row("placebo", "final", 12, n=20, mean=1.189, sd=0.146),
    )
    effects, _, _, missing = run(ao)
    assert set(effects["scale"]) == {"absolute"}
    assert reasons(missing, "percent") == [
        "a baseline mean of 0: a percent change needs a baseline above 0 (the absolute "
        "scale is unaffected)"
    ]


def test_an_arm_of_one_man_is_the_reason_given():
    ao = arm_outcomes(
        row("ai", "change", 12, n=1, mean=-0.02, se=0.01),
        row("placebo", "change", 12, n=32, mean=0.01, sd=0.05),
    )
    effects, _, _, missing = run(ao)
    assert effects.loc[effects["scale"] == "absolute"].empty
    assert reasons(missing) == [
        "an arm of n = 1: no SD or SE can be estimated from fewer than 2 men"
    ]


@pytest.mark.parametrize("reported", [{"se": 1e200}, {"ci_low": -2e200, "ci_high": 2e200}])
def test_a_reported_difference_too_uncertain_to_square_is_listed_as_not_finite(reported):
    # se ** 2 of a float near 1e200 raises OverflowError in Python; the effect must be listed
    # with its reason instead of stopping the whole harmonization
    con = contrasts({"study_id": "s1", "treatment_arm": "ai", "control_arm": "placebo",
                     "outcome": "bmd_lumbar_spine", "timepoint_months": 12,
                     "measure": "difference_in_change", "estimate": -0.03, **reported})  # fmt: skip
    effects, _, _, missing = run(arm_outcomes(), con, n=(40, 40))
    assert effects.empty
    assert reasons(missing) == [
        "the effect or its variance is not a finite number (a value too large to compute with)"
    ]
