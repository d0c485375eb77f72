"""Designs over real HTTP on the whole stack (five uvicorn processes, the library on SQLite, a real
Redis): a design made through the gateway survives a restart of every process and a flush of Redis,
with the same image bytes and its settings inside the PNG; then it is listed, filtered, remixed,
imported back and deleted."""

from __future__ import annotations

import hashlib
import io
import json
import os

import httpx
import pytest
import redis
from PIL import Image

from services.launcher import wait_ready
from tests.e2e.conftest import url_of

pytestmark = pytest.mark.e2e
QUICK = {"steps": 10, "strength": 0.5}


def test_a_design_survives_a_restart_of_everything_and_a_redis_flush(running_stack, stack_redis):
    gateway = url_of(running_stack, "gateway")
    answer = httpx.post(
        f"{gateway}/v1/rag",
        json={"text": "kawung nitik", "seed": 77, "symmetry": "d4", **QUICK},
        timeout=300,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["degraded"] == [], body["degraded"]
    (ref,) = body["designs"]
    before = httpx.get(f"{gateway}{ref['url']}", timeout=30)
    assert before.status_code == 200
    design = httpx.get(f"{gateway}/v1/designs/{ref['id']}", timeout=30).json()
    assert design["sha256"] == hashlib.sha256(before.content).hexdigest()

    services = [running_stack[name] for name in ("retrieval", "captioning", "generation")]
    services += [running_stack["library"], running_stack["gateway"]]
    for service in services:
        service.stop()
    redis.Redis(port=stack_redis.port).flushall()
    for service in services:
        service.start(dict(os.environ), running_stack["logs"])
    wait_ready(services, deadline_s=240)

    after = httpx.get(f"{gateway}{ref['url']}", timeout=30)
    assert after.status_code == 200 and after.content == before.content
    with Image.open(io.BytesIO(after.content)) as png:
        assert "kawung nitik" in png.text["parameters"] and "Seed: 77" in png.text["parameters"]
        assert json.loads(png.text["batik"])["symmetry"] == "d4"
    again = httpx.get(f"{gateway}/v1/designs/{ref['id']}", timeout=30).json()
    assert again["provenance"] == design["provenance"]

    # Listed (newest first) and found by its words; remixed with its lineage; read back; deleted.
    listed = httpx.get(f"{gateway}/v1/designs", params={"q": "kawung"}, timeout=30).json()
    assert ref["id"] in [d["id"] for d in listed["designs"]]
    remix = httpx.post(
        f"{gateway}/v1/designs/{ref['id']}/remix", json={"seed": 78}, timeout=300
    ).json()
    child = httpx.get(f"{gateway}/v1/designs/{remix['designs'][0]['id']}", timeout=30).json()
    assert child["parent_id"] == ref["id"] and child["provenance"]["seed"] == 78
    imported = httpx.post(
        f"{gateway}/v1/designs/import",
        files={"image": ("d.png", after.content, "image/png")},
        timeout=30,
    ).json()
    assert imported["source"] == "batik" and imported["request"]["seed"] == 77
    assert httpx.delete(f"{gateway}/v1/designs/{ref['id']}", timeout=30).status_code == 204
    assert httpx.get(f"{gateway}/v1/designs/{ref['id']}", timeout=30).status_code == 404
    listed = httpx.get(f"{gateway}/v1/designs", timeout=30).json()
    assert ref["id"] not in [d["id"] for d in listed["designs"]]
