# Every target bootstraps .venv on first use, so a fresh clone needs only Python 3.11.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test unit bench bench-server lint typecheck differential test-spark clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The demo also logs 3,000 synthetic gateway decisions to .demo-data/audit and writes
# .demo-data/candidate, the policies with two guardrail edits, for `govern audit replay`.
# Demo keys (examples/keys, demo only) sign each layer with its own team's key; rebuilding
# unchanged sources gives byte-identical bundles, so the committed bundles/ stays clean.
DEMO_LAYERS := global finance marketing people sales

demo: $(STAMP)
	$(BIN)/govern bundle build policies --out bundles \
		$(foreach l,$(DEMO_LAYERS),--signing-key $(l)=examples/keys/$(l).key)
	$(BIN)/govern bundle verify bundles --trust examples/keys/trust.yaml
	$(BIN)/govern demo policies
	$(BIN)/govern gateway --policies policies --demo-data --data .demo-data
	rm -rf .demo-data/audit .demo-data/candidate
	$(BIN)/govern audit simulate policies --out .demo-data/audit --count 3000
	$(BIN)/govern audit verify .demo-data/audit
	cp -r policies .demo-data/candidate
	sed -i -e 's/    "audit"\].contains/    "audit", "ml_training"].contains/' \
		-e 's/principal.clearance >= 3 };/principal.clearance >= 4 };/' \
		.demo-data/candidate/global/access/guardrails.cedar

# The gate CI runs (.ci/run): lint and import contracts, strict types, then the whole suite.
test: lint typecheck unit

unit: $(STAMP)
	$(BIN)/python -m pytest -q --benchmark-skip

bench: $(STAMP)
	mkdir -p .benchmarks
	$(BIN)/python -m pytest tests/benchmarks -q --benchmark-only \
		--benchmark-columns=min,median,mean,rounds --benchmark-sort=name \
		--benchmark-json=.benchmarks/latest.json $(BENCH_ARGS)
	$(BIN)/python -m tests.benchmarks.report .benchmarks/latest.json

# `govern serve` under load: wrk (Debian's package, installed here when missing) posts single
# evaluations and batches of 100 with decision logging on; prints requests/s, decisions/s, p50/p99.
bench-server: $(STAMP)
	command -v wrk >/dev/null || apt-get install -y wrk || (apt-get update && apt-get install -y wrk)
	$(BIN)/python -m tests.benchmarks.server_load $(BENCH_SERVER_ARGS)

# The PySpark job of `govern audit` in Spark local mode (needs Java 17; tests/spark is skipped
# by `make test`).
test-spark: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,spark]'
	$(BIN)/python -m pytest -q -m spark tests/spark

differential: $(STAMP)
	HYPOTHESIS_PROFILE=thorough $(BIN)/python -m pytest -q -m slow tests
	HYPOTHESIS_PROFILE=thorough $(BIN)/python -m pytest -q tests/test_differential.py

lint: $(STAMP)
	$(BIN)/ruff check governance tests cli.py
	$(BIN)/ruff format --check governance tests cli.py
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .benchmarks .hypothesis
