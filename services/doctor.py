"""`batik doctor`: what a real run (`batik up`, `batik finetune` with QLoRA) needs, and what this
machine has. One row per requirement; every row that fails carries one line saying what to do.

Nothing heavy is imported to answer: torch for CUDA, `importlib.util.find_spec` for bitsandbytes
(importing it takes seconds), the Hugging Face cache read from disk, the hub probed with a short
timeout. `--smoke` then loads each configured model once and runs one small request through it.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GIB = 1024**3
HUB_URL = "https://huggingface.co"
# The default checkpoints' downloads (fp32 CLIP and BLIP-2 shards, SD 1.5 fp16/fp32 weights).
DOWNLOAD_GIB = 20.0

# Memory on the GPU per model service, in GiB: fp16 weights (parameter count x 2 bytes) plus the
# working memory of one request at the default sizes, plus the process's CUDA context (~0.5 GiB).
# Estimates, not measurements: benchmarks/gpu_check.py measures the peaks on a real GPU.
CUDA_CONTEXT_GIB = 0.5


@dataclass(frozen=True)
class ModelNeed:
    role: str
    weights_gib: float
    working_gib: float
    note: str

    @property
    def total_gib(self) -> float:
        return self.weights_gib + self.working_gib + CUDA_CONTEXT_GIB


NEEDS = {
    "retrieval": ModelNeed("retrieval", 0.28, 0.5, "CLIP ViT-B/32, 151 M params, batch 32"),
    "captioning": ModelNeed("captioning", 6.98, 1.0, "BLIP-2 OPT-2.7b, 3.745 B params, batch 8"),
    "generation": ModelNeed(
        "generation", 1.99, 2.0, "SD 1.5 (UNet 860 M, VAE 84 M, text 123 M), 512 px, SDPA"
    ),
}
CONTROLNET_GIB = 0.67  # control_v11p_sd15_canny, 361 M params


@dataclass
class Check:
    name: str
    needed: str
    found: str
    ok: bool
    fix: str = ""  # one actionable line when not ok


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)
    smoke: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks + self.smoke)

    def render(self) -> str:
        rows = [("check", "needed", "this machine", "")]
        rows += [(c.name, c.needed, c.found, "ok" if c.ok else "MISSING") for c in self.checks]
        rows += [(c.name, c.needed, c.found, "ok" if c.ok else "FAILED") for c in self.smoke]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = [
            "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows
        ]
        lines.insert(1, "  ".join("-" * w for w in widths))
        fixes = [f"- {c.name}: {c.fix}" for c in self.checks + self.smoke if not c.ok]
        if fixes:
            lines += ["", "A real run would fail here. To fix:", *fixes]
        else:
            lines += ["", "Everything a real run needs is here."]
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Gpu:
    index: int
    name: str
    total_gib: float
    capability: tuple[int, int]

    @property
    def bf16(self) -> bool:
        return self.capability >= (8, 0)


@dataclass(frozen=True)
class Sources:
    """The configured models, as the services and `batik up` read them from settings."""

    retrieval: str
    captioning: str
    generation: str
    controlnet: str | None = None
    text_model: str | None = None
    # role -> the pinned hub revision (*_MODEL_REVISION); unset: the default branch
    revisions: dict[str, str | None] = field(default_factory=dict)
    # service -> *_CUDA_MEMORY_FRACTION, the share of its GPU it may allocate
    memory_fractions: dict[str, float | None] = field(default_factory=dict)

    @classmethod
    def from_settings(cls) -> Sources:
        from services.captioning.config import CaptioningSettings
        from services.generation.config import GenerationSettings
        from services.retrieval.config import RetrievalSettings

        retrieval, captioning = RetrievalSettings(), CaptioningSettings()
        generation = GenerationSettings()
        return cls(
            retrieval=retrieval.model,
            captioning=captioning.model,
            generation=generation.model,
            controlnet=generation.controlnet,
            text_model=retrieval.text_model,
            revisions={
                "retrieval": retrieval.model_revision,
                "captioning": captioning.model_revision,
                "generation": generation.model_revision,
                "controlnet": generation.controlnet_revision,
                "text tower": retrieval.text_model_revision,
            },
            memory_fractions={
                "retrieval": retrieval.cuda_memory_fraction,
                "captioning": captioning.cuda_memory_fraction,
                "generation": generation.cuda_memory_fraction,
            },
        )

    def models(self) -> dict[str, str]:
        found = {
            "retrieval": self.retrieval,
            "captioning": self.captioning,
            "generation": self.generation,
        }
        if self.controlnet:
            found["controlnet"] = self.controlnet
        if self.text_model:
            found["text tower"] = self.text_model
        return found


# ---- what the machine has ----------------------------------------------------------------------


def detect_gpus() -> list[Gpu]:
    import torch

    if not torch.cuda.is_available():
        return []
    gpus = []
    for index in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(index)
        gpus.append(Gpu(index, props.name, props.total_memory / GIB, (props.major, props.minor)))
    return gpus


def hf_home() -> Path:
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "huggingface"


def free_gib(path: Path) -> float:
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    return shutil.disk_usage(existing).free / GIB


def hub_reachable(timeout_s: float = 3.0) -> bool:
    """Whether downloads could happen: not with HF_HUB_OFFLINE set (the services would not try),
    else one HEAD to the hub (HF_ENDPOINT, for a mirror) with a short timeout."""
    import httpx

    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}:
        return False
    try:
        httpx.head(os.environ.get("HF_ENDPOINT") or HUB_URL, timeout=timeout_s)
    except httpx.HTTPError:
        return False
    return True


_WEIGHTS = ("*.safetensors", "*.bin")


SETTING = {
    "retrieval": "RETRIEVAL_MODEL",
    "captioning": "CAPTIONING_MODEL",
    "generation": "GENERATION_MODEL",
    "controlnet": "GENERATION_CONTROLNET",
    "text tower": "RETRIEVAL_TEXT_MODEL",
}


def model_files_present(
    source: str, hub_cache: Path | None = None, revision: str | None = None
) -> tuple[bool, str]:
    """(present, where): a local directory with a config and weights, or a complete snapshot of the
    hub id in the Hugging Face cache."""
    path = Path(source).expanduser()
    if path.is_dir():
        configs = [
            p for p in ("config.json", "model_index.json", "modules.json") if (path / p).is_file()
        ]
        weights = [p for pattern in _WEIGHTS for p in path.rglob(pattern)]
        return bool(configs and weights), f"local {path}" + ("" if weights else " (no weights)")
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        snapshot = Path(
            snapshot_download(
                source,
                revision=revision,
                local_files_only=True,
                cache_dir=str(hub_cache) if hub_cache else None,
            )
        )
    except (LocalEntryNotFoundError, OSError, ValueError):
        return False, "not in the HF cache" + (f" at revision {revision}" if revision else "")
    weights = [p for pattern in _WEIGHTS for p in snapshot.rglob(pattern)]
    return bool(weights), f"cached {snapshot}" if weights else "cached without weights"


# ---- the plan ----------------------------------------------------------------------------------


def plan_placement(gpus: list[Gpu], with_controlnet: bool) -> dict[int, list[str]]:
    """Which GPU each model service goes on: one each from three GPUs, BLIP-2 alone on one of two,
    all three together on one (deploy/one-GPU profile)."""
    roles = ["captioning", "generation", "retrieval"]
    if len(gpus) >= 3:
        return {gpus[i].index: [role] for i, role in enumerate(roles)}
    if len(gpus) == 2:
        return {gpus[0].index: ["captioning"], gpus[1].index: ["generation", "retrieval"]}
    if len(gpus) == 1:
        return {gpus[0].index: roles}
    return {}


def planned_gib(roles: list[str], with_controlnet: bool) -> float:
    total = sum(NEEDS[r].total_gib for r in roles)
    return total + (CONTROLNET_GIB if with_controlnet and "generation" in roles else 0.0)


# ---- the checks --------------------------------------------------------------------------------


def diagnose(
    sources: Sources,
    *,
    gpus: list[Gpu] | None = None,
    cache_dir: Path | None = None,
    hub: Callable[[], bool] = hub_reachable,
    has_bitsandbytes: Callable[[], bool] = lambda: (
        importlib.util.find_spec("bitsandbytes") is not None
    ),
) -> Report:
    gpus = detect_gpus() if gpus is None else gpus
    report = Report()
    add = report.checks.append
    if gpus:
        found = "; ".join(f"cuda:{g.index} {g.name} {g.total_gib:.1f} GiB" for g in gpus)
        add(Check("CUDA", "an NVIDIA GPU visible to torch", found, True))
        no_bf16 = [g for g in gpus if not g.bf16]
        add(
            Check(
                "bf16",
                "native bf16 for QLoRA (else fp16 + loss scaling)",
                "yes" if not no_bf16 else "no: " + ", ".join(g.name for g in no_bf16) + " (fp16)",
                True,
            )
        )
    else:
        import torch

        build = f"torch {torch.__version__}" + ("" if torch.version.cuda else " (CPU build)")
        add(
            Check(
                "CUDA",
                "an NVIDIA GPU visible to torch",
                f"none ({build})",
                False,
                "run on a machine with an NVIDIA GPU and driver, with the CUDA wheel of the pinned "
                "torch (download.pytorch.org); on a CPU, `batik demo` runs offline on tiny models",
            )
        )
        add(Check("bf16", "native bf16 for QLoRA (else fp16)", "n/a (no CUDA)", True))

    with_controlnet = bool(sources.controlnet)
    placement = plan_placement(gpus, with_controlnet)
    by_index = {g.index: g for g in gpus}
    if not placement:
        need = planned_gib(list(NEEDS), with_controlnet)
        add(
            Check(
                "placement",
                f"~{need:.1f} GiB of GPU memory for the three models (fp16)",
                "no GPU to place them on",
                False,
                "a single 16 GiB GPU fits all three (docker-compose.one-gpu.yml, k8s overlay "
                "one-gpu); 24 GiB leaves room for larger batches",
            )
        )
    for index, roles in placement.items():
        gpu = by_index[index]
        need = planned_gib(roles, with_controlnet)
        fits = need <= gpu.total_gib * 0.95
        add(
            Check(
                f"cuda:{index} plan",
                f"{' + '.join(roles)}: ~{need:.1f} GiB",
                f"{gpu.total_gib:.1f} GiB",
                fits,
                ""
                if fits
                else (
                    f"{' + '.join(roles)} need ~{need:.1f} GiB on {gpu.name}: give BLIP-2 its own "
                    "GPU (or CAPTIONING_DEVICE=cpu), and turn on GENERATION_VAE_SLICING"
                ),
            )
        )

    for index, roles in placement.items():
        for role in roles:
            fraction = sources.memory_fractions.get(role)
            if not fraction:
                continue
            budget = fraction * by_index[index].total_gib
            need = NEEDS[role].weights_gib + NEEDS[role].working_gib
            if role == "generation" and with_controlnet:
                need += CONTROLNET_GIB
            add(
                Check(
                    f"cuda:{index} {role} budget",
                    f"~{need:.1f} GiB inside {role.upper()}_CUDA_MEMORY_FRACTION",
                    f"{fraction:g} x {by_index[index].total_gib:.1f} = {budget:.1f} GiB",
                    budget >= need,
                    f"raise {role.upper()}_CUDA_MEMORY_FRACTION to at least "
                    f"{need / by_index[index].total_gib:.2f} (and lower another service's share)",
                )
            )

    home = cache_dir or hf_home()
    hub_cache = Path(os.environ["HF_HUB_CACHE"]) if os.environ.get("HF_HUB_CACHE") else home / "hub"
    missing_sources = {
        role: source for role, source in sources.models().items()
        if not model_files_present(source, hub_cache, sources.revisions.get(role))[0]
    }  # fmt: skip
    to_download = DOWNLOAD_GIB if missing_sources else 0.0
    free = free_gib(home)
    add(
        Check(
            "disk (HF_HOME)",
            f"~{to_download:.0f} GiB free for downloads at {home}",
            f"{free:.1f} GiB free",
            free >= to_download,
            f"free {to_download - free:.1f} GiB at {home} or point HF_HOME at a larger disk",
        )
    )
    reachable: bool | None = None
    for role, source in sources.models().items():
        present, where = model_files_present(source, hub_cache, sources.revisions.get(role))
        if present:
            add(Check(f"model {role}", source, where, True))
            continue
        if reachable is None:
            reachable = hub()
        add(
            Check(
                f"model {role}",
                source,
                f"{where}; hub {'reachable: downloads on first start' if reachable else 'unreachable'}",
                reachable,
                f"download it where the hub is reachable (`huggingface-cli download {source}`) "
                f"and copy {home}, or set {SETTING[role]} to a local directory",
            )
        )
    bnb = has_bitsandbytes()
    add(
        Check(
            "bitsandbytes",
            "for `batik finetune` 4-bit QLoRA (CUDA)",
            "installed" if bnb else "not installed",
            bnb,
            "pip install -c constraints.txt -e '.[qlora]' (or `batik finetune --quantize none`)",
        )
    )
    return report


# ---- --smoke -----------------------------------------------------------------------------------


def _timed(name: str, needed: str, run: Callable[[], str]) -> Check:
    started = time.perf_counter()
    try:
        found = run()
    except Exception as exc:  # the point is to report any failure, whatever it is
        # One line: the hub's errors span several, which would break the table's row.
        error = " ".join(f"{type(exc).__name__}: {exc}".split())
        return Check(name, needed, error[:160], False, _smoke_fix(name))
    return Check(name, needed, f"{found} ({time.perf_counter() - started:.1f} s)", True)


def _smoke_fix(name: str) -> str:
    return f"see the error above; `batik doctor` (without --smoke) lists what {name} lacks"


def smoke(sources: Sources, device: str = "auto") -> list[Check]:
    """Load each configured model once and run one small request through it."""
    from PIL import Image

    image = Image.new("RGB", (256, 256), (120, 72, 40))

    def clip() -> str:
        from services.retrieval.encoder import ClipEncoder

        encoder = ClipEncoder(
            sources.retrieval, device=device, revision=sources.revisions.get("retrieval")
        )
        vectors = encoder.embed_images([image])
        encoder.embed_texts(["a batik nitik motif"])
        found = f"{vectors.shape[1]}-d embedding on {encoder.device}"
        if sources.text_model:  # the text tower answers the text queries in its place
            from services.retrieval.multilingual import MultilingualTextEncoder

            tower = MultilingualTextEncoder(
                sources.text_model, device=device, revision=sources.revisions.get("text tower")
            )
            found += f", text tower {tower.embed_texts(['motif batik nitik']).shape[1]}-d"
        return found

    def blip2() -> str:
        from services.captioning.captioner import Blip2Captioner

        captioner = Blip2Captioner(
            sources.captioning,
            device=device,
            min_caption_words=1,
            revision=sources.revisions.get("captioning"),
        )
        [outcome], _ = captioner.caption_batch([image], max_new_tokens=8)
        return f"caption {outcome.text[:40]!r} on {captioner.device}"

    def sd() -> str:
        from services.common.contracts.generation import GenerateRequest
        from services.common.images import encode_png, to_base64
        from services.generation.generator import SdGenerator

        generator = SdGenerator(
            sources.generation,
            device=device,
            revision=sources.revisions.get("generation"),
            controlnet=sources.controlnet,
            controlnet_revision=sources.revisions.get("controlnet"),
        )
        size = 64 if generator.device == "cpu" else 256
        # With a ControlNet configured the request goes through it, on the image's own edges.
        control = (
            {"control_scale": 1.0, "init_image": to_base64(encode_png(image))}
            if sources.controlnet
            else {}
        )
        request = GenerateRequest(
            prompt="a batik nitik motif", width=size, height=size, steps=2, seed=0, **control
        )
        result = generator.generate(request, image, control_image=image if control else None)
        via = " through the ControlNet" if control else ""
        return f"{len(result.images)} image {size} px{via}, {generator.dtype} on {generator.device}"

    return [
        _timed("smoke retrieval", f"CLIP {sources.retrieval}: one image + one text", clip),
        _timed("smoke captioning", f"BLIP-2 {sources.captioning}: one caption", blip2),
        _timed("smoke generation", f"SD {sources.generation}: img2img, 2 steps", sd),
    ]


def run_doctor(*, with_smoke: bool = False, device: str = "auto", **kwargs: Any) -> Report:
    sources = kwargs.pop("sources", None) or Sources.from_settings()
    report = diagnose(sources, **kwargs)
    if with_smoke:
        report.smoke = smoke(sources, device=device)
    return report
