"""The TypeScript client (clients/typescript): its types are what openapi-typescript makes of the
checked-in openapi/gateway.json, and the usage example compiles under `tsc --strict`; a request that
breaks the spec's rules (neither text nor image, an unknown symmetry) does not.

Needs Node and npm (scripts/system-deps.sh installs Debian's); the packages come from the npm
registry through `npm ci` at the versions package-lock.json pins. Without npm the test is skipped,
unless BATIK_BROWSER_REQUIRED is set (`make test` sets it: system-deps installed the tools there)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.helpers import REPO_ROOT

CLIENT = REPO_ROOT / "clients" / "typescript"


@pytest.fixture(scope="module")
def npm_ready() -> str:
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        if os.environ.get("BATIK_BROWSER_REQUIRED"):
            pytest.fail("node and npm are required (scripts/system-deps.sh installs them)")
        pytest.skip("node and npm are not installed (apt-get install nodejs npm)")
    installed = CLIENT / "node_modules" / ".package-lock.json"
    lock = CLIENT / "package-lock.json"
    if not installed.is_file() or installed.stat().st_mtime < lock.stat().st_mtime:
        run([npm, "ci", "--no-audit", "--no-fund"], timeout=600)
    return npm


def run(command: list[str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, cwd=CLIENT, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_the_types_are_generated_from_the_checked_in_spec(npm_ready, tmp_path):
    fresh = tmp_path / "gateway.d.ts"
    made = run(
        ["npx", "--no-install", "openapi-typescript", "../../openapi/gateway.json",
         "--default-non-nullable", "false", "--output", str(fresh)]
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert fresh.read_text() == (CLIENT / "src" / "gateway.d.ts").read_text(), (
        "clients/typescript/src/gateway.d.ts is stale: run `make clients`"
    )


def test_the_usage_example_compiles_strictly(npm_ready):
    compiled = run(["npx", "--no-install", "tsc", "--strict", "--noEmit", "-p", "."])
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr


def test_requests_that_break_the_spec_do_not_compile(npm_ready, tmp_path):
    bad = tmp_path / "refused.ts"
    bad.write_text(
        f'import type {{ components }} from "{CLIENT / "src" / "gateway"}";\n'
        'type RagRequest = components["schemas"]["RagRequest"];\n'
        "export const noQuery: RagRequest = { seed: 7 };\n"
        'export const noSuchSymmetry: RagRequest = { text: "kawung", symmetry: "d8" };\n'
    )
    compiled = run(
        ["npx", "--no-install", "tsc", "--strict", "--noEmit", "--target", "ES2022",
         "--module", "ES2022", "--moduleResolution", "bundler", str(bad)]
    )  # fmt: skip
    errors = compiled.stdout
    assert compiled.returncode != 0
    assert "refused.ts(3," in errors and "refused.ts(4," in errors, errors
