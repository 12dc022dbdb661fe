"""GRADE by declared rules: one test per rule, with the expected rating written out."""

import pytest

from analysis import grade

RULES = {
    "start": {"rct": 4, "nonrandomized_controlled": 2, "case_report": 1},
    "risk_of_bias": {
        "rob2": {"low": 0, "some_concerns": 1, "high": 2},
        "robins_i": {"low": 0, "moderate": 0, "serious": 1, "critical": 2, "no_information": 1},
        "murad2018": {"low": 0, "some_concerns": 0, "unclear": 0, "high": 1},
    },
    "inconsistency_i2": 50,
    "optimal_information_size": 400,
    "words_only_imprecision": 2,
    "no_variance_imprecision": 2,
}
JUDGED = {
    "indirectness": "not_serious",
    "indirectness_rationale": "direct",
    "publication_bias": "not_serious",
    "publication_bias_rationale": "registered",
}


@pytest.mark.parametrize(
    ("designs", "level"),
    [
        (["rct"], 4),
        (["nonrandomized_controlled"], 2),
        (["case_report"], 1),
        (["rct", "nonrandomized_controlled"], 2),
    ],
)
def test_start_level_is_the_lowest_of_the_contributing_designs(designs, level):
    assert grade.start_level(designs, RULES["start"])[0] == level


def test_risk_of_bias_takes_the_worst_judgement_in_the_tools_own_categories():
    rules = RULES["risk_of_bias"]
    assert grade.risk_of_bias([("A", "rob2", "some_concerns")], rules)[0] == 1
    assert grade.risk_of_bias([("A", "rob2", "low"), ("B", "rob2", "high")], rules)[0] == 2
    assert grade.risk_of_bias([("F", "robins_i", "moderate")], rules)[0] == 0
    assert grade.risk_of_bias([("F", "robins_i", "serious")], rules)[0] == 1
    level, basis = grade.risk_of_bias([("X", "", "")], rules)
    assert level == 1 and "X: not judged" in basis


def test_an_unknown_judgement_of_a_tool_is_an_error():
    with pytest.raises(KeyError, match="unclear"):
        grade.risk_of_bias([("F", "rob2", "unclear")], RULES["risk_of_bias"])


def test_inconsistency_is_not_assessable_with_one_study():
    assert grade.inconsistency("numeric", 1, None, [], 50) == (0, "not assessable (one study)")


def test_inconsistency_is_serious_from_the_declared_i2():
    assert grade.inconsistency("numeric", 3, 60.0, [], 50)[0] == 1
    assert grade.inconsistency("numeric", 3, 30.0, [], 50)[0] == 0


def test_case_reports_are_inconsistent_when_the_men_change_in_different_directions():
    assert grade.inconsistency("numeric", 2, None, [1, -1], 50)[0] == 1
    assert grade.inconsistency("numeric", 3, None, [1, 1, 1], 50)[0] == 0


@pytest.mark.parametrize(
    ("status", "lo", "hi", "n", "levels"),
    [
        ("numeric", -3.97, -0.95, 69, 1),  # CI excludes 0, n below the OIS
        ("numeric", -3.0, 0.5, 69, 2),  # CI includes 0 and n below the OIS
        ("numeric", -3.0, -1.0, 500, 0),  # neither
        ("numeric", -3.0, -1.0, None, 1),  # n unknown counts as below the OIS
        ("numeric", None, None, 3, 2),  # no variance (case reports)
        ("words_only", None, None, 400, 2),  # words only, whatever n
    ],
)
def test_imprecision_follows_one_rule_for_every_row(status, lo, hi, n, levels):
    got, _ = grade.imprecision(
        status, ci_low=lo, ci_high=hi, n=n, ois=400, words_only=2, no_variance=2
    )
    assert got == levels


def test_a_non_randomised_words_only_result_starts_low_and_ends_very_low():
    out = grade.rate(
        status="words_only",
        designs=["nonrandomized_controlled"],
        rob=[("Finkelstein 2016", "robins_i", "serious")],
        k=1,
        i2=None,
        signs=[],
        ci_low=None,
        ci_high=None,
        n=400,
        judged=JUDGED,
        rules=RULES,
    )
    assert out["start"] == "low"
    assert out["imprecision"] == "very_serious"
    assert out["certainty"] == "very_low"


def test_one_rct_with_some_concerns_and_a_small_sample_is_low():
    out = grade.rate(
        status="numeric",
        designs=["rct"],
        rob=[("BB", "rob2", "some_concerns")],
        k=1,
        i2=None,
        signs=[],
        ci_low=-3.97,
        ci_high=-0.95,
        n=69,
        judged=JUDGED,
        rules=RULES,
    )
    assert (out["start"], out["risk_of_bias"], out["imprecision"]) == ("high", "serious", "serious")
    assert out["certainty"] == "low"


def test_an_override_changes_a_computed_domain_only_with_its_reason_shown():
    judged = {
        **JUDGED,
        "override_domain": "imprecision",
        "override_rating": "not_serious",
        "override_reason": "OIS met by the registry count",
    }
    out = grade.rate(
        status="numeric",
        designs=["rct"],
        rob=[("BB", "rob2", "low")],
        k=1,
        i2=None,
        signs=[],
        ci_low=-3.0,
        ci_high=-1.0,
        n=69,
        judged=judged,
        rules=RULES,
    )
    assert out["imprecision"] == "not_serious"
    assert "override of the computed rating" in out["imprecision_basis"]
    assert out["override"] == "imprecision: OIS met by the registry count"
    assert out["certainty"] == "high"


def test_a_missing_reviewer_judgement_is_marked_provisional():
    out = grade.rate(
        status="numeric",
        designs=["rct"],
        rob=[("BB", "rob2", "low")],
        k=1,
        i2=None,
        signs=[],
        ci_low=-3.0,
        ci_high=-1.0,
        n=500,
        judged=None,
        rules=RULES,
    )
    assert "provisional" in out["indirectness_basis"]


def test_upgrading_adds_levels_within_high():
    assert grade.certainty(1, {"risk_of_bias": 0}, upgrade=2) == "moderate"
    assert grade.certainty(4, {"risk_of_bias": 0}, upgrade=1) == "high"


def test_no_result_is_not_rated():
    out = grade.rate(
        status="measured_not_retrieved",
        designs=[],
        rob=[],
        k=0,
        i2=None,
        signs=[],
        ci_low=None,
        ci_high=None,
        n=None,
        judged=None,
        rules=RULES,
    )
    assert out["certainty"] == "not_rated"


@pytest.mark.parametrize(
    ("certainty", "direction", "expected"),
    [
        ("high", "lower", "An AI reduces BMD."),
        ("moderate", "lower", "An AI probably reduces BMD."),
        ("low", "lower", "An AI may reduce BMD."),
        ("low", "unclear", "An AI may result in little to no difference in BMD."),
        ("very_low", "lower", "The evidence is very uncertain about the effect of an AI on BMD."),
    ],
)
def test_statements_follow_grade_wording(certainty, direction, expected):
    assert grade.statement(certainty, "numeric", direction, "an AI", "BMD") == expected
