"""Test helpers: paths, image fixtures made in code, envelope assertions."""

from __future__ import annotations

import base64
import io
import struct
import time
import zlib
from contextlib import contextmanager
from pathlib import Path

from PIL import Image

from services.launcher import free_port

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_SAMPLE = REPO_ROOT.parent / "shared" / "datasets" / "batik-nitik-960-sample"
SHARED_SAMPLE_IMAGES = SHARED_SAMPLE / "Batik Nitik 960 Images"
SHARED_SAMPLE_WORKBOOK = SHARED_SAMPLE / "Batik Nitik 960 Metadata - Indonesian English v3.xlsx"


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def image_bytes(image: Image.Image, fmt: str = "PNG", **save_args) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **save_args)
    return buffer.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A few-hundred-byte PNG whose header declares width x height pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def assert_envelope(response, status: int, error_type: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["type"] == error_type, body
    assert body["error"]["message"], body
    assert body["error"]["request_id"] == response.headers["x-request-id"]
    return body["error"]


def ico_wrapping_png(side: int) -> bytes:
    """An .ico whose directory says 256x256 and whose one entry is a `side` x `side` PNG of one
    colour (a few hundred KB at most): Pillow's ICO plugin decodes that PNG inside `Image.open()`."""
    png = image_bytes(Image.new("RGB", (side, side), (200, 30, 30)), "PNG")
    directory = struct.pack("<HHH", 0, 1, 1) + struct.pack(
        "<BBBBHHII", 0, 0, 0, 0, 1, 32, len(png), 22
    )
    return directory + png


def bad_image_corpus() -> dict[str, tuple[str, int, str]]:
    """name -> (base64 payload, expected status, expected error type)."""
    jpeg = image_bytes(Image.new("RGB", (64, 64), (120, 60, 30)), "JPEG")
    return {
        "zero bytes": ("", 422, "validation"),
        "not base64": ("this is not base64!!", 422, "validation"),
        "text file": (b64(b"No.,Motif\n1,Sekar Kemuning\n"), 415, "unsupported_media"),
        "truncated jpeg": (b64(jpeg[: len(jpeg) // 2]), 422, "validation"),
        "20000x20000 png": (b64(png_declaring(20000, 20000)), 413, "payload_too_large"),
    }


def tiny_stack_services(tiny_models, index_dir, redis_url, extra_env, library_dir=None) -> list:
    """The services (services.launcher.stack) on the tiny models, each on a free port; with
    `library_dir`, the library too."""
    from services.launcher import stack

    names = ("gateway", "retrieval", "captioning", "generation")
    names += ("library",) if library_dir is not None else ()
    return stack(
        clip=str(tiny_models["clip"]),
        blip2=str(tiny_models["blip2"]),
        sd=str(tiny_models["sd"]),
        index_dir=index_dir,
        redis_url=redis_url,
        ports={name: free_port() for name in names},
        extra_env=extra_env,
        library_dir=library_dir,
    )


def finished(job: dict) -> bool:
    return job["state"] in ("succeeded", "failed", "cancelled")


def poll_job(
    client, job_id: str, until, deadline_s: float = 180.0, every_s: float = 0.01
) -> list[dict]:
    """GET `/v1/jobs/{job_id}` (any client with `.get`) until `until(record)`; every record seen,
    the last one last. On a gateway, polls count against the rate limit."""
    seen = []
    deadline = time.monotonic() + deadline_s
    while True:
        answer = client.get(f"/v1/jobs/{job_id}")
        assert answer.status_code == 200, answer.text
        seen.append(answer.json())
        if until(seen[-1]):
            return seen
        assert time.monotonic() < deadline, seen[-1]
        time.sleep(every_s)


class RedisServer:
    """A private redis-server on a free loopback port, so tests never touch a shared Redis."""

    def __init__(self, data_dir: Path | None = None) -> None:
        """`data_dir`: persist as the job Redis does (AOF there, `noeviction`); None: a cache."""
        import shutil

        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.binary = binary
        self.port = free_port()
        self.data_dir = data_dir
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        import subprocess
        import time

        import redis

        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                *self._persistence(),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _persistence(self) -> list[str]:
        if self.data_dir is None:
            return ["--appendonly", "no"]
        return [
            *("--dir", str(self.data_dir), "--appendonly", "yes", "--appendfsync", "always"),
            *("--maxmemory-policy", "noeviction"),
        ]

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


def gateway_app(tiny_models, apps, **overrides):
    """A gateway app whose upstreams are the ASGI `apps` (by name) called in process; an upstream
    missing from `apps` is reached over the network at its `*_url` override."""
    import httpx

    from gateway.app import create_app
    from gateway.composition import Gateway, load_token_counter
    from gateway.config import GatewaySettings

    settings = GatewaySettings(
        **{
            "retrieval_url": "http://retrieval",
            "captioning_url": "http://captioning",
            "generation_url": "http://generation",
            "library_url": "http://library" if "library" in apps else "off",
            "tokenizer": str(tiny_models["sd"]),
            "generation_size": 64,
            "retries": 0,
            **overrides,
        }
    )

    def loader(s):
        transports = {name: httpx.ASGITransport(app) for name, app in apps.items()}
        return Gateway(s, load_token_counter(s), transports=transports)

    return create_app(settings, loader)


class PostgresServer:
    """A PostgreSQL to test the library on: the server on 127.0.0.1:5432 when one answers (trust
    auth), else a private cluster from Debian's `initdb`/`pg_ctl` on a free port in a temp dir.
    Either way tests get private databases (`new_database`), dropped again by `drop_database`."""

    SHARED = "postgresql://postgres@127.0.0.1:5432/test"

    def __init__(self) -> None:
        self.admin_url: str | None = None
        self.cluster_dir: Path | None = None
        self.port: int | None = None
        self._run_as: list[str] = []

    @staticmethod
    def _answers(url: str) -> bool:
        import psycopg

        try:
            with psycopg.connect(url, connect_timeout=2):
                return True
        except psycopg.Error:
            return False

    def start(self) -> PostgresServer:
        if self._answers(self.SHARED):
            self.admin_url = self.SHARED
            return self
        self._start_private()
        return self

    def _start_private(self) -> None:
        import glob
        import os
        import shutil
        import subprocess
        import tempfile

        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            raise RuntimeError(
                "no PostgreSQL answers on 127.0.0.1:5432 and Debian's initdb is not installed "
                "(apt-get install postgresql): the library tests need a real PostgreSQL"
            )
        bin_dir = Path(found[-1]).parent
        self.cluster_dir = Path(tempfile.mkdtemp(prefix="batik-pg-"))
        if os.geteuid() == 0:  # initdb refuses to run as root: run the cluster as `postgres`
            shutil.chown(self.cluster_dir, "postgres")
            self._run_as = ["runuser", "-u", "postgres", "--"]
        self.port = free_port()
        data = self.cluster_dir / "data"
        subprocess.run(
            [*self._run_as, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres",
             "--auth=trust", "--no-sync"],
            check=True, capture_output=True,
        )  # fmt: skip
        subprocess.run(
            [*self._run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-w", "-l",
             str(self.cluster_dir / "log"), "-o",
             f"-p {self.port} -k {self.cluster_dir} -c listen_addresses=127.0.0.1 -c fsync=off",
             "start"],
            check=True, capture_output=True,
        )  # fmt: skip
        self._pg_ctl = [*self._run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast"]
        self.admin_url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def new_database(self) -> str:
        import secrets

        import psycopg

        name = f"batik_lib_{secrets.token_hex(6)}"
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.admin_url.rsplit("/", 1)[0] + f"/{name}"

    def drop_database(self, url: str) -> None:
        import psycopg

        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        import shutil
        import subprocess

        if self.cluster_dir is not None:
            subprocess.run([*self._pg_ctl, "stop"], capture_output=True, check=False)
            shutil.rmtree(self.cluster_dir, ignore_errors=True)
            self.cluster_dir = None


def design_png(shade: int, size: tuple[int, int] = (32, 32)) -> bytes:
    """A small PNG whose bytes differ by `shade` (each one is a different design file)."""
    return image_bytes(Image.new("RGB", size, (shade % 256, (shade // 256) % 256, 40)))


def design_provenance(prompt: str, motifs: list[int], seed: int = 7) -> dict:
    """What the gateway saves with a design, trimmed to the keys the library reads."""
    return {
        "request": {"text": prompt, "top_k": 3},
        "prompt": {"text": prompt, "parts": [], "tokens": 5, "truncated": False, "cut": []},
        "references": [
            {"id": i, "score": 0.5, "motif": {"number": m, "name": f"motif {m}"}}
            for i, m in enumerate(motifs)
        ],
        "seed": seed,
        "steps": 20,
        "strength": 0.5,
        "guidance_scale": 7.5,
        "versions": {"model": "tiny-sd", "index": "v1"},
    }


def publish_to_hub_cache(cache: Path, repo_id: str, revisions: dict[str, Path]) -> dict[str, str]:
    """Lay model directories out as the Hugging Face hub cache holds downloaded revisions
    (`models--org--name/snapshots/<commit>/`, `refs/<revision>` naming the commit), so that
    `from_pretrained(repo_id, revision=...)` in offline mode loads them. Returns the commits."""
    import hashlib
    import shutil

    root = Path(cache) / f"models--{repo_id.replace('/', '--')}"
    commits = {}
    for revision, source in revisions.items():
        commit = hashlib.sha1(f"{repo_id}@{revision}".encode()).hexdigest()
        shutil.copytree(source, root / "snapshots" / commit)
        (root / "refs").mkdir(parents=True, exist_ok=True)
        (root / "refs" / revision).write_text(commit)
        commits[revision] = commit
    return commits


@contextmanager
def served(app, port: int | None = None):
    """`app` on a loopback port (lifespan included) in a thread until the block ends; yields its URL.
    The same `port` again serves a restarted app where the old one was."""
    import threading
    import time

    import httpx
    import uvicorn

    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert thread.is_alive() and time.monotonic() < deadline, f"{url} not ready"
        time.sleep(0.05)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=30)


class LibraryServer:
    """The library service on a fixed loopback port, that a test may stop and start again (same
    data); `settings` are LibrarySettings fields beside `dir`."""

    def __init__(self, directory, **settings) -> None:
        self.directory = directory
        self.settings = settings
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._serving = None

    def start(self) -> None:
        from services.library.app import create_app
        from services.library.config import LibrarySettings

        app = create_app(LibrarySettings(dir=self.directory, **self.settings))
        self._serving = served(app, self.port)
        self._serving.__enter__()

    def stop(self) -> None:
        if self._serving is not None:
            self._serving.__exit__(None, None, None)
            self._serving = None


class WebhookReceiver:
    """An HTTP server on a loopback port that records every POST (path, headers, body) and answers
    the statuses in `answers` in turn, then `then` (200 unless told; a test may change it while
    the server runs): a webhook target for tests. While `hold` (a threading.Event) is set on it
    and not yet set itself, a request is recorded and its answer waits for it."""

    def __init__(self, answers: list[int] | None = None, then: int = 200) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.received: list[dict] = []
        self.answers = list(answers or [])
        self.then = then
        self.hold: threading.Event | None = None
        self._arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver._arrived:
                    status = receiver.answers.pop(0) if receiver.answers else receiver.then
                    receiver.received.append(
                        {
                            "path": self.path,
                            "headers": dict(self.headers),
                            "body": body,
                            "status": status,
                        }
                    )
                    receiver._arrived.notify_all()
                if receiver.hold is not None:
                    receiver.hold.wait()
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):  # quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait_for(self, count: int, deadline_s: float = 60.0) -> list[dict]:
        """The first `count` requests, once they have arrived (AssertionError past the deadline)."""
        import time

        deadline = time.monotonic() + deadline_s
        with self._arrived:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"{len(self.received)} of {count} webhook calls arrived"
                self._arrived.wait(left)
            return self.received[:count]


def sse_events(lines) -> list[tuple[str, dict]]:
    """(event, data) of each event of a Server-Sent Events stream, from its lines."""
    import json

    events, name = [], None
    for line in lines:
        if line.startswith("event: "):
            name = line[len("event: ") :]
        elif line.startswith("data: "):
            events.append((name, json.loads(line[len("data: ") :])))
    return events
