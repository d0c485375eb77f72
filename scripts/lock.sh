#!/usr/bin/env bash
# Resolves one install target of pyproject.toml into requirements/TARGET.txt (pip-tools).
# Usage: scripts/lock.sh PYTHON TARGET [pip-compile options]; `make lock` runs it for every target.
#   - dev: what `make test` and `make demo` install; torch is pinned at constraints.txt's CPU build.
#   - retrieval, captioning, generation, gateway, dashboard: what docker/TARGET.Dockerfile installs.
#     torch is left out of these: each model image installs its own build first (CUDA by default,
#     CPU for docker-compose.cpu.yml; docs/DEPLOY.md), which a CPU pin here would fight.
#   - train: what docker/train.Dockerfile installs (the compose and k8s fine-tuning jobs); no torch.
#   - qlora: `batik finetune` on a CUDA machine (docs/FINETUNING.md); torch left out for the same reason.
# The project itself is never written into a lock (`make` installs it with --no-deps).
set -euo pipefail
python=$1 target=$2
shift 2
cd "$(dirname "$0")/.."

unsafe=(--unsafe-package batik-nitik-rag --unsafe-package pip --unsafe-package setuptools)
if [ "$target" != dev ]; then
  unsafe+=(--unsafe-package torch)
fi
mkdir -p requirements
# --strip-extras: a lock lists packages, not extras, so that pip can read it as constraints too.
CUSTOM_COMPILE_COMMAND="make lock" "$python" -m piptools compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links \
  --constraint constraints.txt "${unsafe[@]}" --extra "$target" \
  --output-file "requirements/$target.txt" "$@" pyproject.toml 2> >(grep -v -e BuildBackendWarning -e '^[! *]' -e '^\s*$' >&2 || true)
