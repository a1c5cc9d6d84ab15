#' Read a GMT gene-set file
#'
#' Reads a GMT file (Broad/MSigDB format, optionally gzipped) into a named list of gene vectors, or a
#' \code{GSEABase::GeneSetCollection}, with the same rules as the Python reader \code{radiogx.io.read_gmt}: blank
#' lines are skipped, a gene repeated within a set is kept once, and a set without genes or a set name used twice is
#' an error naming the line. (\code{GSEABase::getGmt} stops with an empty message at a blank line, which hand-edited
#' and concatenated GMT files often hold; hence this reader.)
#'
#' @param path Path to a \code{.gmt} or \code{.gmt.gz} file.
#' @param as \code{"list"} or \code{"GeneSetCollection"} (needs GSEABase).
#' @return A named list: set name to a character vector of gene symbols, in file order; or the
#'   \code{GeneSetCollection} of those sets.
#' @examples
#' sets <- readGmt(system.file("extdata", "verhaak_signatures.gmt", package = "radiogx"))
#' lengths(sets)
#' @export
readGmt <- function(path, as = c("list", "GeneSetCollection")) {
    as <- match.arg(as)
    if (!is.character(path) || length(path) != 1L || is.na(path)) {
        stop("'path' must be a single file path", call. = FALSE)
    }
    if (!file.exists(path)) stop(sprintf("no GMT file at '%s'", path), call. = FALSE)
    con <- if (grepl("\\.gz$", path)) gzfile(path, "rt") else file(path, "rt")
    on.exit(close(con))
    lines <- readLines(con, warn = FALSE)
    keep <- nzchar(trimws(lines))
    lineno <- which(keep)
    lines <- sub("\r$", "", lines[keep])
    if (!length(lines)) stop(sprintf("'%s' holds no gene set", path), call. = FALSE)
    fields <- strsplit(lines, "\t", fixed = TRUE)
    set_names <- trimws(vapply(fields, function(f) f[1L], character(1)))
    sets <- lapply(fields, function(f) {
        genes <- trimws(f[-(1:2)])
        unique(genes[nzchar(genes) & !is.na(genes)])
    })
    empty <- which(lengths(sets) == 0L)
    if (length(empty)) {
        stop(sprintf("'%s', line %d: gene set '%s' lists no genes", path, lineno[empty[1L]], set_names[empty[1L]]),
             call. = FALSE)
    }
    dup <- which(duplicated(set_names))
    if (length(dup)) {
        stop(sprintf("'%s', line %d: gene set '%s' appears twice", path, lineno[dup[1L]], set_names[dup[1L]]),
             call. = FALSE)
    }
    names(sets) <- set_names
    if (as == "list") return(sets)
    if (!requireNamespace("GSEABase", quietly = TRUE)) {
        stop("as = 'GeneSetCollection' needs the Bioconductor package GSEABase (Debian: r-bioc-gseabase)", call. = FALSE)
    }
    GSEABase::GeneSetCollection(mapply(function(genes, name) GSEABase::GeneSet(genes, setName = name), sets,
                                       set_names, SIMPLIFY = FALSE, USE.NAMES = FALSE))
}
