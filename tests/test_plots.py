"""Figures build from small frames that follow the processed-file contract."""

import matplotlib.text
import pandas as pd
import pytest
from mizani.breaks import breaks_extended
from plotnine import ggplot
from plotnine.geoms import geom_point, geom_polygon, geom_segment, geom_text

from analysis.plots import cases, forest, prisma, robplot, scatter
from analysis.plots.theme import (
    FONT_FAMILY,
    JUDGEMENT_COLOURS,
    LINE_COLOURS,
    MIN_PRINT_PT,
    PALETTE,
    SHAPES,
    contrast_ratio,
    plain,
    theme_report,
)
from analysis.report import build
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
    assert "Higher is better for bone" in texts
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
    assert fig.get_size_inches()[0] == pytest.approx(build.PLACEMENT["forest"])


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
    assert len(hostile) == 1 and len(hostile[0]) == forest._LABEL_CHARS and hostile[0].endswith("…")


def test_favours_labels_come_from_config_outcome_then_default():
    cfg = {"default": ["L", "R"], "ctx": ["Less CTX", "More CTX"]}
    assert forest.favours_for("ctx", cfg) == ("Less CTX", "More CTX")
    assert forest.favours_for("bmd_lumbar_spine", cfg) == ("L", "R")
    # one convention for every outcome; the side that is good for bone is stated apart
    for outcome in ("bmd_lumbar_spine", "ctx", "estradiol"):
        assert forest.favours_for(outcome, None) == (
            "Lower with treatment",
            "Higher with treatment",
        )
    assert forest.direction_text("bmd_lumbar_spine") == "Higher is better for bone"
    assert forest.direction_text("ctx") == "Lower is better for bone"


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
    ]
    assert all("$" not in s.replace(r"\$", "") for s in df["label"])


def test_scatter_reads_the_regression_columns_and_marks_censored_estradiol(frames):
    df = scatter.scatter_data(frames["bmd_vs_estradiol"], frames["patient_changes"])
    # ai_b reports only the treatment arm's estradiol change: left out, and named
    assert list(df["source_id"]) == ["ai_a", "pt_a", "pt_b"]
    assert scatter.left_out(frames["bmd_vs_estradiol"]) == ["Ai B"]
    assert list(df["x"]) == [-40.0, 143.0, 88.0]
    # pt_a's baseline was "< 7": his change lies between 150 - 7 and 150
    assert list(zip(df["x_low"], df["x_high"], strict=True)) == [
        (-40.0, -40.0),
        (143.0, 150.0),
        (88.0, 88.0),
    ]
    assert list(df["who"]) == ["trial (between arms)"] + ["man (within-man change)"] * 2
    p = scatter.scatter_plot(df, ["Ai B"])
    assert p.labels.x.startswith("Change in serum estradiol, pmol/L\n(trials: treatment minus")
    assert "treatment arm only): Ai B." in " ".join(p.labels.caption.split())


def test_scatter_keeps_percent_scale_per_outcome_when_present(frames):
    both = frames["bmd_vs_estradiol"]
    absolute = both.assign(scale="absolute", bmd_effect=both["bmd_effect"] / 100)
    df = scatter.scatter_data(pd.concat([both, absolute], ignore_index=True))
    assert set(df["scale"]) == {"percent"} and len(df) == len(both) - 1  # ai_b left out
    only_absolute = scatter.scatter_data(absolute)
    assert set(only_absolute["outcome_name"]) == {"Lumbar spine BMD, absolute change"}


def test_scatter_names_the_missing_column():
    with pytest.raises(KeyError, match="no column starting with"):
        scatter.scatter_data(pd.DataFrame({"evidence_line": [], "outcome": [], "bmd_effect": []}))


def test_theme_and_plain_text():
    assert theme_report().themeables["text"].properties["family"] == FONT_FAMILY
    assert plain("a $b$") == r"a \$b\$"
    assert plain(HOSTILE_LABEL, 10) == HOSTILE_LABEL[:9] + "…"


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


# --- case courses ---------------------------------------------------------------------------


def test_case_course_keeps_every_visit_and_the_censored_estradiol(frames):
    course = cases.course_data(frames["patient_observations"])
    a = course.loc[(course["patient_id"] == "pt_a") & (course["outcome"] == "bmd_lumbar_spine")]
    assert list(a["months"]) == [0, 6, 12] and list(a["value"]) == [0.80, 0.95, 0.90]
    e2 = course.loc[(course["patient_id"] == "pt_a") & (course["outcome"] == "estradiol")]
    assert list(e2["censor"]) == ["<", "", ""]


def test_dose_steps_read_the_months_a_dose_text_names():
    course = pd.DataFrame(
        {
            "patient_id": ["p"] * 3,
            "man": ["Man of X 2005"] * 3,
            "months": [0.0, 6.0, 12.0],
            "dose": [None, "50 ug/week (months 3-6; 100 ug/week months 0-3)", "25 ug/week"],
        }
    )
    steps = cases.dose_steps(course).sort_values("start")
    assert list(zip(steps["start"], steps["end"], steps["amount"], strict=True)) == [
        (0.0, 3.0, 100.0),
        (3.0, 6.0, 50.0),
        (6.0, 12.0, 25.0),
    ]
    assert set(steps["unit"]) == {"µg/wk"}


def test_course_table_lists_every_visit_with_age_dose_estradiol_and_percent(frames):
    course = cases.course_data(frames["patient_observations"])
    tables = cases.course_tables(course, {"pt_a": 30})
    a = tables["Man of Case A"]
    assert list(a["Month"]) == ["0", "6", "12"]
    assert list(a["Age (y)"]) == ["30.0", "30.5", "31.0"]
    assert list(a["Estradiol (pmol/L)"]) == ["<7", "150", "80"]
    assert list(a["Lumbar spine BMD (g/cm²)"]) == ["0.800", "0.950", "0.900"]
    assert list(a["Lumbar spine BMD, % from start"]) == ["+0.0%", "+18.7%", "+12.5%"]
    assert list(a["Dose"])[1] == "0.75 mg/day"
    # a man with a percent change only: shown as reported, no invented baseline
    b = tables["Man of Case B"]
    assert list(b["Lumbar spine BMD, % from start"]) == ["+11% (reported)"]


def test_case_figure_marks_peak_and_last_and_draws_the_censored_value_as_a_bound(frames):
    fig = cases.cases_plot(cases.course_data(frames["patient_observations"]))
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "peak 0.950" in texts and "last 0.900" in texts
    assert "<7" in texts
    titles = [ax.get_title(loc="left") for ax in fig.axes if ax.get_visible()]
    assert "Lumbar spine BMD, g/cm²" in titles and "Lumbar spine BMD, % from start" in titles


def test_case_alt_text_names_each_man_and_his_visits(frames, tmp_path):
    course = cases.course_data(frames["patient_observations"])
    alt = build.cases_alt_text(course)
    assert "Man of Case A: Lumbar spine BMD (g/cm²) 0.800 at 0 mo, 0.950 at 6 mo" in alt
    assert "estradiol <7 at 0 mo, 150 at 6 mo, 80 at 12 mo pmol/L" in alt


# --- palette, ticks, summary forest, print size ---------------------------------------------


def test_palette_marks_have_at_least_3_to_1_contrast_and_a_shape_each():
    colours = list(PALETTE) + list(LINE_COLOURS.values()) + list(JUDGEMENT_COLOURS.values())
    assert all(contrast_ratio(c) >= 3.0 for c in colours), [
        (c, round(contrast_ratio(c), 2)) for c in colours
    ]
    assert len(SHAPES) == len(PALETTE) == len(set(SHAPES))


@pytest.mark.parametrize(
    "lo, hi", [(-0.0525, 0.0525), (-4.2, 4.2), (-37.0, 37.0), (-0.0093, 0.0093), (-1.05, 1.05)]
)
def test_every_tick_label_parsed_equals_its_break(lo, hi):
    breaks = [t for t in breaks_extended(n=5)((lo, hi)) if lo <= t <= hi]
    labels = forest.tick_labels(breaks)
    assert [float(lab.replace("−", "-")) for lab in labels] == pytest.approx(breaks, abs=1e-12)


def test_forest_tick_labels_on_the_plot_equal_their_positions(frames):
    p = _forest(frames, "bmd_lumbar_spine", "percent")
    layer = next(
        la
        for la in p.layers
        if isinstance(la.geom, geom_text)
        and isinstance(la.geom.data, pd.DataFrame)
        and list(la.geom.data.columns) == ["x", "label"]
    )
    ticks = layer.geom.data
    assert len(ticks) >= 3
    assert [float(s.replace("−", "-")) for s in ticks["label"]] == pytest.approx(list(ticks["x"]))


def _k_studies(k: int) -> dict:
    """Synthetic line of k studies of one hormone outcome, pooled (k >= 3: PI present)."""
    ids = [f"s{i}" for i in range(k)]
    yi = [-40.0 + 7 * i for i in range(k)]
    effects = pd.DataFrame(
        {
            "study_id": ids,
            "label": [f"Study {i} 20{10 + i}" for i in range(k)],
            "year": [2010 + i for i in range(k)],
            "evidence_line": ["ai_older_men"] * k,
            "outcome": ["estradiol"] * k,
            "scale": ["absolute"] * k,
            "unit": ["pmol/L"] * k,
            "yi": yi,
            "ci_low": [y - 10 for y in yi],
            "ci_high": [y + 10 for y in yi],
            "n_treatment": [20] * k,
            "n_control": [21] * k,
        }
    )
    pooled = pd.DataFrame(
        [
            {
                "evidence_line": "ai_older_men",
                "outcome": "estradiol",
                "scale": "absolute",
                "unit": "pmol/L",
                "k": k,
                "pooled": True,
                "method": "REML",
                "test": "knha",
                "level": 0.95,
                "estimate": -30.0,
                "se": 4.0,
                "ci_low": -40.0,
                "ci_high": -20.0,
                "pvalue": 0.002,
                "tau2": 12.0,
                "i2": 35.0,
                "q": 4.1,
                "q_df": k - 1,
                "q_pvalue": 0.25,
                "pi_low": -55.0,
                "pi_high": -5.0,
            }
        ]
    )
    weights = pd.DataFrame(
        {
            "evidence_line": ["ai_older_men"] * k,
            "outcome": ["estradiol"] * k,
            "scale": ["absolute"] * k,
            "study_id": ids,
            "weight": [100.0 / k] * k,
        }
    )
    return {"effects": effects, "pooled": pooled, "weights": weights}


@pytest.mark.parametrize("k", [3, 5])
def test_forest_of_k_studies_has_diamond_heterogeneity_and_prediction_interval(k):
    f = _k_studies(k)
    studies, subtotals = forest.forest_data(
        f["effects"], f["pooled"], f["weights"], "estradiol", "absolute"
    )
    p = forest.forest_plot(studies, subtotals, outcome="estradiol", scale="absolute")
    texts = _texts(p)
    assert f"Subtotal (k = {k})" in texts and "Prediction interval" in texts
    assert "[−55.0, −5.0]" in texts
    assert any(t.startswith("Heterogeneity: τ² = ") and "I² = 35%" in t for t in texts)
    assert any(t.startswith(f"Test for overall effect: t({k - 1}) = ") for t in texts)
    assert sum(isinstance(la.geom, geom_polygon) for la in p.layers) == 1


def test_summary_forest_draws_diamonds_only_for_pooled_blocks(frames):
    p = forest.summary_plot(frames["effects"], frames["pooled"], frames["weights"])
    texts = _texts(p)
    diamonds = next(la.geom.data for la in p.layers if isinstance(la.geom, geom_polygon))
    pooled_rows = frames["pooled"].loc[frames["pooled"]["pooled"].map(forest._truthy)]
    assert diamonds["g"].nunique() == len(pooled_rows)
    assert sum(t.startswith("Pooled (k = ") for t in texts) == len(pooled_rows)
    assert "Aromatase inhibitor in boys" in texts
    assert any(t.startswith("Lumbar spine BMD, percent change") for t in texts)
    assert "← Lower with treatment" in texts and "Higher with treatment →" in texts


def test_summary_forest_without_pooling_draws_no_diamond():
    f = _k_studies(3)
    f["pooled"] = f["pooled"].assign(pooled=False)
    p = forest.summary_plot(f["effects"], f["pooled"], f["weights"])
    assert not any(isinstance(la.geom, geom_polygon) for la in p.layers)


def _smallest_printed_pt(fig, placed_in: float) -> float:
    """Smallest type size (pt) once the figure is placed at ``placed_in`` inches wide."""
    fig.canvas.draw()
    sizes = [
        t.get_fontsize()
        for t in fig.findobj(matplotlib.text.Text)
        if t.get_visible() and t.get_text().strip()
    ]
    return min(sizes) * placed_in / fig.get_figwidth()


def test_every_figure_prints_no_text_below_7_pt(frames):
    # printed size = drawn size x placed width / figure width; the PNG's dpi cancels out,
    # since the PDF places the image at a physical width (build.placed_width)
    figs = {
        "forest": _forest(frames, "bmd_lumbar_spine", "percent").draw(),
        "forest-summary": forest.summary_plot(
            frames["effects"], frames["pooled"], frames["weights"]
        ).draw(),
        "prisma": prisma.prisma_plot(prisma.prisma_counts(frames["screening"])).draw(),
        "rob": robplot.rob_plot(robplot.rob_data(frames["risk_of_bias"], frames["studies"])).draw(),
        "cases": cases.cases_plot(cases.course_data(frames["patient_observations"])),
        "scatter": scatter.scatter_plot(scatter.scatter_data(frames["bmd_vs_estradiol"])).draw(),
    }
    for kind, fig in figs.items():
        placed = float(build.placed_width(kind).removesuffix("in"))
        assert placed <= build.TEXT_WIDTH_IN
        assert _smallest_printed_pt(fig, placed) >= MIN_PRINT_PT, kind


def test_arm_columns_show_each_arm_as_reported_only_where_one_pair_of_arms_exists():
    effects = pd.DataFrame(
        {
            "study_id": ["s1", "s1", "s2"],
            "outcome": ["bmd_lumbar_spine"] * 3,
            "scale": ["absolute", "percent", "absolute"],
            "timepoint_months": [12, 12, 12],
        }
    )
    arm_outcomes = pd.DataFrame(
        {
            "study_id": ["s1", "s1", "s1", "s2"],
            "arm": ["ai", "ai", "pl", "ai1"],
            "outcome": ["bmd_lumbar_spine"] * 4,
            "timepoint_months": [12, 12, 12, 12],
            "measure": ["final", "change", "final", "change"],
            "n": [None, 30, None, 10],
            "mean": [1.102, -0.0213, 1.189, -0.02],
            "sd": [0.138, 0.03, None, 0.01],
            "se": [None, None, 0.0251, None],
        }
    )
    arms = pd.DataFrame(
        {
            "study_id": ["s1", "s1", "s2", "s2", "s2"],
            "arm": ["ai", "pl", "ai1", "ai2", "pl"],
            "role": ["treatment", "control", "treatment", "treatment", "control"],
        }
    )
    cols = forest.arm_columns(effects, arm_outcomes, arms)
    # the change is preferred to the value at follow-up; an SE is named as such
    assert list(cols["treatment_text"]) == ["Δ −0.0213 (0.03)", "", ""]
    assert list(cols["control_text"]) == ["1.189 (SE 0.0251)", "", ""]
    # s2 has two treatment arms: which one the effect compares is unknown, so none is shown


def test_summary_forest_puts_each_arm_under_its_study(frames):
    arm_text = pd.DataFrame(
        {
            "study_id": ["ai_a"],
            "outcome": ["bmd_lumbar_spine"],
            "scale": ["percent"],
            "treatment_text": ["Δ −1.5 (2.1)"],
            "control_text": [""],
        }
    )
    p = forest.summary_plot(
        frames["effects"], frames["pooled"], frames["weights"], arm_text=arm_text
    )
    texts = _texts(p)
    assert "treatment Δ −1.5 (2.1)" in texts and "control not reported" in texts


def test_summary_forest_taller_than_a_page_is_split_by_evidence_line(tmp_path):
    outcomes = ["bmd_lumbar_spine", "bmd_femoral_neck", "bmd_total_hip", "estradiol"]
    outcomes += ["testosterone", "ctx", "p1np", "lh", "fsh", "shbg"]
    rows = []
    for line in ("ai_older_men", "ai_boys"):
        for outcome in outcomes:
            for i in range(3):
                rows.append(
                    {
                        "study_id": f"{line}_{i}",
                        "label": f"Study {i} 20{10 + i}",
                        "year": 2010 + i,
                        "evidence_line": line,
                        "outcome": outcome,
                        "scale": "absolute",
                        "unit": "pmol/L",
                        "yi": -1.0 + i,
                        "ci_low": -2.0 + i,
                        "ci_high": 0.0 + i,
                        "n_treatment": 20,
                        "n_control": 20,
                        "derived": False,
                    }
                )
    effects = pd.DataFrame(rows)
    pooled = effects[["evidence_line", "outcome", "scale", "unit"]].drop_duplicates()
    pooled = pooled.assign(pooled=False, k=3, estimate=0.0, ci_low=-1.0, ci_high=1.0)
    weights = pd.DataFrame(columns=["evidence_line", "outcome", "scale", "study_id", "weight"])
    paths = {}
    for name, frame in (("effects", effects), ("pooled", pooled), ("weights", weights)):
        paths[name] = tmp_path / f"{name}.csv"
        frame.to_csv(paths[name], index=False)
    written = build.forest_figures(
        paths["effects"], paths["pooled"], paths["weights"], tmp_path / "f.md", tmp_path / "fig"
    )
    names = [p.rsplit("/", 1)[-1] for p in written]
    assert names[0] == "forest-summary.png" and len(names) >= 3  # the lines and their parts
    assert names[1:] == [f"forest-summary-{i}.png" for i in range(2, len(names) + 1)]
    md = (tmp_path / "f.md").read_text(encoding="utf-8")
    assert "{#fig-forest-summary " in md and "{#fig-forest-summary-2 " in md
    assert "Summary forest plot: Aromatase inhibitor in boys" in md
    # every part fits a page, and every block is drawn once
    from PIL import Image

    heights = [Image.open(p).size[1] / build.DPI for p in written]
    assert max(heights) <= build.MAX_FIGURE_HEIGHT_IN
    assert md.count("Study 0 2010 ") == 2 * len(outcomes)
