"""Issue 16, finding 10: every uvicorn runs with the limits of services/common/server_limits.py
(concurrency, backlog, keep-alive), as `batik up` and `batik demo` start them through the launcher;
the images' CMD lines are checked in tests/deploy. Read from the real processes' command lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.common.server_limits import LIMITS

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("name", ["retrieval", "captioning", "generation", "gateway", "library"])
def test_each_service_runs_with_its_uvicorn_limits(reliability_stack, name):
    process = reliability_stack.services[name].process
    assert process is not None and process.poll() is None
    argv = Path(f"/proc/{process.pid}/cmdline").read_bytes().decode().split("\0")
    expected = LIMITS[name].args()
    given = {flag: argv[argv.index(flag) + 1] for flag in expected[::2] if flag in argv}
    assert given == dict(zip(expected[::2], expected[1::2], strict=True))
