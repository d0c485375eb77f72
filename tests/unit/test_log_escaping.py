"""Issue 16, finding 10: a `%0A` in a request path forged a line in the text access log."""

from __future__ import annotations

import io
import logging

from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.common.logging import RequestIdMiddleware, configure_logging


def test_a_newline_in_a_path_cannot_forge_a_log_line():
    configure_logging("INFO", "test")
    stream = io.StringIO()
    handler = logging.getLogger().handlers[0]
    handler.setStream(stream)
    app = FastAPI()
    app.add_middleware(RequestIdMiddleware)
    with TestClient(app) as client:
        client.get(
            "/healthz%0A2026-12-01 12:00:00,000 INFO gateway [x] batik.access: GET /admin%1B"
        )
    lines = [line for line in stream.getvalue().splitlines() if "batik.access" in line]
    assert len(lines) == 1, lines  # one request, one line
    assert "/healthz\\n2026-12-01" in lines[0] and "\\x1b" in lines[0]


def test_tracebacks_keep_their_lines():
    configure_logging("INFO", "test")
    stream = io.StringIO()
    logging.getLogger().handlers[0].setStream(stream)
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("x").exception("failed on %s", "a\\nb")
    text = stream.getvalue()
    assert "Traceback (most recent call last):\n" in text and "ValueError: boom" in text
