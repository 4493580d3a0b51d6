# smecredit — `make demo` and `make test` set up .venv on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CONSTRAINTS := requirements/constraints-linux-py311.txt
export MLFLOW_TRACKING_URI ?= sqlite:///mlflow.db
export DVC_NO_ANALYTICS := 1

# demo parameters (override: make demo N=5000)
N ?= 20000
MONTHS ?= 36
SEED ?= 11
RAW := data/raw/city
FEAT := data/processed/features

.PHONY: venv demo test test-fast browser clean-demo

venv: $(STAMP)

$(STAMP): pyproject.toml $(CONSTRAINTS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c $(CONSTRAINTS) -e ".[dev,tune]"
	@touch $(STAMP)

# headless Chromium (Debian's package) for the report browser test
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "warning: could not install chromium; the browser test will be skipped"; \
	  else echo "note: install Debian's 'chromium' package to run the browser test"; fi; }

demo: $(STAMP)
	$(BIN)/smecredit simulate --enterprises $(N) --months $(MONTHS) --seed $(SEED) --out $(RAW)
	$(BIN)/smecredit validate --raw $(RAW)

test: $(STAMP) browser
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow and not integration"

clean-demo:
	rm -rf $(RAW) $(FEAT) models/demo* reports/ mlflow.db mlruns/ mlartifacts/
