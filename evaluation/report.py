"""Write an evaluation: metrics.json, report.md (a table shaped like the seed project's) and plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def plot_retrieval(metrics: dict[str, Any], out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    per_motif = metrics.get("per_motif_top1") or {}
    if per_motif:
        fig, ax = plt.subplots(figsize=(max(6, len(per_motif) * 0.18), 3.2))
        ax.bar(list(per_motif), list(per_motif.values()), color="#7a4a2a")
        ax.set_xlabel("motif No.")
        ax.set_ylabel("top-1 accuracy (leak-free)")
        ax.set_ylim(0, 1)
        ax.tick_params(axis="x", labelsize=6, rotation=90)
        fig.tight_layout()
        fig.savefig(out / "retrieval_per_motif.png", dpi=120)
        plt.close(fig)
        written.append("retrieval_per_motif.png")
    curve = metrics.get("pr_curve") or {}
    if curve.get("precision"):
        fig, ax = plt.subplots(figsize=(4, 3.2))
        ax.plot(curve["recall"], curve["precision"], marker="o", color="#1c2450")
        ax.set_xlabel("recall")
        ax.set_ylabel("interpolated precision")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.05)
        ax.set_title("image-to-image, leak-free")
        fig.tight_layout()
        fig.savefig(out / "retrieval_pr_curve.png", dpi=120)
        plt.close(fig)
        written.append("retrieval_pr_curve.png")
    return written


def markdown(metrics: dict[str, Any]) -> str:
    lines = ["# Batik Nitik RAG evaluation", ""]
    prov = metrics["provenance"]
    lines += [
        f"Produced {prov['date']} by `{prov['command']}`.",
        "",
        "| metric | value | protocol / note |",
        "|---|---|---|",
    ]
    retrieval = metrics.get("retrieval")
    if retrieval:
        free = retrieval["image_to_image"]["leak_free"]
        leaky = retrieval["image_to_image"]["leaky"]
        for key, label in (
            ("top1", "Retrieval Top-1"),
            ("top5", "Retrieval Top-5"),
            ("map", "mAP"),
            ("mean_top_cosine", "Cosine similarity (top hit)"),
        ):
            lines.append(
                f"| {label} | {_fmt(free[key])} | image-to-image, leak-free "
                f"({free['queries']} queries; leaky protocol: {_fmt(leaky[key])}) |"
            )
        if free["not_evaluable"]:
            lines.append(
                f"| (not evaluable) | {free['not_evaluable']} | queries whose motif has no other "
                "source photo: nothing relevant is left once their own rotations are removed |"
            )
        for kind, label in (("name", "motif name"), ("description_en", "English description")):
            text = retrieval["text_to_image"][kind]
            lines.append(
                f"| Text-to-image Top-1 / Top-5 / mAP | {_fmt(text['top1'])} / {_fmt(text['top5'])} "
                f"/ {_fmt(text['map'])} | query = {label} ({text['queries']} motifs) |"
            )
    captioning = metrics.get("captioning")
    if captioning:
        for arm in ("base", "adapter"):
            if captioning.get(arm):
                lines.append(
                    f"| Captioning BLEU-4 / ROUGE-L ({arm}) | {_fmt(captioning[arm]['bleu4'])} / "
                    f"{_fmt(captioning[arm]['rouge_l'])} | {captioning['pairs']} held-out pairs, "
                    f"{captioning['split_source']} |"
                )
    generation = metrics.get("generation")
    if generation:
        label = generation["distance"]
        lines += [
            f"| {label}, plain txt2img | {_fmt(generation['plain_txt2img']['distance'])} | "
            f"{generation['images']} images against {generation['real_images']} real |",
            f"| {label}, RAG (fused prompt, img2img) | "
            f"{_fmt(generation['rag_img2img']['distance'])} | same queries and seeds |",
            f"| CLIP score, plain / RAG | {_fmt(generation['plain_txt2img']['clip_score'])} / "
            f"{_fmt(generation['rag_img2img']['clip_score'])} | 100 * max(cos, 0), each image "
            "against its own prompt |",
        ]
        style = generation.get("style")
        if style:
            lines += [
                f"| {style['distance']} without / with style `{style['style']}` | "
                f"{_fmt(style['without']['distance'])} / {_fmt(style['with']['distance'])} | "
                f"{style['images_per_arm']} images per arm against the {style['real_images']} "
                "held-out images of its training split |",
                f"| CLIP score without / with style | {_fmt(style['without']['clip_score'])} / "
                f"{_fmt(style['with']['clip_score'])} | each image against its training caption |",
            ]
    channels = (retrieval or {}).get("text_channels")
    if channels:
        configs = list(next(iter(channels.values())))
        lines += [
            "",
            "## Text queries by channel (Top-1 / Top-5, ranked by the retrieval engine)",
            "",
            "| query set | " + " | ".join(configs) + " |",
            "|---|" + "---|" * len(configs),
        ]
        for set_name, results in channels.items():
            cells = [f"{_fmt(results[c]['top1'])} / {_fmt(results[c]['top5'])}" for c in configs]
            queries = next(iter(results.values()))["queries"]
            lines.append(f"| {set_name} ({queries}) | " + " | ".join(cells) + " |")
    lines += ["", "## Provenance", "", "```json", json.dumps(prov, indent=1), "```", ""]
    if metrics.get("plots"):
        lines += ["## Plots", ""] + [f"![{p}]({p})" for p in metrics["plots"]] + [""]
    return "\n".join(lines)


def write_report(metrics: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1), encoding="utf-8")
    (out / "report.md").write_text(markdown(metrics), encoding="utf-8")
