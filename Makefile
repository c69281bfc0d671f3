# Two commands for a newcomer: `make run` and `make test`. Both create .venv and install.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONTENT ?= lessons

.PHONY: run test lint format check bench clean

# The virtualenv is rebuilt when pyproject.toml changes.
$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# The whole bot, offline: Discord and GitHub sandboxes and the real bot against them.
run: $(BIN)/.installed
	$(BIN)/lessonbot sandbox --content $(CONTENT)

test: $(BIN)/.installed lint
	$(BIN)/python -m pytest

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(BIN)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

check: $(BIN)/.installed
	$(BIN)/lessonbot lessons check --content $(CONTENT)

bench: $(BIN)/.installed
	@for bench in tests/bench/bench_*.py; do $(BIN)/python $$bench; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
