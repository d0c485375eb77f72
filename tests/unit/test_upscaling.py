"""Lanczos upscaling with the repeat's neighbours as context: the seam a tile has survives."""

import numpy as np
import pytest
from PIL import Image

from services.common.repeats import SEAMLESS_REPEATS, Repeat, seam_ratio, wrap_pad
from services.common.upscaling import lanczos_upscale


def seamless_tile(repeat: Repeat, height: int = 32, width: int = 32, seed: int = 0) -> np.ndarray:
    """An RGB tile that is seamless in `repeat`: a sum of plane waves periodic on the repeat's
    lattice (full: (W, 0), (0, H); half-drop: (W, H/2), (0, H); half-brick: (W/2, H), (W, 0))."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(float) + 0.5
    field = np.zeros((height, width))
    for _ in range(12):
        m, n = rng.integers(-4, 5, 2)
        kx, ky = m / width, n / height
        if repeat == Repeat.HALF_DROP:
            kx = (m - n / 2) / width
        elif repeat == Repeat.HALF_BRICK:
            ky = (n - m / 2) / height
        field += np.cos(2 * np.pi * (kx * x + ky * y) + rng.uniform(0, 2 * np.pi))
    field = (field - field.min()) / (field.max() - field.min())
    return np.rint(30 + 195 * np.stack([field, field[::-1], 1 - field], axis=-1)).astype(np.uint8)


@pytest.mark.parametrize("repeat", SEAMLESS_REPEATS)
@pytest.mark.parametrize("size", [(128, 128), (150, 124), (124, 150)])
def test_the_upscaled_tile_keeps_its_seam_where_a_plain_resize_opens_it(repeat, size):
    tile = seamless_tile(repeat)
    assert seam_ratio(tile, repeat) <= 1.1
    width, height = size
    upscaled = lanczos_upscale(tile, repeat, width, height)
    assert upscaled.shape == (height, width, 3) and upscaled.dtype == np.uint8
    naive = np.asarray(Image.fromarray(tile).resize(size, Image.Resampling.LANCZOS))
    assert seam_ratio(upscaled, repeat) <= 1.1
    assert seam_ratio(naive, repeat) > 1.5  # the clamped edges no longer meet their neighbours


@pytest.mark.parametrize("repeat", SEAMLESS_REPEATS)
def test_an_integer_factor_is_the_centre_of_the_padded_resize(repeat):
    # The box arithmetic is the literal recipe (pad, resize, crop) without its rounding.
    tile = seamless_tile(repeat, seed=1)
    pad, factor = 8, 4
    padded = Image.fromarray(wrap_pad(tile, repeat, pad))
    big = np.asarray(padded.resize((padded.width * factor, padded.height * factor), Image.LANCZOS))
    crop = big[pad * factor : (pad + 32) * factor, pad * factor : (pad + 32) * factor]
    upscaled = lanczos_upscale(tile, repeat, 32 * factor, 32 * factor).astype(int)
    assert np.abs(upscaled - crop).max() <= 1


def test_grey_tiles_and_the_plain_repeat_work_and_none_resizes_the_tile_alone():
    grey = seamless_tile(Repeat.FULL)[..., 0]
    assert lanczos_upscale(grey, "full", 64, 48).shape == (48, 64)
    assert lanczos_upscale(grey, "mirror", 64, 64).shape == (64, 64)
    plain = np.asarray(Image.fromarray(grey).resize((64, 64), Image.Resampling.LANCZOS))
    np.testing.assert_array_equal(lanczos_upscale(grey, "none", 64, 64), plain)


def test_sizes_the_repeat_cannot_keep_are_refused():
    tile = seamless_tile(Repeat.HALF_DROP)
    with pytest.raises(ValueError, match=r"half drop .* even height"):
        lanczos_upscale(tile, "half_drop", 128, 127)
    with pytest.raises(ValueError, match="even width"):
        lanczos_upscale(tile, "half_brick", 127, 128)
    assert lanczos_upscale(tile, "full", 127, 127).shape == (127, 127, 3)
    with pytest.raises(ValueError, match="at least 1 x 1"):
        lanczos_upscale(tile, "full", 0, 64)
    with pytest.raises(ValueError, match="uint8"):
        lanczos_upscale(tile.astype(np.float32), "full", 64, 64)
    with pytest.raises(ValueError, match="'diagonal' is not a valid Repeat"):
        lanczos_upscale(tile, "diagonal", 64, 64)
