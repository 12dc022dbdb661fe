"""Figures build from small frames that follow the processed-file contract."""

import pandas as pd
import pytest
from plotnine import ggplot
from plotnine.geoms import geom_point, geom_polygon, geom_segment, geom_text

from analysis.plots import cases, forest, prisma, robplot, scatter
from analysis.plots.theme import FONT_FAMILY, plain, theme_report
from analysis.report.demo import HOSTILE_LABEL, demo_frames


@pytest.fixture(scope="module")
def frames():
    return demo_frames()


def _texts(plot: ggplot) -> list[str]:
    """Every label drawn by a text layer or annotation of the plot."""
    out = []
    for layer in plot.layers:
        if isinstance(layer.geom, geom_text):
            data = layer.geom.data if isinstance(layer.geom.data, pd.DataFrame) else None
            if data is not None and "label" in data.columns:
                out += [str(x) for x in data["label"]]
            label = layer.geom.aes_params.get("label")
            if label is not None:
                out += [str(x) for x in (label if isinstance(label, list) else [label])]
    return out


def _forest(frames, outcome, scale, favours=None):
    studies, subtotals = forest.forest_data(
        frames["effects"], frames["pooled"], frames["weights"], outcome, scale
    )
    return forest.forest_plot(studies, subtotals, outcome=outcome, scale=scale, favours=favours)


def test_forest_plot_has_subgroups_subtotals_heterogeneity_and_favours(frames):
    p = _forest(frames, "bmd_lumbar_spine", "percent", favours=("Favours placebo", "Favours AI"))
    texts = _texts(p)
    assert "Aromatase inhibitor vs placebo, adult and older men" in texts
    assert "Subtotal (k = 3)" in texts and "Subtotal (k = 2)" in texts
    assert "Not pooled (k = 1)" in texts  # the boys' line has one study
    assert any(t.startswith("Heterogeneity: τ² = ") and "I² = 14%" in t for t in texts)
    assert any(t.startswith("Test for overall effect: t(2) = ") for t in texts)
    assert "Prediction interval" in texts
    assert "← Favours placebo" in texts and "Favours AI →" in texts
    assert {"Study", "Estimate [95% CI]", "Weight", "48.0%"} <= set(texts)
    geoms = [type(layer.geom) for layer in p.layers]
    assert geom_polygon in geoms and geom_point in geoms and geom_segment in geoms
    assert "REML" in p.labels.caption and "Knapp-Hartung" in p.labels.caption


def test_forest_plot_shows_no_weight_for_a_study_that_was_not_pooled(frames):
    weights = pd.concat(
        [
            frames["weights"],
            pd.DataFrame(
                {
                    "evidence_line": ["ai_boys"],
                    "outcome": ["bmd_lumbar_spine"],
                    "scale": ["percent"],
                    "study_id": ["boys_a"],
                    "weight": [100.0],
                    "label": ["Delta 2003"],
                }
            ),
        ],
        ignore_index=True,
    )
    studies, subtotals = forest.forest_data(
        frames["effects"], frames["pooled"], weights, "bmd_lumbar_spine", "percent"
    )
    texts = _texts(
        forest.forest_plot(studies, subtotals, outcome="bmd_lumbar_spine", scale="percent")
    )
    # two pooled lines have a "100.0%" subtotal; the k = 1 boys' line shows no weight
    assert texts.count("100.0%") == 2


def test_forest_plot_without_a_pooled_line_draws_no_diamond(frames):
    p = _forest(frames, "estradiol", "absolute")
    assert geom_polygon not in [type(layer.geom) for layer in p.layers]
    texts = _texts(p)
    assert "Not pooled (k = 1)" in texts
    assert not any(t.endswith("%") for t in texts)  # no weight column entries at k = 1
    assert "nothing pooled" in p.labels.caption


def test_forest_plot_draws_to_a_figure(frames):
    fig = _forest(frames, "bmd_lumbar_spine", "percent").draw()
    assert fig.get_size_inches()[0] == pytest.approx(9)


def _axis_span(plot: ggplot) -> tuple[float, float]:
    """(lo, hi) of the hand-drawn effect axis: the horizontal annotated segment."""
    for layer in plot.layers:
        data = layer.geom.data
        if not isinstance(layer.geom, geom_segment) or not isinstance(data, pd.DataFrame):
            continue
        if {"x", "xend", "y", "yend"} <= set(data.columns) and len(data) == 1:
            row = data.iloc[0]
            if row["y"] == row["yend"] and row["x"] != row["xend"] and row["y"] < -0.5:
                return float(row["x"]), float(row["xend"])
    raise AssertionError("no axis segment")


def test_forest_axis_is_symmetric_about_no_effect_when_all_effects_are_negative(frames):
    # one study far left of zero: both favours labels still get half of the axis
    lo, hi = _axis_span(_forest(frames, "estradiol", "absolute"))
    assert lo < 0 < hi and lo == pytest.approx(-hi)
    studies, _ = forest.forest_data(
        frames["effects"], frames["pooled"], frames["weights"], "estradiol", "absolute"
    )
    assert hi >= float(studies[["ci_low", "ci_high"]].abs().max().max())


def test_forest_labels_escape_mathtext_and_are_shortened(frames):
    effects = frames["effects"].copy()
    effects.loc[effects["study_id"] == "ai_b", "label"] = "Beta $x$ 2005"
    studies, subtotals = forest.forest_data(
        effects, frames["pooled"], frames["weights"], "bmd_lumbar_spine", "percent"
    )
    texts = _texts(
        forest.forest_plot(studies, subtotals, outcome="bmd_lumbar_spine", scale="percent")
    )
    assert r"Beta \$x\$ 2005" in texts
    hostile = [t for t in texts if t.startswith("Smith")]
    assert len(hostile) == 1 and len(hostile[0]) == 34 and hostile[0].endswith("…")


def test_favours_labels_come_from_config_outcome_then_default():
    cfg = {"default": ["L", "R"], "ctx": ["Less CTX", "More CTX"]}
    assert forest.favours_for("ctx", cfg) == ("Less CTX", "More CTX")
    assert forest.favours_for("bmd_lumbar_spine", cfg) == ("L", "R")
    assert forest.favours_for("bmd_lumbar_spine", None) == ("Favours control", "Favours treatment")
    assert forest.favours_for("ctx", None) == ("Favours treatment", "Favours control")


def test_prisma_counts_follow_the_flow_of_records(frames):
    c = prisma.prisma_counts(frames["screening"])
    # 12 records (9 database, 3 citation); 1 duplicate; 3 excluded on title/abstract;
    # 1 not retrieved; 2 excluded in full text for "no control"; 5 included reports of 4 studies.
    assert c.identified == {"Databases": 9, "Citation searching": 3}
    assert (c.duplicates, c.screened, c.excluded_screening) == (1, 11, 3)
    assert (c.sought, c.not_retrieved, c.assessed) == (8, 1, 7)
    assert c.excluded_reasons == {"no control": 2}
    assert (c.reports_included, c.studies_included) == (5, 4)
    texts = _texts(prisma.prisma_plot(c))
    assert "Records screened\n(n = 11)" in texts
    assert any("Studies included in review\n(n = 4)" in t for t in texts)
    assert "4 studies in 5 reports" in prisma.prisma_alt_text(c)


def test_rob_plot_has_one_panel_per_tool_and_all_judgements(frames):
    df = robplot.rob_data(frames["risk_of_bias"], frames["studies"])
    p = robplot.rob_plot(df)
    assert list(p.facet.vars) == ["tool_name"]
    assert set(df["tool"]) == {"rob2", "murad2018"}
    assert list(p.data["judgement_name"].cat.categories) == [
        "Low",
        "Some concerns",
        "High",
        "Unclear",
        "Moderate",
        "Serious",
        "Critical",
        "No information",
    ]
    assert all("$" not in s.replace(r"\$", "") for s in df["label"])


def test_cases_panel_uses_percent_change_and_labels_dose_and_estradiol(frames):
    df = cases.cases_data(frames["patient_changes"])
    ends = df.loc[df["months"] > 0].set_index(["patient_id", "outcome"])
    assert ends.loc[("pt_a", "bmd_lumbar_spine"), "value"] == pytest.approx(18.75)
    # pt_b reports only the percent change: still shown
    assert ends.loc[("pt_b", "bmd_lumbar_spine"), "note"] == "25 ug/day; E2 ?→95 pmol/L"
    assert "E2 <7→150" in ends.loc[("pt_a", "bmd_lumbar_spine"), "note"]
    assert (df.loc[df["months"] == 0, "value"] == 0).all()
    p = cases.cases_plot(df)
    assert p.labels.y == "Change in BMD from start of estrogen (%)"


def test_scatter_reads_the_regression_columns_and_marks_censored_estradiol(frames):
    df = scatter.scatter_data(frames["bmd_vs_estradiol"])
    assert list(df["x"]) == [-40.0, -25.0, 143.0, 88.0]
    assert list(df["estradiol_value"]).count("at a detection limit") == 1
    p = scatter.scatter_plot(df)
    assert p.labels.x == "Change in serum estradiol (pmol/L)"


def test_scatter_keeps_percent_scale_per_outcome_when_present(frames):
    both = frames["bmd_vs_estradiol"]
    absolute = both.assign(scale="absolute", bmd_effect=both["bmd_effect"] / 100)
    df = scatter.scatter_data(pd.concat([both, absolute], ignore_index=True))
    assert set(df["scale"]) == {"percent"} and len(df) == len(both)
    only_absolute = scatter.scatter_data(absolute)
    assert set(only_absolute["outcome_name"]) == {"Lumbar spine BMD, absolute change"}


def test_scatter_names_the_missing_column():
    with pytest.raises(KeyError, match="no column starting with"):
        scatter.scatter_data(pd.DataFrame({"evidence_line": [], "outcome": [], "bmd_effect": []}))


def test_theme_and_plain_text():
    assert theme_report().themeables["text"].properties["family"] == FONT_FAMILY
    assert plain("a $b$") == r"a \$b\$"
    assert plain(HOSTILE_LABEL, 10) == HOSTILE_LABEL[:9] + "…"


def test_cases_legend_names_each_man_by_the_reports_that_describe_him(frames):
    assert cases.patient_name("pt_x", "rochira_2000;carani_1997") == (
        "Man of Rochira 2000 / Carani 1997"
    )
    assert cases.patient_name("pt_x", float("nan")) == "pt_x"
    df = cases.cases_data(frames["patient_changes"])
    assert df["patient"].str.startswith("Man of ").all()
    assert cases.cases_plot(df).mapping["color"] == "patient"


def test_rob_panels_have_the_same_number_of_rows(frames):
    df = robplot.rob_data(frames["risk_of_bias"], frames["studies"])
    p = robplot.rob_plot(df)
    blank = next(layer for layer in p.layers if type(layer.geom).__name__ == "geom_blank")
    pad = blank.geom.data
    both = pd.concat([p.data[["tool_name", "study"]], pad[["tool_name", "study"]]])
    rows = both.groupby("tool_name", observed=True)["study"].nunique()
    assert len(rows) == 2 and rows.iloc[0] == rows.iloc[1] == rows.max()
    assert len(pad) == rows.max() - df.loc[df["tool"] == "murad2018", "study_id"].nunique()


def test_scatter_names_each_point_by_study_or_man(frames):
    assert scatter.source_label("burnett_bowie_2009", "study") == "Burnett Bowie 2009"
    assert scatter.source_label("ad_de_essen_herrmann", "patient") == "man (Herrmann)"
    df = scatter.scatter_data(frames["bmd_vs_estradiol"])
    assert df["point_label"].str.strip().ne("").all()
