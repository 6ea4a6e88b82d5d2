# Two entry points: `make demo` (set up, convert an example, lint the chart) and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
TOOLS  := .tools
JOBS   ?= 2

.PHONY: demo test lint tools venv clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

venv: $(VENV)/.installed

$(TOOLS)/helm4 $(TOOLS)/helm3: tests/support/install_tools.py | $(VENV)/.installed
	$(PY) tests/support/install_tools.py $(TOOLS)

tools: $(TOOLS)/helm4 $(TOOLS)/helm3

demo: venv tools
	rm -rf build/demo-chart
	$(VENV)/bin/bridge convert -f examples/chat/compose.yaml -o build/demo-chart
	$(TOOLS)/helm4 lint --strict build/demo-chart
	$(TOOLS)/helm4 lint --strict build/demo-chart --set modelRunner.enabled=true
	$(TOOLS)/helm4 template demo build/demo-chart --set modelRunner.enabled=true | head -n 60

lint: venv
	$(VENV)/bin/ruff check .

test: venv tools lint
	PATH="$(CURDIR)/$(TOOLS):$$PATH" $(PY) -m pytest -n $(JOBS) -q -p no:cacheprovider

clean:
	rm -rf $(VENV) $(TOOLS) build
