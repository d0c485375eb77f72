"""Issue 16, finding 9: `batik demo` tore the whole stack down when one service died. The launcher's
supervisor restarts a crashed child with backoff and says so; it gives up (and the demo stops) only
after repeated crashes. Issue 16, finding 2 for the demo: jobs get a private Redis whose append-only
file lives in the data directory. Real child processes throughout."""

from __future__ import annotations

import shutil
import sys
import time

import pytest
import redis

from services.launcher import ServiceProcess, Supervisor, job_redis_process, wait_ready


def child(name: str, code: str) -> ServiceProcess:
    return ServiceProcess(name, "-", 0, command=[sys.executable, "-c", code])


def until(predicate, deadline_s: float = 30.0):
    deadline = time.monotonic() + deadline_s
    while not (value := predicate()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
    return value


def test_a_crashed_service_is_restarted_with_backoff_and_the_others_keep_running(tmp_path):
    steady = child("retrieval", "import time; time.sleep(120)")
    flaky = child("captioning", "import time; time.sleep(120)")
    lines: list[str] = []
    services = [steady, flaky]
    for service in services:
        service.start({}, tmp_path)
    supervisor = Supervisor(services, {}, tmp_path, first_backoff_s=0.2, say=lines.append)
    try:
        first_pid, steady_pid = flaky.process.pid, steady.process.pid
        flaky.process.kill()
        flaky.process.wait()
        assert supervisor.check()  # noticed: restart scheduled, not done yet (backoff)
        assert flaky.process.pid == first_pid and "restarting it in 0.2 s" in lines[-1]
        until(lambda: supervisor.check() and flaky.process.pid != first_pid)
        assert flaky.process.poll() is None and "captioning restarted" in lines[-1]
        assert steady.process.pid == steady_pid and steady.process.poll() is None
        assert supervisor.crashes["captioning"] == 1
    finally:
        for service in services:
            service.stop()


def test_repeated_crashes_stop_everything_with_a_reason(tmp_path):
    crashing = child("generation", "raise SystemExit(3)")
    crashing.start({}, tmp_path)
    lines: list[str] = []
    supervisor = Supervisor(
        [crashing], {}, tmp_path, first_backoff_s=0.01, max_restarts=3, say=lines.append
    )
    try:
        until(lambda: not supervisor.check() or None)
    finally:
        crashing.stop()
    restarts = [line for line in lines if "restarted" in line]
    assert len(restarts) == 3
    assert lines[-1] == "generation exited (3) 4 times in a row; stopping everything"
    delays = [
        line.split("restarting it in ")[1].split(" s")[0]
        for line in lines
        if "restarting it in " in line
    ]
    assert delays[:3] == ["0.01", "0.02", "0.04"]  # the backoff doubles


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
def test_the_demo_job_redis_keeps_jobs_across_restarts_in_its_data_dir(tmp_path):
    service = job_redis_process(tmp_path / "job-redis")
    assert service is not None
    service.start({}, tmp_path / "logs")
    try:
        wait_ready([service], deadline_s=30)
        client = redis.Redis(port=service.port)
        assert client.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"
        assert client.config_get("appendonly")["appendonly"] == "yes"
        client.set("batik:jobs:kept", "queued")
        client.close()
        service.stop()  # SIGTERM: the AOF is flushed
        service.start({}, tmp_path / "logs")
        wait_ready([service], deadline_s=30)
        client = redis.Redis(port=service.port)
        assert client.get("batik:jobs:kept") == b"queued"
        client.close()
    finally:
        service.stop()
    assert any((tmp_path / "job-redis").rglob("*.aof"))
