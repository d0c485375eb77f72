"""Seamless tiles and symmetry groups, measured on the tiny SD pipeline (structure, not weights)."""

import numpy as np
import pytest
import torch
from PIL import Image

from services.common.repeats import seam_ratio
from services.generation.pakem import (
    circular_padding,
    detect_group,
    finish_image,
    project_array,
    project_latents,
    symmetry_callback,
    symmetry_error,
)


@pytest.fixture(scope="module")
def pipeline(tiny_models):
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(
        str(tiny_models["sd"]), safety_checker=None, requires_safety_checker=False
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def run(pipeline, *, tile=False, group="none", seed=3, size=64):
    generator = torch.Generator("cpu").manual_seed(seed)
    kwargs = dict(
        prompt="batik nitik", num_inference_steps=6, height=size, width=size, generator=generator
    )
    callback = symmetry_callback(group)
    if callback:
        kwargs["callback_on_step_end"] = callback
    if tile:
        with circular_padding(pipeline.unet, pipeline.vae):
            image = pipeline(**kwargs).images[0]
    else:
        image = pipeline(**kwargs).images[0]
    return np.asarray(finish_image(image, group))


@pytest.mark.parametrize("group", ["c2", "c4", "d4"])
def test_projection_is_invariant_and_idempotent(group):
    rng = np.random.default_rng(0)
    array = rng.uniform(0, 255, (16, 16, 3))
    projected = project_array(array, group)
    assert symmetry_error(projected, group) < 1e-9
    assert np.allclose(project_array(projected, group), projected)
    latents = torch.from_numpy(rng.normal(size=(1, 4, 8, 8)))
    once = project_latents(latents, group)
    assert torch.allclose(project_latents(once, group), once)


def test_tiled_output_is_seamless(pipeline):
    # The bound. Random-weight images are noise-like, so the plain baseline is near 1 too;
    # the torus test below is the one that tells tiled from plain.
    assert seam_ratio(run(pipeline, tile=True)) <= 1.1


@pytest.mark.parametrize("group", ["c4", "d4"])
def test_symmetric_output_keeps_its_group(pipeline, group):
    baseline = symmetry_error(run(pipeline), group)
    error = symmetry_error(run(pipeline, group=group), group)
    assert error <= 1.0, (error, baseline)
    assert baseline > 5 * max(error, 0.2)


def test_padding_is_restored_after_the_call(pipeline):
    convs = [m for m in pipeline.unet.modules() if isinstance(m, torch.nn.Conv2d)]
    with circular_padding(pipeline.unet):
        assert all(c.padding_mode == "circular" for c in convs)
    assert all(c.padding_mode == "zeros" for c in convs)
    # A plain run after a tiled one is byte-identical to a plain run before it.
    before = run(pipeline)
    run(pipeline, tile=True)
    assert np.array_equal(run(pipeline), before)


def test_auto_detects_the_reference_group():
    rng = np.random.default_rng(1)
    quarter = rng.uniform(0, 255, (32, 32))
    # Four-fold rotational symmetry without reflections: c4, not d4.
    c4 = np.zeros((64, 64))
    for k in range(4):
        c4 += np.rot90(np.pad(quarter, ((0, 32), (0, 32))), k)
    group, scores = detect_group(np.stack([c4] * 3, axis=-1))
    assert group == "c4" and scores["c4"] < 1e-9 and scores["d4"] > 12
    mirrored = project_array(np.stack([c4] * 3, axis=-1), "d4")
    assert detect_group(mirrored)[0] == "d4"
    assert detect_group(rng.uniform(0, 255, (64, 64, 3)))[0] == "none"


def test_unknown_group_and_non_square_images_are_refused():
    with pytest.raises(ValueError, match="unknown symmetry group"):
        symmetry_error(np.zeros((8, 8)), "c6")
    with pytest.raises(ValueError, match="square"):
        project_array(np.zeros((8, 16)), "c4")
    assert finish_image(Image.new("RGB", (8, 16)), "none").size == (8, 16)


def test_tiled_generation_lives_on_a_torus(pipeline):
    """With circular padding everywhere, rolling the starting noise rolls the image the same way:
    the tile has no edge. Without it, the borders break the equivariance."""
    latents = torch.randn(1, 4, 8, 8, generator=torch.Generator("cpu").manual_seed(0))

    def generate(start, tile):
        kwargs = dict(
            prompt="batik nitik", num_inference_steps=4, height=64, width=64, latents=start.clone()
        )
        if tile:
            with circular_padding(pipeline.unet, pipeline.vae):
                return np.asarray(pipeline(**kwargs).images[0], dtype=float)
        return np.asarray(pipeline(**kwargs).images[0], dtype=float)

    rolled = torch.roll(latents, shifts=(2, 2), dims=(-2, -1))  # 2 latents = 16 px
    for tile, bound in ((True, 1.0), (False, None)):
        shifted = np.roll(generate(latents, tile), shift=(16, 16), axis=(0, 1))
        difference = np.abs(generate(rolled, tile) - shifted).mean()
        if tile:
            assert difference <= bound, difference
        else:
            assert difference > 5, difference
