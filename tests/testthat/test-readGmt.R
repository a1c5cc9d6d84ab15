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

test_that("readGmt reads the real MSigDB hallmark collection (50 sets)", {
    datadir <- Sys.getenv("RADIOGX_DATASETDIR", file.path("..", "..", "..", "shared", "data"))
    f <- file.path(datadir, "msigdb_v7.1", "h.all.v7.1.symbols.gmt")
    if (!file.exists(f)) stop("RADIOGX_DATASETDIR must point at the shared data (", f, " not found)")
    gs <- readGmt(f)
    expect_length(gs, 50L)
    expect_true("HALLMARK_HYPOXIA" %in% names(gs))
    expect_identical(length(gs$HALLMARK_HYPOXIA), 200L)
})
