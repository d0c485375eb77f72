"""The run's record: training.json and a loss-curve PNG beside the adapter."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REPORT_FILE = "training.json"
LOSS_CURVE_FILE = "loss_curve.png"


def write_report(out: Path, report: dict[str, Any]) -> Path:
    path = out / REPORT_FILE
    path.write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    return path


def plot_loss(
    out: Path,
    losses: list[float],
    steps_per_epoch: int,
    *,
    ylabel: str = "cross-entropy",
    title: str = "batik finetune: training loss",
) -> Path:
    import matplotlib

    matplotlib.use("Agg")  # no display on servers
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4), dpi=100)
    steps = list(range(1, len(losses) + 1))
    axes.plot(steps, losses, linewidth=1.2, label="training loss (per optimizer step)")
    for epoch_end in range(steps_per_epoch, len(losses), max(steps_per_epoch, 1)):
        axes.axvline(epoch_end + 0.5, color="grey", linewidth=0.5, linestyle=":")
    axes.set_xlabel("optimizer step")
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.legend()
    figure.tight_layout()
    path = out / LOSS_CURVE_FILE
    figure.savefig(path)
    plt.close(figure)
    return path
