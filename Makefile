# The two commands of the README:
#   make run    sets everything up, assesses the bundled sample city and runs it live (dashboard)
#   make test   sets everything up and runs the whole test suite (what .ci/run runs)
# Needs only Python >= 3.11, pip and make on the machine.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test setup browser lint typecheck unit bench clean

# How long `make run` keeps the live city up, in seconds (`.venv/bin/qsafecity up` runs until Ctrl-C).
DURATION ?= 300

run: setup
	$(BIN)/qsafecity assess
	$(BIN)/qsafecity up --duration $(DURATION)

test: setup browser lint typecheck unit

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The dashboard's browser test drives Debian's Chromium through Playwright (no browser download).
# Installed here when missing and possible (root with apt-get); otherwise that one test skips and
# says why.
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian's chromium for the dashboard's browser test"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "could not install chromium: the browser test will skip"; \
	else echo "chromium is missing and cannot be installed here: the browser test will skip"; fi

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports

typecheck: setup
	$(BIN)/mypy src

unit: setup
	$(BIN)/python -m pytest -q -m "not slow"

bench: setup
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis build src/*.egg-info
