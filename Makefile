# Two entry points: `make demo` (set up, convert an example, lint the chart) and `make test`;
# `make unit` runs the fast tier alone (no Helm, docker-compose or runner: seconds).
# Every Python package comes from the hash-pinned lock files in requirements/ (see README, "Updating the
# locks"); pyproject.toml keeps the ranges for people who install the package into their own environment.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check
LOCKED := $(PIP) install --require-hashes --no-deps
TOOLS  := .tools
JOBS   ?= 2
REQ    := requirements

.PHONY: demo test unit lint tools runner-tools checkov venv bench lock lock-check clean

# The converter (and the installer/build backend it is installed with).
$(VENV)/.installed: pyproject.toml $(REQ)/build.txt $(REQ)/base.txt
	$(PYTHON) -m venv $(VENV)
	$(LOCKED) -r $(REQ)/build.txt
	$(LOCKED) -r $(REQ)/base.txt
	$(PIP) install --no-deps --no-build-isolation -e .
	touch $@

# Everything the tests need, the model runner included. llama-cpp-python builds from source once
# (about 10 minutes on 2 cores); pip's wheel cache keeps the wheel for later runs. It is built for
# x86-64-v3 (AVX2, FMA, F16C), not -march=native: a cached wheel may run on another machine, and
# llama.cpp's native build with AMX crashes on Gemma 3 on Sapphire Rapids CPUs (seen: SIGSEGV in the
# first decode). Other architectures ignore these flags.
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
$(VENV)/.test: $(VENV)/.installed $(REQ)/sdist-build.txt $(REQ)/test.txt
	$(LOCKED) -r $(REQ)/sdist-build.txt
	@$(PIP) cache list 'llama_cpp_python-*' 2>/dev/null | grep -q llama_cpp_python \
	  && echo '>>> llama-cpp-python: using the wheel in pip'"'"'s cache' \
	  || echo '>>> llama-cpp-python: compiling llama.cpp from source, about 10 minutes on 2 cores (once; pip caches the wheel)'
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(LOCKED) --no-build-isolation -r $(REQ)/test.txt
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
$(TOOLS)/checkov-venv/.installed: $(REQ)/checkov.txt $(REQ)/build.txt
	$(PYTHON) -m venv $(TOOLS)/checkov-venv
	$(TOOLS)/checkov-venv/bin/python -m pip install --disable-pip-version-check --require-hashes --no-deps -r $(REQ)/build.txt
	$(TOOLS)/checkov-venv/bin/python -m pip install --disable-pip-version-check --require-hashes --no-deps -r $(REQ)/checkov.txt
	touch $@

checkov: $(TOOLS)/checkov-venv/.installed

demo: venv tools
	rm -rf build/demo-chart
	$(VENV)/bin/bridge convert examples/chat/compose.yaml -o build/demo-chart
	$(TOOLS)/helm4 lint --strict build/demo-chart
	$(TOOLS)/helm4 lint --strict build/demo-chart --set modelRunner.enabled=true
	$(TOOLS)/helm4 template demo build/demo-chart --set modelRunner.enabled=true | head -n 60

lint: $(VENV)/.test
	$(VENV)/bin/ruff check .

# The test tiers are pytest markers (pyproject.toml): unit, helm, oracle (docker-compose), runner, corpus.
unit: $(VENV)/.test
	$(PY) -m pytest -m unit -n $(JOBS) -q -p no:cacheprovider

test: $(VENV)/.test tools runner-tools checkov lint
	PATH="$(CURDIR)/$(TOOLS):$$PATH" $(PY) -m pytest -n $(JOBS) -q -rs -p no:cacheprovider

bench: $(VENV)/.test tools
	$(PY) bench/convert.py
	$(PY) bench/runner.py

# Regenerate the locks after changing dependencies in pyproject.toml or requirements/*.in. Versions
# already locked are kept where they still satisfy the ranges (uv prefers the existing output file);
# `make lock UPGRADE=1` moves everything to the newest allowed versions.
UV      := $(TOOLS)/uv-venv/bin/uv
COMPILE := $(UV) pip compile --quiet --universal --python-version 3.11 --generate-hashes $(if $(UPGRADE),--upgrade)

$(UV): $(REQ)/uv.txt
	$(PYTHON) -m venv $(TOOLS)/uv-venv
	$(TOOLS)/uv-venv/bin/python -m pip install --disable-pip-version-check --require-hashes --no-deps -r $(REQ)/uv.txt

lock: $(UV)
	$(COMPILE) pyproject.toml $(REQ)/build.in $(REQ)/sdist-build.in --all-extras -o $(REQ)/test.txt
	$(COMPILE) $(REQ)/build.in -c $(REQ)/test.txt -o $(REQ)/build.txt
	$(COMPILE) $(REQ)/sdist-build.in -c $(REQ)/test.txt -o $(REQ)/sdist-build.txt
	$(COMPILE) pyproject.toml $(REQ)/build.in -c $(REQ)/test.txt -o $(REQ)/base.txt
	$(COMPILE) pyproject.toml $(REQ)/build.in --extra runner -c $(REQ)/test.txt -o $(REQ)/runner.txt
	$(COMPILE) $(REQ)/checkov.in $(REQ)/build.in -o $(REQ)/checkov.txt
	$(COMPILE) $(REQ)/uv.in -o $(REQ)/uv.txt

clean:
	rm -rf $(VENV) $(TOOLS) build
