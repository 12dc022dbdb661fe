# Reference values for analysis.pooling / analysis.tau2 / analysis.heterogeneity.
#
# Regenerate (needs R with metafor 3.8-1, metadat and jsonlite; CI does not run this):
#   Rscript tests/reference/make_reference_pooling.R
# Writes two files next to this script:
#   metafor_pooling.json        metafor's default control (what control="metafor" reproduces)
#   metafor_pooling_tight.json  tight control, i.e. the optimum (what the engine's default hits):
#     rma(..., control = list(threshold = 1e-12, tol = 1e-12, maxiter = 10000))
#     confint(res, control = list(tol = 1e-12, maxiter = 10000))
#   threshold is Fisher scoring's (REML, ML, EB) stop on the change in tau2; tol is uniroot's
#   tolerance (PM, and the Q-profile CI in confint) and ll0check's; maxiter caps both.
#   Where Fisher scoring still fails to settle (rounding noise above 1e-12 for large tau2,
#   or an oscillating update) the tight file retries with stepadj = 0.5, metafor's own remedy,
#   and records the control used in "control".
#
# For every case (published metadat data sets plus constructed edge cases) and every
# method x test, the script records rma() output, confint() (Q-profile CI of tau2, I2, H2),
# predict() (prediction interval) and weights(). Calls that fail in metafor are recorded
# with their error message instead of numbers.

suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
  library(jsonlite)
})

methods <- c("FE", "DL", "REML", "PM", "ML", "HS", "SJ", "HE", "EB")
tests <- c("z", "knha", "adhoc")

num <- function(x) if (is.null(x) || length(x) == 0) NA_real_ else unname(as.numeric(x))

TIGHT <- list(threshold = 1e-12, tol = 1e-12, maxiter = 10000)
TIGHT_CI <- list(tol = 1e-12, maxiter = 10000)
tight <- FALSE  # set per output file below

ctrl_text <- function(ctrl) {
  if (length(ctrl) == 0) return("")
  paste0(", control = list(", paste(names(ctrl), sapply(ctrl, format), sep = " = ",
                                    collapse = ", "), ")")
}

fit_rma <- function(yi, vi, method, test, mods = NULL, data = NULL) {
  ctrl <- if (tight) TIGHT else list()
  fit <- function(ctrl) {
    if (is.null(mods)) suppressWarnings(rma(yi, vi, method = method, test = test, control = ctrl))
    else suppressWarnings(rma(yi, vi, mods = mods, data = data, method = method, test = test,
                              control = ctrl))
  }
  res <- tryCatch(fit(ctrl), error = function(e) e)
  if (tight && inherits(res, "error")) {
    ctrl <- c(TIGHT, stepadj = 0.5)
    res <- tryCatch(fit(ctrl), error = function(e) e)
  }
  list(res = res, ctrl = ctrl)
}

fit_one <- function(yi, vi, method, test) {
  f <- fit_rma(yi, vi, method, test)
  res <- f$res
  call <- sprintf('rma(yi, vi, method = "%s", test = "%s"%s)', method, test, ctrl_text(f$ctrl))
  if (inherits(res, "error")) {
    return(list(method = method, test = test, call = call, error = conditionMessage(res)))
  }
  ci <- tryCatch(suppressWarnings(if (tight) confint(res, control = TIGHT_CI) else confint(res)),
                 error = function(e) NULL)
  pr <- predict(res)
  random <- if (is.null(ci)) matrix(NA_real_, 4, 3) else ci$random
  list(
    method = method, test = test, call = call,
    estimate = num(res$beta), se = num(res$se), zval = num(res$zval), pval = num(res$pval),
    ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub),
    tau2 = num(res$tau2), se_tau2 = num(res$se.tau2),
    tau2_ci_lb = num(random[1, 2]), tau2_ci_ub = num(random[1, 3]),
    I2 = num(res$I2), I2_ci_lb = num(random[3, 2]), I2_ci_ub = num(random[3, 3]),
    H2 = num(res$H2), H2_ci_lb = num(random[4, 2]), H2_ci_ub = num(random[4, 3]),
    QE = num(res$QE), QE_df = res$k - res$p, QEp = num(res$QEp),
    pi_lb = num(pr$pi.lb), pi_ub = num(pr$pi.ub),
    weights = num(weights(res)),
    ci_null = if (is.null(ci)) NA else ci$ci.null,
    ci_lb_sign = if (is.null(ci)) NA else ci$lb.sign,
    ci_ub_sign = if (is.null(ci)) NA else ci$ub.sign
  )
}

make_case <- function(name, source, yi, vi) {
  ok <- !is.na(yi) & !is.na(vi)
  yi <- as.numeric(yi[ok])
  vi <- as.numeric(vi[ok])
  fits <- list()
  for (m in methods) for (t in tests) fits[[length(fits) + 1]] <- fit_one(yi, vi, m, t)
  list(name = name, source = source, k = length(yi), yi = yi, vi = vi, fits = fits)
}

build_cases <- function() {
cases <- list()
add <- function(name, source, dat) {
  cases[[length(cases) + 1]] <<- make_case(name, source, dat$yi, dat$vi)
}

# ---- published data sets (metadat) ----
add("bcg_RR", 'escalc("RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)',
    escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg))
add("bcg_OR", 'escalc("OR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)',
    escalc("OR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg))
add("normand1999_MD",
    'escalc("MD", m1i=m1i, sd1i=sd1i, n1i=n1i, m2i=m2i, sd2i=sd2i, n2i=n2i, data=dat.normand1999)',
    escalc("MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i,
           data = dat.normand1999))
add("normand1999_SMD",
    'escalc("SMD", m1i=m1i, sd1i=sd1i, n1i=n1i, m2i=m2i, sd2i=sd2i, n2i=n2i, data=dat.normand1999)',
    escalc("SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i,
           data = dat.normand1999))
add("normand1999_ROM",
    'escalc("ROM", m1i=m1i, sd1i=sd1i, n1i=n1i, m2i=m2i, sd2i=sd2i, n2i=n2i, data=dat.normand1999)',
    escalc("ROM", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i,
           data = dat.normand1999))
add("molloy2014_ZCOR", 'escalc("ZCOR", ri=ri, ni=ni, data=dat.molloy2014)',
    escalc("ZCOR", ri = ri, ni = ni, data = dat.molloy2014))
add("hackshaw1998_logOR", "dat.hackshaw1998 (yi, vi as published: log odds ratios)",
    dat.hackshaw1998)
add("bangertdrowns2004_SMD", "dat.bangertdrowns2004 (yi, vi as published: SMD)",
    dat.bangertdrowns2004)
add("yusuf1985_table6_OR",
    'escalc("OR", ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat.yusuf1985, subset=(table=="6"))',
    escalc("OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.yusuf1985,
           subset = (table == "6")))
add("collins1985a_OR",
    'escalc("OR", ai=b.xti, n1i=nti, ci=b.xci, n2i=nci, data=dat.collins1985a)',
    escalc("OR", ai = b.xti, n1i = nti, ci = b.xci, n2i = nci, data = dat.collins1985a))
add("pritz1997_PLO", 'escalc("PLO", xi=xi, ni=ni, data=dat.pritz1997)',
    escalc("PLO", xi = xi, ni = ni, data = dat.pritz1997))
add("raudenbush1985_SMD", "dat.raudenbush1985 (yi, vi as published: SMD)", dat.raudenbush1985)

# ---- constructed edge cases ----
edge <- function(name, source, yi, vi) {
  cases[[length(cases) + 1]] <<- make_case(name, source, yi, vi)
}
edge("k1", "one study", c(0.5), c(0.04))
edge("k2", "two studies", c(0.1, 0.5), c(0.02, 0.05))
edge("k3", "three studies", c(-0.2, 0.3, 0.8), c(0.05, 0.1, 0.08))
edge("identical_yi", "all yi equal (Q = 0)", rep(0.3, 6), c(0.01, 0.02, 0.05, 0.1, 0.03, 0.04))
edge("q_below_df", "Q below its df: tau2 truncated at 0",
     c(0.10, 0.12, 0.09, 0.11, 0.10, 0.13), c(0.04, 0.05, 0.03, 0.06, 0.04, 0.05))
edge("one_outlier", "five similar studies and one outlier",
     c(0.10, 0.20, 0.15, 0.05, 0.12, 2.50), rep(0.02, 6))
edge("vi_orders", "vi spanning five orders of magnitude",
     c(0.21, -0.35, 0.80, 0.02, 1.40, -0.90), c(1e-4, 1e-3, 1e-2, 1e-1, 1, 10))
edge("vi_equal", "all vi equal",
     c(0.31, -0.12, 0.45, 0.08, 0.66, 0.20, -0.05, 0.52), rep(0.05, 8))
edge("large_tau2", "heterogeneity far above the sampling variances",
     c(-8.1, 3.4, 12.7, -2.2, 6.9, 0.4, 15.3, -11.8), c(0.5, 0.8, 0.3, 1.1, 0.6, 0.9, 0.4, 0.7))
cases
}

build_regression <- function(dat) {

regs <- list()
for (spec in list(list(mods = "~ ablat", cols = "ablat"),
                  list(mods = "~ ablat + year", cols = c("ablat", "year")))) {
  for (m in methods) for (t in c("z", "knha")) {
    f <- fit_rma(dat$yi, dat$vi, m, t, mods = as.formula(spec$mods), data = dat)
    res <- f$res
    call <- sprintf('rma(yi, vi, mods = %s, data = dat, method = "%s", test = "%s"%s)',
                    spec$mods, m, t, ctrl_text(f$ctrl))
    if (inherits(res, "error")) {
      regs[[length(regs) + 1]] <- list(call = call, error = conditionMessage(res))
      next
    }
    regs[[length(regs) + 1]] <- list(
      call = call, method = m, test = t, mods = spec$cols,
      beta = num(res$beta), se = num(res$se), zval = num(res$zval), pval = num(res$pval),
      ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub),
      QM = num(res$QM), QM_df = num(res$QMdf), QMp = num(res$QMp),
      QE = num(res$QE), QE_df = res$k - res$p, QEp = num(res$QEp),
      tau2 = num(res$tau2), se_tau2 = num(res$se.tau2), I2 = num(res$I2), H2 = num(res$H2),
      R2 = num(res$R2)
    )
  }
}
regs
}

# ---- meta-regression: dat.bcg, log RR on absolute latitude ----
dat <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)

script_dir <- tryCatch(dirname(normalizePath(sys.frame(1)$ofile)), error = function(e) {
  args <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", args[grep("^--file=", args)])
  if (length(f)) dirname(normalizePath(f)) else "tests/reference"
})

for (tight in c(FALSE, TRUE)) {

cases <- build_cases()
regs <- build_regression(dat)
out <- list(
  generated_by = "tests/reference/make_reference_pooling.R",
  control = if (tight) "tight: control = list(threshold = 1e-12, tol = 1e-12, maxiter = 10000); confint(..., control = list(tol = 1e-12, maxiter = 10000))" else "metafor defaults",
  R_version = R.version.string,
  metafor_version = as.character(packageVersion("metafor")),
  metadat_version = as.character(packageVersion("metadat")),
  cases = cases,
  regression = list(data = list(yi = num(dat$yi), vi = num(dat$vi), ablat = num(dat$ablat),
                                year = num(dat$year)),
                    escalc_call = 'escalc("RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)',
                    fits = regs)
)

writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null", null = "null", pretty = TRUE),
           file.path(script_dir, if (tight) "metafor_pooling_tight.json" else "metafor_pooling.json"))
}
