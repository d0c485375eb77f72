"""`batik finetune-style` on the tiny SD over the shared sample: the loss falls, resume continues the
run exactly, the reports and a loadable style folder are written, bad input writes nothing."""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest

from services.generation.config import DEFAULT_STYLE_TEMPLATE
from services.generation.finetune_style.train import (
    StyleTrainConfig,
    micro_batch,
    train_style,
)


def style_config(index, out, model, **overrides) -> StyleTrainConfig:
    values = dict(
        index_dir=str(index),
        out=str(out),
        model=str(model),
        name=out.name,
        template=DEFAULT_STYLE_TEMPLATE,
        rank=4,
        steps=60,
        lr=3e-3,
        batch_size=4,
        grad_accum=1,
        resolution=64,
        checkpoint_every=0,
        validation_photos=2,
        validation_steps=3,
    )
    return StyleTrainConfig(**(values | overrides))


@pytest.fixture(scope="module")
def trained(tmp_path_factory, shared_index, tiny_models):
    out = tmp_path_factory.mktemp("styles") / "nitik"
    report = train_style(style_config(shared_index, out, tiny_models["sd"]), progress=False)
    return out, report


def test_training_lowers_the_loss_on_the_shared_sample(trained):
    _, report = trained
    losses = report["loss_per_step"]
    assert len(losses) == report["steps"] == 60
    quarter = len(losses) // 4
    first, last = sum(losses[:quarter]) / quarter, sum(losses[-quarter:]) / quarter
    assert last < first, (first, last)
    assert report["loss_first_quarter"] == pytest.approx(first, abs=1e-5)
    # The held-out photos at fixed noise agree: the style fits images it never saw.
    assert report["validation"]["loss_after"] < report["validation"]["loss_before"]
    assert report["device"] == "cpu" and report["precision"] == "fp32"
    assert report["prediction_type"] == "epsilon"


def test_split_is_by_source_photo_with_rotations_as_augmentation(trained, shared_index):
    from services.captioning.finetune.data import split_by_photo
    from services.generation.finetune_style.data import style_pairs

    _, report = trained
    pairs, _ = style_pairs(shared_index, DEFAULT_STYLE_TEMPLATE, 1, ("batik nitik motif",))
    train_pairs, val_pairs = split_by_photo(pairs, 0.1, 0)
    assert {p.photo for p in train_pairs}.isdisjoint({p.photo for p in val_pairs})
    assert sorted(p.rotation for p in val_pairs) == sorted([0, 90, 180, 270] * 6)
    assert report["data"]["val_photos"] == [list(p) for p in sorted({p.photo for p in val_pairs})]
    assert report["data"]["train_images"] == len(train_pairs) == 216
    first = pairs[0]
    assert first.target.startswith(f"{first.target.split(',')[0]}, batik nitik motif, ")
    assert first.image.endswith(".jpg") and "/512/" in first.image
    # Each pass over the data shows every training image once (all four rotations of a photo).
    drawn = [p.item_id for n in range(54) for p in micro_batch(train_pairs, n, 4, 0)]
    assert sorted(drawn) == sorted(p.item_id for p in train_pairs)


def test_style_folder_holds_weights_manifest_and_reports(trained, tiny_models):
    import torch
    from diffusers import StableDiffusionPipeline
    from PIL import Image

    out, report = trained
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["name"] == "nitik" and manifest["rank"] == 4
    assert manifest["trigger_words"] == ["batik nitik motif"]
    assert manifest["base_model"]["version"] == report["base_model"]["version"]
    assert manifest["training"]["steps"] == 60
    saved = json.loads((out / "training.json").read_text())
    assert len(saved["lr_per_step"]) == len(saved["seconds_per_step"]) == 60
    assert saved["peak_memory"]["mb"] > 0 and saved["settings"]["rank"] == 4
    assert not (out / "checkpoints").exists() and not out.with_name("nitik.partial").exists()
    grid = Image.open(out / "validation_grid.png")
    assert grid.size == (64 * 5, (64 + 14) * 2)  # photo + before/after at 2 seeds, 2 photos
    # diffusers loads the weights, and they change the image.
    pipe = StableDiffusionPipeline.from_pretrained(str(tiny_models["sd"]), safety_checker=None)
    pipe.set_progress_bar_config(disable=True)

    def image():
        generator = torch.Generator("cpu").manual_seed(0)
        return pipe(
            "kawung", width=64, height=64, num_inference_steps=3, generator=generator
        ).images[0]

    before = image().tobytes()
    pipe.load_lora_weights(str(out), adapter_name="nitik")
    assert image().tobytes() != before


def test_resume_continues_to_the_same_steps_and_losses(tmp_path, shared_index, tiny_models):
    config = style_config(
        shared_index, tmp_path / "run", tiny_models["sd"], steps=10, checkpoint_every=4
    )
    whole = train_style(dataclasses.replace(config, out=str(tmp_path / "whole")), progress=False)

    def interrupt(step, _loss):
        if step == 7:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_style(config, progress=False, on_step=interrupt)
    partial = tmp_path / "run.partial"
    assert [p.name for p in (partial / "checkpoints").iterdir()] == ["step-0000004"]
    assert not (tmp_path / "run").exists()  # nothing published until the run ends
    resumed = train_style(config, resume=True, progress=False)
    assert resumed["steps"] == whole["steps"] == 10
    assert resumed["loss_per_step"] == whole["loss_per_step"]
    assert resumed["resumed_from"].endswith("step-0000004")
    assert not partial.exists() and (tmp_path / "run" / "manifest.json").is_file()


def test_resume_refuses_other_options(tmp_path, shared_index, tiny_models):
    config = style_config(
        shared_index, tmp_path / "s", tiny_models["sd"], steps=4, checkpoint_every=2
    )

    def interrupt(step, _loss):
        if step == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_style(config, progress=False, on_step=interrupt)
    with pytest.raises(ValueError, match=r"rank \(4 -> 8\)"):
        train_style(dataclasses.replace(config, rank=8), resume=True, progress=False)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rank", "0"], "--rank must be at least 1"),
        (["--lr", "-0.001"], "--lr must be positive"),
        (["--name", "Bad.Name"], "style name"),
    ],
)
def test_bad_options_are_refused_before_anything_is_written(
    tmp_path, capsys, synthetic_index, tiny_models, args, message
):
    from services.cli import main

    out = tmp_path / "style"
    code = main(
        ["finetune-style", "--index", str(synthetic_index), "--out", str(out), "--model",
         str(tiny_models["sd"]), "--resolution", "64", "--no-progress", *args]
    )  # fmt: skip
    assert code == 2 and message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_index_without_images_and_foreign_out_are_refused(
    tmp_path, capsys, synthetic_index, tiny_models
):
    from services.cli import main

    empty = tmp_path / "index"
    shutil.copytree(synthetic_index, empty)
    shutil.rmtree(empty / "images")
    other = tmp_path / "other"
    other.mkdir()
    (other / "manifest.json").write_text(json.dumps({"name": "kawung"}))
    base = ["finetune-style", "--model", str(tiny_models["sd"]), "--no-progress"]
    assert main([*base, "--index", str(empty), "--out", str(tmp_path / "a")]) == 2
    assert "no images" in capsys.readouterr().err
    assert main([*base, "--index", str(tmp_path / "nowhere"), "--out", str(tmp_path / "a")]) == 2
    assert "not an index directory" in capsys.readouterr().err
    code = main([*base, "--index", str(synthetic_index), "--out", str(other), "--name", "nitik"])
    assert code == 2 and "holds the style 'kawung'" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index", "other"]
    assert [p.name for p in other.iterdir()] == ["manifest.json"]


def test_text_encoder_lora_trains_and_loads(tmp_path, synthetic_index, tiny_models):
    import torch
    from diffusers import StableDiffusionPipeline
    from safetensors.torch import load_file

    out = tmp_path / "te"
    config = style_config(
        synthetic_index, out, tiny_models["sd"], steps=3, train_text_encoder=True, val_fraction=0.25
    )
    report = train_style(config, progress=False)
    assert report["steps"] == 3
    keys = load_file(str(out / "pytorch_lora_weights.safetensors")).keys()
    assert any(k.startswith("text_encoder.") for k in keys)
    assert any(k.startswith("unet.") for k in keys)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["targets"]["text_encoder"] == ["q_proj", "k_proj", "v_proj", "out_proj"]
    pipe = StableDiffusionPipeline.from_pretrained(str(tiny_models["sd"]), safety_checker=None)
    pipe.load_lora_weights(str(out), adapter_name="te")
    assert set(pipe.get_list_adapters()) == {"unet", "text_encoder"}
    ids = pipe.tokenizer(["kawung"], return_tensors="pt").input_ids
    with torch.no_grad():
        styled = pipe.text_encoder(ids)[0]
        pipe.disable_lora()
        plain = pipe.text_encoder(ids)[0]
    assert not torch.equal(styled, plain)  # the trained text-encoder LoRA acts


@pytest.mark.parametrize(("native", "expected"), [(True, "bf16"), (False, "fp16")])
def test_auto_precision_takes_bf16_only_where_the_gpu_has_it(monkeypatch, native, expected):
    """A T4 or V100 emulates bf16: torch's probe says True unless asked about the hardware."""
    import torch

    from services.generation.finetune_style.model import choose_precision

    def probe(including_emulation: bool = True) -> bool:
        return native or including_emulation

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", probe)
    assert choose_precision("cuda") == expected
    assert choose_precision("cuda", "fp16") == "fp16"
    if not native:
        with pytest.raises(ValueError, match="no native bfloat16"):
            choose_precision("cuda", "bf16")
