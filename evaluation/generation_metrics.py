"""Generation evaluation: plain txt2img from the query against the full RAG flow.

For a fixed set of queries and seeds, the baseline generates from the query alone (txt2img); the RAG
arm retrieves the top reference, captions it, fuses the prompt exactly as the gateway does, and runs
img2img on the reference. Both sets are compared with the indexed real images by a Frechet distance,
and each image with its own prompt by CLIP score.

Features: `inception` is FID proper (torchmetrics with torch-fidelity's InceptionV3; the weights come
from `--inception-weights FILE`, since this code never downloads them); `clip` is the Frechet distance
over CLIP image embeddings, and the report then says "FD over CLIP features", not FID.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

DEFAULT_QUERIES = (
    "sekar bunga",
    "kawung nitik circles",
    "brown flowered batik",
    "truntum stars",
    "dotted diamond lattice",
    "cakar ayam",
)
DEFAULT_SEEDS = (0, 1)


@dataclass
class GeneratedPair:
    query: str
    seed: int
    reference: Image.Image | None
    plain: Image.Image
    rag: Image.Image
    plain_prompt: str
    rag_prompt: str


class FeatureError(ValueError):
    """The requested feature extractor is not available here."""


def check_features(features: str, inception_weights: str | None) -> None:
    """Fail before any image is generated when the distance cannot be computed."""
    if features not in ("inception", "clip"):
        raise FeatureError(f"unknown features {features!r}: use inception or clip")
    if features == "inception" and not inception_weights:
        raise FeatureError(
            "FID needs InceptionV3 weights, which are never downloaded here: pass "
            "--inception-weights FILE (torch-fidelity's pt_inception-2015-12-05), "
            "or --features clip for a Frechet distance over CLIP features"
        )


def clip_feature_module(encoder):
    """An nn.Module view of the CLIP image tower, as torchmetrics' FID expects (uint8 NCHW in)."""
    import torch

    class ClipImageFeatures(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.num_features = encoder.dim

        def forward(self, images: torch.Tensor) -> torch.Tensor:
            pil = [Image.fromarray(i.permute(1, 2, 0).cpu().numpy()) for i in images]
            return torch.from_numpy(encoder.embed_images(pil)).double()

    return ClipImageFeatures()


def frechet_distance(
    real: Sequence[Image.Image],
    fake: Sequence[Image.Image],
    *,
    features: str,
    encoder=None,
    inception_weights: str | None = None,
) -> float:
    import torch
    from torchmetrics.image.fid import FrechetInceptionDistance

    if features == "clip":
        metric = FrechetInceptionDistance(feature=clip_feature_module(encoder))
    else:
        check_features(features, inception_weights)
        try:
            metric = FrechetInceptionDistance(
                feature=2048, feature_extractor_weights_path=inception_weights
            )
        except ModuleNotFoundError as exc:
            raise FeatureError(f"FID with Inception needs torch-fidelity: {exc}") from None

    def batch(images: Sequence[Image.Image]) -> torch.Tensor:
        side = 299 if features == "inception" else 224
        arrays = [np.asarray(i.convert("RGB").resize((side, side))) for i in images]
        return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()

    metric.update(batch(real), real=True)
    metric.update(batch(fake), real=False)
    return float(metric.compute())


def clip_scores(encoder, images: Sequence[Image.Image], prompts: Sequence[str]) -> list[float]:
    """CLIP score as torchmetrics defines it, 100 * max(cos(image, text), 0).

    Computed with our encoder because torchmetrics' own clip_score reads `get_image_features()` as a
    tensor, which transformers 5 no longer returns.
    """
    cosines = np.sum(encoder.embed_images(images) * encoder.embed_texts(prompts), axis=1)
    return [round(100 * max(float(c), 0.0), 4) for c in cosines]


def generate_pairs(
    *,
    encoder,
    index,
    vectors: np.ndarray,
    captioner,
    generator,
    count_tokens,
    queries: Sequence[str],
    seeds: Sequence[int],
    size: int,
    steps: int,
    strength: float,
    progress=None,
) -> list[GeneratedPair]:
    from gateway.fusion import fuse_prompt
    from services.common.contracts.generation import GenerateRequest
    from services.common.text import sentences

    pairs = []
    for query in queries:
        # Exact nearest neighbour, as the flat index the service defaults to would answer.
        top = int(np.argmax(vectors @ encoder.embed_texts([query])[0]))
        motif = index.motifs[index.items[top].number]
        reference = Image.open(index.image_file(top, 512)).convert("RGB")
        caption = captioner.caption(reference)
        fused = fuse_prompt(
            query=query,
            motif_name=motif["name"],
            captions=[caption],
            facts=sentences(motif.get("description_en") or "")[:3],
            count_tokens=count_tokens,
        )
        for seed in seeds:
            common = dict(steps=steps, seed=seed, width=size, height=size)
            plain = generator.generate(GenerateRequest(prompt=query, **common), None)
            rag = generator.generate(
                GenerateRequest(
                    prompt=fused.text, init_image="reference", strength=strength, **common
                ),
                reference,
            )
            pairs.append(
                GeneratedPair(
                    query, seed, reference, plain.images[0], rag.images[0], query, fused.text
                )
            )
            if progress:
                progress.update(1)
    return pairs


def evaluate_generation(
    pairs: Sequence[GeneratedPair],
    real: Sequence[Image.Image],
    *,
    encoder,
    features: str,
    inception_weights: str | None = None,
) -> dict[str, Any]:
    label = "FID" if features == "inception" else "FD over CLIP features"
    plain = [p.plain for p in pairs]
    rag = [p.rag for p in pairs]
    plain_clip = clip_scores(encoder, plain, [p.plain_prompt for p in pairs])
    rag_clip = clip_scores(encoder, rag, [p.rag_prompt for p in pairs])
    rag_vs_query = clip_scores(encoder, rag, [p.query for p in pairs])
    return {
        "distance": label,
        "features": features,
        "plain_txt2img": {
            "distance": round(
                frechet_distance(
                    real,
                    plain,
                    features=features,
                    encoder=encoder,
                    inception_weights=inception_weights,
                ),
                4,
            ),
            "clip_score": round(float(np.mean(plain_clip)), 4),
        },
        "rag_img2img": {
            "distance": round(
                frechet_distance(
                    real,
                    rag,
                    features=features,
                    encoder=encoder,
                    inception_weights=inception_weights,
                ),
                4,
            ),
            "clip_score": round(float(np.mean(rag_clip)), 4),
            "clip_score_vs_query": round(float(np.mean(rag_vs_query)), 4),
        },
        "images": len(pairs),
        "real_images": len(real),
    }


def grid(pairs: Sequence[GeneratedPair], tile: int = 160) -> Image.Image:
    """Rows of (reference, plain txt2img, RAG img2img), one row per query and seed."""
    from PIL import ImageDraw

    label_width = 200
    canvas = Image.new("RGB", (label_width + 3 * tile, max(1, len(pairs)) * tile), "white")
    draw = ImageDraw.Draw(canvas)
    for row, pair in enumerate(pairs):
        y = row * tile
        draw.text((6, y + 6), f"{pair.query}\nseed {pair.seed}", fill="black")
        for col, image in enumerate((pair.reference, pair.plain, pair.rag)):
            if image is not None:
                canvas.paste(image.resize((tile, tile)), (label_width + col * tile, y))
    draw.text((label_width + 4, 2), "reference | plain | RAG", fill="red")
    return canvas
