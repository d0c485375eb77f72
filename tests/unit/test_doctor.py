"""`batik doctor` on this CPU machine: the table renders, the exit code is non-zero, and each missing
piece is named with what to do; the GPU plan and the cache lookup on given inputs."""

from __future__ import annotations

import pytest

from services.doctor import Gpu, Sources, diagnose, model_files_present, plan_placement

HUB_IDS = Sources(
    retrieval="openai/clip-vit-base-patch32",
    captioning="Salesforce/blip2-opt-2.7b",
    generation="stable-diffusion-v1-5/stable-diffusion-v1-5",
)


def fake_hub_snapshot(cache, repo: str, files: dict[str, bytes]) -> None:
    """The Hugging Face cache layout: models--org--name/{refs/main, snapshots/<commit>/...}."""
    folder = cache / ("models--" + repo.replace("/", "--"))
    commit = "0123456789abcdef0123456789abcdef01234567"
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text(commit)
    for name, data in files.items():
        path = folder / "snapshots" / commit / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def test_cli_on_this_machine_exits_non_zero_and_says_why(tmp_path, monkeypatch, capsys):
    import torch

    from services.cli import main

    if torch.cuda.is_available():
        pytest.skip("this test describes a machine without CUDA")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty cache
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    # the hub probe goes to a closed loopback port: unreachable here and on a machine with internet
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    for name in ("RETRIEVAL_MODEL", "CAPTIONING_MODEL", "GENERATION_MODEL"):
        monkeypatch.delenv(name, raising=False)
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    header, rule, *rows = out.splitlines()
    assert header.split()[:3] == ["check", "needed", "this"] and set(rule) <= {"-", " "}
    cuda = next(r for r in rows if r.startswith("CUDA"))
    assert "none" in cuda and cuda.endswith("MISSING")
    assert "A real run would fail here. To fix:" in out
    assert "- CUDA: run on a machine with an NVIDIA GPU" in out
    for source in (HUB_IDS.retrieval, HUB_IDS.captioning, HUB_IDS.generation):
        row = next(r for r in rows if source in r)
        assert "not in the HF cache" in row
        assert f"`huggingface-cli download {source}`" in out
    assert "set CAPTIONING_MODEL to a local directory" in out


def test_local_and_cached_models_count_as_present(tmp_path, tiny_models):
    assert model_files_present(str(tiny_models["clip"])) == (True, f"local {tiny_models['clip']}")
    assert model_files_present(str(tiny_models["sd"]))[0]  # weights in subfolders
    empty = tmp_path / "empty"
    empty.mkdir()
    assert not model_files_present(str(empty))[0]

    cache = tmp_path / "hub"
    fake_hub_snapshot(cache, HUB_IDS.retrieval, {"config.json": b"{}", "model.safetensors": b"x"})
    fake_hub_snapshot(cache, HUB_IDS.captioning, {"config.json": b"{}"})  # weights missing
    present, where = model_files_present(HUB_IDS.retrieval, cache)
    assert present and where.startswith("cached ")
    assert model_files_present(HUB_IDS.captioning, cache) == (False, "cached without weights")
    assert model_files_present(HUB_IDS.generation, cache) == (False, "not in the HF cache")


def test_one_16_gib_gpu_takes_all_three_and_8_gib_does_not(tmp_path, tiny_models):
    local = Sources(
        retrieval=str(tiny_models["clip"]),
        captioning=str(tiny_models["blip2"]),
        generation=str(tiny_models["sd"]),
    )
    t4 = Gpu(0, "Tesla T4", 15.6, (7, 5))
    report = diagnose(local, gpus=[t4], cache_dir=tmp_path, has_bitsandbytes=lambda: True)
    rows = {c.name: c for c in report.checks}
    assert rows["CUDA"].ok and "Tesla T4 15.6 GiB" in rows["CUDA"].found
    assert "(fp16)" in rows["bf16"].found  # a T4 trains QLoRA in fp16
    plan = rows["cuda:0 plan"]
    assert plan.ok and plan.needed.startswith("captioning + generation + retrieval: ~")
    assert report.ok, report.render()

    small = diagnose(
        local,
        gpus=[Gpu(0, "small", 8.0, (8, 6))],
        cache_dir=tmp_path,
        has_bitsandbytes=lambda: True,
    )
    assert not small.ok
    assert "give BLIP-2 its own GPU" in small.render()
    assert plan_placement([Gpu(0, "a", 16, (8, 0)), Gpu(1, "b", 16, (8, 0))], False) == {
        0: ["captioning"],
        1: ["generation", "retrieval"],
    }


def test_smoke_loads_each_model_and_runs_one_request(tmp_path, tiny_models):
    from services.common.tiny import build_tiny_multilingual
    from services.doctor import run_doctor

    local = Sources(
        retrieval=str(tiny_models["clip"]),
        captioning=str(tiny_models["blip2"]),
        generation=str(tiny_models["sd"]),
        # the optional models too: each configured one is loaded and answers one request
        controlnet=str(tiny_models["controlnet"]),
        text_model=str(build_tiny_multilingual(tmp_path / "tower")),
    )
    report = run_doctor(with_smoke=True, device="cpu", sources=local, gpus=[], cache_dir=tmp_path)
    assert [c.name for c in report.smoke] == [
        "smoke retrieval",
        "smoke captioning",
        "smoke generation",
    ]
    assert all(c.ok for c in report.smoke), report.render()
    assert "16-d embedding on cpu, text tower 16-d" in report.smoke[0].found
    assert "1 image 64 px through the ControlNet, float32 on cpu" in report.smoke[2].found
    assert not report.ok  # no GPU here: the checks still fail
    broken = run_doctor(
        with_smoke=True,
        device="cpu",
        sources=Sources(
            retrieval=str(tmp_path), captioning=str(tmp_path), generation=str(tmp_path)
        ),
        gpus=[],
        cache_dir=tmp_path,
    )
    assert not any(c.ok for c in broken.smoke)
    assert "FAILED" in broken.render()


def test_a_failed_smoke_stays_on_its_row_of_the_table():
    from services.doctor import Report, _timed

    def offline() -> str:
        raise OSError("We couldn't connect to 'https://huggingface.co'.\nCheck your connection")

    check = _timed("smoke retrieval", "CLIP: one image + one text", offline)
    assert not check.ok
    assert (
        check.found
        == "OSError: We couldn't connect to 'https://huggingface.co'. Check your connection"
    )
    table = Report(smoke=[check]).render().split("\n\n")[0].splitlines()
    assert len(table) == 3 and table[2].endswith("FAILED")  # header, rule, the one row


def test_the_one_gpu_budgets_are_checked_against_the_plan(tmp_path, tiny_models):
    t4 = Gpu(0, "Tesla T4", 15.6, (7, 5))
    one_gpu = {"retrieval": 0.06, "captioning": 0.55, "generation": 0.28}  # the compose profile's
    local = Sources(
        retrieval=str(tiny_models["clip"]),
        captioning=str(tiny_models["blip2"]),
        generation=str(tiny_models["sd"]),
        memory_fractions=one_gpu,
    )
    report = diagnose(local, gpus=[t4], cache_dir=tmp_path, has_bitsandbytes=lambda: True)
    budgets = {c.name: c for c in report.checks if c.name.endswith("budget")}
    assert set(budgets) == {f"cuda:0 {r} budget" for r in one_gpu}
    assert all(c.ok for c in budgets.values()), report.render()
    assert budgets["cuda:0 captioning budget"].found == "0.55 x 15.6 = 8.6 GiB"

    tight = Sources(**{**local.__dict__, "memory_fractions": {**one_gpu, "captioning": 0.3}})
    report = diagnose(tight, gpus=[t4], cache_dir=tmp_path, has_bitsandbytes=lambda: True)
    assert not report.ok
    assert "raise CAPTIONING_CUDA_MEMORY_FRACTION to at least 0.51" in report.render()


def test_a_pinned_revision_must_be_the_one_in_the_cache(tmp_path):
    cache = tmp_path / "hub"
    files = {"config.json": b"{}", "model.safetensors": b"x"}
    fake_hub_snapshot(cache, HUB_IDS.retrieval, files)
    commit = "0123456789abcdef0123456789abcdef01234567"
    assert model_files_present(HUB_IDS.retrieval, cache, commit)[0]
    other = "fedcba9876543210fedcba9876543210fedcba98"
    assert model_files_present(HUB_IDS.retrieval, cache, other) == (
        False,
        f"not in the HF cache at revision {other}",
    )


def test_the_memory_estimates_follow_the_published_parameter_counts():
    """The doctor's fp16 weight sizes are the real architectures' parameter counts x 2 bytes."""
    import torch
    from diffusers import AutoencoderKL, ControlNetModel, UNet2DConditionModel
    from transformers import Blip2ForConditionalGeneration, CLIPModel, CLIPTextConfig, CLIPTextModel

    from services.common.fullsize.blip2 import blip2_config
    from services.common.fullsize.clip import clip_config
    from services.common.fullsize.sd import controlnet_config, sd15_config
    from services.doctor import CONTROLNET_GIB, GIB, NEEDS

    with torch.device("meta"):
        models = {
            "retrieval": CLIPModel(clip_config(tiny=False)),
            "captioning": Blip2ForConditionalGeneration(blip2_config(tiny=False)),
        }
        sd = [
            UNet2DConditionModel.from_config(sd15_config("unet")),
            AutoencoderKL.from_config(sd15_config("vae")),
            CLIPTextModel(CLIPTextConfig(**sd15_config("text_encoder"))),
        ]
        controlnet = ControlNetModel.from_config(controlnet_config())

    def fp16_gib(*parts) -> float:
        return sum(p.numel() for m in parts for p in m.parameters()) * 2 / GIB

    for role, model in models.items():
        assert NEEDS[role].weights_gib == pytest.approx(fp16_gib(model), rel=0.02), role
    assert NEEDS["generation"].weights_gib == pytest.approx(fp16_gib(*sd), rel=0.02)
    assert fp16_gib(controlnet) == pytest.approx(CONTROLNET_GIB, rel=0.02)


def test_the_hub_probe_honours_offline_mode_and_the_endpoint(monkeypatch):
    from services.doctor import hub_reachable

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert hub_reachable() is False
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens on the discard port
    assert hub_reachable(timeout_s=1.0) is False

    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Mirror(BaseHTTPRequestHandler):
        def do_HEAD(self):
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Mirror)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.server_port}")
        assert hub_reachable(timeout_s=2.0) is True  # a mirror that answers
    finally:
        server.shutdown()
