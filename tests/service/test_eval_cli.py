"""`batik eval all` end to end on the tiny models and the shared sample, with a fine-tuned adapter."""

import json

import pytest

from services.cli import main


@pytest.fixture(scope="module")
def adapter(tmp_path_factory, shared_index, tiny_models):
    out = tmp_path_factory.mktemp("eval-adapter") / "nitik-ft"
    code = main(
        [
            "finetune", "--index", str(shared_index), "--out", str(out),
            "--model", str(tiny_models["blip2"]), "--epochs", "1", "--limit", "8",
            "--max-target-tokens", "8", "--max-new-tokens", "4", "--no-progress",
        ]
    )  # fmt: skip
    assert code == 0
    return out


def test_eval_all_writes_the_report(tmp_path, shared_index, tiny_models, adapter):
    out = tmp_path / "report"
    code = main(
        [
            "eval", "all", "--index", str(shared_index), "--out", str(out),
            "--adapter", str(adapter), "--clip", str(tiny_models["clip"]),
            "--blip2", str(tiny_models["blip2"]), "--sd", str(tiny_models["sd"]),
            "--features", "clip", "--size", "64", "--steps", "4",
            "--query", "sekar bunga", "--query", "kawung", "--seed", "0", "--seed", "1",
        ]
    )  # fmt: skip
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())

    retrieval = metrics["retrieval"]["image_to_image"]
    # One photo per motif in the sample: once its rotations are removed nothing relevant is left,
    # so the leak-free protocol has no query to score, and the report says so.
    assert retrieval["leak_free"]["queries"] == 0
    assert retrieval["leak_free"]["not_evaluable"] == 240
    assert retrieval["leaky"]["queries"] == 240
    assert 0 <= retrieval["leaky"]["map"] <= 1
    assert metrics["retrieval"]["text_to_image"]["name"]["queries"] == 60
    # The lexical channel carries motif names whatever the (random) visual model does.
    channels = metrics["retrieval"]["text_channels"]
    assert channels["name_files_differing"]["lexical"] == {"top1": 1.0, "top5": 1.0, "queries": 12}
    assert channels["name_workbook"]["visual"]["top1"] < 0.5

    captioning = metrics["captioning"]
    training = json.loads((adapter / "training.json").read_text())
    assert captioning["pairs"] == 4 * len(training["data"]["val_photos"])
    assert "training.json" in captioning["split_source"]
    assert set(captioning) >= {"base", "adapter"}

    generation = metrics["generation"]
    assert generation["distance"] == "FD over CLIP features"
    assert generation["images"] == 4 and generation["real_images"] == 240

    provenance = metrics["provenance"]
    assert provenance["adapter"] == str(adapter)
    assert provenance["models"]["clip"]["source"] == str(tiny_models["clip"])
    assert provenance["generation"]["seeds"] == [0, 1]
    assert provenance["command"].startswith("batik eval all --index")
    assert "torch" in provenance["libraries"]

    report = (out / "report.md").read_text()
    assert "FD over CLIP features" in report and "not evaluable" in report
    assert "leaky protocol" in report
    assert "Text queries by channel" in report
    for png in ("retrieval_pr_curve.png", "generation_grid.png"):
        assert png in report or png == "retrieval_pr_curve.png"
    assert (out / "generation_grid.png").stat().st_size > 0


def test_eval_generation_refuses_fid_without_weights(tmp_path, shared_index, capsys):
    code = main(["eval", "generation", "--index", str(shared_index), "--out", str(tmp_path)])
    assert code == 2
    assert "--features clip" in capsys.readouterr().err


def test_eval_defaults_clip_to_the_model_the_index_was_built_with(tmp_path, shared_index):
    manifest = json.loads((shared_index / "manifest.json").read_text())
    code = main(["eval", "retrieval", "--index", str(shared_index), "--out", str(tmp_path)])
    assert code == 0
    provenance = json.loads((tmp_path / "metrics.json").read_text())["provenance"]
    assert provenance["models"]["clip"]["source"] == manifest["model"]["source"]
    assert provenance["models"]["clip"]["version"] == manifest["model"]["version"]


def test_eval_without_a_manifest_says_so(tmp_path, capsys):
    code = main(["eval", "retrieval", "--index", str(tmp_path), "--out", str(tmp_path / "out")])
    assert code == 2
    assert "holds no manifest.json" in capsys.readouterr().err


def test_eval_generation_with_a_style(tmp_path, shared_index, tiny_models):
    """`--style`: the held-out photos of the style's split, with and without it, in the report."""
    style = tmp_path / "styles" / "nitik"
    base = ["--index", str(shared_index), "--model", str(tiny_models["sd"]), "--no-progress"]
    code = main(
        ["finetune-style", *base, "--out", str(style), "--rank", "4", "--steps", "6",
         "--lr", "3e-3", "--batch-size", "2", "--grad-accum", "1", "--resolution", "64",
         "--validation-steps", "2"]
    )  # fmt: skip
    assert code == 0
    out = tmp_path / "report"
    code = main(
        ["eval", "generation", "--index", str(shared_index), "--out", str(out),
         "--clip", str(tiny_models["clip"]), "--blip2", str(tiny_models["blip2"]),
         "--sd", str(tiny_models["sd"]), "--features", "clip", "--size", "64", "--steps", "3",
         "--query", "kawung", "--seed", "0", "--seed", "1", "--style", str(style)]
    )  # fmt: skip
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    result = metrics["generation"]["style"]
    training = json.loads((style / "training.json").read_text())
    assert result["style"] == "nitik" and result["held_out_photos"] == 6
    assert result["real_images"] == 4 * len(training["data"]["val_photos"]) == 24
    assert result["images_per_arm"] == 12
    for arm in ("with", "without"):
        assert result[arm]["distance"] > 0 and 0 <= result[arm]["clip_score"] <= 100
    # The style changes the images, so the two arms differ.
    assert result["with"] != result["without"]
    report = (out / "report.md").read_text()
    assert "without / with style `nitik`" in report
    assert (out / "style_grid.png").stat().st_size > 0
    assert metrics["provenance"]["style"] == str(style)
