"""Run the evaluations `batik eval` asks for and write the report."""

from __future__ import annotations

import platform
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from tqdm import tqdm

from evaluation.report import plot_retrieval, write_report

EVALUATIONS = ("retrieval", "captioning", "generation")
LIBRARIES = (
    "torch",
    "transformers",
    "diffusers",
    "peft",
    "faiss-cpu",
    "torchmetrics",
    "sacrebleu",
    "rouge-score",
    "numpy",
)


def _versions() -> dict[str, str]:
    found = {}
    for name in LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return {"python": platform.python_version(), **found}


def run_evaluation(
    what: set[str],
    *,
    index_dir: Path,
    out: Path,
    clip: str,
    blip2: str,
    sd: str,
    revisions: dict[str, str | None] | None = None,
    adapter: str | None = None,
    style: str | None = None,
    features: str = "inception",
    inception_weights: str | None = None,
    queries: tuple[str, ...] | None = None,
    seeds: tuple[int, ...] | None = None,
    size: int = 512,
    steps: int = 30,
    strength: float = 0.55,
    device: str = "auto",
    progress: bool = True,
    command: str = "batik eval",
) -> dict[str, Any]:
    from services.common.models import source_version
    from services.retrieval.encoder import ClipEncoder
    from services.retrieval.index import MotifIndex

    if "generation" in what:
        from evaluation.generation_metrics import check_features

        check_features(features, inception_weights)
        if queries and seeds and len(queries) * len(seeds) < 2:
            raise ValueError(
                "a Frechet distance needs at least 2 generated images: give more queries or seeds"
            )
    # Hub revisions by model ("clip", "blip2", "sd"); a model without one loads the hub's main.
    pins = {"clip": None, "blip2": None, "sd": None, **(revisions or {})}
    out.mkdir(parents=True, exist_ok=True)
    index = MotifIndex(index_dir)
    encoder = ClipEncoder(clip, device=device, revision=pins["clip"])
    metrics: dict[str, Any] = {
        "provenance": {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": command,
            "evaluations": sorted(what),
            "index": {"dir": str(index_dir), "version": index.version, "size": index.size},
            "models": {
                name: {"source": source, "version": source_version(source, pins[name])}
                for name, source in (("clip", clip), ("blip2", blip2), ("sd", sd))
            },
            "adapter": adapter,
            "style": style,
            "libraries": _versions(),
        },
        "plots": [],
    }

    if "retrieval" in what:
        from evaluation.retrieval_metrics import evaluate_retrieval

        with tqdm(total=index.size, desc="retrieval", unit="query", disable=not progress) as bar:
            metrics["retrieval"] = evaluate_retrieval(index, encoder, progress=bar)
        from evaluation.retrieval_metrics import evaluate_channels
        from services.retrieval.config import RetrievalSettings

        settings = RetrievalSettings()
        metrics["retrieval"]["text_channels"] = evaluate_channels(
            clip,
            index_dir,
            text_model=settings.text_model,
            weight=settings.lexical_weight,
            device=device,
            revision=pins["clip"],
        )
        metrics["plots"] += plot_retrieval(metrics["retrieval"], out)

    if "captioning" in what:
        from evaluation.captioning_metrics import evaluate_captioning

        metrics["captioning"] = evaluate_captioning(
            index_dir, blip2=blip2, adapter=adapter, device=device, revision=pins["blip2"]
        )

    if "generation" in what:
        from PIL import Image

        from evaluation.generation_metrics import (
            DEFAULT_QUERIES,
            DEFAULT_SEEDS,
            evaluate_generation,
            generate_pairs,
            grid,
        )
        from evaluation.retrieval_metrics import item_vectors
        from services.captioning.captioner import Blip2Captioner
        from services.generation.generator import SdGenerator

        queries = queries or DEFAULT_QUERIES
        seeds = seeds or DEFAULT_SEEDS
        generator = SdGenerator(sd, device=device, revision=pins["sd"])
        metrics["provenance"]["generation"] = {
            "queries": list(queries),
            "seeds": list(seeds),
            "size": size,
            "steps": steps,
            "strength": strength,
        }
        with tqdm(
            total=len(queries) * len(seeds), desc="generation", unit="pair", disable=not progress
        ) as bar:
            pairs = generate_pairs(
                encoder=encoder,
                index=index,
                vectors=item_vectors(index, encoder),
                captioner=Blip2Captioner(
                    blip2, adapter=adapter, device=device, revision=pins["blip2"]
                ),
                generator=generator,
                count_tokens=lambda text: len(
                    generator.tokenizer(text, add_special_tokens=False)["input_ids"]
                ),
                queries=queries,
                seeds=seeds,
                size=size,
                steps=steps,
                strength=strength,
                progress=bar,
            )
        real = [Image.open(index.image_file(i, 512)).convert("RGB") for i in range(index.size)]
        metrics["generation"] = evaluate_generation(
            pairs, real, encoder=encoder, features=features, inception_weights=inception_weights
        )
        grid(pairs).save(out / "generation_grid.png")
        metrics["plots"].append("generation_grid.png")
        if style:
            from evaluation.style_metrics import evaluate_style

            metrics["generation"]["style"] = evaluate_style(
                style_dir=Path(style),
                index_dir=index_dir,
                sd=sd,
                sd_revision=pins["sd"],
                encoder=encoder,
                seeds=seeds,
                size=size,
                steps=steps,
                features=features,
                inception_weights=inception_weights,
                device=device,
                out=out,
            )
            metrics["plots"].append("style_grid.png")

    write_report(metrics, out)
    return metrics
