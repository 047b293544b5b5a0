# The two commands of the README: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test venv lint typecheck services bench clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

## Run the API on the embedded default (SQLite + SecantusDB + in-process cache + Mux emulator), seeded.
run: venv
	scripts/run.sh

## Run lint, type checks, migration and schema checks, and the whole test suite against real services.
test: venv
	scripts/test.sh

## Benchmarks (not part of the test suite): loopback load against gunicorn; writes docs/benchmarks.md.
bench: venv
	bench/run.sh

lint: venv
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy .

clean:
	rm -rf $(VENV) .venv-secantus var/*.sqlite3 var/mongo
