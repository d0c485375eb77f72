"""`batik`: the project's command line. Thin: it parses arguments and calls the modules that work."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _models_tiny(args: argparse.Namespace) -> int:
    from services.common.tiny import build_tiny_models

    for role, path in build_tiny_models(Path(args.out), seed=args.seed).items():
        print(f"{role:<6} {path}")
    return 0


def _data_sample(args: argparse.Namespace) -> int:
    from services.retrieval.sample_data import write_sample_dataset

    images, workbook = write_sample_dataset(Path(args.out), instances=args.instances)
    print(f"images   {images}\nmetadata {workbook}")
    return 0


def _ingest(args: argparse.Namespace) -> int:
    from services.retrieval.config import RetrievalSettings
    from services.retrieval.ingest import ingest

    model = args.model or RetrievalSettings().model
    report = ingest(
        Path(args.images),
        Path(args.metadata),
        Path(args.out),
        model_source=model,
        batch_size=args.batch_size,
        device=args.device,
    )
    summary = {k: report[k] for k in ("indexed", "motifs", "out")}
    summary["skipped"] = len(report["skipped"])
    print(json.dumps(summary))
    for skipped in report["skipped"]:
        print(f"skipped {skipped['file']}: {skipped['reason']}", file=sys.stderr)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from services import launcher
    from services.common.tiny import build_tiny_models
    from services.retrieval.ingest import ingest
    from services.retrieval.sample_data import write_sample_dataset

    models_dir = launcher.CACHE_DIR / "tiny-models"
    if not (models_dir / "sd" / "model_index.json").is_file():
        print(f"building tiny models in {models_dir}")
        build_tiny_models(models_dir)
    dataset = Path(args.dataset) if args.dataset else launcher.SHARED_SAMPLE
    if (dataset / launcher.SAMPLE_WORKBOOK).is_file():
        images, workbook = dataset / launcher.SAMPLE_IMAGES, dataset / launcher.SAMPLE_WORKBOOK
        index_dir = launcher.CACHE_DIR / "index-tiny-shared-sample"
    else:
        print(f"no dataset at {dataset}; generating a synthetic sample")
        images, workbook = write_sample_dataset(launcher.CACHE_DIR / "sample-data")
        index_dir = launcher.CACHE_DIR / "index-tiny-synthetic"
    if not (index_dir / "manifest.json").is_file():
        print(f"indexing {images} into {index_dir}")
        ingest(images, workbook, index_dir, model_source=str(models_dir / "clip"))
    redis_url = launcher.redis_url_if_running()
    print(f"cache: {redis_url or 'in-process (no Redis at 127.0.0.1:6379)'}")
    services = launcher.stack(
        clip=str(models_dir / "clip"),
        blip2=str(models_dir / "blip2"),
        sd=str(models_dir / "sd"),
        index_dir=index_dir,
        redis_url=redis_url,
        base_port=args.port,
        extra_env={
            "RETRIEVAL_TORCH_THREADS": "1",
            "CAPTIONING_TORCH_THREADS": "1",
            "GENERATION_TORCH_THREADS": "1",
        },
    )
    return launcher.run_until_stopped(services, ready_deadline_s=180)


def _up(args: argparse.Namespace) -> int:
    """The real models from the hub: ingest with CLIP once, then start the stack."""
    from services import launcher
    from services.captioning.config import CaptioningSettings
    from services.generation.config import GenerationSettings
    from services.retrieval.config import RetrievalSettings
    from services.retrieval.ingest import ingest

    clip, blip2, sd = (
        RetrievalSettings().model,
        CaptioningSettings().model,
        GenerationSettings().model,
    )
    dataset = Path(args.dataset) if args.dataset else launcher.SHARED_SAMPLE
    index_dir = Path(args.index) if args.index else launcher.CACHE_DIR / "index-real"
    if not (index_dir / "manifest.json").is_file():
        images = Path(args.images) if args.images else dataset / launcher.SAMPLE_IMAGES
        workbook = Path(args.metadata) if args.metadata else dataset / launcher.SAMPLE_WORKBOOK
        ingest(images, workbook, index_dir, model_source=clip)
    services = launcher.stack(
        clip=clip,
        blip2=blip2,
        sd=sd,
        index_dir=index_dir,
        redis_url=launcher.redis_url_if_running(),
        base_port=args.port,
    )
    # First start downloads about 15 GB of weights; loading BLIP-2 on a CPU takes minutes.
    return launcher.run_until_stopped(services, ready_deadline_s=3600)


def _settings(_args: argparse.Namespace) -> int:
    from services.settings_table import markdown_table

    print(markdown_table(), end="")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="batik", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    models = commands.add_parser("models", help="model utilities")
    models_sub = models.add_subparsers(dest="models_command", required=True)
    tiny = models_sub.add_parser(
        "tiny", help="write tiny random CLIP, BLIP-2 and SD models, offline"
    )
    tiny.add_argument("--out", required=True, help="directory for clip/, blip2/ and sd/")
    tiny.add_argument("--seed", type=int, default=0)
    tiny.set_defaults(func=_models_tiny)

    data = commands.add_parser("data", help="dataset utilities")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    sample = data_sub.add_parser(
        "sample", help="write a synthetic dataset in the Batik Nitik layout"
    )
    sample.add_argument("--out", required=True)
    sample.add_argument("--instances", type=int, default=2, help="source photos per motif")
    sample.set_defaults(func=_data_sample)

    ing = commands.add_parser("ingest", help="build an index directory from a dataset")
    ing.add_argument("--images", required=True, help="folder of '<No> <Motif> <n>.jpg' files")
    ing.add_argument("--metadata", required=True, help="the metadata workbook (.xlsx)")
    ing.add_argument("--out", required=True, help="index directory to write (atomically)")
    ing.add_argument("--model", help="CLIP source; default: the retrieval service's setting")
    ing.add_argument("--batch-size", type=int, default=32)
    ing.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ing.set_defaults(func=_ingest)

    demo = commands.add_parser("demo", help="run all four services offline on tiny models")
    demo.add_argument("--dataset", help="a Batik Nitik 960 folder; default: the shared sample")
    demo.add_argument("--port", type=int, default=8000, help="gateway port; services use +1..+3")
    demo.set_defaults(func=_demo)

    up = commands.add_parser("up", help="run all four services on the real models (downloads)")
    up.add_argument("--dataset", help="a Batik Nitik 960 folder; default: the shared sample")
    up.add_argument("--images", help="images folder, when not in --dataset's layout")
    up.add_argument("--metadata", help="metadata workbook, when not in --dataset's layout")
    up.add_argument("--index", help="an existing index directory to serve")
    up.add_argument("--port", type=int, default=8000)
    up.set_defaults(func=_up)
    settings = commands.add_parser("settings", help="print every environment variable (Markdown)")
    settings.set_defaults(func=_settings)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError) as exc:
        print(f"batik {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
