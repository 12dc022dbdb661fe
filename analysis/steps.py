"""One function per workflow rule: read the inputs, call the pure functions, write outputs.

The functions take the rule's named inputs, outputs and params as keyword arguments, so
``workflow/scripts/*.py`` stay adapters and every step can also be run from Python. Writes go
through :mod:`analysis.io` (atomic, deterministic): a step that fails leaves no output.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from analysis import io

# The statistics modules are imported inside the steps that use them: each rule runs in its
# own process, and scipy.stats alone costs about 0.6 s there, which the validation and
# case-report steps do not need.
log = logging.getLogger(__name__)
Path_ = str | os.PathLike[str]

EFFECT_KEY = ["study_id", "outcome", "scale"]
POOL_KEY = ["evidence_line", "outcome", "scale"]


@contextlib.contextmanager
def logged(path: Path_) -> Iterator[None]:
    """Send logging and warnings to the rule's log file; log a failure before raising it."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    try:
        yield
    except Exception:
        log.exception("step failed")
        raise
    finally:
        root.removeHandler(handler)
        handler.close()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def validate(*, tables: Sequence[Path_], validated: Path_) -> None:
    """Rule ``validate``: check the raw tables against the contract, record what passed.

    ``tables`` are the CSV files of the raw directory; the directory is validated as a
    whole (cross-table references). Raises :class:`analysis.validate.RawDataError` (every
    problem, one per line) before anything is written, so a failed validation leaves
    ``validated`` as it was.
    """
    files = sorted(Path(t) for t in tables)
    raw_dirs = {f.parent for f in files}
    if len(raw_dirs) != 1:
        raise ValueError(f"raw tables must share one directory, got {sorted(map(str, raw_dirs))}")
    from analysis.validate import check_raw

    rows = check_raw(raw_dirs.pop())
    record = {"files": {f.name: _sha256(f) for f in files}, "rows": rows}
    io.write_json(record, validated)
    log.info("validated %d tables: %s", len(files), rows)


def harmonize_table(
    *, table: Path_, harmonized: Path_, units: Mapping[str, str], value_columns: Sequence[str]
) -> None:
    """Rules ``harmonize_arms``/``harmonize_patients``: values in canonical units."""
    from analysis import harmonize

    frame = io.read_table(table)
    out = harmonize.canonical_units(frame, units, value_columns=value_columns)
    converted = int((out["unit"] != out["unit_canonical"]).sum())
    log.info("%s: %d rows, %d converted to canonical units", table, len(out), converted)
    key = io.contract()["tables"][Path(table).name]["key"]
    io.write_csv(out, harmonized, key)


def _effects(
    arm_outcomes: Path_, arms: Path_, contrasts: Path_, studies: Path_, risk_of_bias: Path_,
    *, r: float, config: Mapping[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:  # fmt: skip
    from analysis import harmonize, hormone_response

    outcomes = [config["outcomes"]["primary"], *config["outcomes"]["secondary"]]
    tables = (io.read_processed(arm_outcomes), io.read_table(arms), io.read_table(contrasts),
              io.read_table(studies), io.read_table(risk_of_bias))  # fmt: skip
    frame, ledger, words, missing = harmonize.compute_effects(
        *tables, r=r, outcomes=outcomes, scales=config["scales"],
        units=config["canonical_units"], level=config["pooling"]["level"],
    )  # fmt: skip
    # The hormone response (log ratio of means) joins the effects as its own scale, so it is
    # pooled, varied over r and shown in a forest plot like every other outcome x scale.
    hormones, hormone_ledger = hormone_response.hormone_response(
        tables[0], tables[1], tables[3], tables[2], tables[4], r=r,
        columns=harmonize.EFFECT_COLUMNS, ledger_columns=harmonize.LEDGER_COLUMNS,
        level=config["pooling"]["level"],
    )  # fmt: skip
    frame = pd.concat([frame, hormones], ignore_index=True)
    ledger = pd.concat([ledger, hormone_ledger], ignore_index=True)
    return frame, ledger, words, missing


def effects(
    *, arm_outcomes: Path_, arms: Path_, contrasts: Path_, studies: Path_, risk_of_bias: Path_,
    effects: Path_, derivations: Path_, reported_in_words: Path_, not_estimable: Path_,
    config: Mapping[str, Any],
) -> None:  # fmt: skip
    """Rule ``effects``: one effect per study x outcome x scale, the ledger, results in
    words, and what could not be estimated (with the reason)."""
    frame, ledger, words, missing = _effects(
        arm_outcomes, arms, contrasts, studies, risk_of_bias, r=config["prepost_r"],
        config=config,
    )  # fmt: skip
    log.info("%d effects (%d derived), %d ledger rows, %d results in words, %d not estimable",
             len(frame), int(frame["derived"].sum()), len(ledger), len(words),
             len(missing))  # fmt: skip
    io.write_csv(frame, effects, EFFECT_KEY)
    io.write_csv(ledger, derivations, ["derivation_id"])
    io.write_csv(words, reported_in_words, ["study_id", "outcome", "timepoint_months"])
    io.write_csv(missing, not_estimable, ["study_id", "outcome", "scale"])


def hormone_changes(
    *, arm_outcomes: Path_, arms: Path_, studies: Path_, contrasts: Path_, hormones: Path_
) -> None:
    """Rule ``hormone_changes``: each controlled-study arm's estradiol and testosterone at
    baseline and last follow-up, in canonical units."""
    from analysis import harmonize

    frame = harmonize.hormone_changes(
        io.read_processed(arm_outcomes), io.read_table(arms), io.read_table(studies),
        io.read_table(contrasts),
    )  # fmt: skip
    log.info("%d arm x hormone changes from %d studies", len(frame),
             frame["study_id"].nunique())  # fmt: skip
    io.write_csv(frame, hormones, ["study_id", "arm", "outcome"])


def pool(
    *, effects: Path_, pooled: Path_, weights: Path_, small_study: Path_,
    config: Mapping[str, Any], bayes: Path_ | None = None,
) -> None:  # fmt: skip
    """Rule ``pool``: every evidence_line x outcome x scale with the configured model,
    Egger's test where there are enough studies, and the Bayesian model where 2-5 pool."""
    from analysis import bayes as bayesian
    from analysis import sensitivity

    settings = config["pooling"]
    frame, weight_frame = sensitivity.pool_by_group(
        io.read_processed(effects), method=settings["method"],
        test=sensitivity.effective_test(settings["test"], settings["adhoc"]),
        level=settings["level"],
        min_k_prediction_interval=config["few_studies"]["min_k_prediction_interval"],
    )  # fmt: skip
    bias = sensitivity.small_study_tests(
        io.read_processed(effects), method=settings["method"],
        test=sensitivity.effective_test(settings["test"], settings["adhoc"]),
        level=settings["level"], min_k=config["few_studies"]["min_k_small_study_tests"],
    )  # fmt: skip
    log.info("%d groups, %d pooled, %d small-study tests", len(frame),
             int(frame["pooled"].sum()), int(bias["pvalue"].notna().sum()))  # fmt: skip
    io.write_csv(frame, pooled, POOL_KEY)
    io.write_csv(weight_frame, weights, [*POOL_KEY, "study_id"])
    io.write_csv(bias, small_study, POOL_KEY)
    if bayes is not None:
        prior = settings["bayes"]
        bayes_frame = bayesian.bayes_by_group(
            io.read_processed(effects), frame, k_min=prior["k_min"], k_max=prior["k_max"],
            tau_prior_scale_se=prior["tau_prior_scale_se"], mu_prior_sd=prior["mu_prior_sd"],
            level=settings["level"], tau_prior_scale_fixed=prior.get("tau_prior_scale_fixed"),
        )  # fmt: skip
        log.info("%d groups with the Bayesian few-study model", len(bayes_frame))
        io.write_csv(bayes_frame, bayes, POOL_KEY)


def patient_changes(
    *, observations: Path_, patients: Path_, changes: Path_, summary: Path_,
    config: Mapping[str, Any],
) -> None:  # fmt: skip
    """Rule ``cases``: per-man change under estrogen and its summary across men."""
    from analysis import cases

    frame = cases.patient_changes(
        io.read_processed(observations), io.read_table(patients),
        outcomes=config["cases"]["outcomes"],
        estrogen_phases=config["cases"]["estrogen_phases"],
    )  # fmt: skip
    log.info("%d patient x outcome changes from %d men", len(frame),
             frame["patient_id"].nunique())  # fmt: skip
    io.write_csv(frame, changes, ["patient_id", "outcome"])
    io.write_csv(cases.summarise_changes(frame), summary, ["outcome"])


def regression(
    *, effects: Path_, changes: Path_, table: Path_, metareg: Path_, config: Mapping[str, Any],
    hormones: Path_ | None = None,
) -> None:  # fmt: skip
    """Rule ``regression``: BMD effect against estradiol change, meta-regression where k allows.

    ``hormones`` (``effects/hormone_changes.csv``) gives a trial's estradiol change from its
    arms when no estradiol effect could be estimated."""
    from analysis import sensitivity

    settings = config["pooling"]
    bmd = [o for o in [config["outcomes"]["primary"], *config["outcomes"]["secondary"]]
           if o.startswith(("bmd_", "vbmd_"))]  # fmt: skip
    frame, fits = sensitivity.bmd_vs_estradiol(
        io.read_processed(effects), io.read_processed(changes), bmd_outcomes=bmd,
        hormones=None if hormones is None else io.read_processed(hormones),
        method=settings["method"],
        test=sensitivity.effective_test(settings["test"], settings["adhoc"]),
        level=settings["level"], min_k=config["few_studies"]["min_k_meta_regression"],
    )  # fmt: skip
    log.info("%d sources with BMD and estradiol; %d regressions fitted", len(frame),
             int(fits["slope"].notna().sum()))  # fmt: skip
    io.write_csv(frame, table, ["source_id", "outcome", "scale"])
    io.write_csv(fits, metareg, ["outcome", "scale"])


def sensitivity_grid(
    *, arm_outcomes: Path_, arms: Path_, contrasts: Path_, studies: Path_, risk_of_bias: Path_,
    effects: Path_, grid: Path_, leave_one_out: Path_, config: Mapping[str, Any],
) -> None:  # fmt: skip
    """Rule ``sensitivity``: the grid (estimators x tests x r x inclusion sets) and
    leave-one-out refits of the primary analysis in groups with enough studies."""
    from analysis import sensitivity

    grid_config, settings = config["sensitivity"], config["pooling"]
    by_r = {
        r: _effects(arm_outcomes, arms, contrasts, studies, risk_of_bias, r=r, config=config)[0]
        for r in sorted({*grid_config["r"], config["prepost_r"]})
    }
    frame = sensitivity.sensitivity_grid(
        by_r, methods=grid_config["methods"], tests=grid_config["tests"],
        inclusions=grid_config["inclusion"], adhoc=settings["adhoc"], level=settings["level"],
        primary={"method": settings["method"], "test": settings["test"],
                 "r": config["prepost_r"], "inclusion": "all"},
    )  # fmt: skip
    log.info("%d grid rows, %d with a changed conclusion", len(frame),
             int(frame["conclusion_changed"].fillna(False).astype(bool).sum()))  # fmt: skip
    key = ["outcome", "evidence_line", "scale", "method", "test", "r", "inclusion"]
    loo = sensitivity.leave_one_out_by_group(
        io.read_processed(effects), method=settings["method"],
        test=sensitivity.effective_test(settings["test"], settings["adhoc"]),
        level=settings["level"], min_k=config["few_studies"]["min_k_leave_one_out"],
    )  # fmt: skip
    log.info("%d leave-one-out refits", len(loo))
    io.write_csv(frame, grid, key)
    io.write_csv(loo, leave_one_out, [*POOL_KEY, "omitted"])


def extraction_agreement(
    *, tables: Mapping[str, Path_], second: Path_, reconciliation: Path_, agreement: Path_,
    items: Path_, config: Mapping[str, Any],
) -> None:  # fmt: skip
    """Rule ``extraction_agreement``: compare every number the synthesis uses with the
    second extraction; write the counts and the item-by-item comparison.

    With ``extraction.require_second`` on, a used number with neither an agreeing second
    value nor a reconciliation stops the run (every such number named) before anything is
    written; off, the counts are written and the gaps logged.
    """
    from analysis import extraction

    contract = io.contract()["tables"]
    raw = {Path(path).name: io.read_table(path) for path in tables.values()}
    keys = {name: contract[name]["key"] for name in raw}
    first = extraction.first_cells(raw, keys)
    compared = extraction.compare(
        first, io.read_table(second), io.read_table(reconciliation)
    )  # fmt: skip
    gaps = extraction.problems(compared)
    required = bool((config.get("extraction") or {}).get("require_second", False))
    if required and gaps:
        raise extraction.ExtractionError("\n".join(gaps))
    for gap in gaps:
        log.warning("%s", gap)
    record = extraction.summary(compared)
    record["require_second"] = required
    log.info("double extraction: %s", record)
    io.write_json(record, agreement)
    io.write_csv(compared, items, ["table", "row_key", "column"])


def binary_outcomes(
    *, events: Path_, arms: Path_, studies: Path_, binary: Path_, config: Mapping[str, Any]
) -> None:
    """Rule ``binary_outcomes``: risk ratio and risk difference per study (zero cells as
    metafor), and "no data" for outcomes an evidence line does not report."""
    from analysis import binary as binary_module

    frame = binary_module.binary_effects(
        io.read_table(events), io.read_table(arms), io.read_table(studies),
        level=config["pooling"]["level"],
    )  # fmt: skip
    log.info("%d binary-outcome rows (%d estimated, %d no data)", len(frame),
             int((frame["status"] == "estimated").sum()),
             int((frame["status"] == "no_data").sum()))  # fmt: skip
    io.write_csv(frame, binary, ["outcome", "evidence_line", "study_id", "imaging", "measure"])


def evidence_depth(
    *, search_log: Path_, pooled: Path_, effects: Path_, binary: Path_, agreement: Path_,
    reconciliation: Path_, out: Path_, config: Mapping[str, Any],
) -> None:  # fmt: skip
    """Rule ``report_evidence_depth``: the report partial on the renewed search, the pooled
    hormone response, the binary outcomes and the double extraction."""
    import json

    from analysis.report.evidence_depth import evidence_depth_md

    text = evidence_depth_md(
        search_log=io.read_table(search_log), pooled=io.read_processed(pooled),
        effects=io.read_processed(effects), binary=io.read_processed(binary),
        agreement=json.loads(Path(agreement).read_text("utf-8")),
        reconciliation=io.read_table(reconciliation), prepost_r=config.get("prepost_r"),
    )  # fmt: skip
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(text, "utf-8")
