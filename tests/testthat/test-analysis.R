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

test_that("radiogxEnrich with camera finds the set that ranks high and explains bad input", {
    se <- toy_export()
    sets <- list(top = paste0("G", 1:20), other = paste0("G", 101:140))
    res <- radiogxEnrich(se, sets, attribution = "saliency_t", method = "camera")
    expect_identical(res$gene_set[1], "top")
    expect_identical(res$direction[1], "Up")
    expect_lt(res$pval[1], 1e-6)
    expect_identical(attr(res, "method"), "camera")
    # the same column chosen by key and trait, and the deprecated camera wrapper
    expect_identical(radiogxEnrich(se, sets, trait = "t", method = "camera"), res)
    expect_warning(old <- radiogxCamera(se, "saliency_t", sets), "deprecated")
    expect_identical(old, res)
    expect_error(radiogxEnrich(se, list(a = "G1"), attribution = "nope"), "no attribution 'nope'")
    expect_error(radiogxEnrich(se, sets, trait = "u"), "no attribution columns match key = 'saliency', trait = 'u'")
    expect_error(radiogxEnrich(se, list(a = c("X1", "X2")), attribution = "saliency_t", method = "camera"),
                 "no gene set has between 5 and 500 genes")
    expect_error(radiogxEnrich(se, c("G1", "G2"), attribution = "saliency_t"), "named list of genes")
})

test_that("radiogxEnrich reads the shipped real export: each subtype's own signature is enriched", {
    se <- readRadiogx(system.file("extdata", "radiogx_small.rds", package = "radiogx"))
    sets <- readGmt(system.file("extdata", "verhaak_signatures.gmt", package = "radiogx"))
    expect_error(radiogxEnrich(se, sets, trait = "subtype", method = "camera"), "4 attribution columns match")
    own <- c(Classical = "CL", Mesenchymal = "MES", Proneural = "PN")
    for (subtype in names(own)) {
        res <- radiogxEnrich(se, sets, trait = "subtype", target = subtype, method = "camera")
        expect_identical(res$gene_set[1], own[[subtype]])
        expect_identical(res$direction[1], "Up")
        expect_lt(res$padj[1], 0.05)
    }
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
