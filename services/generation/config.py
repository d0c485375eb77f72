from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from services.common.contracts.generation import MAX_NUM_IMAGES
from services.common.settings import BaseServiceSettings, CudaMemoryFraction
from services.generation.acceleration import Acceleration

DEFAULT_SD = "stable-diffusion-v1-5/stable-diffusion-v1-5"
DEFAULT_STYLE_TEMPLATE = "{name}, batik nitik motif, {facts}"
# LCM-LoRA for SD 1.5 (latent-consistency/lcm-lora-sdv1-5): 4-8 steps at guidance 1-2.
LCM_LORA_SD15 = "latent-consistency/lcm-lora-sdv1-5"


class GenerationSettings(BaseServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="GENERATION_", extra="ignore", env_ignore_empty=True
    )

    model: str = Field(DEFAULT_SD, description="Stable Diffusion 1.5: hub id or local directory")
    model_revision: str | None = Field(
        None,
        description="Hub revision (commit, tag or branch) of GENERATION_MODEL; in the model version "
        "and so in cache keys. Unset: the hub's main, unpinned",
    )
    variant: str | None = Field(
        None, description="Weights variant to download, e.g. fp16 (half the download on GPU)"
    )
    controlnet: str | None = Field(
        None,
        description="ControlNet for SD 1.5 (hub id or local directory, e.g. "
        "lllyasviel/control_v11p_sd15_canny); unset: control_scale is refused",
    )
    controlnet_revision: str | None = Field(
        None, description="Hub revision of GENERATION_CONTROLNET, as GENERATION_MODEL_REVISION"
    )
    upscaler: str | None = Field(
        None,
        description="StableDiffusionUpscalePipeline for POST /v1/upscale (hub id or directory, e.g. "
        "stabilityai/stable-diffusion-x4-upscaler); unset: that route resamples with Lanczos",
    )
    upscaler_revision: str | None = Field(
        None, description="Hub revision (commit) of GENERATION_UPSCALER; unset: the default branch"
    )
    canny_low_threshold: int = Field(
        100,
        ge=0,
        description="Canny edges of the ControlNet control image: lower hysteresis threshold "
        "(weaker gradients than this are never edges)",
    )
    canny_high_threshold: int = Field(
        200,
        ge=1,
        description="Canny edges: upper hysteresis threshold (stronger gradients are always edges; "
        "between the two, only when connected to one)",
    )
    cuda_memory_fraction: CudaMemoryFraction = None
    max_inflight: int = Field(
        2,
        ge=1,
        description="Synchronous /v1/generate calls running or waiting (one runs at a time); "
        "past it: 429 with Retry-After",
    )
    max_images: int = Field(
        4, ge=1, le=MAX_NUM_IMAGES, description="Largest num_images a request may ask for"
    )
    max_prompt_chunks: int = Field(
        3,
        ge=1,
        description="77-token windows a long prompt is encoded in (1: cut at 77 tokens); "
        "the rest is cut and reported",
    )
    redis_url: str | None = Field(
        None,
        description="redis://host:port/db for jobs (/v1/jobs): a Redis that persists (appendonly "
        "yes) and never evicts (noeviction); unset: job routes answer 503",
    )
    redis_timeout_s: float = Field(
        2.0,
        gt=0,
        description="Connect and socket timeout of the job store's Redis client: a paused Redis "
        "makes the job routes 503 within it",
    )
    job_worker: bool = Field(
        True,
        description="Run a job worker inside the service; false: API only, jobs run in "
        "`batik worker generation` processes",
    )
    job_queue_max: int = Field(
        32, ge=1, description="Jobs queued or running; past it POST /v1/jobs answers 429"
    )
    job_ttl_s: int = Field(
        86400, ge=60, description="How long a job's record and images stay in Redis"
    )
    job_watchdog_s: float = Field(
        30.0,
        gt=0,
        description="How often stranded jobs are looked for, and how long one may look stranded "
        "(no queue entry, no worker) before it is failed with the reason",
    )
    job_timeout_s: int = Field(1800, ge=1, description="Longest a job may run before it fails")
    job_queue_name: str = Field("batik:generation:queue", description="arq queue name in Redis")
    job_poll_s: float = Field(0.2, gt=0, description="How often an idle worker polls the queue")
    sdpa: bool = Field(
        True,
        description="scaled_dot_product_attention (flash / memory-efficient kernels); false: classic attention",
    )
    channels_last: bool = Field(
        True, description="NHWC (channels_last) layout for UNet and VAE, on CUDA only"
    )
    vae_slicing: bool = Field(False, description="Decode images one at a time (less memory)")
    vae_tiling: bool = Field(False, description="Decode large images in tiles (less memory)")
    compile: bool = Field(
        False,
        description="torch.compile the UNet (mode max-autotune-no-cudagraphs): slow start, faster steps",
    )
    warmup: bool | None = Field(
        None, description="One 2-step 512 px txt2img before /readyz says ready; unset: on CUDA only"
    )
    # Styles (services/generation/styles.py) and their training (`batik finetune-style`).
    styles_dir: str | None = Field(
        None,
        description="Folder of style folders from `batik finetune-style`, served by name "
        "(`style` in requests); unset: no styles",
    )
    style: str | None = Field(
        None,
        description="A style in GENERATION_STYLES_DIR fused into the weights at load: every "
        "answer has it, at no per-step cost",
    )
    preview_lora: str | None = Field(
        None,
        description=f"Distillation LoRA for `preview: true` (LCM scheduler, 4-8 steps), e.g. "
        f"{LCM_LORA_SD15}; unset: previews are refused",
    )
    admin_token: SecretStr | None = Field(
        None, description="Bearer token for POST /v1/styles/reload; unset: reload is off"
    )
    style_template: str = Field(
        DEFAULT_STYLE_TEMPLATE,
        description="`batik finetune-style` caption template; fields {name}, {facts}, {philosophy}",
    )
    style_facts: int = Field(
        1, ge=0, description="Leading sentences of the English description used as {facts}"
    )
    style_trigger: str = Field(
        "batik nitik motif",
        description="`batik finetune-style` trigger words (comma-separated): in every caption, "
        "recorded in the style's manifest",
    )

    @model_validator(mode="after")
    def _canny_thresholds_in_order(self) -> GenerationSettings:
        if self.canny_low_threshold > self.canny_high_threshold:
            raise ValueError(
                f"GENERATION_CANNY_LOW_THRESHOLD ({self.canny_low_threshold}) must not exceed "
                f"GENERATION_CANNY_HIGH_THRESHOLD ({self.canny_high_threshold})"
            )
        return self

    @property
    def acceleration(self) -> Acceleration:
        return Acceleration(
            sdpa=self.sdpa,
            channels_last=self.channels_last,
            vae_slicing=self.vae_slicing,
            vae_tiling=self.vae_tiling,
            compile=self.compile,
        )
