#' Read a radiogx export
#'
#' Reads the \code{.rds} file written in Python by \code{radiogx.io.write_r(adata, path)}: a
#' \code{SummarizedExperiment} with the assay \code{expression} (genes x patients), per-patient attributions as further
#' assays, \code{colData} = the AnnData's \code{obs} (traits, clinical data, radiogenomic associations),
#' \code{rowData} = its \code{var} (attributions per trait), and the result tables in \code{metadata(se)$tables}.
#'
#' @param path Path to the \code{.rds} file.
#' @return The \code{SummarizedExperiment}.
#' @examples
#' # a small real export: 173 TCGA-GBM patients x 80 genes, the subtype network and its baselines, gene masking,
#' # saliency, enrichment and survival (made by radiogx run on inst/extdata/demo_small.toml)
#' se <- readRadiogx(system.file("extdata", "radiogx_small.rds", package = "radiogx"))
#' se
#' @export
readRadiogx <- function(path) {
    if (!is.character(path) || length(path) != 1L || is.na(path)) {
        stop("'path' must be a single file path", call. = FALSE)
    }
    if (!file.exists(path)) stop(sprintf("no file at '%s'", path), call. = FALSE)
    se <- tryCatch(readRDS(path), error = function(e) {
        stop(sprintf("'%s' is not an .rds file: %s", path, conditionMessage(e)), call. = FALSE)
    })
    if (!methods::is(se, "SummarizedExperiment") || is.null(S4Vectors::metadata(se)$radiogx_version)) {
        stop(sprintf("'%s' is not a radiogx export (write one in Python with radiogx.io.write_r(adata, path))", path),
             call. = FALSE)
    }
    se
}

#' A radiogx result table
#'
#' @param se A \code{SummarizedExperiment} from \code{\link{readRadiogx}}.
#' @param which Name of the table: \code{"cv"}, \code{"compare"}, \code{"bootstrap"}, \code{"masking"},
#'   \code{"enrichment.<key>"}, \code{"saliency"}, \code{"associations"}, \code{"survival"}, ... (\code{.<key>} added
#'   for results not under their tool's default key; a kind's name alone reads its only table, as
#'   \code{"masking"} for \code{"masking.masking_hallmark"} of \code{radiogx run}); \code{radiogxResults(se)} lists
#'   those present.
#' @return A \code{data.frame} (the same rows and columns as \code{rg.get.*_df} in Python), with the parameters that
#'   made it (JSON text) in its \code{"params"} attribute; or, without \code{which}, the names of the tables.
#' @examples
#' se <- readRadiogx(system.file("extdata", "radiogx_small.rds", package = "radiogx"))
#' radiogxResults(se)
#' radiogxResults(se, "compare")[, c("trait", "model", "roc_auc")]
#' @export
radiogxResults <- function(se, which) {
    if (!methods::is(se, "SummarizedExperiment") || is.null(S4Vectors::metadata(se)$radiogx_version)) {
        stop("'se' is not a radiogx export; read one with readRadiogx()", call. = FALSE)
    }
    tables <- S4Vectors::metadata(se)$tables
    if (missing(which)) return(names(tables))
    if (!is.character(which) || length(which) != 1L) stop("'which' must be one table name", call. = FALSE)
    if (!which %in% names(tables)) {
        same <- names(tables)[startsWith(names(tables), paste0(which, "."))]
        if (length(same) == 1L) {
            which <- same
        } else if (length(same) > 1L) {
            stop(sprintf("%d '%s' tables in this radiogx export: %s; name one", length(same), which,
                         paste(same, collapse = ", ")), call. = FALSE)
        } else {
            stop(sprintf("no table '%s' in this radiogx export; it has: %s", which,
                         if (length(tables)) paste(names(tables), collapse = ", ") else "none"), call. = FALSE)
        }
    }
    out <- as.data.frame(tables[[which]])
    attr(out, "params") <- S4Vectors::metadata(se)$params[[which]]
    out
}
