# Two commands: `make run` (set up, build the demo warehouse if missing, start the app)
# and `make test` (set up with test tools, lint, run every test).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
WAREHOUSE ?= $(or $(KPI_WAREHOUSE),data/warehouse.duckdb)
PORT ?= 8501

.PHONY: run serve test setup setup-dev browser fonts nginx warehouse lint bench clean

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
setup-dev: $(VENV)/.req-dev browser nginx

# Browser tests drive Debian's Chromium (with CJK fonts for the Chinese UI). Installed when we
# are root with apt; otherwise those tests skip with a reason (and fail under CI=true).
CHROMIUM ?= /usr/bin/chromium
browser:
	@if [ -x $(CHROMIUM) ] && fc-list 2>/dev/null | grep -qi "noto sans cjk"; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get install -y -q --no-install-recommends chromium fonts-noto-cjk >/dev/null 2>&1 || \
		 (apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends chromium fonts-noto-cjk \
		  >/dev/null)) && echo "installed chromium and fonts-noto-cjk"; \
	else echo "chromium not installed (needs root with apt): browser tests will skip"; fi

# Review packets as PDF write Chinese with Noto Sans CJK: installed when we are root with apt;
# otherwise a PDF is refused in words (KPI_CJK_FONT may name another font).
fonts:
	@if fc-list 2>/dev/null | grep -qi "noto sans cjk"; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get install -y -q --no-install-recommends fonts-noto-cjk >/dev/null 2>&1 || \
		 (apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends fonts-noto-cjk >/dev/null)) \
		&& echo "installed fonts-noto-cjk"; \
	else echo "fonts-noto-cjk not installed (needs root with apt): review packets as PDF are refused"; fi

# Several app processes behind Debian's nginx (serve.py --workers, deploy/nginx.conf.in). Installed
# when we are root with apt (RUNLEVEL=1: the package does not start a system nginx on port 80);
# otherwise `make serve` says so and the test of it skips (fails under CI=true).
nginx:
	@if command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(RUNLEVEL=1 apt-get install -y -q --no-install-recommends nginx >/dev/null 2>&1 || \
		 (apt-get update -q >/dev/null && RUNLEVEL=1 apt-get install -y -q --no-install-recommends nginx \
		  >/dev/null)) && echo "installed nginx"; \
	else echo "nginx not installed (needs root with apt): make serve cannot start"; fi

# Loads the demo company into an empty warehouse; a warehouse that holds data is left as it is.
warehouse: setup
	$(PY) -m kpi_core --warehouse $(WAREHOUSE) init --demo

# The app and its scheduler (alert checks, deliveries, subscriptions, reminders) in one process.
run: setup fonts warehouse
	KPI_WAREHOUSE=$(WAREHOUSE) $(PY) serve.py --server.port $(PORT)

# WORKERS app processes behind nginx on PORT, sticky sessions, one scheduler; Ctrl-C stops them all.
WORKERS ?= 2
serve: setup fonts nginx warehouse
	KPI_WAREHOUSE=$(WAREHOUSE) $(PY) serve.py --workers $(WORKERS) --server.port $(PORT)

# ruff for style; import-linter for the layers (.importlinter): each package imports only those below it.
lint: setup-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache

test: setup-dev lint
	$(PY) -m pytest

bench: setup-dev
	$(PY) bench/import.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
