# Reference values for tests/test_effect_sizes.py and tests/test_conversions.py.
#
# Regenerate (from the repository root; needs R with metafor 3.8.1, metadat and jsonlite):
#   Rscript tests/reference/make_reference_escalc.R
# Writes tests/reference/metafor_escalc.json. CI has no R: the tests read the JSON only.
#
# Every escalc case records the exact R call, its inputs and metafor's yi and vi.
# The five-number-summary cases are NOT metafor: conv.fivenum() only arrived in metafor 4.0,
# so they are the published formulas (Luo et al. 2018 mean, Wan et al. 2014 SD, Shi et al.
# 2020 SD) coded here independently of the Python code, to catch transcription errors.
# Non-finite numbers are written as the strings "NA", "NaN", "Inf", "-Inf".

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})
stopifnot(packageVersion("metafor") == "3.8.1")

cases <- list()

add_case <- function(name, call, inputs, note = NULL) {
  # 'call' is evaluated as written, so the JSON records exactly what produced the numbers.
  res <- eval(call)
  inner <- if (identical(call[[1]], as.name("suppressWarnings"))) call[[2]] else call
  cases[[length(cases) + 1]] <<- list(
    name = name,
    call = paste(deparse(call, width.cutoff = 500L), collapse = " "),
    measure = as.character(inner$measure),
    args = c(
      list(vtype = if (is.null(inner$vtype)) "LS" else inner$vtype),
      if (!is.null(inner$add)) list(add = inner$add),
      if (!is.null(inner$to)) list(to = inner$to)
    ),
    inputs = inputs,
    yi = as.numeric(res$yi),
    vi = as.numeric(res$vi),
    note = note
  )
}

# --- two-group continuous: Normand (1999), length of hospital stay -----------------------
d <- dat.normand1999
cont <- list(m1i = d$m1i, sd1i = d$sd1i, n1i = d$n1i, m2i = d$m2i, sd2i = d$sd2i, n2i = d$n2i)
for (mv in list(c("MD", "LS"), c("MD", "HO"), c("SMD", "LS"), c("SMD", "UB"),
                c("SMD", "LS2"), c("SMD", "AV"), c("ROM", "LS"), c("ROM", "HO"),
                c("ROM", "AV"), c("ROM", "AVHO"))) {
  call <- bquote(escalc(measure = .(mv[1]), m1i = m1i, sd1i = sd1i, n1i = n1i,
                        m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.normand1999,
                        vtype = .(mv[2])))
  add_case(paste0("normand1999_", mv[1], "_", mv[2]), call, cont)
}

# SMD with too few degrees of freedom for the bias correction (m = n1 + n2 - 2 <= 1).
small <- list(m1i = c(5, 5, 5), sd1i = c(1, 1, 2), n1i = c(1, 2, 3),
              m2i = c(4, 4, 3), sd2i = c(1, 1, 1), n2i = c(1, 1, 2))
add_case("smd_tiny_groups",
         quote(escalc(measure = "SMD", m1i = c(5, 5, 5), sd1i = c(1, 1, 2), n1i = c(1, 2, 3),
                      m2i = c(4, 4, 3), sd2i = c(1, 1, 1), n2i = c(1, 1, 2))),
         small, note = "constructed; mi <= 1 gives NA in metafor")

# --- 2x2 tables: BCG vaccine trials (no zero cells) ------------------------------------------
b <- dat.bcg
bin <- list(ai = b$tpos, bi = b$tneg, ci = b$cpos, di = b$cneg)
for (mv in list(c("OR", "LS"), c("RR", "LS"), c("RD", "LS"), c("RD", "UB"), c("RD", "AV"))) {
  call <- bquote(escalc(measure = .(mv[1]), ai = tpos, bi = tneg, ci = cpos, di = cneg,
                        data = dat.bcg, vtype = .(mv[2])))
  add_case(paste0("bcg_", mv[1], "_", mv[2]), call, bin)
}

# --- 2x2 tables with zero cells (one double-zero trial): Nielweise (2007) --------------------
n <- dat.nielweise2007
zero <- list(ai = n$ai, bi = n$n1i - n$ai, ci = n$ci, di = n$n2i - n$ci)
for (m in c("OR", "RR", "RD")) {
  call <- bquote(escalc(measure = .(m), ai = ai, n1i = n1i, ci = ci, n2i = n2i,
                        data = dat.nielweise2007))
  add_case(paste0("nielweise2007_", m, "_only0"), call, zero)
}
for (to in c("all", "if0all", "none")) {
  # to = "none": metafor recodes the resulting +-Inf to NA (with a warning).
  call <- bquote(suppressWarnings(escalc(measure = "OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i,
                        data = dat.nielweise2007, to = .(to))))
  add_case(paste0("nielweise2007_OR_", to), call, zero)
}
call <- quote(escalc(measure = "RR", ai = ai, n1i = n1i, ci = ci, n2i = n2i,
                     data = dat.nielweise2007, add = 1, to = "only0"))
add_case("nielweise2007_RR_add1", call, zero)

# --- correlations: Molloy (2014) ----------------------------------------------------------
mo <- dat.molloy2014
add_case("molloy2014_ZCOR",
         quote(escalc(measure = "ZCOR", ri = ri, ni = ni, data = dat.molloy2014)),
         list(ri = mo$ri, ni = mo$ni))
add_case("zcor_small_n",
         quote(suppressWarnings(escalc(measure = "ZCOR", ri = c(0.5, -0.2, 0.9), ni = c(3, 4, 10)))),
         list(ri = c(0.5, -0.2, 0.9), ni = c(3, 4, 10)),
         note = "constructed; ni <= 3 gives vi NA in metafor")

# --- pre-post (constructed; metadat 1.2 has no pre-post data set) -------------------------
# m1i = final mean, m2i = baseline mean, sd1i = baseline SD (metafor's SMCR convention).
pp <- list(m1i = c(38.5, 0.912, 101.2, 12.0, 7.1),
           m2i = c(30.6, 0.954, 99.8, 14.5, 7.1),
           sd1i = c(15.0, 0.121, 12.4, 4.1, 2.2),
           sd2i = c(11.6, 0.118, 13.9, 3.6, 2.5),
           ri = c(0.47, 0.95, 0.8, 0.0, -0.3),
           ni = c(20, 52, 11, 3, 40))
for (mv in list(c("MC", "LS"), c("SMCR", "LS"), c("SMCR", "LS2"), c("ROMC", "LS"))) {
  call <- bquote(escalc(measure = .(mv[1]), m1i = .(pp$m1i), m2i = .(pp$m2i),
                        sd1i = .(pp$sd1i), sd2i = .(pp$sd2i), ri = .(pp$ri), ni = .(pp$ni),
                        vtype = .(mv[2])))
  add_case(paste0("prepost_", mv[1], "_", mv[2]), call, pp, note = "constructed")
}
# ROMC where a mean is 0 or negative: the log ratio is undefined (NA in metafor).
ppn <- list(m1i = c(0, 5.2, 3.1), m2i = c(4.0, -1.5, 2.9), sd1i = c(1.1, 2.0, 0.8),
            sd2i = c(1.3, 1.7, 0.9), ri = c(0.5, 0.2, 0.6), ni = c(12, 9, 30))
add_case("prepost_ROMC_nonpositive_means",
         bquote(escalc(measure = "ROMC", m1i = .(ppn$m1i), m2i = .(ppn$m2i), sd1i = .(ppn$sd1i),
                       sd2i = .(ppn$sd2i), ri = .(ppn$ri), ni = .(ppn$ni))),
         ppn, note = "constructed; a mean <= 0 gives yi NA")
add_case("ROM_nonpositive_means",
         bquote(escalc(measure = "ROM", m1i = .(ppn$m1i), m2i = .(ppn$m2i), sd1i = .(ppn$sd1i),
                       sd2i = .(ppn$sd2i), n1i = .(ppn$ni), n2i = .(ppn$ni))),
         list(m1i = ppn$m1i, m2i = ppn$m2i, sd1i = ppn$sd1i, sd2i = ppn$sd2i, n1i = ppn$ni,
              n2i = ppn$ni), note = "constructed; a mean <= 0 gives yi NA, and metafor's vi is NA with it")

# --- five-number summaries: published formulas (not metafor 3.8.1) ------------------------
xi  <- function(n) 2 * qnorm((n - 0.375) / (n + 0.25))          # Wan 2014, eq. 9
eta <- function(n) 2 * qnorm((0.75 * n - 0.125) / (n + 0.25))   # Wan 2014, eq. 16
fn <- data.frame(
  n       = c(10, 25, 50, 100, 400, 7, 60),
  minimum = c(1.2, 10, -3.1, 0.5, 100, 2, 0.61),
  q1      = c(2.0, 14, -1.0, 1.1, 140, 3, 0.78),
  median  = c(2.6, 17, 0.2, 1.6, 150, 5, 0.84),
  q3      = c(3.1, 21, 1.0, 2.3, 165, 6, 0.93),
  maximum = c(5.0, 30, 2.9, 4.0, 220, 9, 1.12)
)
s1_mean <- with(fn, { w <- 4 / (4 + n^0.75); w * (minimum + maximum) / 2 + (1 - w) * median })
s1_sd   <- with(fn, (maximum - minimum) / xi(n))
s2_mean <- with(fn, { w <- 0.7 + 0.39 / n; w * (q1 + q3) / 2 + (1 - w) * median })
s2_sd   <- with(fn, (q3 - q1) / eta(n))
s3_mean <- with(fn, {
  w1 <- 2.2 / (2.2 + n^0.75); w2 <- 0.7 - 0.72 / n^0.55
  w1 * (minimum + maximum) / 2 + w2 * (q1 + q3) / 2 + (1 - w1 - w2) * median
})
s3_sd   <- with(fn, { w <- 1 / (1 + 0.07 * n^0.6); w * (maximum - minimum) / xi(n) +
                      (1 - w) * (q3 - q1) / eta(n) })
fivenum <- list(
  note = paste("Published formulas coded in R (metafor 3.8.1 has no conv.fivenum);",
               "they match conv.fivenum(method = 'rec', dist = 'norm', test = FALSE) of metafor >= 4.0."),
  inputs = as.list(fn),
  min_median_max = list(mean = s1_mean, sd = s1_sd),
  q1_median_q3 = list(mean = s2_mean, sd = s2_sd),
  five_numbers = list(mean = s3_mean, sd = s3_sd)
)

# --- conversions (Cochrane Handbook ch. 6) --------------------------------------------------
# Percent change of a mean with its delta-method SE = 100 * exp(yi) * sqrt(vi) of metafor's
# ROMC (log ratio of means for paired data), with sd = se * sqrt(n).
pc <- data.frame(mean_baseline = c(0.954, 1.20, 30.6, 250), mean_final = c(0.912, 1.26, 38.5, 180),
                 se_baseline = c(0.017, 0.05, 3.35, 20), se_final = c(0.016, 0.06, 2.59, 25),
                 r = c(0.95, 0.5, 0.47, 0), n = c(52, 20, 20, 15))
romc <- with(pc, escalc(measure = "ROMC", m1i = mean_final, m2i = mean_baseline,
                        sd1i = se_final * sqrt(n), sd2i = se_baseline * sqrt(n), ri = r, ni = n))
percent_change <- list(
  call = paste("escalc(measure = 'ROMC', m1i = mean_final, m2i = mean_baseline,",
               "sd1i = se_final * sqrt(n), sd2i = se_baseline * sqrt(n), ri = r, ni = n);",
               "value = 100 * (exp(yi) - 1), se = 100 * exp(yi) * sqrt(vi)"),
  inputs = as.list(pc), value = 100 * (exp(romc$yi) - 1), se = 100 * exp(romc$yi) * sqrt(romc$vi))

# SE from a CI: t quantile with n - 1 df below n = 60 (Handbook 6.5.2.2), else normal.
ci <- data.frame(low = c(46, 0.8, -2.5, 10), high = c(58, 1.3, 0.5, 14), n = c(25, 10, 60, 200),
                 level = c(0.95, 0.95, 0.95, 0.90))
ci_q <- with(ci, ifelse(n < 60, qt((1 + level) / 2, n - 1), qnorm((1 + level) / 2)))
se_from_ci <- list(call = "(high - low) / (2 * ifelse(n < 60, qt((1 + level)/2, n - 1), qnorm((1 + level)/2)))",
                   inputs = as.list(ci), q = ci_q, se = with(ci, (high - low) / (2 * ci_q)))

# SE from a two-sided p: z (no df) or t (df).
pv <- list(estimate = c(-0.05, 2.1, 0.3), p = c(0.008, 0.03, 0.5), df = c(NA, 18, NA))
p_stat <- with(pv, ifelse(is.na(df), qnorm(p / 2, lower.tail = FALSE), qt(p / 2, df, lower.tail = FALSE)))
se_from_p <- list(call = "abs(estimate) / ifelse(is.na(df), qnorm(p/2, lower.tail = FALSE), qt(p/2, df, lower.tail = FALSE))",
                  inputs = pv, se = abs(pv$estimate) / p_stat)

# Combining two groups: the formula must reproduce the mean and SD of the pooled raw data.
set.seed(20260101)
g1 <- rnorm(13, 1.02, 0.11); g2 <- rnorm(21, 0.95, 0.14)
combine_groups <- list(
  call = "set.seed(20260101); g1 <- rnorm(13, 1.02, 0.11); g2 <- rnorm(21, 0.95, 0.14); mean(c(g1, g2)); sd(c(g1, g2))",
  inputs = list(n1 = 13, m1 = mean(g1), sd1 = sd(g1), n2 = 21, m2 = mean(g2), sd2 = sd(g2)),
  n = 34, mean = mean(c(g1, g2)), sd = sd(c(g1, g2)))

conversions <- list(percent_change = percent_change, se_from_ci = se_from_ci,
                    se_from_p = se_from_p, combine_groups = combine_groups)

out <- list(
  generated_by = "tests/reference/make_reference_escalc.R",
  r_version = R.version.string,
  metafor_version = as.character(packageVersion("metafor")),
  metadat_version = as.character(packageVersion("metadat")),
  escalc = cases,
  fivenum = fivenum,
  conversions = conversions
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "string", pretty = TRUE),
           "tests/reference/metafor_escalc.json")
cat("wrote", length(cases), "escalc cases\n")
