#' Read a radiogx export
#'
#' Reads the \code{.rds} file written in Python by \code{radiogx.io.write_r(adata, path)}: a
#' \code{SummarizedExperiment} with the assay \code{expression} (genes x patients), per-patient attributions as further
#' assays, \code{colData} = the AnnData's \code{obs} (traits, clinical data, radiogenomic associations),
#' \code{rowData} = its \code{var} (attributions per trait), and the result tables in \code{metadata(se)$tables}.
#' A large export (Python's \code{assays = "hdf5"}, the default beyond 2^25 values) keeps its assays in
#' \code{<name>_assays.h5} beside the \code{.rds}; they are then \code{HDF5Array} matrices read on demand
#' (Bioconductor's HDF5Array package), and the two files must stay together.
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
    h5 <- S4Vectors::metadata(se)$assays_h5
    if (!is.null(h5)) se <- .attachAssaysH5(se, path, h5)
    se
}

# The assays of an export written with assays = "hdf5": HDF5Array matrices on the file beside the .rds (wherever the
# two files were moved together), checked to be the file written with it.
.attachAssaysH5 <- function(se, path, h5) {
    file <- file.path(dirname(path), h5$file)
    if (!file.exists(file)) {
        stop(sprintf("'%s' keeps its assays in '%s', which is not beside it; keep the two files together",
                     path, h5$file), call. = FALSE)
    }
    if (!requireNamespace("HDF5Array", quietly = TRUE)) {
        stop(sprintf("'%s' keeps its assays in HDF5 ('%s'): install the Bioconductor package HDF5Array ",
                     path, h5$file), "(Debian: r-bioc-hdf5array)", call. = FALSE)
    }
    id <- rhdf5::h5readAttributes(file, "/")$export_id
    if (!identical(as.character(id), as.character(h5$id))) {
        stop(sprintf("'%s' was not written with '%s' (another export's assays); write the export again",
                     h5$file, basename(path)), call. = FALSE)
    }
    for (i in seq_along(h5$datasets)) {
        a <- HDF5Array::HDF5Array(file, h5$datasets[[i]])
        dimnames(a) <- dimnames(se)
        SummarizedExperiment::assay(se, i, withDimnames = FALSE) <- a
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
