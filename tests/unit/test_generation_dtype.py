"""Every SD component keeps the dtype the engine was asked for, through every pipeline view.

diffusers' `from_pipe` defaults to float32 and casts the components it shares in place: an engine
asked for float16 used to end with a float32 UNet, VAE, text encoder and ControlNet while reporting
float16. These run half precision on the CPU, which PyTorch supports for these layers.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from services.common.contracts.generation import GenerateRequest
from services.generation.generator import SdGenerator
from tests.helpers import b64, image_bytes

INIT = Image.new("RGB", (64, 64), (200, 120, 40))
CONTROL = Image.fromarray(
    np.kron(np.indices((8, 8)).sum(0) % 2 * 255, np.ones((8, 8))).astype("uint8")
)
BASE = {"prompt": "batik nitik dotted flower", "width": 64, "height": 64, "steps": 4, "seed": 3}
COMPONENTS = ("unet", "vae", "text_encoder", "controlnet")


def pipeline_views(engine: SdGenerator) -> dict[str, object]:
    controlled = {f"controlnet-{mode}": pipe for mode, pipe in engine.controlled.items()}
    return {"img2img": engine.img2img, "txt2img": engine.txt2img, **controlled}


def component_dtypes(engine: SdGenerator) -> dict[str, torch.dtype]:
    """Read from the modules themselves, not from what the engine says."""
    return {
        f"{view}.{name}": getattr(pipe, name).dtype
        for view, pipe in pipeline_views(engine).items()
        for name in COMPONENTS
        if getattr(pipe, name, None) is not None
    }


@pytest.fixture(
    scope="module",
    params=[
        ("tiny", "float16"),
        ("tiny", "bfloat16"),
        ("real-config", "float16"),
        ("real-config", "bfloat16"),
    ],
    ids=lambda p: "-".join(p),
)
def half_engine(request) -> tuple[str, SdGenerator]:
    """The project's tiny SD, and SD 1.5 built from the published configs at a tiny width."""
    models, dtype = request.param
    fixture = "tiny_models" if models == "tiny" else "real_config_sd"
    dirs = request.getfixturevalue(fixture)
    engine = SdGenerator(
        str(dirs["sd"]), device="cpu", dtype=dtype, controlnet=str(dirs["controlnet"])
    )
    return dtype, engine


def test_every_component_of_every_view_keeps_the_dtype(half_engine):
    asked, engine = half_engine
    found = component_dtypes(engine)
    # Four views: img2img, txt2img and the two ControlNet ones (which add the ControlNet).
    assert len(found) == 3 + 3 + 4 + 4
    assert {key: dtype for key, dtype in found.items() if dtype != getattr(torch, asked)} == {}
    assert engine.describe()["dtype"] == asked


def test_requests_complete_in_every_view_and_leave_the_dtype(half_engine):
    asked, half_engine = half_engine
    img2img = half_engine.generate(GenerateRequest(**BASE), INIT)
    txt2img = half_engine.generate(GenerateRequest(**BASE), None)
    controlled = half_engine.generate(
        GenerateRequest(**BASE, control_scale=1.0, init_image=b64(image_bytes(INIT))),
        INIT,
        control_image=CONTROL,
    )
    for result, mode in ((img2img, "img2img"), (txt2img, "txt2img"), (controlled, "img2img")):
        assert result.mode == mode and result.images[0].size == (64, 64)
        assert np.asarray(result.images[0]).std() > 0  # not a blank (NaN-decoded) image
    assert set(component_dtypes(half_engine).values()) == {getattr(torch, asked)}
