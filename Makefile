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
MONTHS ?= 48
SEED ?= 11
AS_OF ?= 2025-12-31
RAW := data/raw/city
FEAT := data/processed/features
OUT := data/processed
MODEL := sme_pd
BASELINE_PERIOD ?= 2022-01-01:2023-12-31
CURRENT_PERIOD ?= 2024-01-01:2025-12-31

.PHONY: venv demo pipeline test test-fast browser clean-demo

venv: $(STAMP)

$(STAMP): pyproject.toml $(CONSTRAINTS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c $(CONSTRAINTS) -e ".[dev,tune,pipeline,spark]"
	@touch $(STAMP)

# headless Chromium (Debian's package) for the report browser test
browser:
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qiE "wqy|noto.*cjk"; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null) \
	      || echo "warning: could not install chromium; the browser test will be skipped"; \
	  else echo "note: install Debian's 'chromium' and 'fonts-wqy-zenhei' packages to run the browser test"; fi; fi

demo: $(STAMP)
	$(BIN)/smecredit key init --if-missing
	$(BIN)/smecredit simulate --enterprises $(N) --months $(MONTHS) --seed $(SEED) --out $(RAW)
	$(BIN)/smecredit validate --raw $(RAW)
	$(BIN)/smecredit features --raw $(RAW) --out $(FEAT) --every 6M --horizon 12
	$(BIN)/smecredit train --data $(FEAT) --target bad --kind scorecard --no-compare --out models/demo_scorecard --register $(MODEL)_scorecard --developer demo-developer
	$(BIN)/smecredit train --data $(FEAT) --target bad --kind gbm --out models/demo_gbm --register $(MODEL) --developer demo-developer
	$(BIN)/smecredit score --model models:/$(MODEL)@challenger --input $(FEAT)/features.parquet --output $(OUT)/scores.parquet
	$(BIN)/smecredit report --model models:/$(MODEL)@challenger --data $(FEAT) --compare models/demo_scorecard --out reports/governance_report.html --stress-raw $(RAW) --stress-as-of $(AS_OF) --stress-macro 3000
	$(BIN)/smecredit promote --name $(MODEL) --alias champion --decision approve-with-conditions \
	  --reviewer demo-validator --note "Demo review of the governance report" --findings config/demo_findings.yaml \
	  --revalidation-date $$($(BIN)/python -c "import datetime as d; print(d.date.today() + d.timedelta(days=365))") \
	  --version $$($(BIN)/python -c "import mlflow; print(mlflow.MlflowClient().get_model_version_by_alias('$(MODEL)', 'challenger').version)")
	$(BIN)/smecredit decide loan --model models:/$(MODEL)@champion --raw $(RAW) --applications $(RAW)/loan_applications.parquet --as-of $(AS_OF) --out $(OUT)/loan_decisions.parquet --audit $(OUT)/audit
	$(BIN)/smecredit decide renewal --model models:/$(MODEL)@champion --raw $(RAW) --as-of $(AS_OF) --out $(OUT)/renewal_decisions.parquet --audit $(OUT)/audit
	$(BIN)/smecredit portfolio --decisions $(OUT)/renewal_decisions.parquet --decisions $(OUT)/loan_decisions.parquet --policy config/default_policy.yaml --out $(OUT)/portfolio_el.csv
	$(BIN)/smecredit monitor --model models:/$(MODEL)@champion --baseline $(FEAT) --baseline-period $(BASELINE_PERIOD) \
	  --current $(FEAT) --current-period $(CURRENT_PERIOD) --out reports/monitor.html
	@# the monthly job (features as of AS_OF for every enterprise → scores); a fresh folder, as the model was retrained
	rm -rf $(OUT)/monthly_job
	$(BIN)/smecredit run-batch --model models:/$(MODEL)@champion --raw $(RAW) --as-of $(AS_OF) --out $(OUT)/monthly_job
	$(BIN)/smecredit run-batch --model models:/$(MODEL)@champion --raw $(RAW) --as-of $(AS_OF) --out $(OUT)/monthly_job
	@echo
	@echo "Done. Governance report reviewed for the promoted champion ($(MODEL)@champion): reports/governance_report.html"
	@echo "Monthly job: $(OUT)/monthly_job (scores/, manifest.json; the second run above did nothing: already complete)"
	@echo "Decisions: $(OUT)/loan_decisions.parquet, $(OUT)/renewal_decisions.parquet; expected loss: $(OUT)/portfolio_el.csv"
	@echo "Monitoring of the champion (development window vs later snapshots): reports/monitor.html"
	@echo "MLflow runs and registry: $(BIN)/mlflow ui --backend-store-uri sqlite:///mlflow.db"

# the same pipeline under DVC (params.yaml, dvc.yaml): reruns only the stages whose inputs changed
pipeline: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/dvc repro
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/dvc metrics show

test: $(STAMP) browser
	$(BIN)/python -m pytest -q tests notebooks --nbmake --nbmake-timeout=600

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow and not integration"

clean-demo:
	rm -rf $(RAW) $(FEAT) $(OUT)/*.parquet $(OUT)/*.csv $(OUT)/audit $(OUT)/monthly_job models/demo_* reports/ metrics/ plots/ mlflow.db mlruns/ mlartifacts/
