"""Seamless tiles and symmetry groups, measured on the tiny SD pipeline (structure, not weights)."""

import numpy as np
import pytest
import torch
from PIL import Image

from services.common.repeats import SEAMLESS_REPEATS, repeat_canvas, seam_ratio, wrap_pad
from services.generation.pakem import (
    detect_group,
    finish_image,
    project_array,
    project_latents,
    repeat_padding,
    symmetry_callback,
    symmetry_error,
    wrap_tensor,
)


@pytest.fixture(scope="module")
def pipeline(tiny_models):
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(
        str(tiny_models["sd"]), safety_checker=None, requires_safety_checker=False
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def run(pipeline, *, tile=False, group="none", seed=3, size=64, repeat="full"):
    generator = torch.Generator("cpu").manual_seed(seed)
    kwargs = dict(
        prompt="batik nitik", num_inference_steps=6, height=size, width=size, generator=generator
    )
    callback = symmetry_callback(group)
    if callback:
        kwargs["callback_on_step_end"] = callback
    if tile:
        with repeat_padding(repeat, pipeline.unet, pipeline.vae):
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


@pytest.mark.parametrize("repeat", SEAMLESS_REPEATS)
def test_tiled_output_is_seamless(pipeline, repeat):
    # The bound, across the repeat's own seams. Random-weight images are noise-like, so the
    # plain baseline is near 1 too; the torus tests below are the ones that tell tiled from plain.
    assert seam_ratio(run(pipeline, tile=True, repeat=repeat), repeat) <= 1.1


@pytest.mark.parametrize("group", ["c4", "d4"])
def test_symmetric_output_keeps_its_group(pipeline, group):
    baseline = symmetry_error(run(pipeline), group)
    error = symmetry_error(run(pipeline, group=group), group)
    assert error <= 1.0, (error, baseline)
    assert baseline > 5 * max(error, 0.2)


def test_padding_is_restored_after_the_call(pipeline):
    convs = [m for m in pipeline.unet.modules() if isinstance(m, torch.nn.Conv2d)]
    with repeat_padding("half_drop", pipeline.unet):
        assert all("_conv_forward" in vars(c) for c in convs if any(c.padding))
    assert not any("_conv_forward" in vars(c) for c in convs)
    assert all(c.padding_mode == "zeros" for c in convs)
    # A plain run after a tiled one is byte-identical to a plain run before it.
    before = run(pipeline)
    run(pipeline, tile=True, repeat="half_brick")
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
            with repeat_padding("full", pipeline.unet, pipeline.vae):
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


@pytest.mark.parametrize("repeat", SEAMLESS_REPEATS)
@pytest.mark.parametrize(("kernel", "stride"), [(3, 1), (5, 1), (3, 2)])
def test_a_convolution_reads_the_neighbours_the_repeat_puts_there(repeat, kernel, stride):
    """A conv under the repeat's padding is the unpadded conv of the tile surrounded by its
    neighbours as the repeat lays them out (repeats.wrap_pad, the layout exports use): for the half
    drop the columns past the right edge are the left columns moved down by half the height."""
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(2, 3, kernel, stride=stride, padding=kernel // 2, dtype=torch.float64)
    x = torch.randn(1, 2, 8, 12, dtype=torch.float64)
    pad = kernel // 2
    around = wrap_pad(x[0].permute(1, 2, 0).numpy(), repeat, pad)  # H x W x C, numpy
    expected = torch.nn.functional.conv2d(
        torch.from_numpy(np.ascontiguousarray(around)).permute(2, 0, 1)[None],
        conv.weight,
        conv.bias,
        stride=stride,
    )
    with repeat_padding(repeat, conv), torch.no_grad():
        assert torch.equal(conv(x), expected)
    if repeat != "full":  # the plain torus reads other neighbours
        with repeat_padding("full", conv), torch.no_grad():
            assert not torch.allclose(conv(x), expected)


def test_the_half_drop_wrap_by_hand():
    # Rows 0..3, columns 0..1: the column past the right edge is column 0 moved down by 2 rows,
    # and the corner below it continues that shifted column.
    x = torch.arange(8.0).reshape(1, 1, 4, 2)  # [[0, 1], [2, 3], [4, 5], [6, 7]]
    padded = wrap_tensor(x, (1, 1, 1, 1), "half_drop")[0, 0]
    assert padded[1:5, 3].tolist() == [4.0, 6.0, 0.0, 2.0]  # right: column 0 dropped by 2
    assert padded[1:5, 0].tolist() == [5.0, 7.0, 1.0, 3.0]  # left: column 1 dropped by 2
    assert padded[5, 3].item() == 4.0 and padded[0, 3].item() == 2.0  # corners: that column wraps
    brick = wrap_tensor(x.transpose(-1, -2), (1, 1, 1, 1), "half_brick")[0, 0]
    assert torch.equal(brick, padded.T)
    conv = torch.nn.Conv2d(1, 1, 3, padding=1)
    with pytest.raises(ValueError, match="no seamless padding for repeat 'mirror'"):
        repeat_padding("mirror", conv).__enter__()
    assert "_conv_forward" not in vars(conv)


@pytest.mark.parametrize("repeat", ["half_drop", "half_brick"])
def test_offset_tiled_generation_lives_on_the_repeat_s_torus(pipeline, repeat):
    """Shifting the starting noise along the repeat (the cells pushed out come back from the
    offset neighbour) shifts the image the same way: the tile continues into the neighbour the
    repeat puts beside it. The plain torus breaks it: its right neighbour is not the dropped one."""
    latents = torch.randn(1, 4, 8, 8, generator=torch.Generator("cpu").manual_seed(0))

    def shifted(array, dy, dx):  # N x C x H x W -> the repeat seen from (dy, dx) back
        hwc = np.moveaxis(np.asarray(array)[0], 0, -1)
        moved = repeat_canvas(hwc, repeat, hwc.shape[0], hwc.shape[1], top=-dy, left=-dx)
        return np.moveaxis(moved, -1, 0)[None]

    def generate(start, padding):
        kwargs = dict(
            prompt="batik nitik", num_inference_steps=4, height=64, width=64, latents=start.clone()
        )
        with repeat_padding(padding, pipeline.unet, pipeline.vae):
            image = np.asarray(pipeline(**kwargs).images[0], dtype=float)
        return np.moveaxis(image, -1, 0)[None]

    dy, dx = (
        (0, 2) if repeat == "half_drop" else (2, 0)
    )  # across the offset edge; 2 latents = 16 px
    start = torch.from_numpy(np.ascontiguousarray(shifted(latents.numpy(), dy, dx)))
    for padding, offset in ((repeat, True), ("full", False)):
        difference = np.abs(
            generate(start, padding) - shifted(generate(latents, padding), 8 * dy, 8 * dx)
        ).mean()
        if offset:
            assert difference <= 1.0, difference
        else:
            assert difference > 5, difference
