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
    if args.multilingual:
        from services.common.tiny import build_tiny_multilingual

        # dim 16: the tiny CLIP's projection, so it can stand in as RETRIEVAL_TEXT_MODEL beside it
        path = build_tiny_multilingual(Path(args.out) / "multilingual", dim=16, seed=args.seed)
        print(f"multilingual {path}")
    return 0


def _data_sample(args: argparse.Namespace) -> int:
    from services.retrieval.sample_data import write_sample_dataset

    images, workbook = write_sample_dataset(Path(args.out), instances=args.instances)
    print(f"images   {images}\nmetadata {workbook}")
    return 0


def _ingest(args: argparse.Namespace) -> int:
    from services.retrieval.config import RetrievalSettings
    from services.retrieval.ingest import ingest

    settings = RetrievalSettings()
    model = args.model or settings.model
    # The service's pinned revision goes with the service's model (`batik up` names it).
    revision = args.revision or (settings.model_revision if model == settings.model else None)
    report = ingest(
        Path(args.images),
        Path(args.metadata),
        Path(args.out),
        model_source=model,
        model_revision=revision,
        batch_size=args.batch_size,
        device=args.device,
        index_type=args.index_type,
        index_params=dict(args.index_param or []),
    )
    summary = {k: report[k] for k in ("indexed", "motifs", "out")}
    summary["skipped"] = len(report["skipped"])
    print(json.dumps(summary))
    for skipped in report["skipped"]:
        print(f"skipped {skipped['file']}: {skipped['reason']}", file=sys.stderr)
    return 0


def _index_param(text: str) -> tuple[str, int]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value.strip().isdigit():
        raise argparse.ArgumentTypeError(f"expected NAME=INTEGER, got {text!r}")
    return name.strip(), int(value)


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
    # Jobs in a Redis of their own that persists (AOF in the cache directory) and never evicts.
    job_redis = launcher.job_redis_process(launcher.CACHE_DIR / "job-redis")
    print(
        f"jobs: a private redis-server, append-only file in {launcher.CACHE_DIR / 'job-redis'}"
        if job_redis
        else f"jobs: {redis_url or 'off (no redis-server installed)'}"
    )
    services = launcher.stack(
        clip=str(models_dir / "clip"),
        blip2=str(models_dir / "blip2"),
        sd=str(models_dir / "sd"),
        index_dir=index_dir,
        redis_url=redis_url,
        job_redis=launcher.redis_address(job_redis) if job_redis else None,
        base_port=args.port,
        library_dir=launcher.CACHE_DIR / "library",
        extra_env={
            "RETRIEVAL_TORCH_THREADS": "1",
            "CAPTIONING_TORCH_THREADS": "1",
            "GENERATION_TORCH_THREADS": "1",
        },
    )
    gateway_url = next(s.url for s in services if s.name == "gateway")
    services.append(launcher.dashboard_process(gateway_url, port=args.dashboard_port))
    if job_redis:
        services.insert(0, job_redis)  # first: the job routes find it up
    return launcher.run_until_stopped(services, ready_deadline_s=180)


def _up(args: argparse.Namespace) -> int:
    """The real models from the hub: ingest with CLIP once, then start the stack."""
    from services import launcher
    from services.captioning.config import CaptioningSettings
    from services.generation.config import GenerationSettings
    from services.retrieval.config import RetrievalSettings

    clip, blip2, sd = (
        RetrievalSettings().model,
        CaptioningSettings().model,
        GenerationSettings().model,
    )
    dataset = Path(args.dataset) if args.dataset else launcher.SHARED_SAMPLE
    # The ingest runs in a child process: its GPU memory is released before the services start.
    index_dir = launcher.prepare_index(
        Path(args.index) if args.index else launcher.CACHE_DIR / "index-real",
        Path(args.images) if args.images else dataset / launcher.SAMPLE_IMAGES,
        Path(args.metadata) if args.metadata else dataset / launcher.SAMPLE_WORKBOOK,
        model=clip,
    )
    services = launcher.stack(
        clip=clip,
        blip2=blip2,
        sd=sd,
        index_dir=index_dir,
        redis_url=launcher.redis_url_if_running(),
        base_port=args.port,
        library_dir=launcher.CACHE_DIR / "library",
    )
    # First start downloads about 20 GB of weights; loading BLIP-2 on a CPU takes minutes.
    return launcher.run_until_stopped(services, ready_deadline_s=3600)


def _eval(args: argparse.Namespace) -> int:
    from evaluation.run import EVALUATIONS, run_evaluation
    from services.captioning.config import CaptioningSettings
    from services.generation.config import GenerationSettings
    from services.retrieval.index import built_with

    what = set(EVALUATIONS) if args.what == "all" else {args.what}
    # The index's vectors are only comparable with the model (and revision) that made them; the
    # other models default to the services' own, at the services' pinned revisions.
    clip, clip_revision = (args.clip, None) if args.clip else built_with(Path(args.index))
    captioning, generation = CaptioningSettings(), GenerationSettings()
    metrics = run_evaluation(
        what,
        index_dir=Path(args.index),
        out=Path(args.out),
        clip=clip,
        blip2=args.blip2 or captioning.model,
        sd=args.sd or generation.model,
        revisions={
            "clip": clip_revision,
            "blip2": None if args.blip2 else captioning.model_revision,
            "sd": None if args.sd else generation.model_revision,
        },
        adapter=args.adapter,
        style=args.style,
        features=args.features,
        inception_weights=args.inception_weights,
        queries=tuple(args.query) if args.query else None,
        seeds=tuple(args.seed) if args.seed else None,
        size=args.size,
        steps=args.steps,
        device=args.device,
        command=" ".join(["batik", *args.argv]),
    )
    print(f"report: {Path(args.out) / 'report.md'} ({', '.join(sorted(what))})")
    return 0 if metrics else 1


def _finetune(args: argparse.Namespace) -> int:
    from services.captioning.finetune.cli import run

    return run(args)


def _finetune_style(args: argparse.Namespace) -> int:
    from services.generation.finetune_style.cli import run

    return run(args)


def _worker(args: argparse.Namespace) -> int:
    """A job worker with no HTTP: settings from the service's environment variables."""
    from services.generation.worker import main as generation_worker

    return generation_worker()


def _doctor(args: argparse.Namespace) -> int:
    from services.doctor import run_doctor

    report = run_doctor(with_smoke=args.smoke, device=args.device)
    print(report.render(), end="")
    return 0 if report.ok else 1


def _settings(args: argparse.Namespace) -> int:
    from services import settings_table

    if args.write:
        for path in settings_table.write():
            print(f"rewrote {path.relative_to(settings_table.REPO)}")
        return 0
    if args.check:
        stale = settings_table.stale_files()
        for path in stale:
            print(f"{path.relative_to(settings_table.REPO)}: stale, run `batik settings --write`")
        return 1 if stale else 0
    print(settings_table.markdown_table(), end="")
    return 0


_SUFFIX_FORMATS = {".png": "png", ".tif": "tiff", ".tiff": "tiff", ".pdf": "pdf", ".svg": "svg"}


def _export(args: argparse.Namespace) -> int:
    """A local image as a print-ready file, written atomically (a temp file, then a rename): a
    refused export leaves nothing behind, an old file stays whole until the new one is complete."""
    import os

    from services.common.contracts.export import ExportRequest
    from services.common.errors import ServiceError
    from services.common.export.engine import export_image
    from services.common.images import DEFAULT_MAX_PIXELS, ImageLimits, load_image

    out = Path(args.out)
    fields = {
        "format": args.format or _SUFFIX_FORMATS.get(out.suffix.lower(), "png"),
        "dpi": args.dpi,
        "width_cm": args.width_cm,
        "width_px": args.width_px,
        "repeat": args.repeat,
        "tiles_across": args.tiles_across,
        "palette": args.palette,
        "colors": args.colors,
        "dot_pitch_mm": args.dot_pitch_mm,
        "symmetry": args.symmetry,
    }
    options = ExportRequest(**{k: v for k, v in fields.items() if v is not None})
    max_pixels = args.max_pixels or DEFAULT_MAX_PIXELS
    limits = ImageLimits(max_bytes=64 * 1024 * 1024, max_pixels=max_pixels)
    try:
        tile = load_image(Path(args.image).read_bytes(), limits=limits, field=args.image)
    except ServiceError as exc:
        raise ValueError(exc.message) from None
    if options.symmetry == "design":
        raise ValueError("--symmetry design needs a design's provenance; name a group instead")
    result = export_image(tile, options, max_pixels=max_pixels, symmetry=options.symmetry)
    temporary = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        temporary.write_bytes(result.content)
        os.replace(temporary, out)
    finally:
        temporary.unlink(missing_ok=True)
    print(json.dumps({"out": str(out), "bytes": len(result.content), **result.headers}))
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
    tiny.add_argument(
        "--multilingual",
        action="store_true",
        help="also DIR/multilingual: a tiny sentence-transformers text tower for the tiny CLIP "
        "(RETRIEVAL_TEXT_MODEL)",
    )
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
    ing.add_argument(
        "--revision",
        help="hub revision of the CLIP model; default: RETRIEVAL_MODEL_REVISION (for the "
        "service's own model)",
    )
    ing.add_argument("--batch-size", type=int, default=32)
    ing.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ing.add_argument(
        "--index-type",
        default="flat",
        choices=["flat", "hnsw", "ivfpq"],
        help="flat: exact (default, small collections); hnsw or ivfpq: approximate, for 100k+",
    )
    ing.add_argument(
        "--index-param",
        action="append",
        type=_index_param,
        metavar="NAME=INT",
        help="index parameter, repeatable: hnsw m, ef_construction, ef_search; ivfpq nlist, m, "
        "nbits, nprobe, k_factor (defaults fit the collection size; see docs/RETRIEVAL.md)",
    )
    ing.set_defaults(func=_ingest)

    demo = commands.add_parser(
        "demo", help="run every service (library included) and the dashboard offline on tiny models"
    )
    demo.add_argument("--dataset", help="a Batik Nitik 960 folder; default: the shared sample")
    demo.add_argument("--port", type=int, default=8000, help="gateway port; services use +1..+3")
    demo.add_argument("--dashboard-port", type=int, default=8501, help="Streamlit dashboard port")
    demo.set_defaults(func=_demo)

    up = commands.add_parser("up", help="run every service on the real models (downloads)")
    up.add_argument("--dataset", help="a Batik Nitik 960 folder; default: the shared sample")
    up.add_argument("--images", help="images folder, when not in --dataset's layout")
    up.add_argument("--metadata", help="metadata workbook, when not in --dataset's layout")
    up.add_argument("--index", help="an existing index directory to serve")
    up.add_argument("--port", type=int, default=8000)
    up.set_defaults(func=_up)
    ev = commands.add_parser("eval", help="retrieval / captioning / generation metrics report")
    ev.add_argument("what", choices=["retrieval", "captioning", "generation", "all"])
    ev.add_argument("--index", required=True, help="index directory made by `batik ingest`")
    ev.add_argument("--out", required=True, help="report directory (metrics.json, report.md, PNGs)")
    ev.add_argument(
        "--adapter", help="LoRA adapter from `batik finetune` (its training.json split)"
    )
    ev.add_argument(
        "--style",
        help="generation: also a style folder from `batik finetune-style`, with and without it "
        "on its held-out photos",
    )
    ev.add_argument("--clip", help="CLIP source; default: the model the index's manifest names")
    ev.add_argument("--blip2", help="BLIP-2 source; default: the captioning service's setting")
    ev.add_argument("--sd", help="Stable Diffusion source; default: the generation setting")
    ev.add_argument(
        "--features",
        choices=["inception", "clip"],
        default="inception",
        help="inception: FID proper (needs --inception-weights); clip: FD over CLIP features",
    )
    ev.add_argument("--inception-weights", help="torch-fidelity InceptionV3 weights file")
    ev.add_argument("--query", action="append", help="generation query (repeatable)")
    ev.add_argument("--seed", action="append", type=int, help="generation seed (repeatable)")
    ev.add_argument("--size", type=int, default=512, help="generated image side")
    ev.add_argument("--steps", type=int, default=30)
    ev.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ev.set_defaults(func=_eval)

    from services.captioning.finetune.cli import add_arguments as finetune_arguments

    finetune = commands.add_parser("finetune", help="train a BLIP-2 LoRA adapter on an index")
    finetune_arguments(finetune)
    finetune.set_defaults(func=_finetune)

    from services.generation.finetune_style.cli import add_arguments as style_arguments

    style = commands.add_parser(
        "finetune-style", help="train a Stable Diffusion style LoRA on an index"
    )
    style_arguments(style)
    style.set_defaults(func=_finetune_style)

    worker = commands.add_parser(
        "worker", help="run jobs from the Redis queue (GENERATION_REDIS_URL), no HTTP"
    )
    worker.add_argument("service", choices=["generation"])
    worker.set_defaults(func=_worker)
    doctor = commands.add_parser(
        "doctor", help="what a real run needs and what this machine has (exit 1 if something lacks)"
    )
    doctor.add_argument(
        "--smoke", action="store_true", help="also load each model once and run one small request"
    )
    doctor.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    doctor.set_defaults(func=_doctor)
    export = commands.add_parser(
        "export", help="a PNG/JPEG/WebP tile as a print-ready PNG, TIFF, PDF or nitik dot SVG"
    )
    export.add_argument("image", help="the tile (PNG, JPEG or WebP)")
    export.add_argument("--out", required=True, help="the file to write (format from its suffix)")
    export.add_argument("--format", choices=["png", "tiff", "pdf", "svg"])
    export.add_argument("--dpi", type=int, help="72-600 (default 300)")
    width = export.add_mutually_exclusive_group()
    width.add_argument("--width-cm", type=float, help="page width (default 20 cm)")
    width.add_argument("--width-px", type=int, help="page width in pixels instead")
    export.add_argument(
        "--repeat",
        choices=["none", "full", "half_drop", "half_brick", "mirror"],
        help="default full",
    )
    export.add_argument("--tiles-across", type=int, help="tiles across the page (default 2)")
    export.add_argument("--palette", help="a named batik palette (docs/EXPORT.md)")
    export.add_argument("--colors", type=int, help="quantise to this many colours (2-32)")
    export.add_argument("--dot-pitch-mm", type=float, help="svg: dot pitch (default 48 a tile)")
    export.add_argument("--symmetry", choices=["none", "c2", "c4", "d4"], help="svg: symmetrise")
    export.add_argument("--max-pixels", type=int, help="pixel cap of the page (default 4096x4096)")
    export.set_defaults(func=_export)
    from services.library.cli import add_commands as library_commands

    library_commands(commands)
    settings = commands.add_parser("settings", help="print every environment variable (Markdown)")
    mode = settings.add_mutually_exclusive_group()
    mode.add_argument(
        "--write",
        action="store_true",
        help="regenerate the settings tables in README.md, docs/*.md and .env.example",
    )
    mode.add_argument("--check", action="store_true", help="exit 1 if any of them is stale")
    settings.set_defaults(func=_settings)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(argv) if argv is not None else sys.argv[1:]
    args = build_parser().parse_args(argv)
    args.argv = argv  # recorded by commands whose output says what produced it
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError) as exc:
        print(f"batik {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
