"""analysis.bayes against the worked examples of the bayesmeta R package, and its behaviour.

Reference numbers: Röver C (2020). Bayesian random-effects meta-analysis using the bayesmeta R
package. J Stat Softw 93(6):1-51, doi:10.18637/jss.v093.i06 (the PDF ships with bayesmeta as
inst/doc/Roever2020-bayesmeta.pdf). Data: bayesmeta's CrinsEtAl2014 (Crins et al. 2014,
Pediatr Transplant 18:839-850), acute rejection events, log odds ratios as metafor's
escalc("OR") computes them (0.5 added to every cell of a table with a zero, here Gras 2008).
Priors as in the paper: tau ~ half-normal(scale 0.5), mu ~ N(0, 4^2); shortest intervals
(bayesmeta's default).

Tolerances. tau is summarised in bayesmeta by numerical integration of its marginal
posterior, as here, and the printed 7 digits agree (1e-7). mu and the predictive distribution
are computed in bayesmeta by the DIRECT mixture approximation (its accuracy settings delta =
0.01, epsilon = 1e-4), not exactly: the paper itself prints the same fit twice (print(ma01),
p. 22, and ma01$summary, p. 23) with mu bounds differing by 1.1e-4. Here they are integrated
to ~1e-8 (test_summaries_do_not_move_when_the_quadrature_is_refined), so the comparison is
to bayesmeta's own accuracy: 5e-4 for mu, 2e-3 for the predictive bounds (the approximation
is coarsest in the predictive tails), and every two-decimal figure the paper prints in its
forest plots is reproduced exactly.
"""

import math

import numpy as np
import pytest

import analysis.bayes as bayes
from analysis.bayes import bayes_meta, posterior_cdf_mu, typical_se

# CrinsEtAl2014 in bayesmeta's row order: Heffron 2003, Gibelli 2004, Schuller 2005,
# Ganschow 2005, Spada 2006, Gras 2008 (data/CrinsEtAl2014.R: exp.AR.events, exp.total,
# cont.AR.events, cont.total)
EXP_EVENTS = np.array([14, 16, 3, 9, 4, 0.0])
EXP_TOTAL = np.array([61, 28, 18, 54, 36, 50.0])
CONT_EVENTS = np.array([15, 19, 8, 29, 11, 3.0])
CONT_TOTAL = np.array([20, 28, 12, 54, 36, 34.0])
RANDOMIZED = [0, 4]  # Heffron 2003 and Spada 2006 (column "randomized" == "yes")
PRIORS = {"tau_prior_scale": 0.5, "mu_prior_mean": 0.0, "mu_prior_sd": 4.0}


def _log_odds_ratios():
    a, c = EXP_EVENTS, CONT_EVENTS
    b, d = EXP_TOTAL - a, CONT_TOTAL - c
    zero = (a == 0) | (b == 0) | (c == 0) | (d == 0)
    a, b, c, d = (x + 0.5 * zero for x in (a, b, c, d))
    return np.log(a * d / (b * c)), 1 / a + 1 / b + 1 / c + 1 / d


YI, VI = _log_odds_ratios()


@pytest.fixture(scope="module")
def ma01():
    return bayes_meta(YI, VI, interval="shortest", **PRIORS)


def test_effect_sizes_are_those_of_the_paper():
    # Röver 2020, Table 3 (p. 19): log-ORs -2.31, -0.46, -2.30, -1.76, -1.26, -2.42
    assert np.round(YI, 2).tolist() == [-2.31, -0.46, -2.30, -1.76, -1.26, -2.42]


def test_tau_summaries_reproduce_bayesmeta_to_printed_digits(ma01):
    # Röver 2020 p. 23, ma01$summary: tau median 0.3445023, 95% 0.0000000 to 0.8607193
    assert ma01.tau_median == pytest.approx(0.3445023, abs=1e-7)
    assert ma01.tau_low == 0.0
    assert ma01.tau_high == pytest.approx(0.8607193, abs=1e-7)


def test_mu_summaries_reproduce_bayesmeta(ma01):
    # Röver 2020 p. 23, ma01$summary: mu median -1.5734819, 95% -2.2311251 to -0.9263075
    assert ma01.mu_median == pytest.approx(-1.5734819, abs=5e-4)
    assert ma01.mu_low == pytest.approx(-2.2311251, abs=5e-4)
    assert ma01.mu_high == pytest.approx(-0.9263075, abs=5e-4)
    # p. 22, text and Figure 2: -1.57 [-2.23, -0.93]
    assert [round(x, 2) for x in (ma01.mu_median, ma01.mu_low, ma01.mu_high)] == [
        -1.57,
        -2.23,
        -0.93,
    ]


def test_predictive_summaries_reproduce_bayesmeta(ma01):
    # Röver 2020 p. 23, ma01$summary, column theta: median -1.5701653, 95% -2.7661319 to
    # -0.4072970
    assert ma01.pred_median == pytest.approx(-1.5701653, abs=5e-4)
    assert ma01.pred_low == pytest.approx(-2.7661319, abs=2e-3)
    assert ma01.pred_high == pytest.approx(-0.4072970, abs=2e-3)


def test_two_study_example_reproduces_bayesmeta():
    y, v = YI[RANDOMIZED], VI[RANDOMIZED]
    ma05 = bayes_meta(y, v, interval="shortest", **PRIORS)
    # Röver 2020 p. 33, Figure 6: mean -1.78 [-2.86, -0.69], prediction -1.78 [-3.25, -0.28]
    summary = [ma05.mu_median, ma05.mu_low, ma05.mu_high]
    predictive = [ma05.pred_median, ma05.pred_low, ma05.pred_high]
    assert [round(x, 2) for x in summary] == [-1.78, -2.86, -0.69]
    assert [round(x, 2) for x in predictive] == [-1.78, -3.25, -0.28]
    # p. 33: ma05$pposterior(mu = 0) = 0.9974968
    assert posterior_cdf_mu(y, v, 0.0, **PRIORS) == pytest.approx(0.9974968, abs=5e-5)


def test_summaries_do_not_move_when_the_quadrature_is_refined(monkeypatch, ma01):
    monkeypatch.setattr(bayes, "PANELS", 4 * bayes.PANELS)
    fine = bayes_meta(YI, VI, interval="shortest", **PRIORS)
    for name in ("mu_median", "mu_low", "mu_high", "tau_median", "tau_high", "pred_low"):
        assert getattr(fine, name) == pytest.approx(getattr(ma01, name), abs=1e-7), name


def test_central_interval_has_equal_tails_and_contains_the_shortest_median(ma01):
    central = bayes_meta(YI, VI, **PRIORS)
    assert central.interval == "central"
    assert central.mu_median == pytest.approx(ma01.mu_median, abs=1e-9)
    lo = posterior_cdf_mu(YI, VI, central.mu_low, **PRIORS)
    hi = posterior_cdf_mu(YI, VI, central.mu_high, **PRIORS)
    assert (lo, hi) == (pytest.approx(0.025, abs=1e-9), pytest.approx(0.975, abs=1e-9))
    assert central.mu_high - central.mu_low >= ma01.mu_high - ma01.mu_low


def test_with_a_tiny_tau_prior_the_mean_approaches_the_common_effect_model():
    w = 1 / VI
    fixed = float(np.sum(w * YI) / np.sum(w))
    se = math.sqrt(1 / np.sum(w))
    res = bayes_meta(YI, VI, tau_prior_scale=1e-6)
    assert res.mu_median == pytest.approx(fixed, abs=1e-6)
    assert res.mu_high - res.mu_low == pytest.approx(2 * 1.959963984540054 * se, rel=1e-5)


def test_predictive_interval_is_wider_than_the_credible_interval(ma01):
    assert ma01.pred_low < ma01.mu_low < ma01.mu_median < ma01.mu_high < ma01.pred_high


def test_shifting_the_effects_shifts_mu_under_the_flat_prior():
    a = bayes_meta(YI, VI, tau_prior_scale=0.5)
    b = bayes_meta(YI + 3.0, VI, tau_prior_scale=0.5)
    assert b.mu_median - a.mu_median == pytest.approx(3.0, abs=1e-9)
    assert b.tau_median == pytest.approx(a.tau_median, abs=1e-9)


def test_typical_se_is_the_root_of_the_harmonic_mean_variance():
    assert typical_se([1.0, 4.0]) == pytest.approx(math.sqrt(2 / 1.25))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tau_prior_scale": 0}, "tau_prior_scale must be a number > 0"),
        ({"tau_prior_scale": 0.5, "mu_prior_sd": -1}, "mu_prior_sd must be > 0 or None"),
        ({"tau_prior_scale": 0.5, "level": 95}, "level must be in"),
        ({"tau_prior_scale": 0.5, "interval": "hpd"}, "interval must be 'central' or"),
    ],
)
def test_bad_options_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        bayes_meta(YI, VI, **kwargs)


def _effects_and_pooled(k_per_group):
    import pandas as pd

    rows, pooled = [], []
    for g, k in enumerate(k_per_group):
        for i in range(k):
            rows.append(
                {
                    "evidence_line": "line",
                    "outcome": f"o{g}",
                    "scale": "percent",
                    "study_id": f"s{i}",
                    "unit": "%",
                    "yi": float(YI[i % 6]),
                    "vi": float(VI[i % 6]),
                }
            )
        pooled.append(
            {"evidence_line": "line", "outcome": f"o{g}", "scale": "percent",
             "estimate": -1.0, "ci_low": -2.0, "ci_high": 0.0, "tau2": 0.1}
        )  # fmt: skip
    return pd.DataFrame(rows), pd.DataFrame(pooled)


def test_bayes_by_group_fits_only_groups_of_two_to_five_studies():
    effects, pooled = _effects_and_pooled([1, 2, 5, 6])
    frame = bayes.bayes_by_group(
        effects, pooled, k_min=2, k_max=5, tau_prior_scale_se=1.0, mu_prior_sd=None, level=0.95
    )
    assert frame["outcome"].tolist() == ["o1", "o2"]
    assert frame["k"].tolist() == [2, 5]
    two = frame.iloc[0]
    direct = bayes_meta(YI[:2], VI[:2], tau_prior_scale=typical_se(VI[:2]))
    assert two["tau_prior_scale"] == pytest.approx(typical_se(VI[:2]))
    assert two["mu_median"] == pytest.approx(direct.mu_median, abs=1e-12)
    assert two["reml_estimate"] == -1.0
    table = bayes.bayes_table(frame)
    assert "{#tbl-bayes}" in table and table.count("\n| line |") == 2


def test_bayes_table_says_so_when_no_group_has_two_to_five_studies():
    effects, pooled = _effects_and_pooled([1, 6])
    frame = bayes.bayes_by_group(
        effects, pooled, k_min=2, k_max=5, tau_prior_scale_se=1.0, mu_prior_sd=None, level=0.95
    )
    assert frame.empty and list(frame.columns)[:3] == bayes.GROUP
    assert bayes.bayes_table(frame).startswith("No evidence line pools 2\u20135 studies")


def test_bayes_by_group_uses_the_fixed_prior_scale_of_a_log_ratio_scale():
    effects, pooled = _effects_and_pooled([3])
    effects["scale"] = "log_ratio"
    pooled["scale"] = "log_ratio"
    frame = bayes.bayes_by_group(
        effects, pooled, k_min=2, k_max=5, tau_prior_scale_se=1.0, mu_prior_sd=None,
        level=0.95, tau_prior_scale_fixed={"log_ratio": 0.5},
    )  # fmt: skip
    direct = bayes_meta(YI[:3], VI[:3], tau_prior_scale=0.5)
    assert frame["tau_prior_scale"].tolist() == [0.5]
    assert frame["mu_median"].iloc[0] == pytest.approx(direct.mu_median, abs=1e-12)
    se_relative = bayes.bayes_by_group(
        effects, pooled, k_min=2, k_max=5, tau_prior_scale_se=1.0, mu_prior_sd=None, level=0.95
    )
    assert se_relative["tau_prior_scale"].iloc[0] == pytest.approx(typical_se(VI[:3]))
