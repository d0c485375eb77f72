"""docker/bin/batik-publish-index: version, repoint `current`, reload every replica, prune.

A fake `batik` stands in for the ingest (the real one is tested with the retrieval service) and a
stdlib HTTP server for the replicas: the script's own logic runs for real.
"""

from __future__ import annotations

import json
import os
import stat
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.machinery import SourceFileLoader
from importlib.util import module_from_spec, spec_from_loader

import pytest

from tests.deploy.helpers import REPO

SCRIPT = REPO / "docker/bin/batik-publish-index"


def load_script():
    loader = SourceFileLoader("batik_publish_index", str(SCRIPT))
    module = module_from_spec(spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    return module


@pytest.fixture
def publish(tmp_path, monkeypatch):
    """The script's module, with INDEX_ROOT in tmp_path and a fake `batik ingest` that writes --out."""
    fake = tmp_path / "batik"
    fake.write_text(
        "#!/bin/sh\n"
        '[ "$1" = ingest ] || exit 3\n'
        'while [ $# -gt 0 ]; do [ "$1" = --out ] && out=$2; shift; done\n'
        'mkdir "$out" && echo manifest > "$out/manifest.json"\n'
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("BATIK_BIN", str(fake))
    monkeypatch.setenv("INDEX_ROOT", str(tmp_path / "index"))
    monkeypatch.setenv("RETRIEVAL_ADMIN_TOKEN", "s3cret")
    for name in ("RELOAD_DNS", "RELOAD_URLS"):
        monkeypatch.delenv(name, raising=False)
    return load_script()


@pytest.fixture
def replica():
    """A replica that records reload calls; `status` sets its answer."""
    calls: list[dict] = []
    state = {"status": 200}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            calls.append(
                {
                    "path": self.path,
                    "auth": self.headers.get("Authorization"),
                    "body": json.loads(body),
                }
            )
            self.send_response(state["status"])
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", calls, state
    server.shutdown()
    server.server_close()


def test_publish_builds_a_version_points_current_and_reloads_replicas(
    publish, replica, tmp_path, monkeypatch
):
    url, calls, _ = replica
    monkeypatch.setenv("RELOAD_URLS", f"{url}, {url}/")  # duplicates are called once
    root = tmp_path / "index"
    assert publish.main(["--version", "v1", "--", "--images", "imgs", "--metadata", "m.xlsx"]) == 0
    assert os.readlink(root / "current") == "v1"  # relative: valid wherever the volume is mounted
    assert (root / "current" / "manifest.json").read_text() == "manifest\n"
    assert calls == [
        {
            "path": "/v1/index/reload",
            "auth": "Bearer s3cret",
            "body": {"index_dir": str(root / "v1")},
        }
    ]

    assert publish.main(["--version", "v2", "--", "--images", "imgs"]) == 0
    assert os.readlink(root / "current") == "v2"
    assert calls[-1]["body"] == {"index_dir": str(root / "v2")}


def test_failed_ingest_leaves_current_untouched(publish, tmp_path, monkeypatch):
    root = tmp_path / "index"
    assert publish.main(["--version", "good", "--"]) == 0
    monkeypatch.setenv("BATIK_BIN", "false")
    assert publish.main(["--version", "bad", "--"]) == 1
    assert os.readlink(root / "current") == "good"


def test_existing_version_is_never_overwritten(publish):
    assert publish.main(["--version", "v1", "--"]) == 0
    with pytest.raises(SystemExit):
        publish.main(["--version", "v1", "--"])


def test_a_refusing_replica_fails_the_job_but_the_new_index_stays_current(
    publish, replica, tmp_path, monkeypatch
):
    url, calls, state = replica
    state["status"] = 409  # e.g. the manifest does not match the replica's model
    monkeypatch.setenv("RELOAD_URLS", url)
    assert publish.main(["--version", "v1", "--attempts", "3", "--"]) == 2
    assert len(calls) == 1  # a 4xx is not retried
    assert os.readlink(tmp_path / "index" / "current") == "v1"


def test_unreachable_replica_is_retried_then_reported(publish, monkeypatch):
    monkeypatch.setattr(publish.time, "sleep", lambda s: None)
    monkeypatch.setenv("RELOAD_URLS", "http://127.0.0.1:9")  # discard port: connection refused
    assert publish.main(["--version", "v1", "--attempts", "2", "--"]) == 2


def test_dns_name_resolves_to_every_replica(publish, monkeypatch):
    answers = [
        (2, 1, 6, "", ("10.0.0.1", 8001)),
        (2, 1, 6, "", ("10.0.0.2", 8001)),
        (10, 1, 6, "", ("fd00::3", 8001, 0, 0)),
    ]
    monkeypatch.setattr(publish.socket, "getaddrinfo", lambda host, port, type: answers)
    assert publish.reload_targets("retrieval-replicas:8001", "http://extra:1") == [
        "http://10.0.0.1:8001",
        "http://10.0.0.2:8001",
        "http://[fd00::3]:8001",
        "http://extra:1",
    ]
    with pytest.raises(ValueError):
        publish.reload_targets("no-port", None)


def test_prune_keeps_the_newest_and_never_the_current(publish, tmp_path):
    root = tmp_path / "index"
    for version in ("v1", "v2", "v3", "v4"):
        (root / version).mkdir(parents=True)
    publish.point_current(root, "v1")  # rolled back to the oldest
    assert publish.prune(root, keep=2) == ["v2"]
    assert sorted(p.name for p in root.iterdir()) == ["current", "v1", "v3", "v4"]
    with pytest.raises(FileNotFoundError):
        publish.point_current(root, "v9")
