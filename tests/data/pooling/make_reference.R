# metafor reference values for the synthetic data set in tests/data/pooling/raw/.
#
# Regenerate (needs R with metafor 3.8-1 and jsonlite; CI does not run this):
#   Rscript tests/data/pooling/make_reference.R
# Writes tests/data/pooling/metafor_pooling.json next to this script.
#
# The effects are computed here from the raw numbers, written out route by route with the
# published formulas (and metafor's escalc for every mean difference), independently of
# analysis/harmonize.py; then each evidence line x outcome x scale with k >= 3 is pooled
# with rma(method = "REML") under the three tests the pipeline can use, with metafor's
# default control and with a tight one. The pipeline's config (config/config.yaml) uses
# r = 0.5 for the pre-post correlation and REML with Knapp-Hartung and the ad hoc rule
# (test = "adhoc").

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
r <- 0.5

# --- arm-level routes ---------------------------------------------------------------------
sd_from_se <- function(se, n) se * sqrt(n)                       # Handbook 6.5.2.2
se_from_ci_t <- function(lo, hi, df, level = 0.95) {             # Handbook 6.5.2.2, t
  (hi - lo) / (2 * qt(0.5 + level / 2, df))
}
wan_mean_sd <- function(q1, m, q3, n) {
  # Luo et al. 2018 mean, Wan et al. 2014 SD (scenario S2: q1, median, q3)
  w <- 0.7 + 0.39 / n
  eta <- 2 * qnorm((0.75 * n - 0.125) / (n + 0.25))
  c(mean = w * (q1 + q3) / 2 + (1 - w) * m, sd = (q3 - q1) / eta)
}
sd_change <- function(sb, sf, r) sqrt(sb^2 + sf^2 - 2 * r * sb * sf)  # Handbook 6.5.2.8
percent_change <- function(mb, mf, seb, sef, r) {
  # delta method for 100 (M_F / M_B - 1): Oehlert 1992
  v <- sef^2 / mb^2 + mf^2 * seb^2 / mb^4 - 2 * r * mf * sef * seb / mb^3
  c(value = 100 * (mf / mb - 1), se = 100 * sqrt(v))
}
md <- function(m1, sd1, n1, m2, sd2, n2) {
  es <- escalc("MD", m1i = m1, sd1i = sd1, n1i = n1, m2i = m2, sd2i = sd2, n2i = n2)
  c(yi = as.numeric(es$yi), vi = as.numeric(es$vi))
}

effects <- list()
add <- function(study, line, outcome, scale, route, est, how) {
  effects[[length(effects) + 1]] <<- list(
    study_id = study, evidence_line = line, outcome = outcome, scale = scale,
    route = route, yi = unname(est[["yi"]]), vi = unname(est[["vi"]]), how = how
  )
}
L <- "bmd_lumbar_spine"
older <- "ai_older_men"

# Alder 2011: change mean/SD (12 months; the 6-month row is an earlier follow-up)
add("synth_alder_2011", older, L, "absolute", "b",
    md(-0.032, 0.031, 42, 0.004, 0.028, 40), "escalc MD of reported changes (mean, SD)")
add("synth_alder_2011", older, L, "percent", "b",
    md(-3.2, 2.8, 42, 0.4, 2.6, 40), "escalc MD of reported percent changes (mean, SD)")
# Birch 2013: change mean/SE
add("synth_birch_2013", older, L, "absolute", "b",
    md(-0.008, sd_from_se(0.0062, 25), 25, 0.006, sd_from_se(0.0055, 27), 27),
    "SD = SE sqrt(n); escalc MD")
add("synth_birch_2013", older, L, "percent", "b",
    md(-0.8, sd_from_se(0.55, 25), 25, 0.5, sd_from_se(0.50, 27), 27),
    "SD = SE sqrt(n); escalc MD")
# Cedar 2015: change mean with a 95% CI (t, n - 1 df)
add("synth_cedar_2015", older, L, "absolute", "b",
    md(-0.020, sd_from_se(se_from_ci_t(-0.034, -0.006, 17), 18), 18,
       0.002, sd_from_se(se_from_ci_t(-0.010, 0.014, 19), 20), 20),
    "SE = (hi - lo) / (2 qt(0.975, n - 1)); SD = SE sqrt(n); escalc MD")
add("synth_cedar_2015", older, L, "percent", "b",
    md(-1.8, sd_from_se(se_from_ci_t(-3.0, -0.6, 17), 18), 18,
       0.2, sd_from_se(se_from_ci_t(-0.9, 1.3, 19), 20), 20),
    "SE = (hi - lo) / (2 qt(0.975, n - 1)); SD = SE sqrt(n); escalc MD")
# Dogwood 2016: baseline and final mean/SD, n 34 -> 31 and 33 -> 32
add("synth_dogwood_2016", older, L, "absolute", "c",
    md(1.081 - 1.104, sd_change(0.142, 0.139, r), min(34, 31),
       1.103 - 1.097, sd_change(0.151, 0.148, r), min(33, 32)),
    "change = final - baseline; SD_change with r = 0.5; n = min(baseline n, final n); escalc MD")
pt <- percent_change(1.104, 1.081, 0.142 / sqrt(34), 0.139 / sqrt(31), r)
pc <- percent_change(1.097, 1.103, 0.151 / sqrt(33), 0.148 / sqrt(32), r)
add("synth_dogwood_2016", older, L, "percent", "c",
    c(yi = pt[["value"]] - pc[["value"]], vi = pt[["se"]]^2 + pc[["se"]]^2),
    "delta-method percent change per arm (SE = SD / sqrt(n) of each mean, r = 0.5); difference, variances added")
# Elm 2018: change as median (q1, q3)
et <- wan_mean_sd(-0.044, -0.028, -0.017, 30)
ec <- wan_mean_sd(-0.009, 0.003, 0.013, 29)
add("synth_elm_2018", older, L, "absolute", "b",
    md(et[["mean"]], et[["sd"]], 30, ec[["mean"]], ec[["sd"]], 29),
    "mean by Luo 2018, SD by Wan 2014 (q1, median, q3); escalc MD")
# Fir 2020: reported difference with a 90% CI; t with n_t + n_c - 2 = 69 df
se_fir <- se_from_ci_t(-0.041, -0.013, 36 + 35 - 2, level = 0.90)
add("synth_fir_2020", older, L, "absolute", "a", c(yi = -0.027, vi = se_fir^2),
    "SE = (hi - lo) / (2 qt(0.95, 69)) from the 90% CI")

boys <- "ai_boys"
add("synth_gorse_2012", boys, "height", "absolute", "a", c(yi = 6.5, vi = 1.1^2),
    "reported difference and SE")
se_hazel <- abs(1.9) / qt(1 - 0.04 / 2, 30 + 31 - 2)
add("synth_hazel_2014", boys, "height", "absolute", "e", c(yi = 1.9, vi = se_hazel^2),
    "SE = |estimate| / qt(1 - p/2, n_t + n_c - 2) (Handbook 6.5.2.3)")
add("synth_ivy_2017", boys, "height", "absolute", "d",
    md(162.5, 7.9, 40, 158.9, 8.4, 38), "escalc MD of final values")

# --- pooling -----------------------------------------------------------------------------
num <- function(x) unname(as.numeric(x))
frame <- do.call(rbind, lapply(effects, function(e) {
  data.frame(study_id = e$study_id, evidence_line = e$evidence_line, outcome = e$outcome,
             scale = e$scale, yi = e$yi, vi = e$vi)
}))
pooled <- list()
for (key in unique(paste(frame$evidence_line, frame$outcome, frame$scale, sep = "|"))) {
  parts <- strsplit(key, "|", fixed = TRUE)[[1]]
  d <- frame[frame$evidence_line == parts[1] & frame$outcome == parts[2] &
               frame$scale == parts[3], ]
  d <- d[order(d$study_id), ]
  if (nrow(d) < 3) next
  for (test in c("z", "knha", "adhoc")) for (control in c("default", "tight")) {
    # "default": metafor's own control (threshold 1e-5 on the change in tau2), which
    # analysis.tau2 reproduces step for step; "tight": the optimum of the REML likelihood.
    ctrl <- if (control == "tight") list(threshold = 1e-12, maxiter = 10000) else list()
    res <- rma(d$yi, d$vi, method = "REML", test = test, control = ctrl)
    pr <- predict(res)
    pooled[[length(pooled) + 1]] <- list(
      evidence_line = parts[1], outcome = parts[2], scale = parts[3], k = res$k,
      method = "REML", test = test, control = control,
      call = sprintf('rma(yi, vi, method = "REML", test = "%s"%s)', test,
                     if (control == "tight")
                       ", control = list(threshold = 1e-12, maxiter = 10000)" else ""),
      study_id = d$study_id,
      estimate = num(res$beta), se = num(res$se), ci_lb = num(res$ci.lb),
      ci_ub = num(res$ci.ub), pval = num(res$pval), tau2 = num(res$tau2),
      I2 = num(res$I2), H2 = num(res$H2), QE = num(res$QE), QEp = num(res$QEp),
      pi_lb = num(pr$pi.lb), pi_ub = num(pr$pi.ub),
      weights = num(weights(res))
    )
  }
}

out <- list(
  generated_by = "tests/data/pooling/make_reference.R",
  r_version = R.version.string,
  metafor_version = as.character(packageVersion("metafor")),
  prepost_r = r,
  effects = effects,
  pooled = pooled
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(here, "metafor_pooling.json"))
