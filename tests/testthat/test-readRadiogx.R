make_export <- function() {
    se <- SummarizedExperiment::SummarizedExperiment(
        assays = list(expression = matrix(1:6, nrow = 3, dimnames = list(c("A", "B", "C"), c("p1", "p2")))),
        metadata = list(radiogx_version = "0.1.0",
                        tables = list(cv = data.frame(trait = "f5", fold = 0:1, roc_auc = c(0.6, 0.7))),
                        params = list(cv = "{\"cv\": 2}")))
    f <- tempfile(fileext = ".rds")
    saveRDS(se, f)
    f
}

test_that("readRadiogx reads an export and radiogxResults returns its tables", {
    se <- readRadiogx(make_export())
    expect_s4_class(se, "SummarizedExperiment")
    expect_identical(radiogxResults(se), "cv")
    cv <- radiogxResults(se, "cv")
    expect_identical(cv$roc_auc, c(0.6, 0.7))
    expect_identical(attr(cv, "params"), "{\"cv\": 2}")
})

test_that("clear errors for files that are not radiogx exports and for missing tables", {
    f <- tempfile(fileext = ".rds")
    saveRDS(data.frame(x = 1), f)
    expect_error(readRadiogx(f), "not a radiogx export")
    writeLines("text", f)
    expect_error(readRadiogx(f), "not an .rds file")
    expect_error(readRadiogx(file.path(tempdir(), "none.rds")), "no file at")
    se <- readRadiogx(make_export())
    expect_error(radiogxResults(se, "survival"), "no table 'survival' in this radiogx export; it has: cv")
    expect_error(radiogxResults(data.frame(), "cv"), "not a radiogx export")
})

test_that("a kind's name alone reads its only table, as rg.get does, and names the choice when there are several", {
    se <- readRadiogx(system.file("extdata", "radiogx_small.rds", package = "radiogx"))
    expect_identical(radiogxResults(se, "masking"), radiogxResults(se, "masking.masking_verhaak_signatures"))
    expect_error(radiogxResults(se, "enrichment"), "4 'enrichment' tables in this radiogx export: .*; name one")
    expect_true(all(c("cv", "oof", "models", "compare", "bootstrap", "saliency", "survival") %in% radiogxResults(se)))
    expect_identical(nrow(radiogxResults(se, "models")), 1L)
})
