"""The diffusion upscaler with the repeat's padding, on the tiny x4 upscaler (structure, not weights)."""

import numpy as np
import pytest
import torch
from PIL import Image

from services.common.repeats import SEAMLESS_REPEATS, repeat_canvas, seam_ratio
from services.common.upscaling import lanczos_upscale
from services.generation.pakem import repeat_padding
from services.generation.upscaler import DiffusionOptions, SeamUpscaler, upscale_tile
from tests.unit.test_upscaling import seamless_tile

OPTIONS = DiffusionOptions(
    prompt="batik nitik", steps=4, noise_level=20, guidance_scale=9.0, seed=1
)


@pytest.fixture(scope="module")
def upscaler(tiny_models):
    return SeamUpscaler(str(tiny_models["upscaler"]), device="cpu")


def moved(array, repeat, dy, dx):
    """The repeat seen from (dy, dx) back: what shifting the cloth brings into the tile's frame."""
    return repeat_canvas(array, repeat, array.shape[0], array.shape[1], top=-dy, left=-dx)


@pytest.mark.parametrize("repeat", SEAMLESS_REPEATS)
def test_the_diffusion_upscale_lives_on_the_repeat_s_torus(upscaler, repeat):
    """Shifting the input and the starting noise across the repeat's offset edge shifts the 4x
    result the same way (times 4): its detail continues into the neighbour the repeat puts there.
    Without the repeat's padding (or with the plain torus for an offset repeat) that breaks."""
    pipe = upscaler.pipeline
    tile = seamless_tile(repeat)
    latents = torch.randn(1, 4, 32, 32, generator=torch.Generator("cpu").manual_seed(0))
    dy, dx = (4, 0) if repeat == "half_brick" else (0, 4)
    hwc = np.moveaxis(latents[0].numpy(), 0, -1)
    start = torch.from_numpy(np.ascontiguousarray(np.moveaxis(moved(hwc, repeat, dy, dx), -1, 0)))

    def run(image, noise, padding):
        # noise_level 0: the pipeline's own noise on the input (drawn unshifted) is 1% of it.
        kwargs = dict(
            prompt="batik", image=Image.fromarray(image), num_inference_steps=4, noise_level=0,
            latents=noise, generator=torch.Generator("cpu").manual_seed(1),
        )  # fmt: skip
        with repeat_padding(padding, pipe.unet, pipe.vae) if padding else torch.no_grad():
            return np.asarray(pipe(**kwargs).images[0], dtype=float)

    paddings = [repeat, None] + (["full"] if repeat != "full" else [])
    for padding in paddings:
        upscaled = run(tile, latents, padding)
        difference = np.abs(
            run(moved(tile, repeat, dy, dx), start[None], padding)
            - moved(upscaled, repeat, 4 * dy, 4 * dx)
        ).mean()
        if padding == repeat:
            assert difference <= 1.0, difference
            assert seam_ratio(upscaled.astype(np.uint8), repeat) <= 1.1
        else:
            assert difference > 4, (padding, difference)


@pytest.mark.parametrize("repeat", SEAMLESS_REPEATS)
def test_upscale_tile_runs_the_upscaler_then_lanczos_to_the_exact_size(upscaler, repeat):
    # The seam of each stage is shown above (the upscaler's torus) and in test_upscaling.py
    # (Lanczos with the neighbours). On random weights the output is noise-like, so a seam ratio
    # of the result tells nothing here (about 1 +- 0.1, padded or not).
    tile = seamless_tile(repeat)
    result = upscale_tile(upscaler, tile, repeat, 150, 124, OPTIONS)
    assert result.method == "diffusion" and result.seed == OPTIONS.seed
    assert result.image.shape == (124, 150, 3) and result.image.dtype == np.uint8
    four_x = upscaler.upscale(tile, repeat, OPTIONS)
    assert four_x.shape == (128, 128, 3)
    np.testing.assert_array_equal(result.image, lanczos_upscale(four_x, repeat, 150, 124))
    exact = upscale_tile(upscaler, tile, repeat, 128, 128, OPTIONS)
    np.testing.assert_array_equal(exact.image, four_x)  # the same seed: the same bytes


def test_the_input_is_resampled_to_a_size_the_unet_takes(upscaler):
    # The tiny UNet halves once and the VAE decodes 4x: inputs are multiples of 4 px.
    assert upscaler.factor == 4 and upscaler.model_input_size("half_drop", 30, 30) == (32, 32)
    result = upscale_tile(
        upscaler, seamless_tile("half_drop", 30, 30), "half_drop", 120, 120, OPTIONS
    )
    assert result.method == "diffusion" and result.image.shape == (120, 120, 3)


def test_mirror_and_shrinking_are_lanczos_and_none_is_the_plain_upscaler(upscaler):
    tile = seamless_tile("full")
    mirror = upscale_tile(upscaler, tile, "mirror", 128, 128, OPTIONS)
    assert mirror.method == "lanczos"
    np.testing.assert_array_equal(mirror.image, lanczos_upscale(tile, "mirror", 128, 128))
    assert upscale_tile(upscaler, tile, "full", 16, 16, OPTIONS).method == "lanczos"
    assert upscale_tile(None, tile, "full", 64, 64, OPTIONS).method == "lanczos"
    alone = upscale_tile(upscaler, tile, "none", 128, 128, OPTIONS)
    assert alone.method == "diffusion" and alone.image.shape == (128, 128, 3)
    with pytest.raises(ValueError, match="even height"):
        upscale_tile(upscaler, tile, "half_drop", 128, 127, OPTIONS)
