# One place for the commands the README gives. Each target creates the virtualenv
# and installs what it needs, so it works on a fresh machine.
#
# The install is locked: uv.lock pins every package (direct and transitive, with
# hashes) for CPython 3.11 on Linux; uv, pinned by hash in scripts/uv-requirements.txt,
# installs exactly that into .venv. `make lock` refreshes the lock after a change of
# pyproject.toml (tests/unit/test_lock.py fails while they disagree).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
EXTRAS := --extra dev --extra load --extra plan
# uv: the virtualenv made here, never a Python of its own download
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install system-programs lint test bench demo config-doc lock release clean

# uv lives beside the environment it installs (.venv/uv/), so that an exact sync,
# which removes whatever the lock does not name, keeps it
UV     := $(VENV)/uv/bin/uv

$(UV): scripts/uv-requirements.txt
	scripts/system-programs install venv
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes --no-deps --target $(VENV)/uv \
	  -r scripts/uv-requirements.txt
	touch $(UV)

$(STAMP): $(UV) pyproject.toml uv.lock
	$(UV) sync --quiet --locked --compile-bytecode $(EXTRAS)
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

# the tests in one process per CPU (pytest-xdist): each test has its own Redis
# namespace or server, its own ports and temporary files
test: system-programs lint
	$(BIN)/pytest -q -n auto

bench: $(STAMP)
	benchmarks/run

demo: $(STAMP)
	$(BIN)/acd demo

# docs/config.md from acd/config/schema.py (a test fails when they differ)
config-doc: $(STAMP)
	$(BIN)/acd config-reference > docs/config.md

# the wheel to install on an Asterisk host (docs/install.md) and the versions it was
# tested with: dist/constraints.txt pins every runtime dependency as uv.lock does
release: $(UV)
	rm -rf dist
	$(UV) build --wheel --quiet -o dist
	$(UV) export --frozen --no-dev --no-emit-project --no-hashes --quiet -o dist/constraints.txt

# after a change of pyproject.toml's dependencies; `make lock UPGRADE=1` also takes
# the newest releases the bounds allow (then run `make test`)
lock: $(UV)
	$(UV) lock $(if $(UPGRADE),--upgrade)
	$(UV) pip compile --quiet --generate-hashes --no-header --python-version 3.11 \
	  --python-platform linux scripts/uv-requirements.in -o scripts/uv-requirements.txt

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
