toy_export <- function() {
    set.seed(1)
    n <- 60
    genes <- paste0("G", 1:200)
    stat <- stats::rnorm(200)
    stat[1:20] <- stat[1:20] + 3
    cd <- S4Vectors::DataFrame(os_days = stats::rexp(n, 1 / 300), os_event = rep(c(1L, 0L, 1L), 20),
                               age = stats::runif(n, 30, 80), gender = factor(rep(c("female", "male"), 30)),
                               gcimp = factor(rep(c("FALSE", "TRUE"), c(45, 15))), row.names = paste0("P", 1:n))
    SummarizedExperiment::SummarizedExperiment(
        assays = list(expression = matrix(stats::rnorm(200 * n), 200, dimnames = list(genes, rownames(cd)))),
        rowData = S4Vectors::DataFrame(saliency_t = stat, row.names = genes), colData = cd,
        metadata = list(radiogx_version = "0.1.0", tables = list(), params = list()))
}

test_that("radiogxCamera finds the set that ranks high and explains bad input", {
    se <- toy_export()
    res <- radiogxCamera(se, "saliency_t", list(top = paste0("G", 1:20), other = paste0("G", 101:140)))
    expect_identical(rownames(res)[1], "top")
    expect_identical(as.character(res["top", "Direction"]), "Up")
    expect_lt(res["top", "PValue"], 1e-6)
    expect_error(radiogxCamera(se, "nope", list(a = "G1")), "no attribution 'nope'")
    expect_error(radiogxCamera(se, "saliency_t", list(a = c("X1", "X2"))), "no gene set has 5 genes")
})

test_that("radiogxSurvival matches a direct coxph fit and plotRadiogxKM draws", {
    se <- toy_export()
    res <- radiogxSurvival(se, "gcimp")
    d <- as.data.frame(SummarizedExperiment::colData(se))
    direct <- survival::coxph(survival::Surv(os_days, os_event) ~ gcimp + age + gender, data = d, ties = "efron")
    expect_equal(res$cox$coef, unname(stats::coef(direct)), tolerance = 1e-10)
    expect_identical(res$cox$term, c("gcimpTRUE", "age", "gendermale"))
    f <- tempfile(fileext = ".png")
    grDevices::png(f)
    expect_invisible(plotRadiogxKM(res))
    grDevices::dev.off()
    expect_gt(file.size(f), 1000)
    expect_error(radiogxSurvival(se, "grade"), "colData\\(se\\) lacks grade")
})
