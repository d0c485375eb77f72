# Every target creates .venv and installs what it needs on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo run test lint format bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# constraints.txt pins the CPU build of torch; a bare `torch` would pull a multi-GB CUDA build.
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)  ## all four services offline on tiny models and the sample dataset
	$(VENV)/bin/batik demo

run: $(STAMP)  ## all four services on the real models from the hub (downloads about 20 GB)
	$(VENV)/bin/batik up

test: lint $(STAMP)  ## lint, then every test (unit, service, e2e)
	$(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

bench: $(STAMP)  ## serving benchmarks; figures go in docs/BENCHMARKS.md
	$(PY) -m benchmarks.serving

clean:
	rm -rf $(VENV) .cache .pytest_cache .ruff_cache
