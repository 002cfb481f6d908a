# One place for the commands the README gives. Each target creates the virtualenv
# and installs what it needs, so it works on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install system-programs lint test bench demo config-doc clean

$(STAMP): pyproject.toml
	scripts/system-programs install venv
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,load,plan]'
	touch $(STAMP)

install: $(STAMP)

# redis-server, promtool, systemd-analyze: installed with apt-get when missing and
# allowed (root or password-less sudo); otherwise one message says what to install
system-programs:
	scripts/system-programs install

lint: $(STAMP)
	$(BIN)/ruff check acd tests benchmarks loadtests
	$(BIN)/mypy
	$(BIN)/lint-imports

test: system-programs lint
	$(BIN)/pytest -q

bench: $(STAMP)
	benchmarks/run

demo: $(STAMP)
	$(BIN)/acd demo

# docs/config.md from acd/config/schema.py (a test fails when they differ)
config-doc: $(STAMP)
	$(BIN)/acd config-reference > docs/config.md

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
