# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PGSTAMP := $(VENV)/.installed-postgres
BENCHSTAMP := $(VENV)/.installed-bench

.PHONY: demo test lint typecheck pytest bench docs-check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

$(BENCHSTAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,bench]'
	touch $(BENCHSTAMP)

$(PGSTAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,postgres,channels,examples]'
	touch $(PGSTAMP)

## demo: run the bundled example scenario end to end
demo: $(STAMP)
	$(BIN)/recoverykit simulate examples/demo/scenario.json --prices examples/demo/prices.json

## test: lint, format check, strict typing, the layers contract (lint-imports) and
## the whole test suite, the PostgreSQL
## store included: a throw-away server is started on loopback and always stopped.
test: $(PGSTAMP)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples
	$(BIN)/mypy
	$(BIN)/lint-imports
	@pgdir=$$(mktemp -d /tmp/recoverykit-pg.XXXXXX); \
	trap 'scripts/pg-test-server-stop.sh "$$pgdir"' EXIT; \
	started=$$(date +%s); \
	conninfo=$$(scripts/pg-test-server.sh "$$pgdir") || exit 1; \
	echo "PostgreSQL test server up in $$(( $$(date +%s) - started ))s: $$conninfo"; \
	RECOVERYKIT_TEST_PG="$$conninfo" $(BIN)/python -m pytest -q

## bench: print performance figures in CPU time, each beside its floor (never fails on time)
bench: $(BENCHSTAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis build dist
