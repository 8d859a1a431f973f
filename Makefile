# Two commands: `make run` (set up, build the demo warehouse if missing, start the app)
# and `make test` (set up with test tools, lint, run every test).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
WAREHOUSE ?= $(or $(KPI_WAREHOUSE),data/warehouse.duckdb)
PORT ?= 8501

.PHONY: run test setup setup-dev warehouse lint bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.req: requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.req-dev: requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

setup: $(VENV)/.req
setup-dev: $(VENV)/.req-dev

# Loads the demo company into an empty warehouse; a warehouse that holds data is left as it is.
warehouse: setup
	$(PY) -m kpi_core --warehouse $(WAREHOUSE) init --demo

run: setup warehouse
	KPI_WAREHOUSE=$(WAREHOUSE) $(VENV)/bin/streamlit run app.py --server.port $(PORT)

lint: setup-dev
	$(VENV)/bin/ruff check .

test: setup-dev lint
	$(PY) -m pytest

bench: setup-dev
	$(PY) bench/import.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
