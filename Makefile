# Two commands: `make run` and `make test`. Both bootstrap .venv from the lock file first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test bootstrap lint lock bench

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Fireline needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==0.13.8
	$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

bootstrap: $(STAMP)

run: bootstrap
	$(BIN)/fireline demo
	$(BIN)/fireline serve

lint: bootstrap
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy src
	$(BIN)/lint-imports

# Three workers, one test file each at a time: much of the suite waits on PostgreSQL's commits,
# so three overlap well on two cores (about 4 minutes here on 2026-11-27).
test: lint
	$(BIN)/pytest -n 3 --dist loadfile

bench: bootstrap
	$(BIN)/python benchmarks/tickets.py
	$(BIN)/python benchmarks/due_dates.py
	$(BIN)/python benchmarks/oncall.py
	$(BIN)/python benchmarks/outbox.py
	$(BIN)/python benchmarks/timers.py
	$(BIN)/python benchmarks/intake.py
	$(BIN)/python benchmarks/web.py

lock:
	$(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 -o requirements.lock
