#!/usr/bin/env bash
# The system packages `make test` needs, installed from Debian's archive when this is root with apt;
# otherwise one line naming what is missing and the command that installs it, and a non-zero exit,
# so that make stops before pytest. Safe to run again: it installs only what is missing.
#   redis-server            the tests start private servers on free ports (a Redis on 6379 is not needed)
#   postgresql              the design library's tests start a private cluster when 5432 does not answer
#   chromium, chromium-driver  the dashboard's browser tests (Debian's builds, never a download)
#   docker-compose          Debian's 1.x resolves the Compose files (`config`) without a Docker engine
#   nodejs, npm             the TypeScript client's types compile under `tsc --strict` (clients/typescript,
#                           its packages from the npm registry by `npm ci`, pinned in package-lock.json)
#   kubectl                 renders the kustomize overlays (not packaged by Debian 12: the machine's image has it)
# The Python tools of tests/deploy (kubernetes-validate, hadolint, PyYAML) come from the dev lock.
set -euo pipefail

have() { command -v "$1" >/dev/null 2>&1; }
missing=()
have redis-server || missing+=(redis-server)
# Debian keeps initdb/pg_ctl off the PATH, in /usr/lib/postgresql/<major>/bin.
have initdb || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
have chromium || missing+=(chromium)
have chromedriver || missing+=(chromium-driver)
have docker-compose || missing+=(docker-compose)
have node || missing+=(nodejs)
have npm || missing+=(npm)
have kubectl || missing+=(kubectl)

if ((${#missing[@]} == 0)); then
  exit 0
fi
if [[ $(id -u) != 0 ]] || ! have apt-get; then
  echo "system-deps: missing ${missing[*]}; install with: sudo apt-get install --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
installable=() unavailable=()
for package in "${missing[@]}"; do
  # Not `grep -q`: it would close the pipe early, and pipefail would count apt-cache's SIGPIPE.
  if [[ $(apt-cache policy "$package" 2>/dev/null) =~ Candidate:\ [0-9] ]]; then
    installable+=("$package")
  else
    unavailable+=("$package")
  fi
done
if ((${#installable[@]})); then
  echo "system-deps: installing ${installable[*]}"
  apt-get install -y -qq --no-install-recommends "${installable[@]}" >/dev/null
fi
if ((${#unavailable[@]})); then
  # kubectl on Debian 12: only the Kubernetes project's own apt repository has it.
  echo "system-deps: missing ${unavailable[*]}, not in this machine's apt sources (for kubectl add the Kubernetes apt repository), then: apt-get install ${unavailable[*]}" >&2
  exit 1
fi
