"""Full-size Stable Diffusion 1.5 (marker `slow`): the published configs at their real size (UNet
860 M, VAE 84 M, text encoder 123 M parameters), random weights, OpenAI's BPE vocabulary, saved in the
hub layout and loaded by `SdGenerator`; one img2img at 256 px with 2 steps on the CPU. Nothing is
downloaded.

It prints its time and peak memory (VmHWM; docs/BENCHMARKS.md keeps the figures); it asserts neither.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.slow


def peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@pytest.fixture
def model_dir(tmp_path):
    """4.3 GB of weights: removed after the test (pytest keeps its last three temp folders)."""
    import shutil

    yield tmp_path / "stable-diffusion-v1-5"
    shutil.rmtree(tmp_path / "stable-diffusion-v1-5", ignore_errors=True)


def test_full_size_sd15_img2img_through_the_engine(model_dir, capsys):
    from services.common.contracts.generation import GenerateRequest
    from services.common.fullsize.sd import build_sd15
    from services.generation.generator import SdGenerator

    started = time.perf_counter()
    model = build_sd15(model_dir)
    built = time.perf_counter()
    assert (model / "unet" / "diffusion_pytorch_model.safetensors").stat().st_size > 3.4e9

    engine = SdGenerator(str(model), device="cpu", dtype="float32")
    loaded = time.perf_counter()
    unet = engine.img2img.unet
    assert sum(p.numel() for p in unet.parameters()) > 859e6
    assert list(unet.config.block_out_channels) == [320, 640, 1280, 1280]
    assert engine.img2img.text_encoder.config.hidden_size == 768 == unet.config.cross_attention_dim
    assert len(engine.tokenizer) == 49408

    init = Image.fromarray(np.random.default_rng(0).integers(0, 255, (256, 256, 3), np.uint8))
    request = GenerateRequest(
        prompt="batik nitik, dotted geometric motif, brown and cream",
        width=256,
        height=256,
        steps=2,
        strength=0.55,
        seed=0,
    )
    steps = []
    result = engine.generate(request, init, progress=lambda done, total: steps.append(done))
    generated = time.perf_counter()
    assert result.mode == "img2img" and result.images[0].size == (256, 256)
    # int(2 x 0.55) = 1 step; SD 1.5's PNDM (PLMS, skip_prk_steps) repeats its first timestep.
    assert steps == [1, 2]
    assert np.isfinite(np.asarray(result.images[0], float)).all()
    assert engine.describe()["dtype"] == "float32"

    with capsys.disabled():
        print(
            f"\nfull-size SD 1.5 smoke: build + save {built - started:.1f} s, load "
            f"{loaded - built:.1f} s, img2img 256 px 2 steps {generated - loaded:.1f} s, total "
            f"{generated - started:.1f} s, VmHWM {peak_rss_mib():.0f} MiB"
        )
