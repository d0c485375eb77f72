"""The ControlNet's control image: OpenCV Canny edges, as control_v11p_sd15_canny was trained on."""

import numpy as np
import pytest
from pydantic import ValidationError

from services.generation.pakem import CANNY_HIGH, CANNY_LOW, edge_map


def square(level: int, size: int = 64, lo: int = 16, hi: int = 48):
    """A filled square of gray `level` on black: its only edges are its four sides."""
    from PIL import Image

    pixels = np.zeros((size, size), np.uint8)
    pixels[lo:hi, lo:hi] = level
    return Image.fromarray(pixels).convert("RGB")


def test_defaults_are_the_model_cards():
    assert (CANNY_LOW, CANNY_HIGH) == (100, 200)


def test_a_square_gives_thin_edges_on_its_outline_only():
    edges = np.asarray(edge_map(square(255)))
    assert edges.shape == (64, 64, 3)
    assert set(np.unique(edges)) == {0, 255}  # a binary map, white on black
    assert (edges[..., 0] == edges[..., 1]).all() and (edges[..., 0] == edges[..., 2]).all()
    on = edges[..., 0] == 255
    rows, cols = np.nonzero(on)
    # Every edge pixel lies within one pixel of the square's outline (rows/cols 16 and 47)...
    near_side = (np.minimum(abs(rows - 16), abs(rows - 47)) <= 1) | (
        np.minimum(abs(cols - 16), abs(cols - 47)) <= 1
    )
    assert near_side.all()
    assert not on[20:44, 20:44].any() and not on[:12].any() and not on[52:].any()
    # ...and the outline is one pixel thin (non-maximum suppression) and closed: about 4 x 32 pixels.
    assert 4 * 30 <= on.sum() <= 4 * 34


def test_thresholds_decide_which_gradients_are_edges():
    faint = square(20)  # Sobel gradient 4 x 20 = 80: below the default low threshold
    assert not np.asarray(edge_map(faint)).any()
    assert np.asarray(edge_map(faint, 10, 20)).any()


def test_settings_carry_the_thresholds_and_refuse_them_reversed():
    from services.generation.config import GenerationSettings

    assert (
        GenerationSettings().canny_low_threshold,
        GenerationSettings().canny_high_threshold,
    ) == (100, 200)
    assert (
        GenerationSettings(canny_low_threshold=50, canny_high_threshold=150).canny_low_threshold
        == 50
    )
    with pytest.raises(ValidationError, match="must not exceed"):
        GenerationSettings(canny_low_threshold=210, canny_high_threshold=200)


def test_the_engine_guides_with_the_thresholds_it_was_given(tiny_models):
    """Same request, same seed: thresholds that erase the faint square's edges change the image."""
    from services.common.contracts.generation import GenerateRequest
    from services.generation.generator import SdGenerator
    from tests.helpers import b64, image_bytes

    engine = SdGenerator(str(tiny_models["sd"]), controlnet=str(tiny_models["controlnet"]))
    init = square(20)
    request = GenerateRequest(
        prompt="batik nitik",
        width=64,
        height=64,
        steps=4,
        seed=1,
        control_scale=1.0,
        init_image=b64(image_bytes(init)),
    )

    def image_with(thresholds):
        engine.canny_thresholds = thresholds
        return engine.generate(request, init, control_image=init).images[0].tobytes()

    default = image_with((CANNY_LOW, CANNY_HIGH))  # no edges: the ControlNet sees a black image
    sensitive = image_with((10, 20))
    assert sensitive != default
    assert image_with((CANNY_LOW, CANNY_HIGH)) == default
