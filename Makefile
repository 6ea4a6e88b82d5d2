# Two entry points: `make demo` (set up, convert an example, lint the chart) and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check
TOOLS  := .tools
JOBS   ?= 2

.PHONY: demo test lint tools runner-tools checkov venv bench clean

# The converter and its test tools.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[test]'
	touch $@

# The model runner (llama-cpp-python builds from source once; pip's wheel cache keeps it) and its test assets.
$(VENV)/.runner: $(VENV)/.installed
	$(PIP) install --quiet -e '.[test,runner,runner-test]'
	touch $@

venv: $(VENV)/.installed

$(TOOLS)/helm4 $(TOOLS)/helm3: tests/support/install_tools.py | $(VENV)/.installed
	$(PY) tests/support/install_tools.py $(TOOLS)

tools: $(TOOLS)/helm4 $(TOOLS)/helm3

# A real OCI registry for the runner's pull tests (Debian package docker-registry).
runner-tools:
	@command -v docker-registry >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q docker-registry; }

# checkov scores the rendered manifests; it lives in its own venv (its pins clash with ours).
$(TOOLS)/checkov-venv/bin/checkov:
	$(PYTHON) -m venv $(TOOLS)/checkov-venv
	$(TOOLS)/checkov-venv/bin/python -m pip install --quiet --disable-pip-version-check 'checkov==3.3.30'

checkov: $(TOOLS)/checkov-venv/bin/checkov

demo: venv tools
	rm -rf build/demo-chart
	$(VENV)/bin/bridge convert examples/chat/compose.yaml -o build/demo-chart
	$(TOOLS)/helm4 lint --strict build/demo-chart
	$(TOOLS)/helm4 lint --strict build/demo-chart --set modelRunner.enabled=true
	$(TOOLS)/helm4 template demo build/demo-chart --set modelRunner.enabled=true | head -n 60

lint: venv
	$(VENV)/bin/ruff check .

test: $(VENV)/.runner tools runner-tools checkov lint
	PATH="$(CURDIR)/$(TOOLS):$$PATH" $(PY) -m pytest -n $(JOBS) -q -p no:cacheprovider

bench: $(VENV)/.runner tools
	$(PY) bench/convert.py
	$(PY) bench/runner.py

clean:
	rm -rf $(VENV) $(TOOLS) build
