# Two commands for a newcomer:  `make demo`  and  `make test`.
# Each one creates .venv (if missing) and installs the project into it first.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: demo test install browser cognito-local lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"

# Chromium for the browser tests comes from Debian (Playwright's own browsers can't be downloaded).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "Install Chromium first: sudo apt-get install chromium"; exit 1; fi; }

# cognito-local (npm), a Cognito emulator we did not write, for tests/test_conformance.py.
# Pinned; installed into a project-local folder, and only when that version is not there yet.
COGNITO_LOCAL_VERSION = 5.3.0
COGNITO_LOCAL_DIR     = .cache/cognito-local
cognito-local:
	@installed=$$(node -p "require('./$(COGNITO_LOCAL_DIR)/node_modules/cognito-local/package.json').version" 2>/dev/null); \
	if [ "$$installed" != "$(COGNITO_LOCAL_VERSION)" ]; then \
	  mkdir -p $(COGNITO_LOCAL_DIR) && \
	  npm install --prefix $(COGNITO_LOCAL_DIR) --no-audit --no-fund --loglevel=error \
	    cognito-local@$(COGNITO_LOCAL_VERSION); \
	fi

demo: install
	$(BIN)/nb-cognito demo

test: install browser cognito-local
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts .cache
