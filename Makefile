# radiogx: two commands do all the set-up on a fresh Debian machine with Python 3.11.
#   make demo   installs what is missing, then runs `radiogx demo` on the bundled real data
#   make test   installs what is missing, then runs the test suite (Python and R)
# Every step is idempotent: a second run installs nothing and only re-runs the job.

SHELL       := /bin/bash
PYTHON      ?= python3.11
VENV        := .venv
VPY         := $(VENV)/bin/python
TORCH_PIN   := torch==2.13.0
R_DEBS      := r-base-core r-base-dev r-cran-testthat r-cran-survival r-bioc-summarizedexperiment \
               r-bioc-singlecellexperiment r-bioc-limma r-cran-knitr r-cran-rmarkdown r-cran-processx \
               r-cran-roxygen2 r-bioc-gseabase r-bioc-biocstyle r-cran-rcpptoml r-bioc-hdf5array
BROWSER_DEBS := chromium
DEBS        := $(R_DEBS) $(BROWSER_DEBS)
SHARED_DATA := $(abspath ../shared/data)
export RADIOGX_DATASETDIR ?= $(if $(wildcard $(SHARED_DATA)),$(SHARED_DATA),)
export MPLBACKEND := Agg

RLIB        := .Rlib

.PHONY: demo test setup r-deps py-deps r-install r-test r-check clean-venv

demo: setup
	$(VENV)/bin/radiogx demo --out demo_output

# R's testthat suite and R CMD check first, so that pytest's summary closes the output; then the default pytest suite
# and its slow tier (long real-data validations and end-to-end runs: `pytest -m slow`).
test: setup
	$(MAKE) --no-print-directory r-test
	$(MAKE) --no-print-directory r-check
	$(VPY) -m pytest
	$(VPY) -m pytest -m slow

setup: r-deps py-deps

# Debian's R and the Bioconductor packages the R side and the rpy2 export need, and Debian's chromium,
# in which the test suite opens the HTML report. Re-checked whenever this Makefile changes.
r-deps: .make/r-deps.stamp
.make/r-deps.stamp: Makefile
	@mkdir -p .make
	@missing=$$(for p in $(DEBS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "install ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@touch $@

# The venv: torch pinned first (a plain `torch` requirement would pull several GB of CUDA packages), then radiogx.
py-deps: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	@test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip
	$(VPY) -m pip install -q "$(TORCH_PIN)"
	$(VPY) -m pip install -q -e ".[r,dask,dev]" "$(TORCH_PIN)"
	@touch $@

# The R package of this repository, installed into a library inside it, and its testthat suite.
r-install: r-deps
	@mkdir -p $(RLIB)
	R CMD INSTALL --no-multiarch --library=$(RLIB) . >/dev/null

r-test: r-install
	PATH=$(abspath $(VENV))/bin:$$PATH R_LIBS=$(abspath $(RLIB)) Rscript -e 'library(testthat); library(radiogx); res <- test_dir("tests/testthat", reporter = "summary", stop_on_failure = TRUE)'

# R CMD check of the R package; its examples and vignette run radiogx (the venv's program, on the PATH) on the small
# export in inst/extdata, and the vignette also reads the real-data export that `radiogx demo` writes (after
# `make demo`, every step of that run is reused from its stored result).
RCHECK := .make/rcheck
r-check: setup
	$(VENV)/bin/radiogx --quiet demo --out demo_output
	@rm -rf $(RCHECK) && mkdir -p $(RCHECK)
	cd $(RCHECK) && export RADIOGX_RDS=$(abspath demo_output/results.rds) PATH=$(abspath $(VENV))/bin:$$PATH && \
	  R CMD build --no-manual $(CURDIR) >build.log 2>&1 || { cat build.log; exit 1; } ; \
	  _R_CHECK_FORCE_SUGGESTS_=false R CMD check --no-manual radiogx_*.tar.gz >check.log 2>&1 ; status=$$? ; \
	  grep -E "^(\* checking.*(NOTE|WARNING|ERROR)|Status:)" check.log ; \
	  if [ $$status -ne 0 ] || grep -q "WARNING" radiogx.Rcheck/00check.log ; then cat check.log ; exit 1 ; fi

clean-venv:
	rm -rf $(VENV) .make $(RLIB)
