# Reference values for analysis/subgroups.py, analysis/influence.py and analysis/bias.py.
#
# Regenerate with (from the repository root):
#     Rscript tests/reference/make_reference_extras.R
#     Rscript tests/reference/make_reference_extras.R --tight
# which write tests/reference/metafor_extras.json (metafor's default control: what the engine's
# control="metafor" reproduces) and tests/reference/metafor_extras_tight.json (every rma() call
# with control = list(threshold = 1e-12, tol = 1e-12, maxiter = 10000), i.e. at the optimum:
# what the engine's default reproduces; leave1out, cumul, regtest and trimfill refit with the
# fitted model's control, trimfill gets it passed on). CI has no R: the tests read the JSON only.
#
# Every entry records the R call that produced it, and the file records R.version.string and
# the metafor version. The input data (yi, vi, labels, groups) are written beside the results so
# that the Python tests do not need metadat.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

# jsonlite writes at most 15 significant digits (digits = NA): ample for 1e-10 relative checks.
tight <- "--tight" %in% commandArgs(trailingOnly = TRUE)
out_path <- if (tight) "tests/reference/metafor_extras_tight.json" else
  "tests/reference/metafor_extras.json"
CONTROL <- if (tight) list(threshold = 1e-12, tol = 1e-12, maxiter = 10000) else list()

# ---------------------------------------------------------------------------------------------
# Data sets
# ---------------------------------------------------------------------------------------------

bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
bcg$slab <- paste0(bcg$author, ", ", bcg$year)
# A grouping with a k = 1 subgroup (the 1950s: Stein & Aronson 1953) and a k = 2 subgroup (the
# 1940s), to exercise the edge cases of the subgroup analysis on real data.
bcg$era <- ifelse(bcg$year < 1950, "1940s",
  ifelse(bcg$year < 1960, "1950s", ifelse(bcg$year < 1970, "1960s", "1970s+"))
)

hack <- dat.hackshaw1998
hack$slab <- paste0(hack$author, ", ", hack$year)

egg <- escalc(measure = "OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.egger2001)
egg$slab <- paste0(egg$study, ", ", egg$year)

norm <- escalc(
  measure = "MD", m1i = m1i, sd1i = sd1i, n1i = n1i,
  m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.normand1999
)
norm$slab <- as.character(norm$source)

# Identical effects with unequal variances: tau2 = 0, Q = 0, no asymmetry.
ident <- data.frame(
  yi = rep(0.3, 10),
  vi = c(0.01, 0.02, 0.04, 0.05, 0.08, 0.1, 0.12, 0.2, 0.3, 0.5),
  slab = paste("Study", 1:10)
)
ident$grp <- rep(c("a", "b"), each = 5)

datasets <- list(
  bcg = list(
    call = "escalc(measure='RR', ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)",
    yi = as.numeric(bcg$yi), vi = as.numeric(bcg$vi), slab = bcg$slab,
    alloc = as.character(bcg$alloc), era = bcg$era, year = bcg$year, ablat = bcg$ablat
  ),
  hackshaw1998 = list(
    call = "dat.hackshaw1998 (yi, vi as shipped: log odds ratios)",
    yi = as.numeric(hack$yi), vi = as.numeric(hack$vi), slab = hack$slab,
    design = as.character(hack$design), year = hack$year
  ),
  egger2001 = list(
    call = "escalc(measure='OR', ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat.egger2001)",
    yi = as.numeric(egg$yi), vi = as.numeric(egg$vi), slab = egg$slab, year = egg$year
  ),
  normand1999 = list(
    call = paste0(
      "escalc(measure='MD', m1i=m1i, sd1i=sd1i, n1i=n1i, m2i=m2i, sd2i=sd2i, n2i=n2i, ",
      "data=dat.normand1999)"
    ),
    yi = as.numeric(norm$yi), vi = as.numeric(norm$vi), slab = norm$slab
  ),
  identical = list(
    call = "data.frame(yi=rep(0.3, 10), vi=c(0.01, 0.02, 0.04, 0.05, 0.08, 0.1, 0.12, 0.2, 0.3, 0.5))",
    yi = ident$yi, vi = ident$vi, slab = ident$slab, grp = ident$grp
  )
)
frames <- list(bcg = bcg, hackshaw1998 = hack, egger2001 = egg, normand1999 = norm, identical = ident)

fit_summary <- function(fit) {
  list(
    k = fit$k, estimate = as.numeric(fit$beta), se = fit$se, stat = fit$zval, pvalue = fit$pval,
    ci_low = fit$ci.lb, ci_high = fit$ci.ub, tau2 = fit$tau2, i2 = fit$I2, h2 = fit$H2,
    q = fit$QE, q_pvalue = fit$QEp
  )
}

# ---------------------------------------------------------------------------------------------
# Subgroups: a separate rma per subgroup, the between test as an FE model on the subgroup
# estimates with their SEs, and the mixed-effects moderator test (common tau2).
# ---------------------------------------------------------------------------------------------

subgroup_case <- function(name, method, test = "z") {
  spec <- strsplit(name, ":")[[1]]
  d <- frames[[spec[1]]]
  g <- d[[spec[2]]]
  levels_g <- sort(unique(g))
  per_group <- list()
  est <- c()
  ses <- c()
  for (lev in levels_g) {
    sel <- g == lev
    fit <- rma(d$yi[sel], d$vi[sel], method = method, test = test, control = CONTROL)
    per_group[[lev]] <- fit_summary(fit)
    est <- c(est, as.numeric(fit$beta))
    ses <- c(ses, fit$se)
  }
  between <- rma(est, sei = ses, method = "FE", control = CONTROL)
  mixed <- rma(d$yi, d$vi, mods = ~ factor(g), method = method, test = test, control = CONTROL)
  list(
    dataset = spec[1], groups = spec[2], method = method, test = test,
    call = paste0(
      "for each level: rma(yi, vi, method='", method, "', test='", test, "', subset=", spec[2],
      "==level); between: rma(estimates, sei=ses, method='FE')$QE; mixed: rma(yi, vi, ",
      "mods=~factor(", spec[2], "), method='", method, "', test='", test, "')$QM"
    ),
    levels = levels_g, per_group = per_group,
    between = list(q = between$QE, df = between$k - 1, pvalue = between$QEp),
    mixed = list(
      qm = mixed$QM, qm_df = mixed$QMdf, qm_pvalue = mixed$QMp, tau2 = mixed$tau2,
      qe = mixed$QE, qe_df = mixed$k - mixed$p, qe_pvalue = mixed$QEp
    )
  )
}

subgroups <- list(
  subgroup_case("bcg:alloc", "REML"),
  subgroup_case("bcg:alloc", "DL"),
  subgroup_case("bcg:alloc", "REML", "knha"),
  subgroup_case("bcg:era", "REML"),
  subgroup_case("hackshaw1998:design", "DL"),
  subgroup_case("identical:grp", "REML")
)

# ---------------------------------------------------------------------------------------------
# leave1out and cumul
# ---------------------------------------------------------------------------------------------

list_rma_columns <- function(res) {
  stat <- if (!is.null(res$zval)) res$zval else res$tval
  pv <- if (!is.null(res$pval)) res$pval else res$pvals
  tau2 <- if (!is.null(res$tau2)) res$tau2 else rep(0, length(res$estimate))
  list(
    slab = as.character(res$slab), estimate = as.numeric(res$estimate), se = res$se,
    stat = stat, pvalue = pv, ci_low = res$ci.lb, ci_high = res$ci.ub, q = res$Q,
    q_pvalue = res$Qp, tau2 = tau2, i2 = res$I2, h2 = res$H2
  )
}

influence_case <- function(kind, dataset, method, test = "z", order = NULL) {
  d <- frames[[dataset]]
  fit <- rma(d$yi, d$vi, method = method, test = test, slab = d$slab, control = CONTROL)
  if (kind == "leave1out") {
    res <- leave1out(fit)
    call <- paste0("leave1out(rma(yi, vi, method='", method, "', test='", test, "', slab=slab))")
  } else if (is.null(order)) {
    res <- cumul(fit)
    call <- paste0("cumul(rma(yi, vi, method='", method, "', test='", test, "', slab=slab))")
  } else {
    res <- cumul(fit, order = d[[order]])
    call <- paste0(
      "cumul(rma(yi, vi, method='", method, "', test='", test, "', slab=slab), order=", order, ")"
    )
  }
  list(
    dataset = dataset, method = method, test = test, order = order, call = call,
    full = fit_summary(fit), columns = list_rma_columns(res)
  )
}

leave1out_cases <- list(
  influence_case("leave1out", "bcg", "REML"),
  influence_case("leave1out", "bcg", "DL", "knha"),
  influence_case("leave1out", "bcg", "FE"),
  influence_case("leave1out", "normand1999", "REML"),
  influence_case("leave1out", "identical", "REML")
)
cumul_cases <- list(
  influence_case("cumul", "bcg", "REML"),
  influence_case("cumul", "bcg", "DL", order = "year"),
  influence_case("cumul", "bcg", "REML", "knha", order = "ablat"),
  influence_case("cumul", "normand1999", "REML")
)

# ---------------------------------------------------------------------------------------------
# regtest (Egger's test) and trimfill
# ---------------------------------------------------------------------------------------------

regtest_case <- function(dataset, model, method = "REML", predictor = "sei", test = "z") {
  d <- frames[[dataset]]
  fit <- rma(d$yi, d$vi, method = method, test = test, control = CONTROL)
  rt <- regtest(fit, model = model, predictor = predictor)
  list(
    dataset = dataset, model = model, method = method, predictor = predictor, test = test,
    call = paste0(
      "regtest(rma(yi, vi, method='", method, "', test='", test, "'), model='", model,
      "', predictor='", predictor, "')"
    ),
    stat = as.numeric(rt$zval), pvalue = as.numeric(rt$pval),
    df = if (is.null(rt$dfs) || is.na(rt$dfs)) NULL else rt$dfs,
    limit_estimate = as.numeric(rt$est), limit_ci_low = as.numeric(rt$ci.lb),
    limit_ci_high = as.numeric(rt$ci.ub),
    slope = as.numeric(coef(rt$fit)[2]),
    tau2 = if (model == "rma") rt$fit$tau2 else NULL
  )
}

regtest_cases <- list(
  regtest_case("hackshaw1998", "rma", "REML"),
  regtest_case("hackshaw1998", "lm"),
  regtest_case("hackshaw1998", "rma", "FE"),
  regtest_case("bcg", "rma", "REML"),
  regtest_case("bcg", "lm"),
  regtest_case("bcg", "rma", "DL", test = "knha"),
  regtest_case("bcg", "rma", "REML", predictor = "vi"),
  regtest_case("egger2001", "rma", "REML"),
  regtest_case("egger2001", "lm"),
  regtest_case("identical", "rma", "REML")
)
# No model='lm' reference on the identical effects: the weighted least-squares fit is perfect,
# so its t statistic is rounding noise divided by rounding noise.

trimfill_case <- function(dataset, method, estimator, side = NULL) {
  d <- frames[[dataset]]
  fit <- rma(d$yi, d$vi, method = method, control = CONTROL)
  tf <- if (is.null(side)) {
    trimfill(fit, estimator = estimator, control = CONTROL)
  } else {
    trimfill(fit, estimator = estimator, side = side, control = CONTROL)
  }
  side_arg <- if (is.null(side)) "" else paste0(", side='", side, "'")
  list(
    dataset = dataset, method = method, estimator = estimator, side_requested = side,
    call = paste0("trimfill(rma(yi, vi, method='", method, "'), estimator='", estimator, "'",
                  side_arg, ")"),
    k0 = tf$k0, se_k0 = tf$se.k0, side = tf$side,
    p_k0 = if (is.na(tf$p.k0)) NULL else tf$p.k0,
    yi = as.numeric(tf$yi), vi = as.numeric(tf$vi), fill = tf$fill,
    result = fit_summary(tf)
  )
}

trimfill_cases <- list(
  trimfill_case("hackshaw1998", "FE", "L0"),
  trimfill_case("hackshaw1998", "REML", "L0"),
  trimfill_case("hackshaw1998", "REML", "R0"),
  trimfill_case("hackshaw1998", "REML", "L0", "right"),
  trimfill_case("hackshaw1998", "REML", "R0", "right"),
  trimfill_case("bcg", "REML", "L0"),
  trimfill_case("bcg", "REML", "L0", "left"),
  trimfill_case("bcg", "REML", "R0", "right"),
  trimfill_case("bcg", "DL", "R0"),
  trimfill_case("egger2001", "REML", "L0"),
  trimfill_case("egger2001", "FE", "R0"),
  trimfill_case("hackshaw1998", "REML", "Q0"),
  trimfill_case("bcg", "DL", "Q0", "right"),
  trimfill_case("hackshaw1998", "FE", "Q0", "right")
)
# trimfill(rma(yi, vi, method="DL"), estimator="Q0") on dat.egger2001 stops in metafor with
# "missing value where TRUE/FALSE needed" (sqrt of a negative number in Q0); the Python tests
# check that trimfill raises there too.
# that trimfill raises there too.
# No trimfill reference on the identical effects: there metafor's ranks are those of rounding
# noise around beta (|yi - beta| ~ 1e-16) and its k0 oscillates 6, 0, 6, ... until
# "Trim and fill algorithm did not converge". The Python tests check k0 = 0 there instead.

# ---------------------------------------------------------------------------------------------

reference <- list(
  provenance = list(
    script = "tests/reference/make_reference_extras.R",
    control = if (tight) "rma(..., control = list(threshold = 1e-12, tol = 1e-12, maxiter = 10000)) in every call" else "metafor defaults",
    r_version = R.version.string,
    metafor_version = as.character(packageVersion("metafor")),
    metadat_version = as.character(packageVersion("metadat"))
  ),
  datasets = datasets,
  subgroups = subgroups,
  leave1out = leave1out_cases,
  cumul = cumul_cases,
  regtest = regtest_cases,
  trimfill = trimfill_cases
)

writeLines(
  toJSON(reference, auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = TRUE),
  out_path
)
cat("wrote", out_path, "\n")
