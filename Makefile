# Two commands do everything on a fresh machine with Python >= 3.10 and make:
#   make demo   - set up .venv and run lrkit's main job
#   make test   - set up .venv with the dev tools and run lint, type check and tests
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# A CPU build of torch, pinned so that nothing pulls a multi-GB GPU build by accident.
# Elsewhere, point pip at a CPU wheel index, e.g.
#   make test PIP_EXTRA="--extra-index-url https://download.pytorch.org/whl/cpu"
TORCH ?= torch==2.13.0
PIP_EXTRA ?=
DEMO_OUT ?= runs/demo

.PHONY: demo test lint typecheck unit unit-baseline bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.lab: pyproject.toml | $(PY)
	$(PIP) install -q $(PIP_EXTRA) "$(TORCH)"
	$(PIP) install -q $(PIP_EXTRA) "$(TORCH)" -e ".[all]"
	touch $@

$(VENV)/.dev: pyproject.toml | $(PY)
	$(PIP) install -q $(PIP_EXTRA) "$(TORCH)"
	$(PIP) install -q $(PIP_EXTRA) "$(TORCH)" -e ".[dev]"
	touch $(VENV)/.lab $@

# The main job: compare the seed's ten LR strategies on MNIST-1D (about 4-5 minutes
# on 2 CPU cores); the report's path is printed at the end.
demo: $(VENV)/.lab
	$(VENV)/bin/lrkit compare --task mnist1d --out $(DEMO_OUT) --overwrite

lint: $(VENV)/.dev
	$(VENV)/bin/ruff format --check src tests benchmarks examples tools
	$(VENV)/bin/ruff check src tests benchmarks examples tools

typecheck: $(VENV)/.dev
	$(VENV)/bin/mypy

unit: $(VENV)/.dev
	$(PY) -m pytest -q -n 2

# The numpy core's tests and doctests again, with numpy's SIMD dispatch limited to its
# baseline: a result that depends on this CPU's exp/power/cos kernels in the last bit
# fails here as it would on an older CPU (docs/guarantees.md). About 20 s.
NUMERIC := tests/schedules tests/batch_size tests/range_test src/lrkit/__init__.py \
	src/lrkit/_config.py src/lrkit/schedules src/lrkit/batch_size src/lrkit/range_test
unit-baseline: $(VENV)/.dev
	$(PY) tools/numpy_baseline.py $(PY) -m pytest -q -n 2 $(NUMERIC)

test: lint typecheck unit unit-baseline

$(VENV)/.bench: pyproject.toml | $(PY)
	$(PIP) install -q $(PIP_EXTRA) "$(TORCH)"
	$(PIP) install -q $(PIP_EXTRA) "$(TORCH)" -e ".[bench]"
	touch $@

bench: $(VENV)/.bench
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache build dist
