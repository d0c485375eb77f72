"""Run the services as local processes: `batik demo` (tiny models, offline) and `batik up`.

Each service is a real uvicorn process on a loopback port; the launcher polls `/readyz` with a
deadline, prints where everything is, restarts a child that crashes (with backoff, said on the
console) and stops every child on Ctrl-C or SIGTERM, or when one keeps crashing. When `redis-server`
is installed, jobs get a private Redis of their own that persists (its append-only file in the
cache directory) and never evicts, so accepted jobs survive a restart of the demo.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from services.common.server_limits import limits_for

REPO_ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = REPO_ROOT / ".cache" / "batik"
SHARED_SAMPLE = REPO_ROOT.parent / "shared" / "datasets" / "batik-nitik-960-sample"
SAMPLE_WORKBOOK = "Batik Nitik 960 Metadata - Indonesian English v3.xlsx"
SAMPLE_IMAGES = "Batik Nitik 960 Images"

# A stack of tiny models on a few shared cores (tests, benchmarks): one torch thread per service (two
# threads on two busy cores can make one call 50x slower), no hub, and small generated images.
TINY_STACK_ENV = {
    "OMP_NUM_THREADS": "1",
    "HF_HUB_OFFLINE": "1",
    "RETRIEVAL_TORCH_THREADS": "1",
    "CAPTIONING_TORCH_THREADS": "1",
    "GENERATION_TORCH_THREADS": "1",
    "GATEWAY_GENERATION_SIZE": "64",
}


@dataclass
class ServiceProcess:
    name: str
    app: str
    port: int
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    # A process that is not a uvicorn app (the Streamlit dashboard) gives its own command line.
    command: list[str] | None = None
    ready_path: str = "/readyz"
    # A process that speaks no HTTP (the job Redis) says it is ready through this instead.
    probe: Callable[[], bool] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, base_env: dict[str, str], log_dir: Path) -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        log = (log_dir / f"{self.name}.log").open("ab")
        self.process = subprocess.Popen(
            self.command
            or [
                sys.executable,
                "-m",
                "uvicorn",
                self.app,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-access-log",
                *(limits.args() if (limits := limits_for(self.app)) else []),
            ],
            env={**base_env, **self.env},
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def wait_ready(services: list[ServiceProcess], deadline_s: float) -> None:
    """Poll every `/readyz` until all answer 200; fail with the reason when one dies or time runs out."""
    deadline = time.monotonic() + deadline_s
    pending = {s.name: s for s in services}
    while pending:
        for name, service in list(pending.items()):
            if service.process and service.process.poll() is not None:
                raise RuntimeError(f"{name} exited with code {service.process.returncode}")
            if service.probe is not None:
                if service.probe():
                    del pending[name]
                continue
            try:
                answer = httpx.get(f"{service.url}{service.ready_path}", timeout=1.0)
            except httpx.HTTPError:
                continue
            if answer.status_code == 200:
                del pending[name]
            elif "loading failed" in answer.text:
                raise RuntimeError(f"{name} failed to load: {answer.json()['error']['message']}")
        if pending and time.monotonic() > deadline:
            raise TimeoutError(f"not ready after {deadline_s:.0f} s: {', '.join(pending)}")
        time.sleep(0.25)


@contextlib.contextmanager
def running(
    services: list[ServiceProcess], log_dir: Path, deadline_s: float = 240
) -> Iterator[list[ServiceProcess]]:
    """Start `services` (logs in `log_dir`), wait until every one is ready, and stop them all at
    the end; when one fails to start, the tail of each log is printed first."""
    for service in services:
        service.start(dict(os.environ), log_dir)
    try:
        wait_ready(services, deadline_s=deadline_s)
        yield services
    except Exception:
        for service in services:
            log = log_dir / f"{service.name}.log"
            tail = log.read_text(errors="replace")[-3000:] if log.is_file() else ""
            print(f"--- {service.name} log ---\n{tail}")
        raise
    finally:
        for service in services:
            service.stop()


def ingest_in_child(images: Path, workbook: Path, index_dir: Path, *, model: str) -> None:
    """`batik ingest` in a child process. CLIP's CUDA context and the allocator's cached memory die
    with the child, so the three model services start on an empty GPU; the parent (`batik up`) never
    imports torch at all."""
    command = [sys.executable, "-m", "services.cli", "ingest", "--images", str(images)]
    command += ["--metadata", str(workbook), "--out", str(index_dir), "--model", model]
    result = subprocess.run(command, cwd=REPO_ROOT, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"ingest failed (exit {result.returncode}); see its output above")


def prepare_index(index_dir: Path, images: Path, workbook: Path, *, model: str) -> Path:
    """The index `batik up` serves: kept when it exists, else built by a child ingest."""
    if not (index_dir / "manifest.json").is_file():
        ingest_in_child(images, workbook, index_dir, model=model)
    return index_dir


def redis_url_if_running(url: str = "redis://127.0.0.1:6379/0") -> str | None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.3).ping()
    except (redis.RedisError, OSError):
        return None
    return url


def stack(
    *,
    clip: str,
    blip2: str,
    sd: str,
    index_dir: Path,
    redis_url: str | None,
    base_port: int = 8000,
    ports: dict[str, int] | None = None,
    extra_env: dict[str, str] | None = None,
    library_dir: Path | None = None,
    job_redis: str | None = None,
) -> list[ServiceProcess]:
    """The services; the gateway on `base_port` and the others on the next ports. With
    `library_dir`, the library (designs: SQLite and files in that directory) on `base_port + 4`,
    and the gateway saves every generated image there. `job_redis` (`redis://host:port`): where
    jobs live (gateway db 0, generation db 1), apart from the cache at `redis_url`; None: jobs
    share `redis_url`."""
    gateway_jobs = f"{job_redis}/0" if job_redis else None
    generation_jobs = f"{job_redis}/1" if job_redis else redis_url
    port = ports or {
        "gateway": base_port,
        "retrieval": base_port + 1,
        "captioning": base_port + 2,
        "generation": base_port + 3,
        **({"library": base_port + 4} if library_dir is not None else {}),
    }
    extra = extra_env or {}
    upstream = {name: f"http://127.0.0.1:{port[name]}" for name in port}
    library = (
        [
            ServiceProcess(
                "library",
                "services.library.app:app",
                port["library"],
                {"LIBRARY_DIR": str(library_dir), **extra},
            )
        ]
        if library_dir is not None
        else []
    )
    return [
        *library,
        ServiceProcess(
            "retrieval",
            "services.retrieval.app:app",
            port["retrieval"],
            {"RETRIEVAL_MODEL": clip, "RETRIEVAL_INDEX_DIR": str(index_dir), **extra},
        ),
        ServiceProcess(
            "captioning",
            "services.captioning.app:app",
            port["captioning"],
            {"CAPTIONING_MODEL": blip2, **extra},
        ),
        ServiceProcess(
            "generation",
            "services.generation.app:app",
            port["generation"],
            {
                "GENERATION_MODEL": sd,
                # Jobs (POST /v1/jobs) live in Redis; without one only /v1/generate is served.
                **({"GENERATION_REDIS_URL": generation_jobs} if generation_jobs else {}),
                **extra,
            },
        ),
        ServiceProcess(
            "gateway",
            "gateway.app:app",
            port["gateway"],
            {
                "GATEWAY_RETRIEVAL_URL": upstream["retrieval"],
                "GATEWAY_CAPTIONING_URL": upstream["captioning"],
                "GATEWAY_GENERATION_URL": upstream["generation"],
                "GATEWAY_TOKENIZER": sd,
                # Designs are kept only where a library runs beside the gateway.
                "GATEWAY_LIBRARY_URL": upstream.get("library", "off"),
                **({"GATEWAY_REDIS_URL": redis_url} if redis_url else {}),
                **({"GATEWAY_JOB_REDIS_URL": gateway_jobs} if gateway_jobs else {}),
                **extra,
            },
        ),
    ]


def streamlit_upload_mb(max_upload_bytes: int) -> int:
    """Streamlit's `server.maxUploadSize` (whole MiB) for the gateway's image cap, rounded down:
    the upload box must not take a photo the gateway would refuse with 413."""
    return max(1, max_upload_bytes // 2**20)


def free_port() -> int:
    """A loopback port nobody listens on now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def job_redis_process(data_dir: Path, port: int | None = None) -> ServiceProcess | None:
    """A private redis-server for jobs: its append-only file in `data_dir` (kept between runs),
    noeviction; None when redis-server is not installed (jobs then use the cache's Redis, if any)."""
    binary = shutil.which("redis-server")
    if binary is None:
        return None
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()

    def answers() -> bool:
        import redis

        try:
            return bool(redis.Redis(port=port, socket_connect_timeout=0.3).ping())
        except (redis.RedisError, OSError):
            return False

    return ServiceProcess(
        "job-redis",
        "redis-server",
        port,
        command=[
            binary,
            *("--port", str(port), "--bind", "127.0.0.1", "--dir", str(data_dir)),
            *("--save", "", "--appendonly", "yes", "--appendfsync", "everysec"),
            *("--maxmemory-policy", "noeviction"),
        ],
        probe=answers,
    )


def redis_address(service: ServiceProcess) -> str:
    return f"redis://127.0.0.1:{service.port}"


def dashboard_process(
    gateway_url: str,
    port: int = 8501,
    env: dict[str, str] | None = None,
    max_upload_bytes: int | None = None,
) -> ServiceProcess:
    """The Streamlit dashboard, a client of the gateway at `gateway_url`, whose upload box takes
    what that gateway takes (`max_upload_bytes`; default: GATEWAY_MAX_UPLOAD_BYTES of this
    environment, as the gateway reads it)."""
    from gateway.config import GatewaySettings

    limit = max_upload_bytes or GatewaySettings().max_upload_bytes
    return ServiceProcess(
        "dashboard",
        "dashboard/app.py",
        port,
        {"DASHBOARD_GATEWAY_URL": gateway_url, **(env or {})},
        command=[
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(REPO_ROOT / "dashboard" / "app.py"),
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--server.fileWatcherType",
            "none",
            "--browser.gatherUsageStats",
            "false",
            "--client.toolbarMode",
            "viewer",
            "--server.maxUploadSize",
            str(streamlit_upload_mb(limit)),
        ],
        ready_path="/_stcore/health",
    )


@dataclass
class Supervisor:
    """Restarts a child that exits, after a backoff that doubles with each crash in a row, and says
    so on the console; a crash counts as "in a row" unless the child had stayed up `stable_s`.
    After `max_restarts` crashes in a row `check` answers False: the caller stops everything."""

    services: list[ServiceProcess]
    base_env: dict[str, str]
    log_dir: Path
    first_backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    max_restarts: int = 5
    stable_s: float = 60.0
    say: Callable[[str], None] = field(default=lambda line: print(line, flush=True))

    def __post_init__(self) -> None:
        now = time.monotonic()
        self.crashes = {s.name: 0 for s in self.services}
        self.started_at = {s.name: now for s in self.services}
        self.restart_at: dict[str, float] = {}

    def check(self) -> bool:
        """One look at every child: note new exits, restart the ones whose backoff is over."""
        now = time.monotonic()
        for service in self.services:
            name = service.name
            if service.process is None or service.process.poll() is None:
                continue
            if name in self.restart_at:
                if now >= self.restart_at[name]:
                    del self.restart_at[name]
                    service.start(self.base_env, self.log_dir)
                    self.started_at[name] = now
                    self.say(f"{name} restarted (pid {service.process.pid})")
                continue
            code = service.process.returncode
            if now - self.started_at[name] >= self.stable_s:
                self.crashes[name] = 0
            self.crashes[name] += 1
            if self.crashes[name] > self.max_restarts:
                self.say(
                    f"{name} exited ({code}) {self.crashes[name]} times in a row; stopping everything"
                )
                return False
            delay = min(self.first_backoff_s * 2 ** (self.crashes[name] - 1), self.max_backoff_s)
            self.restart_at[name] = now + delay
            self.say(
                f"{name} exited ({code}); restarting it in {delay:g} s "
                f"(restart {self.crashes[name]} of {self.max_restarts}); the others keep serving"
            )
        return True


def run_until_stopped(services: list[ServiceProcess], *, ready_deadline_s: float) -> int:
    log_dir = CACHE_DIR / "logs"
    base_env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    stopping = False

    def request_stop(_signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        for service in services:
            service.start(base_env, log_dir)
        print(f"starting {len(services)} services (logs in {log_dir}) ...", flush=True)
        wait_ready(services, ready_deadline_s)
        gateway = next(s for s in services if s.name == "gateway")
        print("\nBatik Nitik RAG is up:")
        for service in services:
            where = redis_address(service) if service.probe else service.url
            docs = "" if service.command else f"   (OpenAPI: {service.url}/docs)"
            print(f"  {service.name:<11} {where}{docs}")
        print(
            "\nTry:\n  curl -s " + gateway.url + "/v1/rag -H 'content-type: application/json' "
            '-d \'{"text": "sekar bunga", "seed": 7}\'\n\nCtrl-C stops everything.',
            flush=True,
        )
        supervisor = Supervisor(services, base_env, log_dir)
        while not stopping:
            if not supervisor.check():
                return 1
            time.sleep(0.5)
        return 0
    finally:
        for service in services:
            service.stop()
        print("stopped", flush=True)
