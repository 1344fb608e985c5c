# The two entry points the README starts with. Both build .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo check lint typecheck test bench clean

$(BIN)/intake: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(BIN)/intake

## demo: a simulated patient-intake call, offline; transcript on stderr, payload on stdout
demo: $(BIN)/intake
	$(BIN)/intake simulate patient_intake examples/scenarios/patient_intake/full_intake.yaml --transcript

## check: the whole gate: lint, types, the test suite (scenarios included)
check: lint typecheck test

lint: $(BIN)/intake
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/intake
	$(BIN)/mypy

test: $(BIN)/intake
	$(BIN)/pytest -q

## bench: every benchmark; figures are recorded in the README (PostgreSQL as for the tests)
bench: $(BIN)/intake
	$(BIN)/python bench/simulate_flows.py
	$(BIN)/python bench/concurrent_calls.py
	$(BIN)/python bench/deliveries.py
	$(BIN)/python bench/api.py
	$(BIN)/python bench/cli_startup.py
	$(BIN)/python bench/robustness.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
