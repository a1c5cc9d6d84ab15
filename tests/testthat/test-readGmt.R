test_that("readGmt reads names, genes in order, and drops repeats within a set", {
    f <- tempfile(fileext = ".gmt")
    writeLines(c("SET_A\tdesc\tTP53\tEGFR\tTP53", "", "SET_B\tna\tPTEN"), f)
    gs <- readGmt(f)
    expect_identical(names(gs), c("SET_A", "SET_B"))
    expect_identical(gs$SET_A, c("TP53", "EGFR"))
    expect_identical(gs$SET_B, "PTEN")
})

test_that("readGmt reads gzipped files", {
    f <- tempfile(fileext = ".gmt.gz")
    con <- gzfile(f, "wt")
    writeLines("SET_A\tna\tA\tB", con)
    close(con)
    expect_identical(readGmt(f), list(SET_A = c("A", "B")))
})

test_that("readGmt refuses malformed files with a clear error", {
    f <- tempfile(fileext = ".gmt")
    writeLines(c("SET_A\tna\tA", "SET_A\tna\tB"), f)
    expect_error(readGmt(f), "appears twice")
    writeLines("SET_A\tna", f)
    expect_error(readGmt(f), "lists no genes")
    expect_error(readGmt(file.path(tempdir(), "nope.gmt")), "no GMT file")
    expect_error(readGmt(c("a", "b")), "single file path")
})

test_that("readGmt reads the shipped Verhaak signatures, also as a GSEABase collection", {
    f <- system.file("extdata", "verhaak_signatures.gmt", package = "radiogx")
    gs <- readGmt(f)
    expect_identical(names(gs), c("PN", "NL", "CL", "MES"))
    expect_true(all(lengths(gs) >= 15L))
    skip_if_not_installed("GSEABase")
    gsc <- readGmt(f, as = "GeneSetCollection")
    expect_s4_class(gsc, "GeneSetCollection")
    expect_identical(GSEABase::geneIds(gsc), gs)
})
