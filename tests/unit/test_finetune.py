"""`batik finetune` on the tiny BLIP-2: pairs, the split by source photo, overfitting, resume."""

from __future__ import annotations

import json
import shutil

import pytest

from services.captioning.config import DEFAULT_TRAIN_TEMPLATE
from services.captioning.finetune.data import (
    build_pairs,
    check_template,
    split_by_photo,
    target_text,
)
from services.captioning.finetune.metrics import bleu4, rouge_l
from services.captioning.finetune.model import (
    LoraOptions,
    load_for_training,
    nf4_config,
    training_dtype,
)
from services.captioning.finetune.train import TrainConfig, _batch, lr_factor, train

ALL_OPT_LINEAR = ("q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2")


@pytest.fixture(scope="module")
def trainable_blip2(tmp_path_factory, tiny_models):
    """The tiny BLIP-2 with opt-2.7b's logit range.

    The final layer norm fixes the hidden state's scale, so the largest logit is about
    hidden_size * std(embeddings)^2: 2560 * 0.02^2 = 1 for opt-2.7b, but 32 * 0.02^2 = 0.013 for the
    tiny model, whose loss therefore cannot fall far below ln(vocab). Scaling its (tied) embeddings
    to std 0.18 gives it the real model's range, so overfitting is possible, as it is for the real one.
    """
    return with_opt_logit_range(
        tiny_models["blip2"], tmp_path_factory.mktemp("trainable") / "blip2"
    )


@pytest.fixture(scope="module")
def real_trainable_blip2(tmp_path_factory, real_config_models):
    """The same for the tiny-width BLIP-2 built from the published opt-2.7b configuration."""
    return with_opt_logit_range(
        real_config_models["blip2"], tmp_path_factory.mktemp("real-trainable") / "blip2"
    )


def with_opt_logit_range(source, out):
    import torch
    from transformers import Blip2ForConditionalGeneration

    shutil.copytree(source, out)
    model = Blip2ForConditionalGeneration.from_pretrained(str(out))
    with torch.no_grad():
        model.get_input_embeddings().weight.mul_(9.0)
    model.save_pretrained(str(out))
    return out


def config(index, out, model, **overrides) -> TrainConfig:
    values = dict(
        index_dir=str(index),
        out=str(out),
        model=str(model),
        template=DEFAULT_TRAIN_TEMPLATE,
        val_fraction=0.25,
        epochs=2,
        lr=1e-2,
        warmup_steps=1,
        batch_size=4,
        grad_accum=2,
        max_target_tokens=16,
        max_new_tokens=12,
        limit=8,
        lora=LoraOptions(r=4, alpha=8, dropout=0.1),
    )
    return TrainConfig(**(values | overrides))


# ---- data --------------------------------------------------------------------------------------


def test_pairs_take_the_template_over_the_metadata(synthetic_index):
    pairs, version = build_pairs(synthetic_index, DEFAULT_TRAIN_TEMPLATE, facts=1)
    assert len(pairs) == 48 and version
    first = next(p for p in pairs if p.number == 1)
    assert first.target == "Sekar Kemuning, a Batik Nitik motif. A kemuning flower drawn in dots."
    assert first.image.endswith(".jpg")
    motif = {
        "name": "Kawung",
        "description_en": "Four petals. A palm fruit. More.",
        "philosophy": "P.",
    }
    assert (
        target_text(motif, "{name}: {facts} {philosophy}", 2)
        == "Kawung: Four petals. A palm fruit. P."
    )
    with pytest.raises(ValueError, match="unknown field"):
        check_template("{name} {colour}")


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_split_keeps_every_source_photo_on_one_side(synthetic_index, seed):
    pairs, _ = build_pairs(synthetic_index, DEFAULT_TRAIN_TEMPLATE, facts=1)
    train_pairs, val_pairs = split_by_photo(pairs, 0.25, seed)
    train_photos, val_photos = {p.photo for p in train_pairs}, {p.photo for p in val_pairs}
    assert not train_photos & val_photos
    assert len(val_photos) == 3 and len(train_photos) == 9  # 12 photos, ceil(0.25 * 12)
    assert len(train_pairs) + len(val_pairs) == len(pairs)
    # All four rotations of each validation photo are in validation.
    assert sorted(p.rotation for p in val_pairs) == sorted([0, 90, 180, 270] * 3)
    assert split_by_photo(pairs, 0.25, seed) == (train_pairs, val_pairs)  # the seed fixes it


def test_split_changes_with_the_seed_and_refuses_bad_fractions(synthetic_index):
    pairs, _ = build_pairs(synthetic_index, DEFAULT_TRAIN_TEMPLATE, facts=1)
    splits = {frozenset(p.photo for p in split_by_photo(pairs, 0.25, s)[1]) for s in range(5)}
    assert len(splits) > 1
    for bad in (-0.1, 1.0):
        with pytest.raises(ValueError):
            split_by_photo(pairs, bad, 0)


def test_lr_warms_up_then_decays_to_zero():
    assert [lr_factor(s, 4, 10) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert lr_factor(4, 4, 10) == 1.0 and lr_factor(7, 4, 10) == 0.5 and lr_factor(10, 4, 10) == 0


def test_metrics_score_text():
    refs = ["a kawung motif of four dotted petals", "a truntum motif of small stars"]
    assert bleu4(refs, refs) == pytest.approx(100.0)
    assert rouge_l(refs, refs) == pytest.approx(100.0)
    assert bleu4(["zzz qqq", "xxx yyy"], refs) == 0.0
    assert 0 < rouge_l(["a kawung motif", "small stars"], refs) < 100


# ---- training ----------------------------------------------------------------------------------


def test_overfitting_8_pairs_halves_the_loss(tmp_path, synthetic_index, trainable_blip2):
    out = tmp_path / "adapter"
    report = train(
        config(
            synthetic_index,
            out,
            trainable_blip2,
            epochs=40,
            lr=3e-2,
            grad_accum=1,
            lora=LoraOptions(r=8, alpha=16, dropout=0.0, targets=ALL_OPT_LINEAR),
        ),
        progress=False,
    )
    losses = report["loss_per_step"]
    assert len(losses) == 80  # 8 pairs / batch 4 = 2 steps per epoch
    assert losses[-1] <= losses[0] / 2, (losses[0], losses[-1])
    # The validation metrics are computed from real generated text, saved beside them.
    for when in ("before", "after"):
        metrics = report["metrics"][when]
        samples = metrics["samples"]
        assert len(samples) == report["data"]["val_pairs"] == 12
        hypotheses = [s["generated"] for s in samples]
        references = [s["target"] for s in samples]
        assert metrics["bleu4"] == pytest.approx(bleu4(hypotheses, references), abs=1e-4)
        assert metrics["rouge_l"] == pytest.approx(rouge_l(hypotheses, references), abs=1e-4)
    assert any(s["generated"] for s in report["metrics"]["after"]["samples"])
    assert report["metrics"]["before"]["samples"] != report["metrics"]["after"]["samples"]
    for name in (
        "adapter_config.json",
        "adapter_model.safetensors",
        "training.json",
        "loss_curve.png",
    ):
        assert (out / name).is_file(), name
    assert (out / "loss_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    saved = json.loads((out / "training.json").read_text())
    assert saved["loss_per_step"] == losses and saved["data"]["checksum"]
    assert saved["hyperparameters"]["lora"]["targets"] == list(ALL_OPT_LINEAR)


def test_the_trained_adapter_changes_the_captions(tmp_path, synthetic_index, trainable_blip2):
    from PIL import Image

    from services.captioning.captioner import Blip2Captioner

    out = tmp_path / "adapter"
    report = train(config(synthetic_index, out, trainable_blip2, epochs=3), progress=False)
    images = [Image.open(p) for p in sorted((synthetic_index / "images" / "224").glob("*.jpg"))[:4]]
    plain = Blip2Captioner(str(trainable_blip2), min_caption_words=1)
    tuned = Blip2Captioner(str(trainable_blip2), adapter=str(out), min_caption_words=1)
    before = [o.text for o in plain.caption_batch(images, max_new_tokens=12)[0]]
    after = [o.text for o in tuned.caption_batch(images, max_new_tokens=12)[0]]
    assert before != after
    assert report["data"]["val_photos"] and report["quantized_4bit"] is False


def test_resume_continues_exactly_where_the_run_stopped(tmp_path, synthetic_index, trainable_blip2):
    from safetensors.torch import load_file

    whole = tmp_path / "whole"
    full = train(config(synthetic_index, whole, trainable_blip2), progress=False)
    assert sorted(p.name for p in (whole / "checkpoints").iterdir()) == ["epoch-001", "epoch-002"]

    # A run killed during epoch 2: only the epoch-1 checkpoint exists.
    killed = tmp_path / "killed"
    (killed / "checkpoints").mkdir(parents=True)
    shutil.copytree(whole / "checkpoints" / "epoch-001", killed / "checkpoints" / "epoch-001")
    resumed = train(config(synthetic_index, killed, trainable_blip2), resume=True, progress=False)

    assert resumed["resumed_from"].endswith("epoch-001")
    assert resumed["loss_per_step"] == full["loss_per_step"]
    assert resumed["metrics"]["before"] == full["metrics"]["before"]
    a = load_file(str(whole / "adapter_model.safetensors"))
    b = load_file(str(killed / "adapter_model.safetensors"))
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)

    with pytest.raises(ValueError, match="lr"):
        train(
            config(synthetic_index, killed, trainable_blip2, lr=5e-3), resume=True, progress=False
        )


@pytest.mark.parametrize("models", ["tiny_models", "real_config_models"])
def test_cli_runs_end_to_end(tmp_path, synthetic_index, models, request, capsys):
    from services.cli import main

    blip2 = request.getfixturevalue(models)["blip2"]
    out = tmp_path / "cli-adapter"
    code = main(
        [
            "finetune",
            "--index", str(synthetic_index),
            "--out", str(out),
            "--model", str(blip2),
            "--epochs", "1",
            "--limit", "4",
            "--max-target-tokens", "8",
            "--max-new-tokens", "4",
            "--targets", "q_proj,v_proj,query,value",
            "--no-progress",
        ]
    )  # fmt: skip
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["train_pairs"] == 4 and summary["val_pairs"] > 0
    config_json = json.loads((out / "adapter_config.json").read_text())
    assert set(config_json["target_modules"]) == {"q_proj", "v_proj", "query", "value"}
    assert main(["finetune", "--index", str(tmp_path), "--out", str(out)]) == 2  # not an index


# ---- the real configuration: stop token and dtype ----------------------------------------------


def test_training_targets_end_with_the_token_the_served_model_stops_on(
    synthetic_index, real_config_models
):
    """opt-2.7b's generation stops on 50118 (the newline), not on `</s>` (2): a target that ends with
    `</s>` teaches a stop that generation ignores, and captions run on to max_new_tokens."""
    from transformers import GenerationConfig

    from services.captioning.captioner import Blip2Captioner
    from services.captioning.decoding import stop_token_ids

    blip2 = real_config_models["blip2"]
    served = GenerationConfig.from_pretrained(str(blip2))  # the hub's generation_config.json
    stops = (
        {served.eos_token_id} if isinstance(served.eos_token_id, int) else set(served.eos_token_id)
    )
    loaded = load_for_training(str(blip2), LoraOptions(r=2, alpha=4), device="cpu", quantize="none")
    tokenizer = loaded.processor.tokenizer
    assert stops == {50118} and tokenizer.eos_token_id == 2  # the two are distinct, as published
    # ... and the served captioner decodes with that config, through the language model
    assert set(stop_token_ids(Blip2Captioner(str(blip2), device="cpu").model)) == stops

    pairs, _ = build_pairs(synthetic_index, DEFAULT_TRAIN_TEMPLATE, facts=1)
    batch = _batch(loaded, pairs[:3])
    assert batch["input_ids"].shape[1] > 32  # 32 image tokens, then the target
    for row in batch["labels"]:
        target = row[row != -100]
        assert int(target[-1]) in stops, tokenizer.convert_ids_to_tokens(target[-3:].tolist())
        assert 2 not in target.tolist()[1:]  # `</s>` opens the text (bos), it does not end it


def test_a_model_fine_tuned_on_the_real_configuration_stops_its_captions(
    tmp_path, synthetic_index, real_trainable_blip2
):
    """The bug end to end: trained with targets ending in `</s>`, the served model (which stops on
    50118) wrote 30 of 30 tokens on every training image; trained with the stop it serves with, it
    writes the few tokens it learned and stops."""
    import torch
    from PIL import Image

    from services.captioning.captioner import Blip2Captioner

    out = tmp_path / "adapter"
    lora = LoraOptions(r=8, alpha=16, dropout=0.0, targets=ALL_OPT_LINEAR)
    train(
        config(
            synthetic_index, out, real_trainable_blip2, epochs=20, lr=3e-2, grad_accum=1,
            limit=4, max_target_tokens=8, lora=lora,
        ),
        progress=False,
    )  # fmt: skip
    pairs, _ = build_pairs(synthetic_index, DEFAULT_TRAIN_TEMPLATE, facts=1)
    train_pairs, _ = split_by_photo(pairs, 0.25, 0)
    served = Blip2Captioner(str(real_trainable_blip2), adapter=str(out), device="cpu")
    images = [Image.open(p.image).convert("RGB") for p in train_pairs[:4]]
    inputs = served.processor(images=images, text=[""] * 4, return_tensors="pt")
    with torch.inference_mode():
        output = served.model.generate(**inputs, max_new_tokens=30, do_sample=False)
    for row in output[:, inputs["input_ids"].shape[1] :].tolist():
        assert 50118 in row, row  # it stopped ...
        assert len(row) < 30, row  # ... well before max_new_tokens


@pytest.mark.parametrize(
    ("device", "bf16", "expected"),
    [
        ("cuda", True, "bfloat16"),  # Ampere and later
        ("cuda", False, "float16"),  # T4, V100: no native bf16
        ("cpu", True, "float32"),
        ("cpu", False, "float32"),
    ],
)
def test_training_dtype_is_bf16_only_where_the_gpu_has_it(device, bf16, expected):
    import torch

    assert training_dtype(device, bf16_supported=bf16) == getattr(torch, expected)


def test_training_dtype_probe_on_this_machine():
    import torch

    expected = torch.float32
    if torch.cuda.is_available():
        native = torch.cuda.is_bf16_supported(including_emulation=False)
        expected = torch.bfloat16 if native else torch.float16
    assert training_dtype("cuda" if torch.cuda.is_available() else "cpu") == expected


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_the_4bit_config_is_qloras_nf4_with_double_quantisation(dtype):
    import torch

    config = nf4_config(getattr(torch, dtype))
    assert config.load_in_4bit and not config.load_in_8bit
    assert config.bnb_4bit_quant_type == "nf4" and config.bnb_4bit_use_double_quant
    assert config.bnb_4bit_compute_dtype == getattr(torch, dtype)
