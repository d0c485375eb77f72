"""Text-to-image Top-1 / Top-5 with and without each channel: visual (CLIP), lexical (BM25), fused.

    python -m benchmarks.lexical                          # tiny CLIP, shared sample, CLIP text tower
    python -m benchmarks.lexical --tiny-multilingual      # ... and a tiny multilingual text tower
    python -m benchmarks.lexical --index DIR --clip SOURCE [--text-model SOURCE]

Queries (see `evaluation.retrieval_metrics.text_query_sets`): (a) every motif's name as in the
workbook, (b) as in the image file names (all 60, and the 12 that differ), (c) the first sentence of
each Indonesian description. Every query goes through the retrieval engine's own `search` (the code
`POST /v1/search` runs), with `lexical_weight` 0 (visual alone), 1 (lexical first, visual breaking
ties) and the service default (fused). Without `--index`, the shared Batik Nitik sample is indexed
with a tiny random CLIP built on the spot: its visual channel is noise by construction, which is the
"whatever the visual model" case of the names target.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

SHARED_SAMPLE = (
    Path(__file__).resolve().parents[1].parent / "shared/datasets/batik-nitik-960-sample"
)
LABELS = {
    "name_workbook": "(a) names, workbook spelling",
    "name_files": "(b) names, file-name spelling",
    "name_files_differing": "(b) only the 12 differing spellings",
    "description_id_first_sentence": "(c) first Indonesian sentence",
    "description_id_first_sentence_no_name": "(c) the same, the motif's name words removed",
}


def _tiny_index(cache: Path) -> tuple[str, Path]:
    from services.common.tiny import build_tiny_clip
    from services.retrieval.ingest import ingest

    clip = cache / "clip"
    if not (clip / "config.json").is_file():
        build_tiny_clip(clip)
    index = cache / "index-shared-sample"
    if not (index / "manifest.json").is_file():
        ingest(
            SHARED_SAMPLE / "Batik Nitik 960 Images",
            SHARED_SAMPLE / "Batik Nitik 960 Metadata - Indonesian English v3.xlsx",
            index,
            model_source=str(clip),
            progress=False,
        )
    return str(clip), index


def run(
    clip: str, index_dir: Path, text_model: str | None, weight: float, device: str
) -> dict[str, dict[str, dict]]:
    from evaluation.retrieval_metrics import evaluate_channels

    return evaluate_channels(clip, index_dir, text_model=text_model, weight=weight, device=device)


def markdown(results: dict[str, dict[str, dict]]) -> str:
    configs = list(next(iter(results.values())))
    head = "| query set | n | " + " | ".join(f"{c} Top-1 / Top-5" for c in configs) + " |"
    lines = [head, "|---|---|" + "---|" * len(configs)]
    for set_name, by_config in results.items():
        n = next(iter(by_config.values()))["queries"]
        cells = [f"{v['top1']:.3f} / {v['top5']:.3f}" for v in by_config.values()]
        lines.append(f"| {LABELS.get(set_name, set_name)} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", help="index directory; default: the shared sample, tiny CLIP")
    parser.add_argument("--clip", help="the CLIP the index was built with (with --index)")
    parser.add_argument("--text-model", help="multilingual text tower: hub id or directory")
    parser.add_argument(
        "--tiny-multilingual", action="store_true", help="also run with a tiny random text tower"
    )
    parser.add_argument("--weight", type=float, default=0.5, help="lexical_weight of 'fused'")
    parser.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--cache", default=".cache/bench-lexical")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)
    cache = Path(args.cache)
    if args.index:
        if not args.clip:
            parser.error("--index needs --clip (the model that built it)")
        clip, index_dir = args.clip, Path(args.index)
    else:
        clip, index_dir = _tiny_index(cache)
    towers: dict[str, str | None] = {"CLIP text tower": args.text_model}
    if args.text_model:
        towers = {f"text tower {args.text_model}": args.text_model}
    if args.tiny_multilingual:
        from services.common.tiny import build_tiny_multilingual
        from services.retrieval.encoder import ClipEncoder

        tiny = cache / "multilingual"
        if not (tiny / "modules.json").is_file():
            build_tiny_multilingual(tiny, dim=ClipEncoder(clip, device="cpu").dim)
        towers["tiny random multilingual tower"] = str(tiny)

    report = {}
    print(f"index {index_dir} (clip {clip})")
    for label, tower in towers.items():
        results = run(clip, index_dir, tower, args.weight, args.device)
        report[label] = results
        print(f"\n{label}\n\n{markdown(results)}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
