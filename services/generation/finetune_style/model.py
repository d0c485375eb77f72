"""The SD components a style is trained on, with LoRA on the attention projections.

CUDA: the frozen weights in fp16 (or bf16 where the GPU has it) under autocast, the LoRA weights in
fp32 (as the diffusers recipe casts them), gradient checkpointing, and bitsandbytes' 8-bit AdamW when it
is installed. CPU: everything in fp32, so the tiny model trains in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.common.models import native_bf16, resolve_device, resolve_source

UNET_TARGETS = ("to_q", "to_k", "to_v", "to_out.0")
TEXT_ENCODER_TARGETS = ("q_proj", "k_proj", "v_proj", "out_proj")


@dataclass
class Components:
    unet: Any
    vae: Any
    text_encoder: Any
    tokenizer: Any
    noise_scheduler: Any  # DDPMScheduler from the model's scheduler config: its training schedule
    inference_scheduler: Any  # the model's own scheduler, for the validation images
    device: str
    weight_dtype: Any
    precision: str  # fp32 / fp16 / bf16 (mixed)
    gradient_checkpointing: bool


def choose_precision(device: str, preference: str = "auto") -> str:
    """fp32 on a CPU; on CUDA bf16 where the GPU supports it (no loss scaling), else fp16."""

    if device != "cuda":
        if preference not in ("auto", "fp32"):
            raise ValueError(f"--precision {preference} needs CUDA; a CPU trains in fp32")
        return "fp32"
    has_bf16 = native_bf16()  # the hardware, as for QLoRA (services/captioning/finetune/model.py)
    if preference == "bf16" and not has_bf16:
        raise ValueError("--precision bf16: this GPU has no native bfloat16 (use fp16)")
    if preference != "auto":
        return preference
    return "bf16" if has_bf16 else "fp16"


def load_components(
    source: str,
    *,
    rank: int,
    alpha: int | None = None,
    train_text_encoder: bool = False,
    device: str = "auto",
    precision: str = "auto",
    gradient_checkpointing: bool | None = None,
    revision: str | None = None,
) -> Components:
    import diffusers
    import torch
    from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
    from diffusers.training_utils import cast_training_params
    from peft import LoraConfig
    from transformers import CLIPTextModel, CLIPTokenizer

    device = resolve_device(device)
    precision = choose_precision(device, precision)
    weight_dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[precision]
    local = resolve_source(source)
    pinned = {"revision": revision}
    tokenizer = CLIPTokenizer.from_pretrained(local, subfolder="tokenizer", **pinned)
    text_encoder = CLIPTextModel.from_pretrained(
        local, subfolder="text_encoder", dtype=weight_dtype, **pinned
    )
    vae = AutoencoderKL.from_pretrained(local, subfolder="vae", dtype=weight_dtype, **pinned)
    unet = UNet2DConditionModel.from_pretrained(
        local, subfolder="unet", dtype=weight_dtype, **pinned
    )
    scheduler_config = DDPMScheduler.load_config(local, subfolder="scheduler", **pinned)
    noise_scheduler = DDPMScheduler.from_config(scheduler_config)
    inference_cls = getattr(diffusers, scheduler_config.get("_class_name", "DDIMScheduler"))
    inference_scheduler = inference_cls.from_config(scheduler_config)

    for module in (unet, vae, text_encoder):
        module.requires_grad_(False)
        module.to(device)
    vae.eval()
    text_encoder.eval()
    # The recipe's LoRA: gaussian A, zero B (training starts at the base model), alpha = rank.
    alpha = alpha or rank
    unet.add_adapter(
        LoraConfig(
            r=rank,
            lora_alpha=alpha,
            init_lora_weights="gaussian",
            target_modules=list(UNET_TARGETS),
        )
    )
    if train_text_encoder:
        add_text_encoder_lora(
            text_encoder,
            LoraConfig(
                r=rank,
                lora_alpha=alpha,
                init_lora_weights="gaussian",
                target_modules=list(TEXT_ENCODER_TARGETS),
            ),
        )
    # Trainable weights stay fp32 under mixed precision: fp16 updates would round to nothing.
    cast_training_params([unet, text_encoder], dtype=torch.float32)
    checkpointing = device == "cuda" if gradient_checkpointing is None else gradient_checkpointing
    if checkpointing:
        unet.enable_gradient_checkpointing()
        if train_text_encoder:
            text_encoder.gradient_checkpointing_enable()
    return Components(
        unet=unet,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        noise_scheduler=noise_scheduler,
        inference_scheduler=inference_scheduler,
        device=device,
        weight_dtype=weight_dtype,
        precision=precision,
        gradient_checkpointing=checkpointing,
    )


def add_text_encoder_lora(text_encoder: Any, config: Any) -> None:
    """LoRA layers in the CLIP text encoder through peft directly (transformers' `add_adapter`
    wants a newer peft than diffusers does); `text_encoder_lora_state` reads them back."""
    from peft import inject_adapter_in_model

    inject_adapter_in_model(config, text_encoder, adapter_name="default")
    text_encoder.lora_targets = tuple(config.target_modules)


def has_text_encoder_lora(text_encoder: Any) -> bool:
    return any("lora_" in name for name, _ in text_encoder.named_parameters())


def text_encoder_lora_state(text_encoder: Any) -> dict[str, Any]:
    """The text encoder's LoRA weights under peft's keys (adapter name dropped), as
    `get_peft_model_state_dict` gives them for the UNet."""
    return {
        name.replace(".default", ""): value
        for name, value in text_encoder.state_dict().items()
        if "lora_" in name
    }


def set_lora_enabled(module: Any, enabled: bool) -> None:
    from diffusers.utils.peft_utils import set_adapter_layers

    set_adapter_layers(module, enabled=enabled)


def trainable_parameters(components: Components) -> list[Any]:
    return [
        p
        for module in (components.unet, components.text_encoder)
        for p in module.parameters()
        if p.requires_grad
    ]


def make_optimizer(parameters: list[Any], lr: float, device: str) -> tuple[Any, str]:
    """AdamW; bitsandbytes' 8-bit AdamW on CUDA when installed (a quarter of the optimizer state)."""
    import torch

    if device == "cuda":
        try:
            import bitsandbytes as bnb

            return bnb.optim.AdamW8bit(parameters, lr=lr, weight_decay=1e-2), "adamw-8bit"
        except ImportError:
            pass
    return torch.optim.AdamW(parameters, lr=lr, weight_decay=1e-2), "adamw"


def lora_state(components: Components) -> dict[str, dict[str, Any]]:
    """The LoRA weights in diffusers' serialisation (what `load_lora_weights` reads)."""
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft.utils import get_peft_model_state_dict

    layers = {"unet": convert_state_dict_to_diffusers(get_peft_model_state_dict(components.unet))}
    if has_text_encoder_lora(components.text_encoder):
        layers["text_encoder"] = convert_state_dict_to_diffusers(
            text_encoder_lora_state(components.text_encoder)
        )
    return layers


def peft_state(components: Components) -> dict[str, Any]:
    """The LoRA weights in peft's own keys (for checkpoints: loaded back with set_peft_model_state_dict)."""
    from peft.utils import get_peft_model_state_dict

    state = {"unet": get_peft_model_state_dict(components.unet)}
    if has_text_encoder_lora(components.text_encoder):
        state["text_encoder"] = {
            name: value
            for name, value in components.text_encoder.state_dict().items()
            if "lora_" in name
        }
    return state


def load_peft_state(components: Components, state: dict[str, Any]) -> None:
    from peft.utils import set_peft_model_state_dict

    set_peft_model_state_dict(components.unet, state["unet"])
    if "text_encoder" in state:
        components.text_encoder.load_state_dict(state["text_encoder"], strict=False)
