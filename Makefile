# Every target creates .venv and installs what it needs on first use, from the lock in requirements/.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# One lock per install target: dev (make test, make demo), one per image (docker/: the services and
# `train`, the fine-tuning jobs), and qlora (fine-tuning on a CUDA machine, docs/FINETUNING.md).
LOCKS := dev retrieval captioning generation gateway dashboard library qlora train

.PHONY: demo run test lint format bench lock system-deps clean openapi clients

# pyproject.toml is a prerequisite so that a dependency added there without `make lock` reinstalls
# from the stale lock and fails tests/unit/test_lock.py, rather than passing on a venv that has it.
$(STAMP): requirements/dev.txt pyproject.toml constraints.txt clients/python/setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# The lock pins every package (torch at constraints.txt's CPU build); the project itself adds none.
	$(PY) -m pip install --quiet -c constraints.txt -r requirements/dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	# The generated gateway client (its httpx and attrs are in the lock): the e2e tests drive it.
	$(PY) -m pip install --quiet --no-deps -e clients/python
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

# The checked-in specs (openapi/*.json) from the apps; tests/unit/test_openapi_files.py fails while
# one is stale. Run it after changing a route or a contract, then `make clients`.
openapi: $(STAMP)  ## refresh openapi/*.json from the services' apps
	$(PY) scripts/openapi.py

# The published clients, generated from openapi/gateway.json (docs/API.md). The Python generator runs
# in a venv of its own (it pins typer below the dev environment's); the TypeScript one from
# clients/typescript/package-lock.json (npm ci).
OPENAPI_PYTHON_CLIENT := openapi-python-client==0.29.1
GENERATOR_VENV := .cache/openapi-python-client
clients: openapi  ## regenerate clients/python and clients/typescript from openapi/gateway.json
	test -x $(GENERATOR_VENV)/bin/openapi-python-client || \
	  { $(PYTHON) -m venv $(GENERATOR_VENV) && \
	    $(GENERATOR_VENV)/bin/pip install --quiet $(OPENAPI_PYTHON_CLIENT); }
	PATH="$(abspath $(VENV))/bin:$$PATH" $(GENERATOR_VENV)/bin/openapi-python-client generate \
	  --path openapi/gateway.json --output-path clients/python --overwrite --meta setup \
	  --config clients/openapi-python-client.yaml
	# What it was generated from: tests/unit/test_openapi_files.py fails when the spec moved on.
	sha256sum openapi/gateway.json | cut -d' ' -f1 > clients/python/openapi.sha256
	cd clients/typescript && npm ci --no-audit --no-fund --silent && npm run --silent generate

clean:
	rm -rf $(VENV) .cache .pytest_cache .ruff_cache
