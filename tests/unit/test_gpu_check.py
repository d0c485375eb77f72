"""benchmarks/gpu_check.py without a GPU: argument parsing, the refusal on a CPU machine, and the
model building, measuring and table on tiny widths of the same published configs."""

from __future__ import annotations

import pytest

from benchmarks.gpu_check import NO_CUDA, Options, Row, main, markdown_table, parse_args, run_checks


def test_defaults_are_the_issues_settings():
    options = parse_args([])
    assert (options.sd_size, options.sd_steps, options.strength) == (512, 50, 0.55)
    assert options.only == ("sd", "blip2", "clip") and options.compile and options.clip_images == 64
    assert parse_args(["--only", "clip", "--skip-compile"]).only == ("clip",)


@pytest.mark.parametrize(
    "argv", [["--sd-size", "500"], ["--sd-steps", "1", "--strength", "0.5"], ["--only", "vae"]]
)
def test_unrunnable_arguments_are_refused(argv):
    with pytest.raises(SystemExit) as exit_info:
        parse_args(argv)
    assert exit_info.value.code == 2


def test_without_cuda_it_stops_with_one_line(capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert main([]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip() == NO_CUDA and captured.out == ""


def test_markdown_table():
    table = markdown_table([Row("SD 1.5", "img2img", "1.20 s", 3.456), Row("x", "y", "z", None)])
    lines = table.splitlines()
    assert lines[0] == "| model | setting | result | peak GPU memory (GiB) |"
    assert lines[2] == "| SD 1.5 | img2img | 1.20 s | 3.46 |" and lines[3] == "| x | y | z | n/a |"


def test_every_part_builds_measures_and_reports_at_tiny_width(tmp_path):
    options = Options(
        tiny=True,
        repeat=1,
        sd_size=64,
        sd_steps=2,
        strength=1.0,
        compile=False,
        caption_tokens=2,
        clip_images=3,
    )
    rows = run_checks(options, "cpu", tmp_path)
    assert [row.model for row in rows] == [
        "SD 1.5",
        "BLIP-2 opt-2.7b",
        "BLIP-2 opt-2.7b",
        "CLIP ViT-B/32",
        "CLIP ViT-B/32",
    ]
    assert rows[0].result.endswith(" s") and "(float32)" in rows[0].setting
    assert rows[1].result.endswith(" s") and "adapter merged" in rows[1].setting
    assert rows[2].result == "skipped: 4-bit needs CUDA"
    assert "batch 1 " in rows[3].setting and "batch 3 " in rows[4].setting
    assert all(row.result.endswith("images/s") for row in rows[3:])
    assert all(row.peak_gib is None for row in rows)  # no CUDA: no peak memory
    assert len(markdown_table(rows).splitlines()) == 2 + len(rows)
