#' Gene-set enrichment of an attribution in a radiogx export
#'
#' Ranks genes by one attribution (cohort mean per trait and class, in \code{rowData(se)}, as
#' \code{rg.tl.saliency} wrote it) and tests gene sets: \code{method = "fgsea"} runs pre-ranked GSEA with
#' \code{fgsea::fgseaMultilevel} (Korotkevich et al. 2021), \code{"camera"} runs \code{limma::cameraPR}, a
#' competitive test that allows for inter-gene correlation (Wu and Smyth 2012); \code{"auto"} takes fgsea when it is
#' installed, else camera.
#'
#' @param se A radiogx export (\code{\link{readRadiogx}}).
#' @param geneSets A named list of gene vectors (\code{\link{readGmt}}) or a \code{GSEABase::GeneSetCollection}.
#' @param attribution The \code{rowData(se)} column to rank; default: the one of \code{key}, \code{trait} and
#'   \code{target} (each may be left out when only one attribution matches), looked up in the export's
#'   \code{attributions} table (\code{radiogxTable(se, "attributions")}).
#' @param key,trait,target The saliency result (its \code{key_added} in Python), trait and class whose attribution is
#'   ranked (a binary trait's target is its positive class).
#' @param method \code{"auto"}, \code{"fgsea"} or \code{"camera"}.
#' @param minSize,maxSize Bounds on the number of a set's genes among the ranked genes.
#' @return A \code{data.frame}, most significant first: \code{gene_set}, \code{size}, \code{direction}
#'   (\code{"Up"}: the set's genes rank high), \code{score} (fgsea's NES; camera has none: \code{NA}), \code{pval},
#'   \code{padj} (Benjamini-Hochberg) and, as attributes, the \code{method} and the \code{attribution} ranked.
#' @examples
#' se <- readRadiogx(system.file("extdata", "radiogx_small.rds", package = "radiogx"))
#' sets <- readGmt(system.file("extdata", "verhaak_signatures.gmt", package = "radiogx"))
#' radiogxEnrich(se, sets, trait = "subtype", target = "Proneural", method = "camera")
#' @export
radiogxEnrich <- function(se, geneSets, attribution = NULL, key = "saliency", trait = NULL, target = NULL,
                          method = c("auto", "fgsea", "camera"), minSize = 5L, maxSize = 500L) {
    method <- match.arg(method)
    .checkExport(se)
    rd <- SummarizedExperiment::rowData(se)
    attribution <- .attribution(se, attribution, key, trait, target)
    if (methods::is(geneSets, "GeneSetCollection")) geneSets <- GSEABase::geneIds(geneSets)
    if (!is.list(geneSets) || is.null(names(geneSets))) {
        stop("'geneSets' must be a named list of genes or a GSEABase GeneSetCollection", call. = FALSE)
    }
    if (method == "auto") method <- if (requireNamespace("fgsea", quietly = TRUE)) "fgsea" else "camera"
    needed <- c(fgsea = "fgsea (Bioconductor)", camera = "limma (Debian: r-bioc-limma)")[[method]]
    if (!requireNamespace(if (method == "fgsea") "fgsea" else "limma", quietly = TRUE)) {
        stop(sprintf("method = '%s' needs the package %s", method, needed), call. = FALSE)
    }
    stat <- rd[[attribution]]
    names(stat) <- rownames(se)
    stat <- stat[is.finite(stat) & stat != 0]
    sizes <- vapply(geneSets, function(g) sum(unique(g) %in% names(stat)), integer(1))
    keep <- geneSets[sizes >= minSize & sizes <= maxSize]
    if (!length(keep)) {
        stop(sprintf("no gene set has between %d and %d genes among the %d ranked genes of '%s' (e.g. %s)", minSize,
                     maxSize, length(stat), attribution, paste(utils::head(names(stat), 3), collapse = ", ")),
             call. = FALSE)
    }
    if (method == "fgsea") {
        res <- as.data.frame(fgsea::fgseaMultilevel(keep, stat, minSize = minSize, maxSize = maxSize))
        out <- data.frame(gene_set = res$pathway, size = res$size, direction = ifelse(res$NES > 0, "Up", "Down"),
                          score = res$NES, pval = res$pval, padj = stats::p.adjust(res$pval, "BH"))
    } else {
        res <- limma::cameraPR(stat, limma::ids2indices(keep, names(stat), remove.empty = TRUE), sort = FALSE)
        out <- data.frame(gene_set = rownames(res), size = res$NGenes, direction = as.character(res$Direction),
                          score = NA_real_, pval = res$PValue, padj = stats::p.adjust(res$PValue, "BH"))
    }
    out <- out[order(out$pval, out$gene_set), , drop = FALSE]
    rownames(out) <- NULL
    structure(out, method = method, attribution = attribution)
}

#' Competitive gene-set test of attributions with limma's cameraPR (deprecated)
#'
#' Use \code{radiogxEnrich(se, geneSets, attribution = trait, method = "camera")}.
#'
#' @param se A radiogx export.
#' @param trait Name of the attribution column in \code{rowData(se)}.
#' @param gene_sets A named list of gene vectors.
#' @param min_size Smallest number of a set's genes present.
#' @return The \code{data.frame} of \code{\link{radiogxEnrich}}.
#' @examples
#' se <- readRadiogx(system.file("extdata", "radiogx_small.rds", package = "radiogx"))
#' sets <- readGmt(system.file("extdata", "verhaak_signatures.gmt", package = "radiogx"))
#' suppressWarnings(radiogxCamera(se, "saliency_subtype_Proneural", sets))
#' @export
radiogxCamera <- function(se, trait, gene_sets, min_size = 5L) {
    .Deprecated("radiogxEnrich", package = "radiogx")
    radiogxEnrich(se, gene_sets, attribution = trait, method = "camera", minSize = min_size)
}

.attribution <- function(se, attribution, key, trait, target) {
    columns <- colnames(SummarizedExperiment::rowData(se))
    if (!is.null(attribution)) {
        if (!is.character(attribution) || length(attribution) != 1L || !attribution %in% columns) {
            stop(sprintf("no attribution '%s' in rowData(se); columns: %s", paste(attribution, collapse = ", "),
                         paste(columns, collapse = ", ")), call. = FALSE)
        }
        return(attribution)
    }
    index <- .attributionIndex(se)
    if (is.null(index)) return(.attributionByName(columns, key, trait, target))  # exports made before the table
    keep <- index$key == key
    if (!is.null(trait)) keep <- keep & index$trait %in% trait
    if (!is.null(target)) keep <- keep & index$target %in% target
    found <- index[keep, , drop = FALSE]
    if (nrow(found) != 1L) {
        .noSingleAttribution("attributions", nrow(found), key, trait, target,
                             sprintf("%s/%s/%s", index$key, index$trait, index$target))
    }
    found$column
}

# The error of an attribution lookup that matched none or several (`candidates`: what the user may pick from).
.noSingleAttribution <- function(what, n, key, trait, target, candidates) {
    stop(sprintf("%s %s match key = '%s'%s%s: %s; pass trait, target or attribution", if (n) n else "no", what, key,
                 if (is.null(trait)) "" else sprintf(", trait = '%s'", trait),
                 if (is.null(target)) "" else sprintf(", target = '%s'", target),
                 paste(candidates, collapse = ", ")), call. = FALSE)
}

# The export's attribution index (key, method, trait, target, layer, column), from its "attributions" tables.
.attributionIndex <- function(se) {
    tables <- S4Vectors::metadata(se)$tables
    which <- grep("^attributions(\\.|$)", names(tables), value = TRUE)  # an export with no tables has no names
    if (!length(which)) return(NULL)
    out <- do.call(rbind, lapply(tables[which], as.data.frame))
    out[] <- lapply(out, as.character)
    out
}

# Exports written before the index: the column <key>_<trait>_<target>, found by its name.
.attributionByName <- function(columns, key, trait, target) {
    prefix <- paste(c(key, trait), collapse = "_")
    found <- columns[startsWith(columns, paste0(prefix, "_")) | columns == prefix]
    if (!is.null(target)) found <- found[endsWith(found, paste0("_", target))]
    if (length(found) != 1L) {
        .noSingleAttribution("attribution columns", length(found), key, trait, target,
                             if (length(found)) found else columns)
    }
    found
}

#' Cox model and Kaplan-Meier estimates of a feature in a radiogx export
#'
#' @param se A radiogx export (\code{\link{readRadiogx}}).
#' @param feature A column of \code{colData(se)} (a trait, subtype or radiogenomic association).
#' @param duration,event Columns with the time to event and the event indicator (1 = event).
#' @param covariates Adjustment columns of the Cox model.
#' @return A list of class \code{radiogxSurvival}: \code{cox} (a \code{data.frame}: \code{term}, \code{coef},
#'   \code{hazard_ratio}, \code{ci_lower}, \code{ci_upper}, \code{pval}), \code{fit} (the \code{survival::coxph}
#'   fit), \code{km} (\code{survival::survfit} by the feature's groups), \code{data} and \code{feature}.
#' @examples
#' se <- readRadiogx(system.file("extdata", "radiogx_small.rds", package = "radiogx"))
#' surv <- radiogxSurvival(se, "gcimp", covariates = "age")
#' surv$cox
#' @export
radiogxSurvival <- function(se, feature, duration = "os_days", event = "os_event", covariates = c("age", "gender")) {
    .checkExport(se)
    cd <- as.data.frame(SummarizedExperiment::colData(se))
    needed <- c(duration, event, feature, covariates)
    missing <- setdiff(needed, colnames(cd))
    if (length(missing)) {
        stop(sprintf("colData(se) lacks %s", paste(missing, collapse = ", ")), call. = FALSE)
    }
    d <- stats::na.omit(cd[, needed, drop = FALSE])
    d$.time <- as.numeric(d[[duration]])
    d$.event <- as.integer(d[[event]])
    if (any(d$.time < 0)) stop(sprintf("'%s' has negative values", duration), call. = FALSE)
    if (!all(d$.event %in% c(0L, 1L))) stop(sprintf("'%s' must be coded 0/1", event), call. = FALSE)
    rhs <- paste(sprintf("`%s`", c(feature, covariates)), collapse = " + ")
    fit <- survival::coxph(stats::as.formula(paste("survival::Surv(.time, .event) ~", rhs)), data = d, ties = "efron")
    s <- summary(fit)
    cox <- data.frame(term = rownames(s$coefficients), coef = s$coefficients[, "coef"],
                      hazard_ratio = s$coefficients[, "exp(coef)"], ci_lower = s$conf.int[, "lower .95"],
                      ci_upper = s$conf.int[, "upper .95"], pval = s$coefficients[, "Pr(>|z|)"], row.names = NULL)
    km <- survival::survfit(stats::as.formula(sprintf("survival::Surv(.time, .event) ~ `%s`", feature)), data = d)
    structure(list(cox = cox, fit = fit, km = km, data = d, feature = feature), class = "radiogxSurvival")
}

#' Kaplan-Meier plot with numbers at risk
#'
#' @param x A \code{radiogxSurvival} result.
#' @param times Times at which to show the numbers at risk; default 5 evenly spaced.
#' @param ... Passed to \code{plot.survfit}.
#' @return \code{x}, invisibly.
#' @examples
#' se <- readRadiogx(system.file("extdata", "radiogx_small.rds", package = "radiogx"))
#' plotRadiogxKM(radiogxSurvival(se, "subtype", covariates = "age"))
#' @export
plotRadiogxKM <- function(x, times = NULL, ...) {
    if (!inherits(x, "radiogxSurvival")) stop("'x' must come from radiogxSurvival()", call. = FALSE)
    km <- x$km
    times <- if (is.null(times)) pretty(c(0, max(km$time)), 5) else times
    cols <- seq_along(km$strata)
    oldpar <- graphics::par(mar = c(4 + length(cols) + 1, 4, 2, 1))
    on.exit(graphics::par(oldpar))
    graphics::plot(km, col = cols, xlab = "time", ylab = "survival probability", mark.time = TRUE, ...)
    graphics::legend("topright", legend = names(km$strata), col = cols, lty = 1, bty = "n", cex = 0.8)
    risk <- summary(km, times = times, extend = TRUE)
    strata <- as.character(risk$strata)
    for (i in seq_along(km$strata)) {
        n <- risk$n.risk[strata == names(km$strata)[i]]
        graphics::mtext(n, side = 1, line = 3 + i, at = times, col = cols[i], cex = 0.7)
    }
    graphics::mtext("at risk", side = 1, line = 3, at = min(times), adj = 1.2, cex = 0.7)
    invisible(x)
}

.checkExport <- function(se) {
    if (!methods::is(se, "SummarizedExperiment") || is.null(S4Vectors::metadata(se)$radiogx_version)) {
        stop("'se' is not a radiogx export; read one with readRadiogx()", call. = FALSE)
    }
    invisible(TRUE)
}
