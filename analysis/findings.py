"""The findings table: one row per evidence line x outcome x scale, the single source of
every claim in the report.

Built from the controlled studies' effects and pooled results, their results in words,
the effects that could not be estimated, the outcomes measured but not retrieved, and the
case reports' within-man changes. Each row has a status:

``numeric``
    an estimate (pooled when k >= 2, else the study's own) with its CI, or for case
    reports the median within-man change with its range;
``words_only``
    the result is reported only in words (quoted in ``words``), never turned into a number;
``measured_not_retrieved``
    the study measured the outcome but its values are not in any retrieved text;
``not_measured``
    no study of the line measured the outcome (only listed for the primary outcome).

GRADE columns come from :func:`analysis.grade.rate`. The report sections read this table
only (or its inputs by the same keys), so a claim has the same status, n, estimate and
certainty everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from analysis import grade as grading

KEY = ["evidence_line", "outcome", "scale"]
STATUSES = ["numeric", "words_only", "measured_not_retrieved", "not_measured"]
COLUMNS = [
    "evidence_line",
    "outcome",
    "scale",
    "status",
    "k",
    "n",
    "n_basis",
    "estimate",
    "ci_low",
    "ci_high",
    "range_low",
    "range_high",
    "unit",
    "estimate_type",
    "pooled",
    "i2",
    "direction",
    "words",
    "comparator",
    "timepoint_months",
    "studies",
    "study_ids",
    "studies_in_words",
    "studies_not_retrieved",
    "reason",
    "consistency",
    "certainty",
    "statement",
    "start",
    "start_basis",
    "risk_of_bias",
    "risk_of_bias_basis",
    "inconsistency",
    "inconsistency_basis",
    "indirectness",
    "indirectness_basis",
    "imprecision",
    "imprecision_basis",
    "publication_bias",
    "publication_bias_basis",
    "upgrade",
    "upgrade_basis",
    "override",
]

#: What the intervention is, per evidence line, for GRADE's plain-language statements.
INTERVENTION = {
    "ai_older_men": "an aromatase inhibitor in adult and older men",
    "ai_boys": "an aromatase inhibitor in boys",
    "estrogen_aromatase_deficiency": "estrogen in men with aromatase deficiency",
    "other": "aromatase inhibition in the other controlled studies",
}
CASE_LINE = "estrogen_aromatase_deficiency"


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _fmt_month(values) -> str:
    vals = sorted({float(v) for v in values if _num(v) is not None})
    return "; ".join(f"{v:g}" for v in vals)


def _study_n(
    study_id: str,
    outcome: str,
    effect: Mapping[str, Any] | None,
    contrasts: pd.DataFrame,
    arms: pd.DataFrame,
) -> tuple[float | None, str]:
    """Participants of one study for one outcome, with where the number comes from."""
    if effect is not None:
        nt, nc = _num(effect.get("n_treatment")), _num(effect.get("n_control"))
        if nt is not None and nc is not None:
            return nt + nc, "analysed (arm n)"
    rows = contrasts.loc[(contrasts["study_id"] == study_id) & (contrasts["outcome"] == outcome)]
    for value in rows.get("n_analysed", pd.Series(dtype=float)):
        if _num(value) is not None:
            return _num(value), "analysed (contrasts.csv n_analysed)"
    arm = arms.loc[arms["study_id"] == study_id]
    if len(rows):
        wanted = {rows["treatment_arm"].iloc[0], rows["control_arm"].iloc[0]}
        arm = arm.loc[arm["arm"].isin(wanted)]
    counts = [_num(v) for v in arm["n_randomized"]]
    if arm.shape[0] >= 2 and all(c is not None for c in counts):
        return float(sum(counts)), "randomised (arms.csv)"
    return None, "not reported"


def _sum_n(parts: list[tuple[float | None, str]]) -> tuple[float | None, str]:
    if not parts:
        return None, ""
    if all(n is not None for n, _ in parts):
        bases = sorted({b for _, b in parts})
        return float(sum(n for n, _ in parts)), "; ".join(bases)
    return None, "not reported for " + str(sum(n is None for n, _ in parts)) + " of " + str(
        len(parts)
    ) + " studies"


def _labels(study_ids, studies: pd.DataFrame) -> str:
    label = studies.set_index("study_id")["label"]
    return "; ".join(str(label.get(s, s)) for s in study_ids)


def _comparator(study_ids, studies: pd.DataFrame) -> str:
    comp = studies.set_index("study_id")["comparator"]
    values = []
    for s in study_ids:
        c = comp.get(s)
        if isinstance(c, str) and c and c not in values:
            values.append(c)
    return "; ".join(values)


def _rob(
    study_ids, outcome: str, rob: pd.DataFrame, studies: pd.DataFrame
) -> list[tuple[str, str, str]]:
    """(label, tool, overall judgement) per study: the outcome-specific row where present."""
    label = studies.set_index("study_id")["label"]
    out = []
    overall = rob.loc[rob["domain"] == "overall"]
    has_outcome = "outcome" in overall.columns
    for s in study_ids:
        rows = overall.loc[overall["study_id"] == s]
        if has_outcome:
            specific = rows.loc[rows["outcome"].fillna("") == outcome]
            rows = specific if len(specific) else rows.loc[rows["outcome"].fillna("") == ""]
        if len(rows):
            out.append((str(label.get(s, s)), rows["tool"].iloc[0], rows["judgement"].iloc[0]))
        else:
            out.append((str(label.get(s, s)), "", ""))
    return out


def _direction(lo: float | None, hi: float | None) -> str:
    if lo is None or hi is None:
        return "unclear"
    return "lower" if hi < 0 else "higher" if lo > 0 else "unclear"


def _words_direction(values) -> str:
    found = {v for v in values if v in ("treatment_lower", "treatment_higher")}
    if len(found) == 1:
        return found.pop().replace("treatment_", "")
    return "unclear"


def build_findings(
    *,
    studies: pd.DataFrame,
    arms: pd.DataFrame,
    contrasts: pd.DataFrame,
    effects: pd.DataFrame,
    pooled: pd.DataFrame,
    reported_in_words: pd.DataFrame,
    not_estimable: pd.DataFrame,
    measured: pd.DataFrame,
    patient_changes: pd.DataFrame,
    cases_summary: pd.DataFrame,
    risk_of_bias: pd.DataFrame,
    grade_judgements: pd.DataFrame,
    consistency: pd.DataFrame | None,
    config: Mapping[str, Any],
    case_observations: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per evidence line x outcome x scale with status, numbers and GRADE.

    Parameters
    ----------
    studies, arms, contrasts, risk_of_bias, grade_judgements, measured
        Raw tables (``data/raw``); ``measured`` is ``outcomes_measured.csv``.
    effects, pooled, reported_in_words, not_estimable
        Outputs of the effects and pool stages.
    patient_changes, cases_summary
        Outputs of the cases stage.
    consistency
        ``consistency/checks.csv``: conflicts name the study and outcome.
    case_observations
        ``patient_observations.csv``: a case report's result given only in words (a
        ``value_text`` without a ``value``, e.g. epiphyseal closure) under estrogen.
    config
        The workflow configuration (``grade``, ``outcomes``).

    Returns
    -------
    pandas.DataFrame
        ``COLUMNS``, sorted by ``KEY``.

    Notes
    -----
    An outcome of a line that has a numeric result on any scale gets rows only for the
    scales with a number; the studies of the line that gave only words, or whose values
    were not retrieved, are named in ``studies_in_words`` and ``studies_not_retrieved``.
    """
    design = studies.set_index("study_id")["design"]
    line_of = studies.set_index("study_id")["evidence_line"]
    rows: list[dict[str, Any]] = []
    conflicts = {}
    if consistency is not None and len(consistency):
        for _, c in consistency.loc[consistency["status"] == "conflict"].iterrows():
            conflicts.setdefault((c["study_id"], c["outcome"]), []).append(
                f"{c['check']}: {c['decision']}"
            )

    words = reported_in_words.copy()
    words_dir = contrasts.loc[
        contrasts["measure"] == "reported_in_words", ["study_id", "outcome", "direction"]
    ]
    words = words.merge(words_dir, on=["study_id", "outcome"], how="left")
    # Not estimable with a between-group statement: the words of that statement.
    ne = not_estimable.merge(
        contrasts[["study_id", "outcome", "reported_text", "direction", "measure"]],
        on=["study_id", "outcome"],
        how="left",
    )
    ne_words = ne.loc[ne["reported_text"].notna()].drop_duplicates(["study_id", "outcome"])
    ne_missing = ne.loc[ne["reported_text"].isna()].drop_duplicates(["study_id", "outcome"])

    case_words = _case_words(case_observations, config)

    def line_outcomes():
        keys = set()
        for frame in (pooled, words, ne_words, ne_missing):
            keys |= set(zip(frame["evidence_line"], frame["outcome"], strict=True))
        for _, m in measured.iterrows():
            keys.add((line_of.get(m["study_id"]), m["outcome"]))
        for o in cases_summary["outcome"]:
            keys.add((CASE_LINE, o))
        for o in case_words["outcome"]:
            keys.add((CASE_LINE, o))
        return sorted(k for k in keys if isinstance(k[0], str))

    for line, outcome in line_outcomes():
        in_words = words.loc[(words["evidence_line"] == line) & (words["outcome"] == outcome)]
        ne_w = ne_words.loc[(ne_words["evidence_line"] == line) & (ne_words["outcome"] == outcome)]
        ne_m = ne_missing.loc[
            (ne_missing["evidence_line"] == line) & (ne_missing["outcome"] == outcome)
        ]
        meas = measured.loc[
            (measured["study_id"].map(line_of) == line) & (measured["outcome"] == outcome)
        ]
        numeric_studies: set[str] = set()
        base_rows: list[dict[str, Any]] = []
        if line == CASE_LINE:
            base_rows += _case_rows(outcome, cases_summary, patient_changes)
            for r in base_rows:
                numeric_studies |= set(r["study_ids"].split(";"))
                r["studies"] = _labels(r["study_ids"].split(";"), studies)
            cw = case_words.loc[case_words["outcome"] == outcome]
            cw = cw.loc[~cw["study_id"].isin(numeric_studies)]
            in_words = pd.DataFrame(
                {
                    "study_id": cw["study_id"],
                    "label": cw["study_id"].map(studies.set_index("study_id")["label"]),
                    "reported_text": cw["value_text"],
                    "timepoint_months": cw["timepoint_months"],
                    "direction": "",
                    "n_men": cw["patient_id"],
                }
            )
        else:
            for _, p in pooled.loc[
                (pooled["evidence_line"] == line) & (pooled["outcome"] == outcome)
            ].iterrows():
                eff = effects.loc[
                    (effects["evidence_line"] == line)
                    & (effects["outcome"] == outcome)
                    & (effects["scale"] == p["scale"])
                ].sort_values("study_id")
                ids = list(eff["study_id"])
                numeric_studies |= set(ids)
                n, n_basis = _sum_n(
                    [
                        _study_n(s, outcome, e, contrasts, arms)
                        for s, e in zip(ids, eff.to_dict("records"), strict=True)
                    ]
                )
                lo, hi = _num(p["ci_low"]), _num(p["ci_high"])
                notes = []
                for s in ids:
                    notes += conflicts.get((s, outcome), [])
                base_rows.append(
                    {
                        "scale": p["scale"],
                        "status": "numeric",
                        "k": int(p["k"]),
                        "n": n,
                        "n_basis": n_basis,
                        "estimate": _num(p["estimate"]),
                        "ci_low": lo,
                        "ci_high": hi,
                        "unit": p["unit"],
                        "pooled": bool(p["pooled"])
                        if str(p["pooled"]).lower() in ("true", "false")
                        else p["pooled"],
                        "estimate_type": (
                            "pooled mean difference (random effects)"
                            if str(p["pooled"]).lower() == "true"
                            else "mean difference of one study, not pooled"
                        ),
                        "i2": _num(p["i2"]) if int(p["k"]) >= 2 else None,
                        "direction": _direction(lo, hi),
                        "words": "",
                        "comparator": _comparator(ids, studies),
                        "timepoint_months": _fmt_month(eff["timepoint_months"]),
                        "studies": _labels(ids, studies),
                        "study_ids": ";".join(ids),
                        "consistency": "; ".join(notes),
                        "signs": [],
                    }
                )
        # A study listed as measured-but-not-retrieved for this outcome is that, even when
        # a sentence about another contrast of it is kept in words.
        in_words = in_words.loc[~in_words["study_id"].isin(meas["study_id"])]
        word_ids = sorted(set(in_words["study_id"]) | set(ne_w["study_id"]))
        missing_ids = sorted(
            (set(meas["study_id"]) | set(ne_m["study_id"])) - numeric_studies - set(word_ids)
        )
        if base_rows:
            for r in base_rows:
                r["studies_in_words"] = _labels(
                    [s for s in word_ids if s not in numeric_studies], studies
                )
                r["studies_not_retrieved"] = _labels(missing_ids, studies)
        elif word_ids:
            texts = [
                f"{lbl}: “{t}”"
                for lbl, t in zip(in_words["label"], in_words["reported_text"], strict=True)
            ]
            texts += [
                f"{_labels([s], studies)}: “{t}”"
                for s, t in zip(ne_w["study_id"], ne_w["reported_text"], strict=True)
            ]
            if line == CASE_LINE:
                n, n_basis = float(in_words["n_men"].nunique()), "men (one man counted once)"
            else:
                n, n_basis = _sum_n([_study_n(s, outcome, None, contrasts, arms) for s in word_ids])
            base_rows.append(
                {
                    "scale": "",
                    "status": "words_only",
                    "k": len(word_ids),
                    "n": n,
                    "n_basis": n_basis,
                    "estimate": None,
                    "ci_low": None,
                    "ci_high": None,
                    "unit": "",
                    "pooled": False,
                    "estimate_type": "",
                    "i2": None,
                    "direction": _words_direction(
                        list(in_words["direction"]) + list(ne_w["direction"])
                    ),
                    "words": " | ".join(texts),
                    "comparator": _comparator(word_ids, studies),
                    "timepoint_months": _fmt_month(
                        list(in_words["timepoint_months"]) + list(ne_w["timepoint_months"])
                    ),
                    "studies": _labels(word_ids, studies),
                    "study_ids": ";".join(word_ids),
                    "studies_in_words": "",
                    "studies_not_retrieved": _labels(missing_ids, studies),
                    "consistency": "",
                    "signs": [],
                }
            )
        elif missing_ids:
            reasons = [
                f"{_labels([s], studies)}: {r}"
                for s, r in zip(ne_m["study_id"], ne_m["reason"], strict=True)
            ]
            reasons += [
                f"{_labels([s], studies)}: {r}"
                for s, r in zip(meas["study_id"], meas["note"].fillna(""), strict=True)
            ]
            base_rows.append(
                {
                    "scale": "",
                    "status": "measured_not_retrieved",
                    "k": 0,
                    "n": None,
                    "n_basis": "",
                    "estimate": None,
                    "ci_low": None,
                    "ci_high": None,
                    "unit": "",
                    "pooled": False,
                    "estimate_type": "",
                    "i2": None,
                    "direction": "unclear",
                    "words": "",
                    "comparator": _comparator(missing_ids, studies),
                    "timepoint_months": "",
                    "studies": "",
                    "study_ids": "",
                    "studies_in_words": "",
                    "studies_not_retrieved": _labels(missing_ids, studies),
                    "reason": "; ".join(reasons),
                    "consistency": "",
                    "signs": [],
                }
            )
        for r in base_rows:
            r.update(evidence_line=line, outcome=outcome)
            rows.append(r)

    primary = config["outcomes"]["primary"]
    present = {(r["evidence_line"], r["outcome"]) for r in rows}
    for line in sorted(set(studies["evidence_line"])):
        if (line, primary) not in present:
            rows.append(
                {
                    "evidence_line": line,
                    "outcome": primary,
                    "scale": "",
                    "status": "not_measured",
                    "k": 0,
                    "reason": "no study of this line reports measuring it in the retrieved text",
                    "direction": "unclear",
                    "signs": [],
                }
            )

    judged = grade_judgements.set_index(["evidence_line", "outcome"])
    for r in rows:
        ids = [s for s in str(r.get("study_ids") or "").split(";") if s]
        key = (r["evidence_line"], r["outcome"])
        g = judged.loc[key].to_dict() if key in judged.index else None
        r.update(
            grading.rate(
                status=r["status"],
                designs=[design.get(s, "") for s in ids],
                rob=_rob(ids, r["outcome"], risk_of_bias, studies),
                k=int(r.get("k") or 0),
                i2=r.get("i2"),
                signs=r.get("signs") or [],
                ci_low=r.get("ci_low"),
                ci_high=r.get("ci_high"),
                n=r.get("n"),
                judged=_clean(g),
                rules=config["grade"],
            )
        )
        r["statement"] = grading.statement(
            r["certainty"],
            r["status"],
            r.get("direction") or "unclear",
            INTERVENTION.get(r["evidence_line"], r["evidence_line"].replace("_", " ")),
            _outcome_phrase(r["outcome"]),
        )
    frame = pd.DataFrame(rows)
    for column in COLUMNS:
        if column not in frame:
            frame[column] = None
    frame["k"] = frame["k"].fillna(0).astype(int)
    return frame[COLUMNS].sort_values(KEY, kind="mergesort").reset_index(drop=True)


def _case_words(observations: pd.DataFrame | None, config: Mapping[str, Any]) -> pd.DataFrame:
    """Case-report results under estrogen given only in words (value_text, no value)."""
    cols = ["study_id", "patient_id", "outcome", "timepoint_months", "value_text"]
    if observations is None or observations.empty:
        return pd.DataFrame(columns=cols)
    phases = (config.get("cases") or {}).get("estrogen_phases", ["estrogen"])
    words = observations.loc[
        observations["value"].isna()
        & observations["value_text"].notna()
        & observations["phase"].isin(phases)
    ]
    return words[cols].sort_values(["study_id", "outcome"]).reset_index(drop=True)


def _clean(g: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if g is None:
        return None
    return {
        k: ("" if (isinstance(v, float) and math.isnan(v)) or v is None else v)
        for k, v in g.items()
    }


def _outcome_phrase(outcome: str) -> str:
    from analysis.plots.theme import outcome_label

    label = outcome_label(outcome)
    return label if label.isupper() or label[:2].isupper() else label[0].lower() + label[1:]


def _case_rows(outcome: str, summary: pd.DataFrame, changes: pd.DataFrame) -> list[dict[str, Any]]:
    """Case-report rows: median within-man change (percent and absolute) with its range."""
    s = summary.loc[summary["outcome"] == outcome]
    if s.empty:
        return []
    s = s.iloc[0]
    ch = changes.loc[changes["outcome"] == outcome]
    out = []
    for scale, col, count in (
        ("percent", "percent_change", "n_percent_change"),
        ("absolute", "change", "n_change"),
    ):
        m = int(_num(s[count]) or 0)
        if m == 0:
            continue
        sub = ch.loc[ch[col].notna()].sort_values("patient_id")
        ids = sorted({i for v in sub["study_ids"] for i in str(v).split(";") if i})
        med = _num(s[f"{col}_median"])
        out.append(
            {
                "scale": scale,
                "status": "numeric",
                "k": len(ids),
                "n": float(m),
                "n_basis": "men with a before and under-estrogen value (one man counted once)",
                "estimate": med,
                "ci_low": None,
                "ci_high": None,
                "range_low": _num(s[f"{col}_min"]),
                "range_high": _num(s[f"{col}_max"]),
                "unit": "percent"
                if scale == "percent"
                else (s["unit"] if isinstance(s["unit"], str) else ""),
                "estimate_type": (
                    "median within-man change under estrogen (range), not pooled, no control"
                ),
                "pooled": False,
                "i2": None,
                "direction": "higher"
                if (_num(s[f"{col}_min"]) or 0) > 0
                else "lower"
                if (_num(s[f"{col}_max"]) or 0) < 0
                else "unclear",
                "words": "",
                "comparator": "before estrogen (same man)",
                "timepoint_months": _fmt_month(sub["months"]),
                "studies": "",
                "study_ids": ";".join(ids),
                "consistency": "",
                "signs": [int(math.copysign(1, v)) if v else 0 for v in sub[col]],
            }
        )
    return out
