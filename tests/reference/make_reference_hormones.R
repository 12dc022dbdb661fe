# Reference values for the hormone response (log ratio of means, metafor escalc "ROMC"),
# its random-effects pooling, and the risk ratio / risk difference of vertebral deformities
# (escalc "RR"/"RD", add = 1/2 to zero cells only). Run from the repository root:
#   Rscript tests/reference/make_reference_hormones.R
# Writes tests/reference/metafor_hormones.json. Not needed by CI.
suppressPackageStartupMessages({library(metafor); library(jsonlite)})

# Combined SD of two groups (Cochrane Handbook 6.5.2.10, Table 6.5.a).
combine <- function(n1, m1, s1, n2, m2, s2) {
  n <- n1 + n2
  m <- (n1 * m1 + n2 * m2) / n
  s <- sqrt(((n1 - 1) * s1^2 + (n2 - 1) * s2^2 + n1 * n2 / n * (m1 - m2)^2) / (n - 1))
  c(n = n, m = m, s = s)
}
r <- 0.5
# Arm numbers as printed in data/raw/arm_outcomes.csv (units cancel in the ratio).
# Burnett-Bowie 2009: n not reported; the 69 analysed shared between 2 arms (34.5).
# Leder 2005: the two anastrozole arms combined. Loves 2013: spreads are SEs (ni = 1).
lb_e <- combine(12, 26, 8, 11, 27, 8); lf_e <- combine(12, 17, 6, 11, 17, 5)
lb_t <- combine(12, 343, 61, 11, 397, 106); lf_t <- combine(12, 572, 139, 11, 520, 91)
e2 <- escalc("ROMC", m1i = c(12, lf_e["m"], 59.2), m2i = c(15, lb_e["m"], 119.1),
             sd1i = c(4, lf_e["s"], 6.1), sd2i = c(4, lb_e["s"], 10.1),
             ri = rep(r, 3), ni = c(34.5, lb_e["n"], 1))
tt <- escalc("ROMC", m1i = c(474, lf_t["m"], 21.5), m2i = c(319, lb_t["m"], 8.6),
             sd1i = c(145, lf_t["s"], 1.3), sd2i = c(93, lb_t["s"], 0.7),
             ri = rep(r, 3), ni = c(34.5, lb_t["n"], 1))
ctl <- list(tol = 1e-15, maxiter = 100000, stepadj = 0.25, threshold = 1e-12)
fit <- function(es) {
  m <- rma(yi, vi, data = es, method = "REML", test = "knha", control = ctl)
  p <- predict(m)
  list(estimate = as.numeric(m$b), se = m$se, ci_low = m$ci.lb, ci_high = m$ci.ub,
       tau2 = m$tau2, i2 = m$I2 / 100, q = m$QE, pi_low = p$pi.lb, pi_high = p$pi.ub)
}
# Vertebral deformities: Hero 2009 DXA (6/13 vs 4/11); and a zero-cell table (5/11 vs 0/10,
# a test input, not data) to check add = 1/2 to = "only0".
ai <- c(6, 5); n1 <- c(13, 11); ci <- c(4, 0); n2 <- c(11, 10)
rr <- escalc("RR", ai = ai, n1i = n1, ci = ci, n2i = n2, add = 1/2, to = "only0")
rd <- escalc("RD", ai = ai, n1i = n1, ci = ci, n2i = n2, add = 1/2, to = "only0")
out <- list(
  generated_by = "tests/reference/make_reference_hormones.R",
  r_version = R.version.string, metafor_version = as.character(packageVersion("metafor")),
  prepost_r = r, studies = c("burnett_bowie_2009", "leder_2005", "loves_2013"),
  estradiol = list(yi = as.numeric(e2$yi), vi = as.numeric(e2$vi), rma = fit(e2)),
  testosterone = list(yi = as.numeric(tt$yi), vi = as.numeric(tt$vi), rma = fit(tt)),
  binary = list(ai = ai, n1i = n1, ci = ci, n2i = n2,
                rr_yi = as.numeric(rr$yi), rr_vi = as.numeric(rr$vi),
                rd_yi = as.numeric(rd$yi), rd_vi = as.numeric(rd$vi))
)
write_json(out, "tests/reference/metafor_hormones.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
