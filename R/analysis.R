#' Competitive gene-set test of attributions with limma's cameraPR
#'
#' A Bioconductor follow-up of radiogx's enrichment: \code{limma::cameraPR} tests whether a set's genes rank higher
#' (or lower) in an attribution than the other genes, allowing for their correlation (Wu and Smyth 2012).
#'
#' @param se A radiogx export (\code{\link{readRadiogx}}).
#' @param trait Name of the attribution column in \code{rowData(se)} (e.g. \code{"saliency_subtype_Proneural"}).
#' @param gene_sets A named list of gene vectors (e.g. from \code{\link{readGmt}}).
#' @param min_size Smallest number of a set's genes present.
#' @return The \code{data.frame} of \code{cameraPR} (\code{NGenes}, \code{Direction}, \code{PValue}, \code{FDR}),
#'   rows named by gene set, most significant first.
#' @export
radiogxCamera <- function(se, trait, gene_sets, min_size = 5L) {
    if (!requireNamespace("limma", quietly = TRUE)) {
        stop("radiogxCamera needs the Bioconductor package limma (Debian: r-bioc-limma)", call. = FALSE)
    }
    .checkExport(se)
    rd <- SummarizedExperiment::rowData(se)
    if (!is.character(trait) || length(trait) != 1L || !trait %in% colnames(rd)) {
        stop(sprintf("no attribution '%s' in rowData(se); columns: %s", trait, paste(colnames(rd), collapse = ", ")),
             call. = FALSE)
    }
    if (!is.list(gene_sets) || is.null(names(gene_sets))) stop("'gene_sets' must be a named list of genes", call. = FALSE)
    stat <- rd[[trait]]
    names(stat) <- rownames(se)
    stat <- stat[!is.na(stat)]
    index <- limma::ids2indices(gene_sets, names(stat), remove.empty = TRUE)
    index <- index[lengths(index) >= min_size]
    if (!length(index)) {
        stop(sprintf("no gene set has %d genes among the %d genes of '%s' (e.g. %s)", min_size, length(stat), trait,
                     paste(utils::head(names(stat), 3), collapse = ", ")), call. = FALSE)
    }
    limma::cameraPR(stat, index)
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
