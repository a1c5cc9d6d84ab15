test_that("a config list becomes TOML that keeps types, arrays, sections and arrays of tables", {
    toml <- radiogx:::.toToml(list(
        run = list(seed = 0, name = "a \"quoted\" name"),
        input = list(dataset = "verhaak2010", clinical = list(list(source = "tcga_gbm_clinical", columns = c("age", "os_days")))),
        traits = list(names = I("subtype")),
        steps = list(train = list(hidden = I(16L), dropout = 0.25, cv = 3L), compare = list(enabled = FALSE))))
    expect_true("seed = 0" %in% toml)
    expect_true("name = \"a \\\"quoted\\\" name\"" %in% toml)
    expect_true("[[input.clinical]]" %in% toml)
    expect_true("columns = [\"age\", \"os_days\"]" %in% toml)
    expect_true("names = [\"subtype\"]" %in% toml)
    expect_true("[steps.train]" %in% toml && "hidden = [16]" %in% toml && "dropout = 0.25" %in% toml)
    expect_true("enabled = false" %in% toml)
    skip_if_not_installed("RcppTOML")
    f <- tempfile(fileext = ".toml")
    writeLines(toml, f)
    back <- RcppTOML::parseTOML(f)
    expect_identical(back$steps$train$hidden, 16L)
    expect_identical(back$input$clinical[[1]]$columns, c("age", "os_days"))
    expect_error(radiogx:::.toToml(list(run = list(seed = NA))), "TOML has no missing value")
    expect_error(radiogx:::.toToml(list(1, 2)), "named list of sections")
})

test_that("a missing radiogx program is reported with how to install it", {
    old <- options(radiogx.executable = file.path(tempdir(), "no-such-radiogx"))
    on.exit(options(old))
    withr_path <- Sys.getenv("PATH")
    Sys.setenv(PATH = tempdir(), RADIOGX_EXECUTABLE = "")
    on.exit(Sys.setenv(PATH = withr_path), add = TRUE)
    expect_identical(radiogxExecutable(mustWork = FALSE), "")
    expect_error(radiogxExecutable(), "radiogx program \\(Python\\) was not found.*RADIOGX_EXECUTABLE")
    expect_error(runRadiogx(system.file("extdata", "demo_small.toml", package = "radiogx")), "was not found")
    expect_error(runRadiogx(file.path(tempdir(), "none.toml"), executable = "x"), "must be a TOML file")
})

test_that("radiogxPredict checks its input before calling radiogx", {
    expect_error(radiogxPredict(file.path(tempdir(), "none.pt"), matrix(1)), "path of a saved radiogx model")
    f <- tempfile(fileext = ".pt")
    writeLines("x", f)
    expect_error(radiogxPredict(f, matrix(1, 2, 2), executable = "x"), "numeric genes x patients matrix with row")
})
