# Two commands for a newcomer: `make run` and `make test`. Both create .venv and install.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONTENT ?= lessons
CHROMIUM ?= /usr/bin/chromium

.PHONY: run tour test test-fast test-fresh lint format check bench clean install-browser

# The test targets spread the tests over workers (pytest-xdist); each test keeps its own
# database, folders and ports. Most of an end-to-end test's time is waiting on sockets and
# subprocesses, so two workers a core keep the cores busy (on 2 cores: 3.3 minutes for the
# whole suite, against 5 with one a core). PYTEST_WORKERS=0 runs them in this one process.
PYTEST_WORKERS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) * 2 )))
PYTEST = $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist worksteal
# What `make test-fast` leaves out: sandboxes driven over HTTP, Chromium, a live Discord client.
SLOW_TESTS = e2e or browser or live

# The virtualenv is rebuilt when either pyproject.toml changes: the bot's, and that of the
# sandboxes, a distribution of their own that the bot's wheel leaves out. No browser here:
# `make run` needs none, and only the test targets install one.
$(BIN)/.installed: pyproject.toml sandboxes/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]' -e sandboxes
	touch $@

# The browser tests drive Debian's Chromium (never a browser download): install it when
# missing, as root or with sudo; otherwise say what to run and fail. Only `test` and
# `test-fresh` need it.
install-browser:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  if [ "$$(id -u)" = 0 ]; then sudo=""; \
	  elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; \
	  else echo "Chromium is missing at $(CHROMIUM) and this user cannot install it: run 'apt-get install -y chromium chromium-driver' as root, or set CHROMIUM=/path/to/chromium." >&2; exit 1; fi; \
	  if ! command -v apt-get >/dev/null 2>&1; then echo "Chromium is missing at $(CHROMIUM) and there is no apt-get: install Chromium and set CHROMIUM=/path/to/chromium." >&2; exit 1; fi; \
	  echo "Installing Chromium for the browser tests (apt-get install chromium chromium-driver)..."; \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null || exit 1; \
	fi
	@# Fonts for the Chinese and Arabic pages: without them Chromium draws boxes (tofu), and
	@# tests/e2e/test_locales_browser.py fails saying so.
	@if ! fc-list 2>/dev/null | grep -q 'Noto Sans CJK' || ! fc-list 2>/dev/null | grep -q 'Noto Sans Arabic'; then \
	  if [ "$$(id -u)" = 0 ]; then sudo=""; \
	  elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; \
	  else echo "The Noto fonts are missing and this user cannot install them: run 'apt-get install -y fonts-noto-cjk fonts-noto-core' as root." >&2; exit 1; fi; \
	  if ! command -v apt-get >/dev/null 2>&1; then echo "The Noto fonts are missing and there is no apt-get: install Noto Sans CJK and Noto Sans Arabic." >&2; exit 1; fi; \
	  echo "Installing fonts for the browser tests (apt-get install fonts-noto-cjk fonts-noto-core)..."; \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk fonts-noto-core >/dev/null || exit 1; \
	fi

# The whole bot, offline: Discord, GitHub and mail sandboxes and the real bot against them.
run: $(BIN)/.installed
	$(BIN)/lessonbot sandbox --content $(CONTENT)

# The whole story, played in a fresh sandbox as people would and narrated step by step:
# exit 0 when every step happened, 1 naming the first that did not.
tour: $(BIN)/.installed
	$(BIN)/lessonbot sandbox --tour --content $(CONTENT) --state-dir $$(mktemp -d)

test: $(BIN)/.installed install-browser lint
	LESSONBOT_CHROMIUM=$(CHROMIUM) $(PYTEST)

# The unit and service tests, for the edit-and-test loop: no browser needed. `make test`
# before pushing runs the rest.
test-fast: $(BIN)/.installed lint
	$(PYTEST) -m "not ($(SLOW_TESTS))"

# The tests that reach ../shared (the real corpus, the official specs), as a fresh clone
# runs them: with nothing beside it, each must pass or skip saying why. The rest never look
# there, and `make test` runs them all. FRESH=all runs the whole suite this way.
FRESH_TESTS = $(shell grep -rlE 'SHARED|CORPUS|corpus\b|EXAMPLES|OPENAPI|WEBHOOK_SCHEMAS' \
  tests --include='*.py' | grep -v -e '^tests/bench/' -e 'conftest.py' -e 'support.py') \
  tests/sandboxes/discord tests/sandboxes/github
FRESH ?= some
test-fresh: $(BIN)/.installed install-browser
	env -u LESSONBOT_TEST_DATABASE_URL LESSONBOT_TEST_SHARED=$(CURDIR)/.no-shared \
	  LESSONBOT_CHROMIUM=$(CHROMIUM) $(PYTEST) -q -rs \
	  $(if $(filter all,$(FRESH)),,$(FRESH_TESTS))

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
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info sandboxes/src/*.egg-info
