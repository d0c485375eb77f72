"""Pakem: the traditional rules a Batik Nitik tile keeps, enforced during generation.

- Seamless repeats: every convolution of the UNet and the VAE pads with the tile's neighbours in the
  repeat (circularly for the full drop, which makes the image a torus; shifted by half the tile at
  the matching edge for the half drop and the half brick), so the tile continues across its own
  edges as the cloth lays it out. It is switched on for one pipeline call and restored after;
  callers hold the pipeline's lock, so a concurrent request never sees it.
- Symmetry: the latents are projected onto a symmetry group (averaged over its rotations and
  reflections) after every denoising step, so the motif grows symmetric instead of being mirrored at
  the end; a last projection in pixel space removes what the VAE decoder adds.
- `auto` measures the reference's own symmetry and picks the strongest group it has.

Everything here is structure, not learned behaviour: it holds with random weights, which is how the
tests and `benchmarks/pakem.py` measure it on the tiny models.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from services.common.repeats import SEAMLESS_REPEATS

GROUPS = ("none", "c2", "c4", "d4")
# A reference has a group's symmetry when its images under the group differ from it by at most this
# much on average (0-255 scale): loose enough for JPEG noise and hand-drawn dots.
AUTO_THRESHOLD = 12.0


def _transforms(group: str) -> list[tuple[int, bool]]:
    """(quarter turns, mirrored) for every element of the group, identity first."""
    if group == "none":
        return [(0, False)]
    if group == "c2":
        return [(0, False), (2, False)]
    if group == "c4":
        return [(k, False) for k in range(4)]
    if group == "d4":
        return [(k, m) for m in (False, True) for k in range(4)]
    raise ValueError(f"unknown symmetry group {group!r}; use one of {', '.join(GROUPS)} or auto")


def _apply_np(array: np.ndarray, turns: int, mirrored: bool) -> np.ndarray:
    """Transform an H x W (x C) array."""
    out = np.fliplr(array) if mirrored else array
    return np.rot90(out, k=turns, axes=(0, 1))


def project_array(array: np.ndarray, group: str) -> np.ndarray:
    """The average of `array` over the group: exactly invariant under it (square arrays)."""
    elements = _transforms(group)
    if len(elements) > 1 and array.shape[0] != array.shape[1]:
        raise ValueError("symmetry needs a square image (width == height)")
    stacked = [_apply_np(array.astype(np.float64), t, m) for t, m in elements]
    return np.mean(stacked, axis=0)


def project_latents(latents: Any, group: str) -> Any:
    """The same projection for an N x C x H x W tensor, over its last two axes."""
    import torch

    elements = _transforms(group)
    if len(elements) == 1:
        return latents
    total = torch.zeros_like(latents)
    for turns, mirrored in elements:
        x = torch.flip(latents, dims=(-1,)) if mirrored else latents
        total += torch.rot90(x, k=turns, dims=(-2, -1))
    return total / len(elements)


def symmetry_error(array: np.ndarray, group: str) -> float:
    """Mean absolute difference (0-255 scale) between the image and each of its group transforms."""
    elements = _transforms(group)[1:]
    if not elements:
        return 0.0
    base = array.astype(np.float64)
    return float(np.mean([np.abs(base - _apply_np(base, t, m)).mean() for t, m in elements]))


def symmetry_scores(array: np.ndarray) -> dict[str, float]:
    return {group: round(symmetry_error(array, group), 3) for group in GROUPS[1:]}


def detect_group(
    array: np.ndarray, threshold: float = AUTO_THRESHOLD
) -> tuple[str, dict[str, float]]:
    """The largest group whose symmetry the image has (d4 > c4 > c2 > none), and the scores."""
    square = array if array.shape[0] == array.shape[1] else None
    if square is None:
        return "none", {}
    scores = symmetry_scores(square)
    for group in ("d4", "c4", "c2"):
        if scores[group] <= threshold:
            return group, scores
    return "none", scores


def offset_unit(vae_scale_factor: int, unet_levels: int) -> int:
    """The pixel multiple a half-drop height (half-brick width) must be: half the side in latents
    is then a whole number at every UNet level (each halves it), so the offset lands on a cell."""
    return vae_scale_factor * 2 ** (unet_levels - 1) * 2


def wrap_tensor(x: Any, pads: tuple[int, int, int, int], repeat: str) -> Any:
    """`x` (N x C x H x W) padded by (left, right, top, bottom) with its neighbours in the repeat.

    `full` wraps circularly. `half_drop`: the columns wrapped across the left/right edge come from
    the other side moved down by half the height (the next column of tiles is dropped), then the
    rows wrap plainly; each column of a half drop repeats with the tile's height, so the corners are
    the shifted columns' own wrap. `half_brick` is the transpose: rows wrapped across the top/bottom
    edge come moved right by half the width, then the columns wrap plainly. The same layout as
    `services.common.repeats.wrap_pad`, on tensors.
    """
    import torch
    import torch.nn.functional as F

    left, right, top, bottom = pads
    if repeat == "full":
        return F.pad(x, pads, mode="circular")
    height, width = x.shape[-2:]
    if repeat == "half_drop":
        before = torch.roll(x[..., width - left :], height // 2, dims=-2)
        after = torch.roll(x[..., :right], height // 2, dims=-2)
        return F.pad(torch.cat([before, x, after], dim=-1), (0, 0, top, bottom), mode="circular")
    if repeat == "half_brick":
        before = torch.roll(x[..., height - top :, :], width // 2, dims=-1)
        after = torch.roll(x[..., :bottom, :], width // 2, dims=-1)
        return F.pad(torch.cat([before, x, after], dim=-2), (left, right, 0, 0), mode="circular")
    raise ValueError(f"no seamless padding for repeat {repeat!r}")


@contextmanager
def repeat_padding(repeat: str, *modules: Any) -> Iterator[None]:
    """Every padded Conv2d in `modules` pads with its neighbours in `repeat` (full, half_drop,
    half_brick) inside the block, as before after it: the image continues across its edges as the
    repeat lays it out. Attention is global and needs nothing.

    Conv2d pads in `_conv_forward`; an instance attribute of that name takes the class method's
    place for the block and is deleted after. Hold the pipeline's lock.
    """
    import torch
    import torch.nn.functional as F

    if repeat not in SEAMLESS_REPEATS:
        raise ValueError(f"no seamless padding for repeat {repeat!r}")
    convs = [
        m
        for module in modules
        for m in module.modules()
        if isinstance(m, torch.nn.Conv2d) and any(m._reversed_padding_repeated_twice)
    ]

    def padded_forward(conv):
        pads = tuple(conv._reversed_padding_repeated_twice)

        def forward(input, weight, bias):
            return F.conv2d(
                wrap_tensor(input, pads, repeat),
                weight,
                bias,
                conv.stride,
                0,
                conv.dilation,
                conv.groups,
            )

        return forward

    for conv in convs:
        conv._conv_forward = padded_forward(conv)
    try:
        yield
    finally:
        for conv in convs:
            del conv._conv_forward


def symmetry_callback(group: str) -> Callable[..., dict[str, Any]] | None:
    """A diffusers `callback_on_step_end` that projects the latents after each denoising step."""
    if group == "none":
        return None

    def project(_pipeline, _step, _timestep, callback_kwargs: dict[str, Any]) -> dict[str, Any]:
        callback_kwargs["latents"] = project_latents(callback_kwargs["latents"], group)
        return callback_kwargs

    return project


def finish_image(image: Any, group: str) -> Any:
    """The last projection, in pixel space: the VAE decoder is not equivariant."""
    from PIL import Image

    if group == "none":
        return image
    projected = project_array(np.asarray(image.convert("RGB")), group)
    return Image.fromarray(np.clip(np.rint(projected), 0, 255).astype(np.uint8))


# control_v11p_sd15_canny was trained on OpenCV Canny maps; its model card uses these thresholds.
CANNY_LOW, CANNY_HIGH = 100, 200


def edge_map(image: Any, low: int = CANNY_LOW, high: int = CANNY_HIGH) -> Any:
    """The control image for the ControlNet: the reference's Canny edges (`cv2.Canny` with
    hysteresis thresholds `low`/`high` on the gradient magnitude), white on black, as RGB."""
    import cv2
    from PIL import Image

    gray = np.asarray(image.convert("L"))
    edges = cv2.Canny(gray, low, high)
    return Image.fromarray(np.stack([edges] * 3, axis=-1))
