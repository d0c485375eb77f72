"""Repeat layouts: each type's neighbours, its period, and the seam measure taken where it seams."""

import numpy as np
import pytest

from services.common.repeats import Repeat, period_block, repeat_canvas, seam_ratio, wrap_pad

H, W = 6, 8


@pytest.fixture
def tile():
    # Every pixel distinct: a neighbour is identified by its value.
    return np.arange(H * W, dtype=np.int64).reshape(H, W)


def test_full_is_the_plain_grid_from_any_origin(tile):
    canvas = repeat_canvas(tile, "full", 3 * H, 3 * W, top=-2, left=-3)
    for y in range(3 * H):
        for x in range(3 * W):
            assert canvas[y, x] == tile[(y - 2) % H, (x - 3) % W]


def test_half_drop_moves_every_other_column_down_by_half(tile):
    canvas = repeat_canvas(tile, Repeat.HALF_DROP, 2 * H, 2 * W)
    np.testing.assert_array_equal(canvas[:H, :W], tile)
    np.testing.assert_array_equal(canvas[H // 2 : H // 2 + H, W:], tile)  # dropped by half
    np.testing.assert_array_equal(canvas[:H, 2 * W - W :][H // 2], tile[0])


def test_half_brick_moves_every_other_row_right_by_half(tile):
    canvas = repeat_canvas(tile, Repeat.HALF_BRICK, 2 * H, 2 * W)
    np.testing.assert_array_equal(canvas[:H, :W], tile)
    np.testing.assert_array_equal(canvas[H:, W // 2 : W // 2 + W], tile)


def test_mirror_flips_alternate_columns_and_rows(tile):
    canvas = repeat_canvas(tile, Repeat.MIRROR, 2 * H, 2 * W)
    np.testing.assert_array_equal(canvas[:H, W:], tile[:, ::-1])
    np.testing.assert_array_equal(canvas[H:, :W], tile[::-1])
    np.testing.assert_array_equal(canvas[H:, W:], tile[::-1, ::-1])


@pytest.mark.parametrize("repeat", list(Repeat))
def test_the_period_block_tiles_into_the_repeat_and_wrap_pad_surrounds_the_tile(tile, repeat):
    block = period_block(tile, repeat)
    assert block.shape[0] % H == 0 and block.shape[1] % W == 0
    padded = wrap_pad(tile, repeat, 3)
    assert padded.shape == (H + 6, W + 6)
    np.testing.assert_array_equal(padded[3:-3, 3:-3], tile)


def test_a_canvas_keeps_the_channels_and_the_dtype():
    rgb = np.random.default_rng(0).integers(0, 256, (H, W, 3), dtype=np.uint8)
    canvas = repeat_canvas(rgb, Repeat.HALF_DROP, 50, 70)
    assert canvas.shape == (50, 70, 3) and canvas.dtype == np.uint8


def test_the_seam_ratio_is_taken_across_the_repeat_s_own_seams():
    # A smooth field periodic in both directions: seamless as a plain grid; as a half-drop (or
    # half-brick) its edge meets the neighbour shifted by half a period, which is far from it.
    y, x = np.mgrid[0:64, 0:64] / 64 * 2 * np.pi
    field = (128 + 60 * np.cos(x) + 60 * np.cos(y)).astype(np.uint8)  # flat at the edges
    assert seam_ratio(field, Repeat.FULL) < 1.1
    assert seam_ratio(field, Repeat.HALF_DROP) > 3
    assert seam_ratio(field, Repeat.HALF_BRICK) > 3


@pytest.mark.parametrize("repeat", [Repeat.FULL, Repeat.HALF_DROP, Repeat.HALF_BRICK])
def test_a_gradient_seams_in_every_repeat_and_noise_has_no_interior_to_beat(repeat):
    noise = np.random.default_rng(1).integers(0, 256, (64, 64), dtype=np.uint8)
    gradient = np.tile(np.linspace(0, 255, 64).astype(np.uint8), (64, 1))
    assert seam_ratio(gradient, repeat) > 10  # the left and right edges are far apart
    assert 0.8 < seam_ratio(noise, repeat) < 1.2
