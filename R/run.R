#' The radiogx command-line program
#'
#' Finds the \code{radiogx} executable of the Python package: the option \code{radiogx.executable}, else the
#' environment variable \code{RADIOGX_EXECUTABLE}, else \code{radiogx} on the \code{PATH}.
#'
#' @param mustWork If \code{TRUE}, stop with installation instructions when no executable is found.
#' @return The path of the executable, or \code{""} when none is found and \code{mustWork = FALSE}.
#' @examples
#' radiogxExecutable(mustWork = FALSE)
#' @export
radiogxExecutable <- function(mustWork = TRUE) {
    candidates <- c(getOption("radiogx.executable", ""), Sys.getenv("RADIOGX_EXECUTABLE"), Sys.which("radiogx"))
    candidates <- candidates[nzchar(candidates)]
    found <- candidates[file.exists(candidates)]
    if (length(found)) return(normalizePath(found[1L]))
    if (mustWork) {
        stop("the radiogx program (Python) was not found. Install it (in its repository: `make test`, or ",
             "`pip install -e .` in a Python >= 3.11 environment) and put it on the PATH, or point to it with ",
             "options(radiogx.executable = \"/path/to/.venv/bin/radiogx\") or the environment variable ",
             "RADIOGX_EXECUTABLE", call. = FALSE)
    }
    ""
}

#' Run the radiogx pipeline from R
#'
#' Runs \code{radiogx run} (validated config, resumable steps, every output written atomically) on a TOML file or on
#' an R list written to TOML, streaming its progress and log to the console, and returns the run's
#' \code{SummarizedExperiment} (\code{\link{readRadiogx}}). A config that radiogx refuses fails with radiogx's own
#' message, which names the key, the value and what is allowed.
#'
#' @param config A \code{.toml} file, or a named list of sections (e.g. \code{list(input = list(dataset =
#'   "verhaak2010"), traits = list(names = I("subtype")), steps = list(train = list(hidden = I(64L))))}): a vector of
#'   length one is a TOML value, wrap it in \code{I()} for a one-element array; relative paths in a list are taken
#'   from the current folder.
#' @param out Output folder; default: the config's \code{[run] out} when it sets one (relative to the config file),
#'   else a new folder in \code{tempdir()}.
#' @param nJobs Parallel jobs (results do not depend on it); default: the config's.
#' @param quiet If \code{TRUE}, only warnings and errors are shown.
#' @param executable The radiogx program (\code{\link{radiogxExecutable}}).
#' @return The \code{SummarizedExperiment} of \code{<out>/results.rds}, with the output folder in
#'   \code{metadata(se)$radiogx_out}.
#' @examples
#' if (nzchar(radiogxExecutable(mustWork = FALSE))) {
#'     se <- runRadiogx(system.file("extdata", "demo_small.toml", package = "radiogx"), quiet = TRUE)
#'     radiogxResults(se, "compare")
#' }
#' @export
runRadiogx <- function(config, out = NULL, nJobs = NULL, quiet = FALSE, executable = radiogxExecutable()) {
    if (is.list(config)) {
        path <- tempfile("radiogx_", fileext = ".toml")
        writeLines(.toToml(config), path)
        config <- path
    }
    if (!is.character(config) || length(config) != 1L || !file.exists(config)) {
        stop("'config' must be a TOML file or a named list of sections", call. = FALSE)
    }
    if (is.null(out)) out <- .configuredOut(config)
    args <- c(if (quiet) "--quiet", "run", normalizePath(config), "--out", out,
              if (!is.null(nJobs)) c("--n-jobs", as.character(as.integer(nJobs))))
    .runProgram(executable, args, quiet = quiet)
    se <- readRadiogx(file.path(out, "results.rds"))
    S4Vectors::metadata(se)$radiogx_out <- normalizePath(out)
    se
}

#' Apply a saved radiogx model to new patients
#'
#' Runs \code{radiogx predict}: the model's genes are matched by symbol, genes the cohort lacks can be set to the
#' training mean (\code{missingGenes = "impute"}; the share of the network's first-layer weight on measured genes
#' must reach \code{minCoverage}), and \code{scale = "cohort"} standardises each gene within the new cohort (another
#' platform). Each patient also gets \code{ood}, its distance from the training data, and \code{fold_sd}, the
#' disagreement of the fold networks.
#'
#' @param model A model file saved by radiogx (\code{model.save(path)} in Python, or a \code{.pt} of a run).
#' @param x A \code{SummarizedExperiment} (its assay \code{assay}, genes x patients; known classes may be in
#'   \code{colData}) or a numeric matrix of genes x patients with gene symbols as row names.
#' @param assay The assay of \code{x} holding expression.
#' @param missingGenes \code{"error"}, \code{"impute"} (the training mean) or \code{"infer"} (from the measured
#'   genes, through the training cohort's gene structure).
#' @param scale \code{"training"}, \code{"cohort"} or \code{"reference"} (each gene standardised with
#'   \code{reference}, a cohort of the same platform; each patient is then predicted alone).
#' @param reference With \code{scale = "reference"}: a numeric genes x patients matrix of the platform's reference
#'   cohort, gene symbols as row names.
#' @param abstainBelow A call whose class probability is below this is marked \code{abstain} (\code{NULL}: radiogx's
#'   default, 0.6).
#' @param minCoverage Smallest share of the first-layer weight on measured genes.
#' @param truth A \code{colData} column of known classes to score against (default: the model's trait, if present).
#' @param out Folder for \code{predictions.tsv}, \code{predictions.h5ad} and \code{report.html}.
#' @param executable The radiogx program (\code{\link{radiogxExecutable}}).
#' @return For a \code{SummarizedExperiment}, \code{x} with the predictions added to \code{colData} (columns
#'   \code{predict_<trait>}, \code{predict_<trait>_p_<class>}, \code{predict_<trait>_ood},
#'   \code{predict_<trait>_abstain}); for a matrix, the
#'   \code{data.frame} of predictions (one row per patient). Either way the output folder is in its
#'   \code{"radiogx_out"} attribute (metadata for a \code{SummarizedExperiment}).
#' @examples
#' if (nzchar(radiogxExecutable(mustWork = FALSE))) {
#'     se <- readRadiogx(system.file("extdata", "radiogx_small.rds", package = "radiogx"))
#'     # a model of the subtype trained by runRadiogx() on the small cohort
#'     run <- runRadiogx(system.file("extdata", "demo_small.toml", package = "radiogx"), quiet = TRUE)
#'     model <- list.files(file.path(S4Vectors::metadata(run)$radiogx_out, ".radiogx"), "^train.*\\.pt$",
#'                         recursive = TRUE, full.names = TRUE)[1]
#'     pred <- radiogxPredict(model, se[, 1:20])
#'     table(pred$predict_subtype)
#' }
#' @export
radiogxPredict <- function(model, x, assay = "expression", missingGenes = c("error", "impute", "infer"),
                           scale = c("training", "cohort", "reference"), minCoverage = 0.8, truth = NULL,
                           reference = NULL, abstainBelow = NULL,
                           out = tempfile("radiogx_predict_"), executable = radiogxExecutable()) {
    missingGenes <- match.arg(missingGenes)
    scale <- match.arg(scale)
    if (!is.character(model) || length(model) != 1L || !file.exists(model)) {
        stop("'model' must be the path of a saved radiogx model", call. = FALSE)
    }
    isSe <- methods::is(x, "SummarizedExperiment")
    m <- if (isSe) SummarizedExperiment::assay(x, assay) else x
    if (!is.matrix(m) || !is.numeric(m) || is.null(rownames(m)) || is.null(colnames(m))) {
        stop("'x' must be a SummarizedExperiment or a numeric genes x patients matrix with row and column names",
             call. = FALSE)
    }
    if ((scale == "reference") != !is.null(reference)) {
        stop(paste("scale = \"reference\" needs 'reference' (a genes x patients matrix of the platform), and",
                   "'reference' needs scale = \"reference\""), call. = FALSE)
    }
    dir.create(out, showWarnings = FALSE, recursive = TRUE)
    expr <- file.path(out, "cohort.tsv")
    .writeExpression(m, expr)
    args <- c("--quiet", "predict", normalizePath(model), expr, "--out", out, "--orientation", "genes_x_samples",
              "--missing-genes", missingGenes, "--scale", scale, "--min-coverage", format(minCoverage))
    if (!is.null(reference)) {
        if (!is.matrix(reference) || !is.numeric(reference) || is.null(rownames(reference))) {
            stop("'reference' must be a numeric genes x patients matrix with gene symbols as row names", call. = FALSE)
        }
        ref <- file.path(out, "reference.tsv")
        .writeExpression(reference, ref)
        args <- c(args, "--reference", ref)
    }
    if (!is.null(abstainBelow)) args <- c(args, "--abstain-below", format(abstainBelow))
    if (isSe && ncol(SummarizedExperiment::colData(x))) {
        known <- as.data.frame(SummarizedExperiment::colData(x))
        keep <- vapply(known, function(col) is.character(col) || is.factor(col), logical(1))
        if (any(keep)) {
            obs <- file.path(out, "known.tsv")
            utils::write.table(data.frame(patient = colnames(x), known[, keep, drop = FALSE], check.names = FALSE),
                               obs, sep = "\t", quote = FALSE, row.names = FALSE)
            args <- c(args, "--obs", obs)
        }
    }
    if (!is.null(truth)) args <- c(args, "--truth", truth)
    .runProgram(executable, args, quiet = TRUE)
    pred <- utils::read.delim(file.path(out, "predictions.tsv"), check.names = FALSE, stringsAsFactors = FALSE)
    if (!isSe) {
        attr(pred, "radiogx_out") <- normalizePath(out)
        return(pred)
    }
    for (trait in unique(pred$trait)) {
        p <- pred[pred$trait == trait, , drop = FALSE]
        p <- p[match(colnames(x), p$patient), , drop = FALSE]
        classes <- setdiff(colnames(p), c("trait", "patient", "predicted", "ood", "outside", "fold_sd", "confidence",
                                          "abstain"))
        SummarizedExperiment::colData(x)[[paste0("predict_", trait)]] <- factor(p$predicted, levels = classes)
        for (cl in classes) SummarizedExperiment::colData(x)[[paste0("predict_", trait, "_p_", cl)]] <- p[[cl]]
        SummarizedExperiment::colData(x)[[paste0("predict_", trait, "_ood")]] <- p$ood
        SummarizedExperiment::colData(x)[[paste0("predict_", trait, "_abstain")]] <- as.logical(p$abstain)
    }
    S4Vectors::metadata(x)$radiogx_out <- normalizePath(out)
    x
}

.writeExpression <- function(m, path) {
    if (is.null(colnames(m))) colnames(m) <- paste0("patient_", seq_len(ncol(m)))
    utils::write.table(data.frame(gene = rownames(m), m, check.names = FALSE), path, sep = "\t", quote = FALSE,
                       row.names = FALSE)
}

.runProgram <- function(executable, args, quiet) {
    if (!nzchar(executable) || !file.exists(executable)) {
        stop(sprintf("no radiogx program at '%s' (radiogxExecutable() finds the installed one)", executable),
             call. = FALSE)
    }
    errors <- character()
    res <- processx::run(executable, args, error_on_status = FALSE, echo_cmd = FALSE, env = .childEnv(),
                         stdout_line_callback = function(line, proc) if (!quiet) message(line),
                         stderr_callback = function(chunk, proc) {
                             if (!quiet) message(sub("\n$", "", chunk), appendLF = TRUE)
                         })
    if (res$status != 0L) {
        lines <- strsplit(res$stderr, "\n", fixed = TRUE)[[1L]]
        refused <- grep("^radiogx: error: ", lines, value = TRUE)
        msg <- if (length(refused)) sub("^radiogx: error: ", "", refused[length(refused)]) else
            paste(utils::tail(lines[nzchar(lines)], 5L), collapse = "\n")
        stop("radiogx: ", msg, call. = FALSE)
    }
    invisible(res)
}

# R prepends its own library folders to LD_LIBRARY_PATH (R_HOME/etc/ldpaths), among them the system's, where a
# Python built elsewhere (pyenv, conda) would then load the system's libpython instead of its own. The child gets
# LD_LIBRARY_PATH without R's folders.
.childEnv <- function() {
    current <- Sys.getenv("LD_LIBRARY_PATH")
    ldpaths <- file.path(R.home("etc"), "ldpaths")
    added <- ""
    if (nzchar(current) && file.exists(ldpaths) && nzchar(Sys.which("sh"))) {
        script <- sprintf(paste("unset R_LD_LIBRARY_PATH R_JAVA_LD_LIBRARY_PATH LD_LIBRARY_PATH; R_HOME=%s;",
                                ". %s >/dev/null 2>&1; printf %%s \"$R_LD_LIBRARY_PATH\""),
                          shQuote(R.home()), shQuote(ldpaths))
        added <- tryCatch(paste(system2("sh", c("-c", shQuote(script)), stdout = TRUE), collapse = ""),
                          error = function(e) "", warning = function(w) "")
    }
    # R started from R (R CMD build, R CMD check) prepends them once per level: drop every entry R adds
    entries <- strsplit(current, ":", fixed = TRUE)[[1L]]
    original <- setdiff(entries[nzchar(entries)], strsplit(added, ":", fixed = TRUE)[[1L]])
    c("current", LD_LIBRARY_PATH = paste(original, collapse = ":"))
}

.configuredOut <- function(config) {
    if (requireNamespace("RcppTOML", quietly = TRUE)) {
        run <- tryCatch(RcppTOML::parseTOML(config)$run, error = function(e) NULL)
        if (!is.null(run$out)) {
            path <- run$out
            return(if (grepl("^(/|~|[A-Za-z]:)", path)) path else file.path(dirname(normalizePath(config)), path))
        }
    }
    tempfile("radiogx_run_")
}

.tomlValue <- function(v, where) {
    if (is.list(v)) stop(sprintf("%s: nested tables are written as sections, not as values", where), call. = FALSE)
    if (length(v) == 0L) return("[]")
    one <- function(x) {
        if (is.na(x)) stop(sprintf("%s: TOML has no missing value; leave the key out", where), call. = FALSE)
        if (is.logical(x)) return(if (x) "true" else "false")
        if (is.numeric(x)) return(if (x == round(x) && abs(x) < 1e15) format(x, scientific = FALSE) else
            format(x, digits = 15))
        sprintf("\"%s\"", gsub("\"", "\\\\\"", gsub("\\\\", "\\\\\\\\", as.character(x))))
    }
    if (length(v) == 1L && !inherits(v, "AsIs")) return(one(v))
    sprintf("[%s]", paste(vapply(unclass(v), one, character(1)), collapse = ", "))
}

.toToml <- function(config, prefix = NULL) {
    if (!is.list(config) || is.null(names(config)) || any(!nzchar(names(config)))) {
        stop("a config list must be a named list of sections", call. = FALSE)
    }
    lines <- character()
    plain <- names(config)[!vapply(config, is.list, logical(1))]
    for (key in plain) lines <- c(lines, sprintf("%s = %s", key, .tomlValue(config[[key]], key)))
    for (key in setdiff(names(config), plain)) {
        section <- if (is.null(prefix)) key else paste(prefix, key, sep = ".")
        body <- config[[key]]
        if (!is.null(names(body))) {
            lines <- c(lines, "", sprintf("[%s]", section), .toToml(body, section))
        } else {
            for (table in body) lines <- c(lines, "", sprintf("[[%s]]", section), .toToml(table, section))
        }
    }
    lines[!(lines == "" & c(TRUE, utils::head(lines, -1L) == ""))]
}
