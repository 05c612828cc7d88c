# Two commands do all set-up on a fresh machine:
#   make run    run the drift DAG once on the bundled data and print the results
#   make test   lint and run the whole test suite
PYTHON ?= python3.11
VENV := .venv

.PHONY: run test lint clean

$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet -c constraints.txt -r requirements-dev.txt
	$(VENV)/bin/pip install --quiet --no-deps -e .
	touch $@

run: $(VENV)/.installed
	scripts/run_dag.sh

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: lint
	$(VENV)/bin/python -m pytest

clean:
	rm -rf $(VENV) .airflow .pytest_cache .ruff_cache
