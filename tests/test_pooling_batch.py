"""analysis.batch.rma_batch: many meta-analyses at once give the answers of rma one by one."""

import warnings

import numpy as np
import pytest
from reference import load_reference

import analysis.batch as batch
from analysis.batch import COLUMNS, rma_batch
from analysis.pooling import rma
from analysis.warnings import NotPooledWarning, Tau2TruncatedWarning

REFERENCE = load_reference("metafor_pooling")
METHODS = ("FE", "DL", "REML", "PM", "ML", "HS", "SJ", "HE", "EB")
# Every quantity to 1e-12: the batch does the single fit's arithmetic on the same iterates
# (Fisher scoring, then Newton from the same point; PM by the same Newton iteration), so only
# summation order differs. Iteration counts are compared too.
RTOL = ATOL = 1e-12
COMPARED = tuple(c for c in COLUMNS if c not in {"pooled", "k"})


def _analyses():
    """The reference cases (k = 1 to 95, edge cases included) and 60 random ragged ones."""
    ys = [np.array(c["yi"]) for c in REFERENCE["cases"]]
    vs = [np.array(c["vi"]) for c in REFERENCE["cases"]]
    rng = np.random.default_rng(20261203)
    for _ in range(60):
        k = int(rng.integers(1, 15))
        v = rng.uniform(0.01, 0.3, k)
        ys.append(rng.normal(0.1, np.sqrt(v + rng.uniform(0, 0.3))))
        vs.append(v)
    return ys, vs


YS, VS = _analyses()


@pytest.mark.parametrize("control", [None, "metafor"], ids=["tight", "metafor"])
@pytest.mark.parametrize("test", ["z", "knha", "adhoc"])
@pytest.mark.parametrize("method", METHODS)
def test_batch_gives_the_answers_of_one_by_one_fits(method, test, control):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits = rma_batch(YS, VS, method=method, test=test, control=control)
        singles = [
            rma(y, v, method=method, test=test, control=control, tau2_ci=False)
            for y, v in zip(YS, VS, strict=True)
        ]
    assert len(fits) == len(YS)
    assert fits.control == ("tight" if control is None else "metafor")
    for name in COMPARED:
        if name == "truncated":
            expected = [any("truncated" in w for w in s.warnings) for s in singles]
        else:
            expected = [getattr(s, name) for s in singles]
        np.testing.assert_allclose(
            getattr(fits, name).astype(float),
            np.array(expected, dtype=float),
            rtol=RTOL,
            atol=ATOL,
            err_msg=name,
        )
    assert list(fits.k) == [y.size for y in YS]
    for note, single in zip(fits.notes, singles, strict=True):
        if single.k > 1:
            assert note == "; ".join(single.warnings)


def test_chunking_does_not_change_the_answers(monkeypatch):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = rma_batch(YS, VS).to_frame()
        monkeypatch.setattr(batch, "CHUNK", 40)
        pieces = rma_batch(YS, VS).to_frame()
    assert len(batch._chunks([y.size for y in YS])) > 10
    # padding to a different width changes only numpy's summation blocks: rounding error
    assert (whole["note"] == pieces["note"]).all()
    for name in COMPARED:
        np.testing.assert_allclose(
            whole[name].astype(float), pieces[name].astype(float), rtol=RTOL, atol=ATOL
        )


def test_events_are_summarised_in_one_warning_per_kind_and_kept_per_analysis():
    ys = [[0.3, 0.3, 0.3], [0.5], [0.1, 0.9, -0.4]]
    vs = [[0.01, 0.02, 0.03], [0.04], [0.01, 0.02, 0.03]]
    with (
        pytest.warns(Tau2TruncatedWarning, match="truncated at 0 in 1 of 3 analyses"),
        pytest.warns(NotPooledWarning, match="k = 1: nothing pooled in 1 of 3 analyses"),
    ):
        fits = rma_batch(ys, vs, method="DL", labels=["a", "b", "c"])
    assert fits.notes == (
        "tau2 estimate (DL) below zero; truncated at 0",
        "only k = 1 study (b): nothing pooled, the study itself is returned",
        "",
    )
    assert list(fits.pooled) == [True, False, True]


@pytest.mark.parametrize(
    ("yis", "vis", "message"),
    [
        ([[0.1, 0.2], [0.1, float("nan")]], [[0.1, 0.1], [0.1, 0.1]], "analysis 2: yi must be"),
        ([[0.1, 0.2], [0.1]], [[0.1, 0.1], [0.0]], "analysis 2: vi must be finite and > 0"),
        ([[0.1, 0.2]], [[0.1, 0.1], [0.1]], "1 sets of yi but 2 sets of vi"),
        ([], [], "no analyses"),
    ],
)
def test_bad_input_names_the_analysis(yis, vis, message):
    with pytest.raises(ValueError, match=message):
        rma_batch(yis, vis)


def test_bad_options_are_refused_as_rma_refuses_them():
    with pytest.raises(ValueError, match="method must be one of"):
        rma_batch([[0.1, 0.2]], [[0.1, 0.1]], method="MLE")
    with pytest.raises(ValueError, match="control must be one of"):
        rma_batch([[0.1, 0.2]], [[0.1, 0.1]], control="R")
