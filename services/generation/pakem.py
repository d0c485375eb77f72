"""Pakem: the traditional rules a Batik Nitik tile keeps, enforced during generation.

- Seamless repeats: circular padding in every convolution of the UNet and the VAE makes the image a
  torus, so the tile continues across its own edges. It is switched on for one pipeline call and
  restored after; callers hold the pipeline's lock, so a concurrent request never sees it.
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


@contextmanager
def circular_padding(*modules: Any) -> Iterator[None]:
    """Every Conv2d in `modules` pads circularly inside the block, as before after it.

    Conv2d reads `padding_mode` at call time, so switching it is enough; hold the pipeline's lock.
    """
    import torch

    convs = [m for module in modules for m in module.modules() if isinstance(m, torch.nn.Conv2d)]
    saved = [conv.padding_mode for conv in convs]
    for conv in convs:
        conv.padding_mode = "circular"
    try:
        yield
    finally:
        for conv, mode in zip(convs, saved, strict=True):
            conv.padding_mode = mode


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
