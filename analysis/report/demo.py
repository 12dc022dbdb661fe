"""Small synthetic frames that follow the processed-file contract exactly.

They let the figures and the report be built and tested without the pipeline: every frame
has the columns of ``docs/architecture.md`` ("Processed files") or of the raw-table contract,
and the numbers are invented (they are not the evidence). One study label carries HTML and
typst markup on purpose, so that tests can check it is shown as text on both outputs.
"""

from __future__ import annotations

import pandas as pd

#: A label that would run script in HTML and code in typst if it were not escaped.
HOSTILE_LABEL = "Smith <script>alert(1)</script> #strong[x] $y$ @fig-z 2011"


def demo_frames() -> dict[str, pd.DataFrame]:
    """Return a dictionary of small frames named like the files they stand for.

    Returns
    -------
    dict of str to pandas.DataFrame
        Keys: ``effects``, ``derivations``, ``reported_in_words``, ``pooled``, ``weights``,
        ``patient_changes``, ``cases_summary``, ``bmd_vs_estradiol``, ``grid``,
        ``screening``, ``risk_of_bias``, ``grade``, ``studies``, ``arms``.
    """
    studies = pd.DataFrame(
        {
            "study_id": ["ai_a", "ai_b", "ai_c", "boys_a", "case_a", "case_b"],
            "label": [
                "Alpha 2009",
                "Beta 2005",
                HOSTILE_LABEL,
                "Delta 2003",
                "Eps 1997",
                "Zeta 2002",
            ],
            "year": [2009, 2005, 2011, 2003, 1997, 2002],
            "design": ["rct", "rct", "rct", "rct", "case_report", "case_report"],
            "evidence_line": ["ai_older_men"] * 3
            + ["ai_boys"]
            + ["estrogen_aromatase_deficiency"] * 2,
            "population": ["Men >= 60 y, low T"] * 3
            + ["Boys, delayed puberty"]
            + ["Man, CYP19A1"] * 2,
            "intervention": ["Anastrozole 1 mg/d"] * 3
            + ["Letrozole 2.5 mg/d + T"]
            + ["Estradiol"] * 2,
            "comparator": ["Placebo"] * 3 + ["Placebo + T"] + ["", ""],
            "duration_months": [12, 3, 12, 12, 6, 24],
            "pmid": ["1", "2", "3", "4", "5", "6"],
            "doi": [""] * 6,
            "companion_reports": [""] * 6,
            "include_reason": ["AI vs placebo"] * 6,
            "note": [""] * 6,
        }
    )
    effects = pd.DataFrame(
        {
            "study_id": ["ai_a", "ai_b", "ai_c", "boys_a", "ai_a", "case_a", "case_b", "ai_a"],
            "label": [
                "Alpha 2009",
                "Beta 2005",
                HOSTILE_LABEL,
                "Delta 2003",
                "Alpha 2009",
                "Eps 1997",
                "Zeta 2002",
                "Alpha 2009",
            ],
            "year": [2009, 2005, 2011, 2003, 2009, 1997, 2002, 2009],
            "evidence_line": ["ai_older_men"] * 3
            + ["ai_boys", "ai_older_men"]
            + ["estrogen_aromatase_deficiency"] * 2
            + ["ai_older_men"],
            "design": ["rct"] * 5 + ["case_report"] * 2 + ["rct"],
            "outcome": ["bmd_lumbar_spine"] * 4
            + ["bmd_femoral_neck"]
            + ["bmd_lumbar_spine"] * 2
            + ["estradiol"],
            "scale": ["percent"] * 4 + ["percent"] * 3 + ["absolute"],
            "unit": ["percent"] * 7 + ["pmol/L"],
            "yi": [-1.5, -0.4, -2.2, 0.3, -0.2, 12.0, 9.0, -45.0],
            "vi": [0.36, 0.64, 1.0, 1.21, 0.49, 9.0, 6.25, 100.0],
            "sei": [0.6, 0.8, 1.0, 1.1, 0.7, 3.0, 2.5, 10.0],
            "ci_low": [-2.676, -1.968, -4.16, -1.856, -1.572, 6.12, 4.1, -64.6],
            "ci_high": [-0.324, 1.168, -0.24, 2.456, 1.172, 17.88, 13.9, -25.4],
            "n_treatment": [44, 20, 30, 11, 44, 1, 1, 44],
            "n_control": [44, 21, 29, 12, 44, None, None, 44],
            "derived": [True, False, True, False, False, False, False, False],
            "derivation_ids": ["d1;d2", "", "d3", "", "", "", "", ""],
            "rob_overall": [
                "low",
                "some_concerns",
                "high",
                "some_concerns",
                "low",
                "high",
                "high",
                "low",
            ],
        }
    )
    derivations = pd.DataFrame(
        {
            "derivation_id": ["d1", "d2", "d3"],
            "study_id": ["ai_a", "ai_a", "ai_c"],
            "outcome": ["bmd_lumbar_spine"] * 3,
            "scale": ["percent"] * 3,
            "step": [1, 2, 1],
            "method": ["sd_change", "se_from_sd", "se_from_p"],
            "inputs": [
                "data/raw/arm_outcomes.csv:3:sd;data/raw/arm_outcomes.csv:4:sd",
                "derived:d1",
                "data/raw/contrasts.csv:2:p_value",
            ],
            "assumptions": ['{"r": 0.8}', "{}", '{"test": "t"} <b>bold</b>'],
            "value": [1.9, 0.6, 1.0],
            "reference": [
                "Cochrane Handbook 6.5.2.8",
                "Cochrane Handbook 6.5.2.2",
                "Handbook 6.5.2.3",
            ],
        }
    )
    reported_in_words = pd.DataFrame(
        {
            "study_id": ["boys_a"],
            "label": ["Delta 2003"],
            "evidence_line": ["ai_boys"],
            "outcome": ["bmd_femoral_neck"],
            "timepoint_months": [12],
            "reported_text": ["no significant difference in BMD accretion | between groups"],
            "p_value": [0.05],
            "p_value_bound": [">"],
            "source": ["PMID:4"],
            "location": ["Abstract"],
        }
    )
    pooled = pd.DataFrame(
        {
            "evidence_line": [
                "ai_boys",
                "ai_older_men",
                "ai_older_men",
                "ai_older_men",
                "estrogen_aromatase_deficiency",
            ],
            "outcome": [
                "bmd_lumbar_spine",
                "bmd_femoral_neck",
                "bmd_lumbar_spine",
                "estradiol",
                "bmd_lumbar_spine",
            ],
            "scale": ["percent", "percent", "percent", "absolute", "percent"],
            "k": [1, 1, 3, 1, 2],
            "pooled": [False, False, True, False, True],
            "method": ["REML"] * 5,
            "test": ["knha"] * 5,
            "level": [0.95] * 5,
            "estimate": [0.3, -0.2, -1.35, -45.0, 10.2],
            "se": [1.1, 0.7, 0.5, 10.0, 1.9],
            "ci_low": [-1.856, -1.572, -3.5, -64.6, -13.9],
            "ci_high": [2.456, 1.172, 0.8, -25.4, 34.3],
            "pvalue": [0.78, 0.77, 0.11, 1e-5, 0.12],
            "tau2": [None, None, 0.12, None, 0.0],
            "tau2_ci_low": [None, None, 0.0, None, 0.0],
            "tau2_ci_high": [None, None, 5.1, None, 60.0],
            "i2": [None, None, 14.2, None, 0.0],
            "h2": [None, None, 1.17, None, 1.0],
            "q": [None, None, 2.31, None, 0.59],
            "q_df": [None, None, 2, None, 1],
            "q_pvalue": [None, None, 0.315, None, 0.44],
            "pi_low": [None, None, -4.9, None, None],
            "pi_high": [None, None, 2.2, None, None],
            "converged": [True] * 5,
            "note": ["k = 1: not pooled", "k = 1: not pooled", "", "k = 1: not pooled", ""],
        }
    )
    weights = pd.DataFrame(
        {
            "evidence_line": ["ai_older_men"] * 3 + ["estrogen_aromatase_deficiency"] * 2,
            "outcome": ["bmd_lumbar_spine"] * 5,
            "scale": ["percent"] * 5,
            "study_id": ["ai_a", "ai_b", "ai_c", "case_a", "case_b"],
            "weight": [48.0, 30.0, 22.0, 41.0, 59.0],
        }
    )
    patient_changes = pd.DataFrame(
        {
            "patient_id": ["pt_a", "pt_a", "pt_b"],
            "study_ids": ["case_a", "case_a", "case_b;case_a"],
            "outcome": ["bmd_lumbar_spine", "bmd_femoral_neck", "bmd_lumbar_spine"],
            "unit": ["g/cm2"] * 3,
            "value_before": [0.80, 0.70, None],
            "value_after": [0.95, 0.78, None],
            "months": [6, 6, 24],
            "change": [0.15, 0.08, 0.08],
            "percent_change": [18.75, 11.4, 10.7],
            "regimen": ["conjugated estrogens oral", "conjugated estrogens oral", "transdermal E2"],
            "dose": ["0.75 mg/day", "0.75 mg/day", "25 ug/day"],
            "estradiol_before": [7.0, 7.0, None],
            "estradiol_after": [150.0, 150.0, 95.0],
            "estradiol_unit": ["pmol/L"] * 3,
            "estradiol_before_censor": ["<", "<", None],
            "estradiol_after_censor": [None, None, None],
            "phase": ["estrogen"] * 3,
            "n_reports": [1, 1, 2],
            "note": ["", "", "percent change as reported"],
        }
    )
    cases_summary = pd.DataFrame(
        {
            "outcome": ["bmd_femoral_neck", "bmd_lumbar_spine"],
            "unit": ["g/cm2", "g/cm2"],
            "n_patients": [1, 2],
            "n_change": [1, 2],
            "n_percent_change": [1, 2],
            "change_median": [0.08, 0.115],
            "change_min": [0.08, 0.08],
            "change_max": [0.08, 0.15],
            "percent_change_median": [11.4, 14.7],
            "percent_change_min": [11.4, 10.7],
            "percent_change_max": [11.4, 18.75],
            "months_median": [6, 15],
            "months_min": [6, 6],
            "months_max": [6, 24],
        }
    )
    bmd_vs_estradiol = pd.DataFrame(
        {
            "evidence_line": ["ai_older_men", "ai_older_men"]
            + ["estrogen_aromatase_deficiency"] * 2,
            "source_id": ["ai_a", "ai_b", "pt_a", "pt_b"],
            "kind": ["study", "study", "patient", "patient"],
            "outcome": ["bmd_lumbar_spine"] * 4,
            "scale": ["percent"] * 4,
            "bmd_effect": [-1.5, -0.4, 18.75, 10.7],
            "bmd_se": [0.6, 0.8, None, None],
            "estradiol_change": [-40.0, -25.0, 143.0, 88.0],
            "estradiol_censored": [False, False, True, False],
        }
    )
    grid = pd.DataFrame(
        {
            "outcome": ["bmd_lumbar_spine"] * 3,
            "evidence_line": ["ai_older_men"] * 3,
            "scale": ["percent"] * 3,
            "method": ["REML", "DL", "REML"],
            "test": ["knha", "z", "knha"],
            "r": [0.5, 0.5, 0.8],
            "inclusion": ["all", "all", "low_rob_only"],
            "estimate": [-1.35, -1.32, -1.5],
            "ci_low": [-3.5, -2.3, -2.6],
            "ci_high": [0.8, -0.34, -0.4],
            "k": [3, 3, 1],
            "direction": ["lower", "lower", "lower"],
            "excludes_zero": [False, True, True],
            "conclusion_changed": [False, True, True],
        }
    )
    screening = pd.DataFrame(
        {
            "record_id": [f"r{i}" for i in range(1, 13)],
            "citation": [f"Citation {i}" for i in range(1, 13)],
            "pmid": [""] * 12,
            "doi": [""] * 12,
            "source_of_record": ["database"] * 9 + ["citation"] * 3,
            "stage": ["identification", "screening", "screening", "screening"]
            + ["eligibility"] * 8,
            "decision": ["duplicate", *["excluded"] * 3, "not_retrieved", "excluded", "excluded"]
            + ["included"] * 5,
            "study_id": [""] * 7 + ["ai_a", "ai_a", "ai_b", "ai_c", "boys_a"],
            "reason": [
                "duplicate",
                "not bone",
                "women",
                "review",
                "no full text",
                "no control",
                "no control",
                "",
                "",
                "",
                "",
                "",
            ],
        }
    )
    rob_rows = []
    for sid, judg in [("ai_a", "low"), ("ai_b", "some_concerns"), ("ai_c", "high")]:
        for dom in [
            "randomization",
            "deviations",
            "missing_data",
            "measurement",
            "selection_of_result",
            "overall",
        ]:
            rob_rows.append((sid, "rob2", dom, judg if dom == "overall" else "low"))
    for sid in ["case_a", "case_b"]:
        for dom in ["selection", "ascertainment", "causality", "reporting", "overall"]:
            rob_rows.append((sid, "murad2018", dom, "unclear" if dom == "selection" else "high"))
    risk_of_bias = pd.DataFrame(rob_rows, columns=["study_id", "tool", "domain", "judgement"])
    risk_of_bias["rationale"] = "synthetic"
    risk_of_bias["source"] = "synthetic"
    grade = pd.DataFrame(
        {
            "evidence_line": ["ai_older_men", "estrogen_aromatase_deficiency"],
            "outcome": ["bmd_lumbar_spine", "bmd_lumbar_spine"],
            "certainty": ["low", "very_low"],
            "risk_of_bias": ["serious", "very_serious"],
            "inconsistency": ["not_serious", "not_serious"],
            "indirectness": ["not_serious", "serious"],
            "imprecision": ["serious", "serious"],
            "publication_bias": ["not_serious", "not_serious"],
            "rationale": ["Few small trials; wide CI", "Case reports <i>only</i>"],
        }
    )
    arms = pd.DataFrame(
        {
            "study_id": ["ai_a", "ai_a"],
            "arm": ["anastrozole", "placebo"],
            "role": ["treatment", "control"],
            "description": ["Anastrozole 1 mg", "Placebo"],
            "n_randomized": [44, 44],
            "source": ["PMID:1"] * 2,
            "location": ["Abstract"] * 2,
            "note": [""] * 2,
        }
    )
    # Columns the pipeline writes beyond the architecture page's list.
    effects["route"] = "b"
    effects["timepoint_months"] = 12
    effects["note"] = ""
    pooled.insert(3, "unit", ["percent", "percent", "percent", "pmol/L", "percent"])
    weights["label"] = weights["study_id"].map(
        dict(zip(effects["study_id"], effects["label"], strict=True))
    )
    not_estimable = pd.DataFrame(
        {
            "study_id": ["ai_b"],
            "label": ["Beta 2005"],
            "evidence_line": ["ai_older_men"],
            "outcome": ["bmd_total_hip"],
            "scale": ["absolute"],
            "timepoint_months": [3],
            "reason": ["a between-group p-value without an estimate"],
        }
    )
    return {
        "effects": effects,
        "not_estimable": not_estimable,
        "derivations": derivations,
        "reported_in_words": reported_in_words,
        "pooled": pooled,
        "weights": weights,
        "patient_changes": patient_changes,
        "cases_summary": cases_summary,
        "bmd_vs_estradiol": bmd_vs_estradiol,
        "grid": grid,
        "screening": screening,
        "risk_of_bias": risk_of_bias,
        "grade": grade,
        "studies": studies,
        "arms": arms,
    }


def write_demo_inputs(directory) -> dict[str, str]:
    """Write :func:`demo_frames` as CSV files into ``directory``; return name -> path."""
    from pathlib import Path

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, frame in demo_frames().items():
        path = out / f"{name}.csv"
        frame.to_csv(path, index=False)
        paths[name] = str(path)
    return paths


def build_demo_report(reports_src, dest, *, figures: bool = True) -> dict[str, str]:
    """Copy the report sources to ``dest`` and build its tables and figures from demo data.

    Parameters
    ----------
    reports_src : path
        The repository's ``reports/`` directory (report.qmd, _methods.qmd, filters, templates).
    dest : path
        A scratch directory; gets ``report.qmd`` and ``tables/``, ``figures/``, ``inputs/``.
    figures : bool
        Draw the figures with plotnine (slow part); else write 1-pixel PNGs in their place.

    Returns
    -------
    dict of str to str
        Paths of the demo input CSVs.
    """
    import base64
    import shutil
    from pathlib import Path

    from analysis.report import build, provenance

    src, dst = Path(reports_src), Path(dest)
    dst.mkdir(parents=True, exist_ok=True)
    for name in ("report.qmd", "_methods.qmd"):
        shutil.copy(src / name, dst / name)
    for sub in ("filters", "templates"):
        shutil.copytree(src / sub, dst / sub, dirs_exist_ok=True)
    p = write_demo_inputs(dst / "inputs")
    t, f = dst / "tables", dst / "figures"
    build.report_tables(
        {
            k: p[k]
            for k in (
                "studies",
                "effects",
                "derivations",
                "reported_in_words",
                "pooled",
                "grade",
                "grid",
                "patient_changes",
                "cases_summary",
                "not_estimable",
            )
        },
        {
            k: str(t / f"{k}.md")
            for k in (
                "answer",
                "studies",
                "sof",
                "grade",
                "completeness",
                "sensitivity",
                "derivations",
                "methods",
            )
        },
        {
            "pooling": {"method": "REML", "test": "knha", "adhoc": True, "level": 0.95},
            "prepost_r": 0.5,
            "few_studies": {"min_k_pool": 2, "min_k_prediction_interval": 3},
            "sensitivity": {"methods": ["REML", "DL"], "r": [0.2, 0.5, 0.8]},
            "outcomes": {"primary": "bmd_lumbar_spine", "secondary": ["bmd_femoral_neck"]},
        },
    )
    provenance.write_provenance(p.values(), t / "provenance.md")
    _demo_evidence_depth(p, t / "evidence-depth.md")
    # the few-study table (rule report_bayes); the demo data have no group of 2-5 studies
    from analysis.bayes import bayes_table

    (t / "bayes.md").write_text(bayes_table(pd.DataFrame()), encoding="utf-8")
    if figures:
        build.forest_figures(
            p["effects"], p["pooled"], p["weights"], str(t / "forest-figures.md"), str(f)
        )
        build.prisma_figure(p["screening"], str(f / "prisma.png"), str(t / "fig-prisma.md"))
        build.rob_figure(p["risk_of_bias"], p["studies"], str(f / "rob.png"), str(t / "fig-rob.md"))
        build.cases_figure(
            p["patient_changes"], str(f / "cases-bmd.png"), str(t / "fig-cases-bmd.md")
        )
        build.scatter_figure(
            p["bmd_vs_estradiol"],
            str(f / "bmd-vs-estradiol.png"),
            str(t / "fig-bmd-vs-estradiol.md"),
        )
    else:
        from analysis.report.tables import figure_md, md_escape

        f.mkdir(parents=True, exist_ok=True)
        pixel = base64.b64decode(
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
        )
        names = {
            "forest-figures": "fig-forest-demo",
            "fig-prisma": "fig-prisma",
            "fig-rob": "fig-rob",
            "fig-cases-bmd": "fig-cases-bmd",
            "fig-bmd-vs-estradiol": "fig-bmd-vs-estradiol",
        }
        for md, ident in names.items():
            (f / f"{ident}.png").write_bytes(pixel)
            (t / f"{md}.md").write_text(
                figure_md(
                    f"figures/{ident}.png",
                    md_escape(f"Demo {ident} from {HOSTILE_LABEL}"),
                    ident,
                    f"Alt text of {ident}",
                ),
                encoding="utf-8",
            )
    return p


def _demo_evidence_depth(paths: dict[str, str], out) -> None:
    """The evidence-depth partial from demo data: a two-query search log, the demo pooled
    results, one vertebral-deformity comparison and a partial double extraction."""
    import pandas as pd

    from analysis.binary import BINARY_COLUMNS
    from analysis.report.evidence_depth import evidence_depth_md

    search_log = pd.DataFrame(
        {
            "search_id": ["s2029_001", "s2029_002"],
            "source": ["pages", "docs"],
            "query": ["demo query one", "demo query two"],
            "date_searched": ["2029-01-01", "2029-01-01"],
            "records_found": [8, 3],
        }
    )
    binary = pd.DataFrame(
        [
            {"evidence_line": "ai_boys", "study_id": "demo", "label": HOSTILE_LABEL,
             "outcome": "vertebral_deformity", "imaging": "dxa", "measure": "RR",
             "events_treatment": 2, "n_treatment": 10, "events_control": 0, "n_control": 9,
             "yi": 1.5, "vi": 2.0, "estimate": 4.48, "ci_low": 0.28, "ci_high": 71.4,
             "status": "estimated", "note": "0.5 added to every cell of studies 0 (a zero cell)"},
            {"evidence_line": "ai_older_men", "outcome": "fracture", "status": "no_data",
             "note": "no included study of this line reports fractures"},
        ],
        columns=BINARY_COLUMNS,
    )  # fmt: skip
    agreement = {"numbers_used": 12, "cells_compared": 10, "agreed": 9, "disagreed": 1,
                 "resolved": 1, "unresolved": 0, "uncovered": 2,
                 "resolutions": {"first_kept": 1}, "require_second": False}  # fmt: skip
    text = evidence_depth_md(
        search_log=search_log,
        pooled=pd.read_csv(paths["pooled"]),
        effects=pd.read_csv(paths["effects"]),
        binary=binary,
        agreement=agreement,
        reconciliation=pd.DataFrame(columns=["item_id", "resolution"]),
        prepost_r=0.5,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
