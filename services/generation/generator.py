"""Stable Diffusion 1.5: img2img from a reference image, or txt2img from the same loaded weights."""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from services.common.contracts.generation import (
    AppliedStyle,
    GenerateRequest,
    GenerationSummary,
    UpscaleRequest,
    check_denoising_steps,
)
from services.common.errors import InvalidInputError
from services.common.models import resolve_device, resolve_dtype, resolve_source, source_version
from services.generation.acceleration import Acceleration, accelerate, cuda_oom_guard
from services.generation.pakem import (
    CANNY_HIGH,
    CANNY_LOW,
    detect_group,
    edge_map,
    finish_image,
    offset_unit,
    repeat_padding,
    symmetry_callback,
)
from services.generation.prompts import PromptEncoding, encode_prompt
from services.generation.schedulers import PREVIEW_SCHEDULER, make_scheduler, scheduler_name
from services.generation.styles import Styles
from services.generation.upscaler import DiffusionOptions, SeamUpscaler, Upscaled, upscale_tile

log = logging.getLogger(__name__)

# `progress` below, a job's StepProgressReporter (services/common/jobs.py), is called after every
# denoising step with (steps done, steps in all) over every image of the request; it may raise to
# stop the run (a cancelled job).


@dataclass(frozen=True)
class Generation:
    images: list[Image.Image]
    seeds: list[int]
    mode: str
    scheduler: str
    prompt: PromptEncoding
    symmetry: str = "none"
    symmetry_scores: dict[str, float] = field(default_factory=dict)
    tile: bool = False
    repeat: str | None = None
    control_scale: float | None = None
    styles: list[AppliedStyle] = field(default_factory=list)
    model_version: str | None = None
    preview: bool = False

    @property
    def seed(self) -> int:
        return self.seeds[0]

    def summary(self, model: str) -> GenerationSummary:
        return GenerationSummary(
            seed=self.seed,
            seeds=self.seeds,
            mode=self.mode,
            scheduler=self.scheduler,
            prompt_tokens=self.prompt.tokens,
            prompt_chunks=self.prompt.chunks,
            truncated=self.prompt.truncated,
            model=model,
            symmetry=self.symmetry,
            symmetry_scores=self.symmetry_scores,
            tile=self.tile,
            repeat=self.repeat,
            control_scale=self.control_scale,
            styles=self.styles,
            model_version=self.model_version,
            preview=self.preview,
        )


@dataclass(frozen=True)
class Pakem:
    """The traditional rules one request asks for (see pakem.py)."""

    group: str = "none"
    tile: bool = False
    repeat: str = "full"
    control_scale: float | None = None
    edges: Image.Image | None = None


class SdGenerator:
    def __init__(
        self,
        source: str,
        *,
        pipeline=None,
        device: str = "auto",
        dtype: str = "auto",
        variant: str | None = None,
        acceleration: Acceleration | None = None,
        max_prompt_chunks: int = 3,
        controlnet: str | None = None,
        canny_thresholds: tuple[int, int] = (CANNY_LOW, CANNY_HIGH),
        revision: str | None = None,
        controlnet_revision: str | None = None,
    ) -> None:
        """Loads `source` (a hub id or a directory) on `device` in `dtype`; or, given `pipeline`,
        serves that img2img pipeline as it is (built in memory: the full-size benchmark's random
        weights), and `source` only names it."""
        import torch
        from diffusers import StableDiffusionPipeline

        img2img = (
            pipeline
            if pipeline is not None
            else _load_img2img(source, device, dtype, variant, revision)
        )
        self.source = source
        self.version = source_version(source, revision) if pipeline is None else source
        self.device = img2img.device.type
        self.canny_thresholds = canny_thresholds
        # The dtype asked for at load: every pipeline view below must keep it.
        self._requested_dtype = img2img.unet.dtype
        self.max_prompt_chunks = max_prompt_chunks
        self.optimisations = accelerate(img2img, acceleration or Acceleration(), self.device)
        img2img.set_progress_bar_config(disable=True)
        self.img2img = img2img
        # Shares every component with img2img: no second copy of the weights. `from_pipe` defaults to
        # float32 and casts the shared components in place, so the dtype is passed explicitly.
        self.txt2img = StableDiffusionPipeline.from_pipe(img2img, dtype=self._requested_dtype)
        self.txt2img.set_progress_bar_config(disable=True)
        self.tokenizer = img2img.tokenizer
        self.controlnet_source: str | None = None
        self.controlled: dict[str, object] = {}
        # The model's own scheduler: the template every request's fresh scheduler is built from.
        self.base_scheduler = img2img.scheduler
        self.default_scheduler = scheduler_name(self.base_scheduler)
        # One pipeline call at a time: a diffusers pipeline is not safe to call from two threads, and
        # one GPU runs one UNet batch at a time anyway.
        self._lock = threading.Lock()
        self._torch = torch
        # Style LoRAs in the shared UNet; none until `load_styles`.
        self.styles = Styles(img2img, self.version)
        if controlnet:
            self._add_controlnet(controlnet, controlnet_revision)
        # The diffusion upscaler (GENERATION_UPSCALER); none: upscaling is Lanczos.
        self.upscaler: SeamUpscaler | None = None

    def _add_controlnet(self, source: str, revision: str | None = None) -> None:
        """ControlNet pipelines sharing every component with img2img, plus the ControlNet."""
        from diffusers import (
            ControlNetModel,
            StableDiffusionControlNetImg2ImgPipeline,
            StableDiffusionControlNetPipeline,
        )

        dtype = self._requested_dtype
        controlnet = ControlNetModel.from_pretrained(
            resolve_source(source), dtype=dtype, revision=revision
        ).to(self.device)
        self.controlled = {
            "img2img": StableDiffusionControlNetImg2ImgPipeline.from_pipe(
                self.img2img, controlnet=controlnet, dtype=dtype
            ),
            "txt2img": StableDiffusionControlNetPipeline.from_pipe(
                self.img2img, controlnet=controlnet, dtype=dtype
            ),
        }
        for pipe in self.controlled.values():
            pipe.set_progress_bar_config(disable=True)
        self.controlnet_source = source
        self.version = f"{self.version}+{source_version(source, revision)}"

    def component_dtypes(self) -> dict[str, str]:
        """The dtype of every model of every pipeline view, as it is now (not as it was asked)."""
        controlled = {f"controlnet-{mode}": pipe for mode, pipe in self.controlled.items()}
        pipes = {"img2img": self.img2img, "txt2img": self.txt2img, **controlled}
        return {
            f"{view}.{name}": str(module.dtype).removeprefix("torch.")
            for view, pipe in pipes.items()
            for name in ("unet", "vae", "text_encoder", "controlnet")
            if (module := getattr(pipe, name, None)) is not None
        }

    @property
    def dtype(self) -> str:
        """The dtype the engine really runs in: read from its components; "mixed" if they differ."""
        found = set(self.component_dtypes().values())
        return found.pop() if len(found) == 1 else "mixed"

    def count_tokens(self, prompt: str) -> tuple[int, bool]:
        """Tokens of `prompt` (with BOS/EOS) and whether the 77-token window cuts it."""
        ids = self.tokenizer(prompt, truncation=False)["input_ids"]
        return len(ids), len(ids) > self.tokenizer.model_max_length

    def generate(
        self,
        request: GenerateRequest,
        init_image: Image.Image | None,
        progress: Callable[[int, int], None] | None = None,
        control_image: Image.Image | None = None,
    ) -> Generation:
        self.check_inputs(request, init_image, control_image)
        first = request.seed if request.seed is not None else secrets.randbelow(2**32)
        seeds = [(first + k) % 2**32 for k in range(request.num_images)]
        size = (request.width, request.height)
        init = init_image.resize(size, Image.Resampling.BICUBIC) if init_image is not None else None
        group, scores = request.symmetry, {}
        if group == "auto":
            group, scores = detect_group(np.asarray(init)) if init is not None else ("none", {})
        pakem = Pakem(
            group=group,
            tile=request.tile,
            repeat=request.repeat,
            control_scale=request.control_scale,
            edges=edge_map(
                control_image.resize(size, Image.Resampling.BICUBIC), *self.canny_thresholds
            )
            if control_image is not None and request.control_scale is not None
            else None,
        )
        images: list[Image.Image] = []
        with self._lock, self._torch.inference_mode(), cuda_oom_guard():
            # Adapters are UNet state: set under the lock, before the text encoder runs.
            applied = self.styles.activate(request)
            prompt = encode_prompt(
                self.tokenizer,
                self.img2img.text_encoder,
                request.prompt,
                request.negative_prompt,
                max_chunks=self.max_prompt_chunks,
                device=self.device,
            )
            mode = "img2img" if init is not None else "txt2img"
            if pakem.edges is not None:
                pipe = self.controlled[mode]
            else:
                pipe = self.img2img if init is not None else self.txt2img
            # A fresh scheduler per request: the sampler asked for, and no state from the last run.
            scheduler = PREVIEW_SCHEDULER if request.preview else request.scheduler
            pipe.scheduler = make_scheduler(scheduler, self.base_scheduler)
            # One pipeline call per image, each with its own generator: image k with seed + k is the
            # same bytes as a one-image request with that seed (batching would change the numerics).
            for index, seed in enumerate(seeds):
                images.append(
                    self._one_image(pipe, request, init, prompt, seed, index, progress, pakem)
                )
        return Generation(
            images=images,
            seeds=seeds,
            mode=mode,
            scheduler=scheduler or self.default_scheduler,
            prompt=prompt,
            symmetry=group,
            symmetry_scores=scores,
            tile=request.tile,
            repeat=request.repeat if request.tile else None,
            control_scale=request.control_scale,
            styles=applied,
            model_version=self.styles.answer_version(self.version, applied, request.preview),
            preview=request.preview,
        )

    def check_inputs(
        self,
        request: GenerateRequest,
        init_image: Image.Image | None,
        control_image: Image.Image | None = None,
    ) -> None:
        """Refuse, before any model work, what this engine cannot run (as diffusers' check_inputs).

        The wire contract checks most of this too; the engine checks again because it is also
        called directly (jobs, the benchmark, evaluation), and a diffusers pipeline fails late and
        cryptically on it."""
        for name in ("width", "height"):
            if getattr(request, name) % 8:
                raise InvalidInputError(
                    f"{name} must be a multiple of 8 (SD's VAE downsamples by 8)"
                )
        if request.symmetry != "none" and request.width != request.height:
            raise InvalidInputError(f"symmetry={request.symmetry} needs a square image")
        if request.tile and request.repeat != "full":
            self._check_offset(request)
        if init_image is not None:
            check_denoising_steps(request.steps, request.strength)
        if request.control_scale is not None and control_image is not None and not self.controlled:
            raise InvalidInputError("control_scale: no ControlNet is loaded")

    def _check_offset(self, request: GenerateRequest) -> None:
        unit = offset_unit(
            self.img2img.vae_scale_factor, len(self.img2img.unet.config.block_out_channels)
        )
        name = "height" if request.repeat == "half_drop" else "width"
        side = getattr(request, name)
        if side % unit:
            raise InvalidInputError(
                f"repeat={request.repeat} needs a {name} that is a multiple of {unit} px with this "
                f"model (half of it must be whole at every UNet level); got {side}"
            )

    def load_upscaler(self, source: str, revision: str | None = None) -> None:
        """A StableDiffusionUpscalePipeline on this engine's device and dtype, sharing its lock."""
        self.upscaler = SeamUpscaler(
            source, device=self.device, dtype=self.dtype, revision=revision, lock=self._lock
        )

    def upscale(
        self, tile: np.ndarray, request: UpscaleRequest, width: int, height: int
    ) -> Upscaled:
        """`tile` at `width` x `height` with its seam kept in `request.repeat` (upscaler.py)."""
        seed = request.seed if request.seed is not None else secrets.randbelow(2**32)
        options = DiffusionOptions(
            prompt=request.prompt,
            steps=request.steps,
            noise_level=request.noise_level,
            guidance_scale=request.guidance_scale,
            seed=seed,
        )
        return upscale_tile(self.upscaler, tile, request.repeat, width, height, options)

    def load_styles(self, folder: str | None, default: str | None, preview: str | None) -> None:
        with self._lock:
            self.styles.configure(folder, default=default, preview=preview)

    def reload_styles(self) -> dict[str, list]:
        """Pick up styles added to or removed from the folder; waits for the running call."""
        with self._lock:
            return self.styles.reload()

    def _one_image(
        self,
        pipe,
        request: GenerateRequest,
        init: Image.Image | None,
        prompt: PromptEncoding,
        seed: int,
        index: int,
        progress: Callable[[int, int], None] | None,
        pakem: Pakem,
    ) -> Image.Image:
        # A CPU generator gives the same noise on every device, so a seed means the same image.
        generator = self._torch.Generator("cpu").manual_seed(seed)
        if prompt.prompt_embeds is not None:
            text = dict(
                prompt_embeds=prompt.prompt_embeds, negative_prompt_embeds=prompt.negative_embeds
            )
        else:
            text = dict(prompt=request.prompt, negative_prompt=request.negative_prompt)
        count = request.num_images
        project = symmetry_callback(pakem.group)

        def step_end(pipeline, step, timestep, tensors):
            if project is not None:
                tensors = project(pipeline, step, timestep, tensors)
            if progress is not None:
                per_image = pipeline.num_timesteps
                progress(index * per_image + step + 1, count * per_image)
            return tensors

        args = dict(
            guidance_scale=request.guidance_scale,
            num_inference_steps=request.steps,
            generator=generator,
            output_type="pil",
            callback_on_step_end=step_end,
            **text,
        )
        if pakem.edges is not None:
            args["controlnet_conditioning_scale"] = pakem.control_scale
        # The repeat's padding only for this call; the lock keeps every other request out meanwhile.
        modules = [pipe.unet, pipe.vae, *([pipe.controlnet] if pakem.edges is not None else [])]
        with repeat_padding(pakem.repeat, *modules) if pakem.tile else nullcontext():
            if init is not None:
                if pakem.edges is not None:
                    args["control_image"] = pakem.edges
                output = pipe(image=init, strength=request.strength, **args)
            else:
                if pakem.edges is not None:
                    args["image"] = pakem.edges
                output = pipe(width=request.width, height=request.height, **args)
        return finish_image(output.images[0], pakem.group)

    def warm_up(self, size: int = 512, steps: int = 2) -> None:
        """One small txt2img so the first real request does not pay for kernel selection or
        torch.compile."""
        request = GenerateRequest(
            prompt="warm-up", width=size, height=size, steps=steps, seed=0, guidance_scale=7.5
        )
        self.generate(request, None)

    def describe(self) -> dict:
        return {
            "model": self.source,
            "controlnet": self.controlnet_source,
            "model_version": self.styles.model_version(self.version),
            "styles": [info.name for info in self.styles.listing()],
            "device": self.device,
            "dtype": self.dtype,
            "scheduler": self.default_scheduler,
            "optimisations": self.optimisations,
            "upscaler": self.upscaler.describe() if self.upscaler else {"method": "lanczos"},
        }


def _load_img2img(source: str, device: str, dtype: str, variant: str | None, revision: str | None):
    from diffusers import StableDiffusionImg2ImgPipeline

    resolved_device = resolve_device(device)
    return StableDiffusionImg2ImgPipeline.from_pretrained(
        resolve_source(source),
        dtype=resolve_dtype(resolved_device, dtype),
        variant=variant,
        revision=revision,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    ).to(resolved_device)


def load_generator(settings) -> SdGenerator:
    """The engine as the settings (`GenerationSettings`) describe it, warmed up when asked (by
    default on CUDA only: there the first call pays for kernel selection and compilation)."""
    from services.common.models import configure_torch

    configure_torch(settings.torch_threads, settings.cuda_memory_fraction)
    engine = SdGenerator(
        settings.model,
        device=settings.device,
        dtype=settings.dtype,
        variant=settings.variant,
        acceleration=settings.acceleration,
        max_prompt_chunks=settings.max_prompt_chunks,
        controlnet=settings.controlnet,
        canny_thresholds=(settings.canny_low_threshold, settings.canny_high_threshold),
        revision=settings.model_revision,
        controlnet_revision=settings.controlnet_revision,
    )
    if settings.styles_dir or settings.style or settings.preview_lora:
        engine.load_styles(settings.styles_dir, settings.style, settings.preview_lora)
    if settings.upscaler:
        engine.load_upscaler(settings.upscaler, settings.upscaler_revision)
    warmup = settings.warmup if settings.warmup is not None else engine.device == "cuda"
    if warmup:
        engine.warm_up()
        log.info("warm-up done")
    return engine
