"""BLIP-2 with a fresh or resumed LoRA adapter: 4-bit NF4 QLoRA on CUDA (bf16 or fp16 compute), an
fp32 base on CPU."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.common.models import native_bf16, resolve_device, resolve_source

# The OPT language model's attention projections; the Q-Former's are `query` / `value`.
DEFAULT_TARGETS = ("q_proj", "v_proj")


@dataclass(frozen=True)
class LoraOptions:
    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    targets: tuple[str, ...] = DEFAULT_TARGETS


@dataclass(frozen=True)
class Loaded:
    model: Any  # the PeftModel being trained
    processor: Any
    device: str
    quantized: bool
    compute_dtype: Any


def training_dtype(device: str, bf16_supported: bool | None = None) -> Any:
    """The compute dtype of training: bf16 on a GPU that has it natively (Ampere and later), fp16
    on one that does not (T4, V100), fp32 on the CPU.

    `torch.cuda.is_bf16_supported()` answers True on a T4 by default because bf16 can be emulated
    there, slowly; `including_emulation=False` asks for the hardware. `bf16_supported` overrides the
    probe (tests, and `batik doctor`'s plan for another machine).
    """
    import torch

    if device != "cuda":
        return torch.float32
    if bf16_supported is None:
        bf16_supported = native_bf16()
    return torch.bfloat16 if bf16_supported else torch.float16


def nf4_config(compute_dtype: Any) -> Any:
    """QLoRA's 4-bit quantisation (Dettmers et al. 2023): NF4 weights, double-quantised constants,
    matmuls in `compute_dtype`. One definition, so training and the benchmarks measure one model."""
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=compute_dtype,
    )


def load_processor(local: str, num_query_tokens: int, revision: str | None = None) -> Any:
    from transformers import AutoTokenizer, Blip2Processor, BlipImageProcessorPil

    return Blip2Processor(
        image_processor=BlipImageProcessorPil.from_pretrained(local, revision=revision),
        tokenizer=AutoTokenizer.from_pretrained(local, revision=revision),
        num_query_tokens=num_query_tokens,
    )


def load_for_training(
    source: str,
    lora: LoraOptions,
    *,
    device: str = "auto",
    quantize: str = "auto",
    gradient_checkpointing: bool | None = None,
    resume_adapter: Path | None = None,
    revision: str | None = None,
) -> Loaded:
    """`quantize`: auto (4-bit on CUDA, none on CPU), 4bit or none."""
    import torch
    from peft import LoraConfig, PeftModel, get_peft_model, prepare_model_for_kbit_training
    from transformers import Blip2ForConditionalGeneration

    device = resolve_device(device)
    quantized = quantize == "4bit" or (quantize == "auto" and device == "cuda")
    checkpointing = device == "cuda" if gradient_checkpointing is None else gradient_checkpointing
    local = resolve_source(source)
    if quantized:
        compute_dtype = training_dtype(device)
        model = Blip2ForConditionalGeneration.from_pretrained(
            local,
            quantization_config=nf4_config(compute_dtype),
            dtype=compute_dtype,
            device_map={"": 0} if device == "cuda" else {"": "cpu"},
            revision=revision,
        )
        # Casts norms to fp32, enables input grads and (optionally) gradient checkpointing.
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=checkpointing)
    else:
        compute_dtype = training_dtype(device)
        model = Blip2ForConditionalGeneration.from_pretrained(
            local, dtype=torch.float32, revision=revision
        )
        model = model.to(device)
        if checkpointing:
            model.gradient_checkpointing_enable()
            model.enable_input_require_grads()
    if resume_adapter is not None:
        model = PeftModel.from_pretrained(model, str(resume_adapter), is_trainable=True)
    else:
        model = get_peft_model(
            model,
            LoraConfig(
                r=lora.r,
                lora_alpha=lora.alpha,
                lora_dropout=lora.dropout,
                target_modules=list(lora.targets),
                bias="none",
            ),
        )
    processor = load_processor(local, model.config.num_query_tokens, revision)
    return Loaded(model, processor, device, quantized, compute_dtype)
