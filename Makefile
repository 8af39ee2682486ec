# Two commands for a newcomer:  `make demo`  and  `make test`.
# Each one creates .venv (if missing) and installs what it needs into it first: `make demo` only
# the demo extra, `make test` the test extra. Each installs again only when pyproject.toml changed
# (a stamp file in .venv remembers the last install), so a repeated `make demo` starts at once.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
PIP     = $(BIN)/python -m pip --quiet --disable-pip-version-check

.PHONY: demo lab test test-fast install install-demo install-lab browser cognito-local configurable-http-proxy lint bench clean

# pip is upgraded for speed only: the extras also install with the pip a fresh venv ships.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

# The demo: --no-compile, no bytecode for every installed module up front (a quarter of the venv's
# size and of the install's time); Python compiles the modules it imports when it first imports
# them. Not for the test venv: CI sets PYTHONDONTWRITEBYTECODE, and every kernel and child process
# of the suite would compile its imports from source again.
# An editable install leaves out the wheel's data files, among them the file that enables the
# Jupyter server extension (the single sign-on popup's callback page): copied into the venv here.
SERVER_EXTENSION_CONFIG = jupyter-config/jupyter_server_config.d/nb_cognito.json
ENABLE_SERVER_EXTENSION = mkdir -p $(VENV)/etc/jupyter/jupyter_server_config.d && \
	cp $(SERVER_EXTENSION_CONFIG) $(VENV)/etc/jupyter/jupyter_server_config.d/nb_cognito.json

$(VENV)/.installed-demo: pyproject.toml $(SERVER_EXTENSION_CONFIG) | $(BIN)/python
	$(PIP) install --no-compile -e ".[demo]"
	$(ENABLE_SERVER_EXTENSION)
	touch $@

# The test extra includes the demo extra and JupyterLab, so it satisfies `make demo` and `make lab` too.
$(VENV)/.installed-test: pyproject.toml $(SERVER_EXTENSION_CONFIG) | $(BIN)/python
	$(PIP) install -e ".[test]"
	$(ENABLE_SERVER_EXTENSION)
	touch $@ $(VENV)/.installed-demo $(VENV)/.installed-lab

# JupyterLab for `nb-cognito demo --open`, kept out of the lean demo install.
$(VENV)/.installed-lab: pyproject.toml $(SERVER_EXTENSION_CONFIG) | $(BIN)/python
	$(PIP) install --no-compile -e ".[lab]"
	$(ENABLE_SERVER_EXTENSION)
	touch $@ $(VENV)/.installed-demo

install-demo: $(VENV)/.installed-demo
install-lab: $(VENV)/.installed-lab
install: $(VENV)/.installed-test

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

# configurable-http-proxy (npm), the proxy a real JupyterHub runs, for tests/test_hub_e2e.py.
# Pinned; installed into a project-local folder, and only when that version is not there yet.
CHP_VERSION = 4.6.3
CHP_DIR     = .cache/configurable-http-proxy
configurable-http-proxy:
	@installed=$$(node -p "require('./$(CHP_DIR)/node_modules/configurable-http-proxy/package.json').version" 2>/dev/null); \
	if [ "$$installed" != "$(CHP_VERSION)" ]; then \
	  mkdir -p $(CHP_DIR) && \
	  npm install --prefix $(CHP_DIR) --no-audit --no-fund --loglevel=error \
	    configurable-http-proxy@$(CHP_VERSION); \
	fi

demo: install-demo
	$(BIN)/nb-cognito demo

# The same notebooks in JupyterLab, with the emulator running until Ctrl-C.
lab: install-lab
	$(BIN)/nb-cognito demo --open

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: install browser cognito-local configurable-http-proxy lint
	$(BIN)/python -m pytest

# The inner loop: everything but the wheel, browser and JupyterHub tests (`make test` runs them all).
FAST_TESTS = not wheel and not browser and not hub
test-fast: install cognito-local
	$(BIN)/python -m pytest -m "$(FAST_TESTS)"

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts .cache
