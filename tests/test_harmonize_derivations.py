"""The derivation ledger of analysis.harmonize, step by step, for routes c and e.

Each test checks whole ledger records (method, the cells read, assumptions, value,
reference) and the effect they lead to. Numbers were computed in R 4.2 (metafor 3.8-1 for
``escalc``) from the published formula, with the R expression beside each; the strings are
the ledger's wording, which ends up in data/processed/derivations.csv. Closed forms:
relative tolerance 1e-12.
"""

import json

import pytest
from harmonize_tables import TIGHT, arm, contrast
from harmonize_tables import effects_of as run

from analysis.harmonize import _req

HANDBOOK = "Higgins JPT et al. Cochrane Handbook for Systematic Reviews of Interventions v6.4"
R_SOURCE = "assumed: config prepost_r (Handbook 6.5.2.8); varied in the sensitivity grid"
SAME_MEN = "assumed: baseline and final means are of the same men (analysed sample)"
RATIO_OF_MEANS = "percent change of the arm means, not the mean of each man's percent change"
N_PER_ARM = ("not reported: the arms cannot be weighted by their SDs, so the SE comes from "
             "the between-group p")  # fmt: skip
P_BORROWED = (
    "assumed: the reported p (difference in absolute change) applies to the difference in "
    "percent change too (same test statistic); exact only if every baseline were equal"
)
CONSERVATIVE = ("p < x means |z| > z_x, so the true SE is at most |estimate| / z_x: the SE "
                "used is an upper bound (less weight)")  # fmt: skip
#: How analysis.conversions cites the Handbook chapter.
CHAPTER_6 = ("Higgins JPT, Li T, Deeks JJ (eds). Chapter 6: Choosing effect measures and "
             "computing estimates of effect. Cochrane Handbook for Systematic Reviews of "
             "Interventions v6.4, 2023")  # fmt: skip
ARM_MEANS_REF = f"{HANDBOOK}, sections 6.5.2.3 and 6.5.2.8"
SE_FROM_P_REF = f"{HANDBOOK}, sections 6.3.2 and 6.5.2.3"


def steps(ledger, scale):
    """The ledger of one scale as (method, inputs, assumptions, value, reference) records."""
    rows = ledger.loc[ledger["scale"] == scale].sort_values("step")
    return [
        {"method": r.method, "inputs": r.inputs, "assumptions": json.loads(r.assumptions),
         "value": r.value, "reference": r.reference}
        for r in rows.itertuples()
    ]  # fmt: skip


def cells(*pairs):
    return ";".join(f"arm_outcomes.csv:{row}:{column}" for row, column in pairs)


# --- route c: baseline and final values, with a between-group p beside them ---------------

# Unequal baseline and final SDs (so r can lie above 1) and final n below baseline n.
ROUTE_C = [
    arm("ai", "baseline", 0, n=34, mean=1.104, sd=0.10),
    arm("ai", "final", 12, n=31, mean=1.081, sd=0.20),
    arm("placebo", "baseline", 0, n=33, mean=1.097, sd=0.11),
    arm("placebo", "final", 12, n=32, mean=1.103, sd=0.21),
]
C_CELLS_T = cells((2, "mean"), (2, "sd"), (3, "mean"), (3, "sd"))
C_CELLS_C = cells((4, "mean"), (4, "sd"), (5, "mean"), (5, "sd"))


def test_route_c_ledger_records_the_change_sds_the_md_and_the_r_the_p_value_implies():
    effects, ledger, _ = run(ROUTE_C, [contrast(p_value=0.34, p_value_bound="=")])
    e = effects.loc["absolute"]
    assert (e["route"], bool(e["derived"])) == ("c", True)
    # (1.081 - 1.104) - (1.103 - 1.097)
    assert e["yi"] == pytest.approx(-0.029000000000000137, rel=TIGHT)
    # escalc("MD", m1i, sd1i = sqrt(.1^2 + .2^2 - .1 * .2), 31, m2i, sd2i = ..., 32)$vi
    assert e["vi"] == pytest.approx(0.0020021169354838713, rel=TIGHT)
    sd_change = "sd_change: sqrt(SD_B² + SD_F² - 2 r SD_B SD_F)"
    assert steps(ledger, "absolute") == [
        # sqrt(sb^2 + sf^2 - 2 * 0.5 * sb * sf)
        {"method": sd_change, "inputs": C_CELLS_T, "value": pytest.approx(0.17320508075688776),
         "assumptions": {"r": 0.5, "r_source": R_SOURCE},
         "reference": f"{CHAPTER_6}, section 6.5.2.8"},
        {"method": sd_change, "inputs": C_CELLS_C, "value": pytest.approx(0.18193405398660251),
         "assumptions": {"r": 0.5, "r_source": R_SOURCE},
         "reference": f"{CHAPTER_6}, section 6.5.2.8"},
        {"method": "md_of_changes", "inputs": f"{C_CELLS_T};{C_CELLS_C}",
         "value": pytest.approx(-0.029000000000000137),
         "assumptions": {"route": "c", "vi": "sd_t^2/n_t + sd_c^2/n_c", "n_treatment": 31,
                         "n_control": 32},
         "reference": "metafor escalc(measure='MD'); Handbook 6.5.1.1"},
        # se = 0.029 / qt(1 - 0.34 / 2, 61); r = (sum((sb^2 + sf^2) / n) - se^2)
        #   / sum(2 sb sf / n) with n = 31, 32
        {"method": "implied_r_check", "inputs": "contrasts.csv:2:p_value",
         "value": pytest.approx(0.89969164012781377, rel=1e-10),
         "assumptions": {"used_for_effect": False, "same_r_in_both_arms": True,
                         "se_from_p": pytest.approx(0.030155115345448801, rel=1e-10),
                         "test": "t", "df": 61, "r_in_range": True},
         "reference": f"{HANDBOOK}, sections 6.5.2.3 and 6.5.2.8"},
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("p", "implied_r", "in_range"),
    [
        (0.34, 0.89969164012781377, True),
        (0.13, 1.101704649573968, False),  # above 1, possible as SD_F = 2 SD_B
        (0.74, -1.5355445904199494, False),
    ],
)
def test_the_implied_r_is_flagged_when_it_lies_outside_minus_one_to_one(p, implied_r, in_range):
    _, ledger, _ = run(ROUTE_C, [contrast(p_value=p)])
    check = steps(ledger, "absolute")[-1]
    assert check["method"] == "implied_r_check"
    # as above, with qt(1 - p / 2, 61)
    assert check["value"] == pytest.approx(implied_r, rel=1e-10)
    assert check["assumptions"]["r_in_range"] is in_range


@pytest.mark.parametrize("p", [0.0, 1.0])
def test_a_p_of_zero_or_one_beside_route_c_gives_the_effect_but_no_implied_r(p):
    effects, ledger, _ = run(ROUTE_C, [contrast(p_value=p, p_value_bound="=")])
    assert effects.loc["absolute", "vi"] == pytest.approx(0.0020021169354838713, rel=TIGHT)
    assert "implied_r_check" not in set(ledger["method"])


def test_a_zero_route_c_effect_gives_no_implied_r():
    # both arms change by exactly 0.5 (binary fractions), so the difference is exactly 0
    effects, ledger, _ = run(
        [
            arm("ai", "baseline", 0, n=20, mean=1.0, sd=0.1),
            arm("ai", "final", 12, n=20, mean=1.5, sd=0.1),
            arm("placebo", "baseline", 0, n=20, mean=2.0, sd=0.1),
            arm("placebo", "final", 12, n=20, mean=2.5, sd=0.1),
        ],
        [contrast(p_value=0.5)],
    )
    assert effects.loc["absolute", "yi"] == 0
    # escalc("MD", sd = sqrt(.1^2 + .1^2 - .1^2) = .1, n = 20 per arm)
    assert effects.loc["absolute", "vi"] == pytest.approx(0.1**2 / 20 * 2, rel=TIGHT)
    assert "implied_r_check" not in set(ledger["method"])


def test_baseline_sds_of_zero_give_no_implied_r_as_r_then_has_no_effect_on_the_variance():
    effects, ledger, _ = run(
        [
            arm("ai", "baseline", 0, n=20, mean=1.0, sd=0.0),
            arm("ai", "final", 12, n=20, mean=1.2, sd=0.1),
            arm("placebo", "baseline", 0, n=20, mean=1.0, sd=0.0),
            arm("placebo", "final", 12, n=20, mean=1.1, sd=0.1),
        ],
        [contrast(p_value=0.01)],
    )
    # sd_change = sqrt(0 + sf^2 - 0) = sf
    assert effects.loc["absolute", "vi"] == pytest.approx(0.1**2 / 20 * 2, rel=TIGHT)
    assert "implied_r_check" not in set(ledger["method"])


def test_route_c_percent_ledger_records_each_arms_delta_method_step():
    effects, ledger, _ = run(ROUTE_C)
    e = effects.loc["percent"]
    # the delta method is a derivation even when every SD is reported
    assert (e["route"], bool(e["derived"])) == ("c", True)
    # 100 (mf / mb - 1) per arm; Var = 100^2 (sef^2/mb^2 + mf^2 seb^2/mb^4
    #   - 2 r mf sef seb / mb^3), se = sd / sqrt(n) of each mean; variances added
    assert e["yi"] == pytest.approx(-2.6302795502886722, rel=TIGHT)
    assert e["vi"] == pytest.approx(16.544066629485023, rel=TIGHT)
    method = "percent_change: 100 (M_F / M_B - 1), delta-method SE"
    reference = ("Delta method: Oehlert 1992, Am Stat 46:27-29; cf. ROMC, Lajeunesse 2011, "
                 "Ecology 92:2049-2055")  # fmt: skip
    scale = "percent change of the group mean"
    assert steps(ledger, "percent") == [
        # seb / mb = (0.10 / sqrt(34)) / 1.104
        {"method": method, "inputs": C_CELLS_T, "value": pytest.approx(-2.0833333333333481),
         "assumptions": {"r": 0.5, "r_source": R_SOURCE, "scale": scale,
                         "se_baseline_over_mean": pytest.approx(0.015534292132473627)},
         "reference": reference},
        {"method": method, "inputs": C_CELLS_C, "value": pytest.approx(0.54694621695532408),
         "assumptions": {"r": 0.5, "r_source": R_SOURCE, "scale": scale,
                         "se_baseline_over_mean": pytest.approx(0.017455371153260495)},
         "reference": reference},
        {"method": "difference_of_percent_changes", "inputs": f"{C_CELLS_T};{C_CELLS_C}",
         "value": pytest.approx(-2.6302795502886722),
         "assumptions": {"route": "c", "vi": "se_t^2 + se_c^2 (independent arms)"},
         "reference": ""},
    ]  # fmt: skip


def test_a_final_value_at_month_0_serves_as_the_baseline():
    as_final = [dict(r, measure="final") if r["measure"] == "baseline" else r for r in ROUTE_C]
    effects, *_ = run(as_final)
    e = effects.loc["absolute"]
    assert e["route"] == "c"
    # as in the first route c test: the month-0 "final" row is the baseline
    assert e["yi"] == pytest.approx(-0.029000000000000137, rel=TIGHT)
    assert e["vi"] == pytest.approx(0.0020021169354838713, rel=TIGHT)
    assert effects.loc["percent", "yi"] == pytest.approx(-2.6302795502886722, rel=TIGHT)


# --- route d: final values only ------------------------------------------------------------


def test_route_d_ledger_cites_each_arms_own_final_value_sd_step_then_the_md():
    # Both final values with an SE instead of an SD, unequal n: each arm's SD = SE sqrt(n) is
    # a ledger step citing that arm's own cells, before the MD of the final values.
    effects, ledger, _ = run([
        arm("ai", "final", 12, n=25, mean=0.98, se=0.01),
        arm("placebo", "final", 12, n=16, mean=1.02, se=0.02),
    ])  # fmt: skip
    e = effects.loc["absolute"]
    assert (e["route"], bool(e["derived"])) == ("d", True)
    assert e["note"] == "difference in final values: no baseline or change reported"
    # 0.98 - 1.02
    assert e["yi"] == pytest.approx(-0.04, rel=TIGHT)
    # (0.01 * sqrt(25))^2 / 25 + (0.02 * sqrt(16))^2 / 16 = 0.01^2 + 0.02^2
    assert e["vi"] == pytest.approx(0.0005, rel=TIGHT)
    got = steps(ledger, "absolute")
    sd_ref = f"{CHAPTER_6}, section 6.5.2.2"
    md_assumptions = {"route": "d", "vi": "sd_t^2/n_t + sd_c^2/n_c", "n_treatment": 25,
                      "n_control": 16}  # fmt: skip
    assert [(s["method"], s["inputs"], s["assumptions"], s["reference"]) for s in got] == [
        ("sd_from_se: SD = SE * sqrt(n)", cells((2, "se")), {"n": 25}, sd_ref),
        ("sd_from_se: SD = SE * sqrt(n)", cells((3, "se")), {"n": 16}, sd_ref),
        ("md_of_final_values", cells((2, "mean"), (2, "se"), (3, "mean"), (3, "se")),
         md_assumptions, "metafor escalc(measure='MD'); Handbook 6.5.1.1"),
    ]  # fmt: skip
    # 0.01 * sqrt(25), 0.02 * sqrt(16), 0.98 - 1.02
    assert [s["value"] for s in got] == pytest.approx([0.05, 0.08, -0.04], rel=TIGHT)


# --- the randomized n standing in for a missing analysed n --------------------------------


def test_the_randomized_n_used_for_an_arm_is_a_ledger_step_citing_arms_csv():
    effects, ledger, _ = run(
        [
            arm("ai", "change", 12, mean=-0.02, sd=0.04),
            arm("placebo", "change", 12, mean=0.01, sd=0.05),
        ],
        n=(18, 19),
    )
    # 0.04^2 / 18 + 0.05^2 / 19
    assert effects.loc["absolute", "vi"] == pytest.approx(0.04**2 / 18 + 0.05**2 / 19, rel=TIGHT)
    assumption = {"n": "n randomized (arms.csv), as the report gives no analysed n"}
    assert steps(ledger, "absolute")[:2] == [
        {"method": "n_from_randomized", "inputs": "arms.csv:2:n_randomized", "value": 18.0,
         "assumptions": assumption, "reference": ""},
        {"method": "n_from_randomized", "inputs": "arms.csv:3:n_randomized", "value": 19.0,
         "assumptions": assumption, "reference": ""},
    ]  # fmt: skip


def test_an_sd_from_quartiles_cites_the_arms_csv_n_it_used_not_the_blank_n_cell():
    # Wan's SD divides the IQR by a quantile that depends on n; with n blank in
    # arm_outcomes.csv the n is arms.csv's randomized n, and the ledger must cite that cell.
    effects, ledger, _ = run(
        [
            arm("ai", "change", 12, median=-0.02, q1=-0.05, q3=0.00),
            arm("placebo", "change", 12, median=0.01, q1=-0.01, q3=0.04),
        ],
        n=(18, 19),
    )
    md = [s for s in steps(ledger, "absolute") if s["method"] == "md_of_changes"]
    quartiles = [f"arm_outcomes.csv:{r}:{c}" for r in (2, 3) for c in ("median", "q1", "q3")]
    assert md[0]["inputs"] == ";".join(
        [*quartiles[:3], "arms.csv:2:n_randomized", *quartiles[3:], "arms.csv:3:n_randomized"]
    )
    assert effects.loc["absolute", "n_treatment"] == 18


# --- route e from the arm means: no SD or SE, a between-group p ---------------------------

# Arm means without SD. The control baseline is exactly 1, the p has no bound and no
# direction recorded (both optional in contrasts.csv).
MEANS = [
    arm("ai", "baseline", 0, mean=1.121),
    arm("ai", "final", 12, mean=1.102),
    arm("placebo", "baseline", 0, mean=1.000),
    arm("placebo", "final", 12, mean=1.009),
]
M_CELLS = [cells((2, "mean"), (3, "mean")), cells((4, "mean"), (5, "mean"))]


def test_route_e_from_arm_means_with_arm_n_uses_t_on_n_minus_2_df_and_says_so():
    effects, ledger, _ = run(MEANS, [contrast(p_value=0.03)], n=(30, 32))
    e = effects.loc["absolute"]
    assert (e["route"], bool(e["derived"])) == ("e", True)
    assert (e["n_treatment"], e["n_control"]) == (30, 32)
    # (1.102 - 1.121) - (1.009 - 1.000)
    assert e["yi"] == pytest.approx(-0.027999999999999803, rel=TIGHT)
    # (0.028 / qt(1 - 0.03 / 2, 30 + 32 - 2))^2
    assert e["vi"] == pytest.approx(0.012596025123565851**2, rel=TIGHT)
    assert e["note"] == ("difference in change from the arm means (arm n not reported); SE "
                         "from the between-group p (t, 60 df)")  # fmt: skip
    assert steps(ledger, "absolute") == [
        {"method": "arm_change_from_means: final mean - baseline mean", "inputs": M_CELLS[0],
         "value": pytest.approx(-0.018999999999999906),
         "assumptions": {"arm_role": "treatment", "same_men": SAME_MEN},
         "reference": ARM_MEANS_REF},
        {"method": "arm_change_from_means: final mean - baseline mean", "inputs": M_CELLS[1],
         "value": pytest.approx(0.008999999999999897),
         "assumptions": {"arm_role": "control", "same_men": SAME_MEN},
         "reference": ARM_MEANS_REF},
        {"method": "difference_in_change_from_arm_means: treatment - control",
         "inputs": f"{M_CELLS[0]};{M_CELLS[1]}", "value": pytest.approx(-0.027999999999999803),
         "assumptions": {"route": "e", "n_per_arm": N_PER_ARM}, "reference": ARM_MEANS_REF},
        # qt(1 - 0.03 / 2, 60)
        {"method": "se_from_p: SE = |estimate| / t", "inputs": "contrasts.csv:2:p_value",
         "value": pytest.approx(0.012596025123565851),
         "assumptions": {"statistic": "t", "df": 60, "two_sided": True, "bound": "=",
                         "se_is": "exact", "stat": pytest.approx(2.2229234798535549),
                         "p_of": "the difference in change",
                         "df_source": "n randomized per arm (arms.csv), n_total - 2"},
         "reference": SE_FROM_P_REF},
    ]  # fmt: skip


def test_route_e_percent_from_arm_means_borrows_the_p_of_the_change_and_says_so():
    effects, ledger, _ = run(MEANS, [contrast(p_value=0.03)], n=(30, 32))
    e = effects.loc["percent"]
    assert (e["route"], bool(e["derived"])) == ("e", True)
    # 100 (1.102 - 1.121) / 1.121 - 100 (1.009 - 1.000) / 1.000
    assert e["yi"] == pytest.approx(-2.5949152542372698, rel=TIGHT)
    # (2.5949 / qt(1 - 0.03 / 2, 60))^2
    assert e["vi"] == pytest.approx(1.1673434905677551**2, rel=TIGHT)
    assert e["note"] == ("difference in percent change from the arm means (arm n not "
                         "reported); SE from the between-group p (t, 60 df); p of the "
                         "absolute change assumed to hold on the percent scale")  # fmt: skip
    method = "arm_percent_change_from_means: 100 (final mean - baseline mean) / baseline mean"
    assert steps(ledger, "percent") == [
        {"method": method, "inputs": M_CELLS[0], "value": pytest.approx(-1.6949152542372798),
         "assumptions": {"arm_role": "treatment", "same_men": SAME_MEN,
                         "ratio_of_means": RATIO_OF_MEANS},
         "reference": ARM_MEANS_REF},
        {"method": method, "inputs": M_CELLS[1], "value": pytest.approx(0.8999999999999897),
         "assumptions": {"arm_role": "control", "same_men": SAME_MEN,
                         "ratio_of_means": RATIO_OF_MEANS},
         "reference": ARM_MEANS_REF},
        {"method": "difference_in_percent_change_from_arm_means: treatment - control",
         "inputs": f"{M_CELLS[0]};{M_CELLS[1]}", "value": pytest.approx(-2.5949152542372698),
         "assumptions": {"route": "e", "n_per_arm": N_PER_ARM}, "reference": ARM_MEANS_REF},
        {"method": "se_from_p: SE = |estimate| / t", "inputs": "contrasts.csv:2:p_value",
         "value": pytest.approx(1.1673434905677551),
         "assumptions": {"statistic": "t", "df": 60, "two_sided": True, "bound": "=",
                         "se_is": "exact", "stat": pytest.approx(2.2229234798535549),
                         "p_of": P_BORROWED,
                         "df_source": "n randomized per arm (arms.csv), n_total - 2"},
         "reference": SE_FROM_P_REF},
    ]  # fmt: skip


# Reported mean changes and percent changes without n or SD; a p for each scale, the
# percent one given as a bound; a total analysed n in contrasts.csv.
REPORTED_CHANGES = [
    arm("ai", "change", 12, mean=-0.019),
    arm("placebo", "change", 12, mean=0.009),
    arm("ai", "percent_change", 12, mean=-1.7, unit="percent"),
    arm("placebo", "percent_change", 12, mean=0.8, unit="percent"),
]
P_BOTH_SCALES = [
    contrast(p_value=0.0014, p_value_bound="=", direction="treatment_lower", n_analysed=69,
             source="Burnett-Bowie 2009", location="Results"),
    contrast("difference_in_percent_change", p_value=0.01, p_value_bound="<",
             direction="treatment_lower", unit="percent"),
]  # fmt: skip


def test_reported_arm_changes_without_n_give_route_e_with_z_and_the_t_comparison():
    effects, ledger, _ = run(REPORTED_CHANGES, P_BOTH_SCALES)
    e = effects.loc["absolute"]
    assert e["route"] == "e"
    assert e["yi"] == pytest.approx(-0.028, rel=TIGHT)
    # (0.028 / qnorm(1 - 0.0014 / 2))^2
    assert e["vi"] == pytest.approx(0.0087646505138694979**2, rel=TIGHT)
    assert e["note"] == ("difference in change from the arm means (arm n not reported); SE "
                         "from the between-group p (z, df unknown)")  # fmt: skip
    # 100 (qnorm(1 - 0.0007) / qt(1 - 0.0007, 67) - 1) = -4.16
    df_note = ("normal approximation, df unknown; with t on 67 df (total analysed n = 69, "
               "Burnett-Bowie 2009, Results) the SE would be 4.2% smaller")  # fmt: skip
    assert steps(ledger, "absolute") == [
        {"method": "reported_arm_mean_change", "inputs": cells((2, "mean")),
         "value": -0.019, "assumptions": {"arm_role": "treatment"}, "reference": ARM_MEANS_REF},
        {"method": "reported_arm_mean_change", "inputs": cells((3, "mean")),
         "value": 0.009, "assumptions": {"arm_role": "control"}, "reference": ARM_MEANS_REF},
        {"method": "difference_in_change_from_arm_means: treatment - control",
         "inputs": cells((2, "mean"), (3, "mean")), "value": pytest.approx(-0.028),
         "assumptions": {"route": "e", "n_per_arm": N_PER_ARM}, "reference": ARM_MEANS_REF},
        {"method": "se_from_p: SE = |estimate| / z",
         "inputs": "contrasts.csv:2:p_value;contrasts.csv:2:n_analysed",
         "value": pytest.approx(0.0087646505138694979),
         "assumptions": {"statistic": "z", "df": None, "two_sided": True, "bound": "=",
                         "se_is": "exact", "stat": pytest.approx(3.194651053763272),
                         "p_of": "the difference in change", "df_note": df_note,
                         # 0.028 / qt(1 - 0.0007, 67)
                         "se_with_t": pytest.approx(0.0083996508105608093)},
         "reference": SE_FROM_P_REF},
    ]  # fmt: skip


def test_a_percent_scale_p_given_as_a_bound_is_used_before_borrowing_and_is_conservative():
    effects, ledger, _ = run(REPORTED_CHANGES, P_BOTH_SCALES)
    e = effects.loc["percent"]
    assert e["route"] == "e"
    assert e["yi"] == pytest.approx(-2.5, rel=TIGHT)
    # (2.5 / qnorm(1 - 0.01 / 2))^2: an upper bound of the SE
    assert e["vi"] == pytest.approx(0.97056120782366107**2, rel=TIGHT)
    assert e["note"] == ("difference in percent change from the arm means (arm n not "
                         "reported); SE from the between-group p (z, df unknown)")  # fmt: skip
    # 100 (qnorm(0.995) / qt(0.995, 67) - 1) = -2.84
    df_note = ("normal approximation, df unknown; with t on 67 df (total analysed n = 69, "
               "Burnett-Bowie 2009, Results) the SE would be 2.8% smaller")  # fmt: skip
    assert steps(ledger, "percent") == [
        {"method": "reported_arm_mean_percent_change", "inputs": cells((4, "mean")),
         "value": -1.7, "assumptions": {"arm_role": "treatment"}, "reference": ARM_MEANS_REF},
        {"method": "reported_arm_mean_percent_change", "inputs": cells((5, "mean")),
         "value": 0.8, "assumptions": {"arm_role": "control"}, "reference": ARM_MEANS_REF},
        {"method": "difference_in_percent_change_from_arm_means: treatment - control",
         "inputs": cells((4, "mean"), (5, "mean")), "value": pytest.approx(-2.5),
         "assumptions": {"route": "e", "n_per_arm": N_PER_ARM}, "reference": ARM_MEANS_REF},
        {"method": "se_from_p: SE = |estimate| / z",
         "inputs": ("contrasts.csv:3:p_value;contrasts.csv:3:p_value_bound;"
                    "contrasts.csv:2:n_analysed"),
         "value": pytest.approx(0.97056120782366107),
         "assumptions": {"statistic": "z", "df": None, "two_sided": True, "bound": "<",
                         "se_is": "upper bound", "stat": pytest.approx(2.5758293035488999),
                         "conservative": CONSERVATIVE,
                         "p_of": "the difference in percent change", "df_note": df_note,
                         # 2.5 / qt(0.995, 67)
                         "se_with_t": pytest.approx(0.94296221998171303)},
         "reference": SE_FROM_P_REF},
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("n", "sei", "df_text"),
    [
        ((1, 1), 0.012902688426813575, "z, df unknown"),  # 0.028 / qnorm(1 - 0.015)
        ((1, 2), 0.001320446480569445, "t, 1 df"),  # 0.028 / qt(1 - 0.015, 1)
    ],
)
def test_route_e_uses_t_whenever_the_arms_total_n_leaves_a_positive_df(n, sei, df_text):
    effects, *_ = run(MEANS, [contrast(p_value=0.03)], n=n)
    e = effects.loc["absolute"]
    assert e["sei"] == pytest.approx(sei, rel=TIGHT)
    assert e["note"].endswith(f"SE from the between-group p ({df_text})")


@pytest.mark.parametrize(
    ("n_analysed", "df_note"),
    [
        (2, "normal approximation, df unknown"),
        # 100 (qnorm(1 - 0.015) / qt(1 - 0.015, 1) - 1) = -89.77
        (3, "normal approximation, df unknown; with t on 1 df (total analysed n = 3, "
            "Trial 2001, Table 2) the SE would be 89.8% smaller"),
    ],
)  # fmt: skip
def test_the_t_comparison_needs_a_total_analysed_n_above_2(n_analysed, df_note):
    p = contrast(p_value=0.03, n_analysed=n_analysed, source="Trial 2001", location="Table 2")
    _, ledger, _ = run(MEANS, [p])
    assert steps(ledger, "absolute")[-1]["assumptions"]["df_note"] == df_note


@pytest.mark.parametrize(
    ("direction", "effect"), [("treatment_lower", False), ("treatment_higher", True)]
)
def test_arm_means_rising_against_a_reported_fall_give_no_effect(direction, effect):
    # the arms of MEANS swapped: the treatment arm now changes by +0.028 relative to control
    swapped = [dict(r, arm={"ai": "placebo", "placebo": "ai"}[r["arm"]]) for r in MEANS]
    effects, *_ = run(swapped, [contrast(p_value=0.03, direction=direction)])
    assert ("absolute" in effects.index) is effect
    if effect:
        assert effects.loc["absolute", "yi"] == pytest.approx(0.028, rel=1e-12)


def test_equal_arm_changes_give_no_absolute_effect_from_a_p_value():
    # both arms change by exactly 0.5: a difference of 0 has no SE from its p
    effects, _, missing = run(
        [
            arm("ai", "baseline", 0, mean=1.0),
            arm("ai", "final", 12, mean=1.5),
            arm("placebo", "baseline", 0, mean=2.0),
            arm("placebo", "final", 12, mean=2.5),
        ],
        [contrast(p_value=0.2)],
    )
    assert "absolute" not in effects.index
    assert list(missing["scale"]) == ["absolute"]
    # 100 * 0.5 / 1 - 100 * 0.5 / 2 = 25, SE = 25 / qnorm(0.9)
    assert effects.loc["percent", "yi"] == pytest.approx(25.0, rel=TIGHT)
    assert effects.loc["percent", "sei"] == pytest.approx(25 / 1.2815515655446004, rel=TIGHT)


@pytest.mark.parametrize("p", [0.0, 1.0])
def test_a_p_of_zero_or_one_gives_no_effect_from_the_arm_means(p):
    effects, _, missing = run(MEANS, [contrast(p_value=p, p_value_bound="=")])
    assert effects.empty
    assert sorted(missing["scale"]) == ["absolute", "percent"]


def test_a_reported_difference_with_its_p_is_used_rather_than_the_arm_means():
    effects, *_ = run(MEANS, [contrast(estimate=-0.031, p_value=0.02, p_value_bound="=")])
    e = effects.loc["absolute"]
    assert (e["route"], e["yi"]) == ("e", -0.031)
    # 0.031 / qnorm(1 - 0.02 / 2)
    assert e["sei"] == pytest.approx(0.031 / 2.3263478740408408, rel=TIGHT)


def test_a_change_row_without_a_mean_leaves_the_arm_change_to_the_baseline_and_final_means():
    with_median = [*MEANS, arm("ai", "change", 12, median=-0.02)]
    effects, ledger, _ = run(with_median, [contrast(p_value=0.03)])
    # as without the median row: 0.028 / qnorm(1 - 0.015)
    assert effects.loc["absolute", "yi"] == pytest.approx(-0.027999999999999803, rel=TIGHT)
    assert effects.loc["absolute", "sei"] == pytest.approx(0.012902688426813575, rel=TIGHT)
    assert steps(ledger, "absolute")[0]["inputs"] == M_CELLS[0]


@pytest.mark.parametrize("row", [0, 1])
def test_a_baseline_or_final_without_a_mean_gives_no_effect_from_the_arm_means(row):
    # one of the treatment arm's values reported as a median only
    rows = [dict(r) for r in MEANS]
    rows[row]["median"], rows[row]["mean"] = rows[row]["mean"], None
    effects, _, missing = run(rows, [contrast(p_value=0.03)])
    assert effects.empty
    assert sorted(missing["scale"]) == ["absolute", "percent"]


def test_a_required_blank_cell_raises_naming_the_column():
    with pytest.raises(ValueError, match=r"^p_value is blank$"):
        _req({"source_row": 2, "p_value": None}, "p_value")


def test_a_difference_of_arm_means_too_large_to_square_is_listed_as_not_finite():
    # a change of 2e200 in the treatment arm: its SE from the p (about 1e200) has no finite
    # square, so the effect is listed with the reason, not dropped and not a crash
    huge = [
        arm("ai", "baseline", 0, mean=1e200),
        arm("ai", "final", 12, mean=3e200),
        arm("placebo", "baseline", 0, mean=1e200),
        arm("placebo", "final", 12, mean=1e200),
    ]
    effects, _, missing = run(huge, [contrast(p_value=0.03)])
    assert "absolute" not in effects.index
    assert missing.set_index("scale").loc["absolute", "reason"] == (
        "the effect or its variance is not a finite number (a value too large to compute with)"
    )
    # 100 (3e200 - 1e200) / 1e200 - 0 = 200, SE = 200 / qnorm(1 - 0.015)
    assert effects.loc["percent", "yi"] == pytest.approx(200.0, rel=TIGHT)
    assert effects.loc["percent", "sei"] == pytest.approx(200 / 2.1700903775845601, rel=TIGHT)
