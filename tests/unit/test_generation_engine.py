"""The generation engine on the tiny SD: schedulers, seeds per image, progress and stop, long prompts,
GPU options and out-of-memory handling."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from services.common.contracts.generation import GenerateRequest
from services.common.errors import ErrorType, OutOfGpuMemoryError, to_service_error
from services.generation.acceleration import Acceleration, accelerate, cuda_oom_guard
from services.generation.generator import SdGenerator
from services.generation.prompts import encode_prompt
from services.generation.schedulers import SCHEDULERS, make_scheduler

INIT = Image.new("RGB", (64, 64), (200, 120, 40))
BASE = {"prompt": "batik nitik dotted flower", "width": 64, "height": 64, "steps": 8, "seed": 3}


@pytest.fixture(scope="module")
def engine(tiny_models) -> SdGenerator:
    return SdGenerator(str(tiny_models["sd"]), max_prompt_chunks=3)


def run(engine, init=INIT, progress=None, **overrides):
    return engine.generate(GenerateRequest(**{**BASE, **overrides}), init, progress)


def pixels(generation) -> list[bytes]:
    return [image.tobytes() for image in generation.images]


def test_each_scheduler_runs_repeats_and_differs(engine):
    outputs = {}
    for name in SCHEDULERS:
        first = run(engine, scheduler=name)
        assert first.scheduler == name
        assert pixels(run(engine, scheduler=name)) == pixels(first), name
        outputs[name] = pixels(first)[0]
    assert len(set(outputs.values())) == len(SCHEDULERS), "two samplers gave the same image"


def test_default_scheduler_is_the_models_own(engine):
    assert engine.default_scheduler == "ddim"  # the tiny model ships DDIM
    assert pixels(run(engine)) == pixels(run(engine, scheduler="ddim"))
    assert run(engine).scheduler == "ddim"


def test_a_request_does_not_change_the_next_ones_sampler(engine):
    before = pixels(run(engine))
    run(engine, scheduler="euler_a")
    assert pixels(run(engine)) == before
    # The template the requests copy is untouched.
    assert type(engine.base_scheduler).__name__ == "DDIMScheduler"


def test_unknown_scheduler_is_a_value_error():
    with pytest.raises(ValueError, match="unknown scheduler 'heun'"):
        make_scheduler("heun", object())


def test_each_image_has_its_own_seed_and_reproduces_alone(engine):
    batch = run(engine, num_images=3, seed=100)
    assert batch.seeds == [100, 101, 102] and len(batch.images) == 3
    assert len(set(pixels(batch))) == 3
    alone = run(engine, seed=101)
    assert pixels(alone)[0] == pixels(batch)[1]


def test_seeds_wrap_at_two_to_the_32(engine):
    assert run(engine, num_images=2, seed=2**32 - 1, steps=2).seeds == [2**32 - 1, 0]


def test_progress_rises_over_every_image_and_a_raise_stops_the_run(engine):
    seen = []
    run(engine, init=None, progress=lambda step, total: seen.append((step, total)), num_images=2)
    total = seen[-1][1]
    assert [step for step, _ in seen] == list(range(1, total + 1))
    assert total == 2 * 8 and {t for _, t in seen} == {total}

    class Stop(Exception):
        pass

    calls = []

    def stop_at_three(step, total):
        calls.append(step)
        if step == 3:
            raise Stop

    with pytest.raises(Stop):
        run(engine, progress=stop_at_three, steps=40, strength=1.0)
    assert calls == [1, 2, 3]
    # The lock was released: the engine still serves.
    assert len(run(engine).images) == 1


def test_img2img_progress_counts_the_steps_strength_leaves(engine):
    seen = []
    run(engine, progress=lambda step, total: seen.append(total), steps=20, strength=0.5)
    assert seen[-1] == 10


def test_long_prompt_is_encoded_in_chunks_and_its_end_acts(engine):
    head = " ".join(["kawung"] * 100)
    a = run(engine, prompt=f"{head} parang")
    b = run(engine, prompt=f"{head} sekar jagad")
    assert a.prompt.chunks == 2 and a.prompt.truncated is False and a.prompt.tokens > 77
    # Words past token 77 change the image: they were encoded, not cut.
    assert pixels(a) != pixels(b)


def test_prompt_beyond_the_chunk_limit_is_cut_and_reported(engine):
    head = " ".join(["kawung"] * 240)  # > 3 windows of 75 tokens
    a = run(engine, prompt=f"{head} parang")
    b = run(engine, prompt=f"{head} sekar jagad")
    assert a.prompt.chunks == 3 and a.prompt.truncated is True
    assert pixels(a) == pixels(b)  # the cut words do not act


def test_short_prompts_keep_the_pipelines_own_encoding(engine):
    """One window: the pipeline encodes the text as before (same bytes as a plain pipeline call)."""
    encoding = encode_prompt(
        engine.tokenizer, engine.img2img.text_encoder, "batik", None, max_chunks=3, device="cpu"
    )
    assert encoding.chunks == 1 and encoding.prompt_embeds is None
    ours = run(engine, init=None, scheduler="ddim")
    pipe = engine.txt2img
    pipe.scheduler = make_scheduler("ddim", engine.base_scheduler)
    plain = pipe(
        prompt=BASE["prompt"],
        width=64,
        height=64,
        num_inference_steps=8,
        generator=torch.Generator("cpu").manual_seed(3),
    )
    assert plain.images[0].tobytes() == pixels(ours)[0]


def test_chunk_embeddings_match_the_pipelines_per_window(engine):
    tokenizer, encoder = engine.tokenizer, engine.img2img.text_encoder
    prompt = " ".join(["kawung"] * 80)
    encoding = encode_prompt(tokenizer, encoder, prompt, "blur", max_chunks=3, device="cpu")
    assert encoding.prompt_embeds.shape == encoding.negative_embeds.shape == (1, 154, 32)
    window = tokenizer(
        " ".join(["kawung"] * 75), padding="max_length", max_length=77, return_tensors="pt"
    ).input_ids
    with torch.inference_mode():
        expected = encoder(window)[0]
    assert torch.allclose(encoding.prompt_embeds[:, :77], expected, atol=1e-5)


def test_classic_attention_and_vae_options_apply(tiny_models):
    from diffusers import StableDiffusionImg2ImgPipeline
    from diffusers.models.attention_processor import AttnProcessor

    pipe = StableDiffusionImg2ImgPipeline.from_pretrained(
        str(tiny_models["sd"]), safety_checker=None, requires_safety_checker=False
    )
    applied = accelerate(
        pipe, Acceleration(sdpa=False, vae_slicing=True, vae_tiling=True), device="cpu"
    )
    assert applied == ["classic-attention", "vae_slicing", "vae_tiling"]  # channels_last: CUDA only
    assert {type(p) for p in pipe.unet.attn_processors.values()} == {AttnProcessor}
    assert pipe.vae.use_slicing and pipe.vae.use_tiling


def test_classic_attention_gives_the_same_image_as_sdpa(tiny_models, engine):
    classic = SdGenerator(str(tiny_models["sd"]), acceleration=Acceleration(sdpa=False))
    assert classic.optimisations == ["classic-attention"]
    a, b = pixels(run(classic))[0], pixels(run(engine))[0]
    diff = max(abs(x - y) for x, y in zip(a, b, strict=True))
    assert diff <= 2  # same maths, other kernels: at most rounding apart


def test_out_of_memory_is_a_503_and_the_engine_keeps_serving(engine):
    with pytest.raises(OutOfGpuMemoryError) as caught, cuda_oom_guard():
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
    answer = to_service_error(caught.value)
    assert answer.status == 503 and answer.type is ErrorType.OUT_OF_MEMORY
    assert "out of GPU memory" in answer.message and answer.headers["Retry-After"]
    assert len(run(engine).images) == 1


def test_other_errors_pass_the_oom_guard_unchanged():
    with pytest.raises(RuntimeError, match="not memory"), cuda_oom_guard():
        raise RuntimeError("not memory")


@pytest.mark.parametrize(
    ("overrides", "init", "needle"),
    [
        ({"steps": 3, "strength": 0.2}, INIT, "no denoising step"),
        ({"width": 60}, None, "multiple of 8"),
        ({"symmetry": "d4", "width": 64, "height": 128}, None, "square"),
        ({"control_scale": 0.5}, INIT, "no ControlNet is loaded"),
    ],
)
def test_the_engine_checks_its_own_inputs(engine, overrides, init, needle):
    # model_construct skips the wire contract's checks: the engine is called directly by jobs,
    # benchmarks and evaluation, and refuses before any model work (a ValueError: 422 / validation).
    request = GenerateRequest.model_construct(
        **{**GenerateRequest(**BASE).model_dump(), **overrides}
    )
    with pytest.raises(ValueError, match=needle):
        engine.generate(request, init, control_image=init)


def test_an_in_memory_pipeline_takes_the_same_construction_path(engine):
    wrapped = SdGenerator("in-memory", pipeline=engine.img2img)
    assert (wrapped.source, wrapped.version) == ("in-memory", "in-memory")
    assert wrapped.canny_thresholds == engine.canny_thresholds
    assert pixels(run(wrapped)) == pixels(run(engine))
