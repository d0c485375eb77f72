# Every target creates .venv and installs what it needs on first use, from the lock in requirements/.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# One lock per install target: dev (make test, make demo), one per image (docker/: the services and
# `train`, the fine-tuning jobs), and qlora (fine-tuning on a CUDA machine, docs/FINETUNING.md).
LOCKS := dev retrieval captioning generation gateway dashboard library qlora train

.PHONY: demo run test lint format bench lock system-deps clean

# pyproject.toml is a prerequisite so that a dependency added there without `make lock` reinstalls
# from the stale lock and fails tests/unit/test_lock.py, rather than passing on a venv that has it.
$(STAMP): requirements/dev.txt pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# The lock pins every package (torch at constraints.txt's CPU build); the project itself adds none.
	$(PY) -m pip install --quiet -c constraints.txt -r requirements/dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

demo: $(STAMP)  ## all four services offline on tiny models and the sample dataset
	$(VENV)/bin/batik demo

run: $(STAMP)  ## all four services on the real models from the hub (downloads about 20 GB)
	$(VENV)/bin/batik up

system-deps:  ## the system packages the tests need (apt as root), or one line saying what is missing
	bash scripts/system-deps.sh

# system-deps installed Chromium (or stopped make), so a missing browser is a failure, not a skip.
test: system-deps lint $(STAMP)  ## system packages, lint, then every test (unit, service, e2e, browser, deploy)
	BATIK_BROWSER_REQUIRED=1 $(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

bench: $(STAMP)  ## serving benchmarks; figures go in docs/BENCHMARKS.md
	$(PY) -m benchmarks.serving

# Refreshes requirements/*.txt after a change to pyproject.toml: versions already locked stay, new
# ones are resolved. `make lock UPGRADE=1` moves every package to its newest allowed release.
# Needs only pip-tools (installed at its locked version), not the whole dev environment, so
# `make lock VENV=/path/to/an/existing/venv` works too.
lock:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m piptools compile --version >/dev/null 2>&1 || \
	  $(PY) -m pip install --quiet $(if $(wildcard requirements/dev.txt),-c requirements/dev.txt) pip-tools
	for target in $(LOCKS); do \
	  bash scripts/lock.sh $(PY) $$target $(if $(UPGRADE),--upgrade) || exit 1; \
	done

clean:
	rm -rf $(VENV) .cache .pytest_cache .ruff_cache
