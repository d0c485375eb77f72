"""`batik ingest`: a Batik Nitik folder and workbook -> an index directory.

Every input file ends up either indexed or in `report.json` under `skipped` with its reason.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from PIL import Image
from tqdm import tqdm

from services.common.errors import ServiceError
from services.common.images import ImageLimits, load_image
from services.retrieval.dataset import (
    IMAGE_SUFFIXES,
    ImageRecord,
    list_image_files,
    parse_image_name,
    read_metadata,
)
from services.retrieval.encoder import ClipEncoder
from services.retrieval.faiss_index import check_params
from services.retrieval.index import IMAGE_SIZES, IndexItem, IndexWriter

log = logging.getLogger(__name__)

# Dataset photos are 512 px; the cap only guards against a stray huge file in the folder.
_INGEST_LIMITS = ImageLimits(max_bytes=64 * 1024 * 1024, max_pixels=8192 * 8192)


def _select_files(
    images_dir: Path, motif_numbers: set[int]
) -> tuple[list[ImageRecord], list[dict[str, str]]]:
    records, skipped = [], []
    for path in list_image_files(images_dir):
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            skipped.append({"file": path.name, "reason": f"not an image file ({path.suffix})"})
            continue
        record = parse_image_name(path)
        if record is None:
            skipped.append(
                {
                    "file": path.name,
                    "reason": "name does not follow '<No> <Motif> <instance>[_rotate_<deg>]'",
                }
            )
        elif record.number not in motif_numbers:
            skipped.append(
                {"file": path.name, "reason": f"no metadata row for motif No. {record.number}"}
            )
        else:
            records.append(record)
    return records, skipped


def ingest(
    images_dir: Path,
    metadata: Path,
    out: Path,
    *,
    model_source: str,
    model_revision: str | None = None,
    batch_size: int = 32,
    device: str = "auto",
    progress: bool = True,
    index_type: str = "flat",
    index_params: dict[str, int] | None = None,
) -> dict[str, Any]:
    started = time.perf_counter()
    images_dir, metadata, out = Path(images_dir), Path(metadata), Path(out)
    # Checked before any image is embedded: a typo must not cost a whole ingest run.
    check_params(index_type, index_params)
    if not images_dir.is_dir():
        raise FileNotFoundError(f"images folder not found: {images_dir}")
    if not metadata.is_file():
        raise FileNotFoundError(f"metadata workbook not found: {metadata}")
    motifs = read_metadata(metadata)
    records, skipped = _select_files(images_dir, set(motifs))
    encoder = ClipEncoder(
        model_source, device=device, batch_size=batch_size, revision=model_revision
    )

    writer = IndexWriter(out)
    items: list[IndexItem] = []
    vectors = []
    try:
        bar = tqdm(total=len(records), desc="embedding", unit="img", disable=not progress)
        for start in range(0, len(records), batch_size):
            batch_images: list[Image.Image] = []
            for record in records[start : start + batch_size]:
                try:
                    image = load_image(record.path.read_bytes(), limits=_INGEST_LIMITS)
                except (ServiceError, OSError) as exc:
                    skipped.append({"file": record.path.name, "reason": f"unreadable image: {exc}"})
                    continue
                item = IndexItem(
                    id=len(items),
                    file=record.path.name,
                    number=record.number,
                    instance=record.instance,
                    rotation=record.rotation,
                )
                for size in IMAGE_SIZES:
                    resized = image.resize((size, size), Image.Resampling.BICUBIC)
                    resized.save(writer.image_path(item.id, size), quality=95)
                items.append(item)
                batch_images.append(image)
            vectors.append(encoder.embed_images(batch_images))
            bar.update(min(batch_size, len(records) - start))
        bar.close()
        import numpy as np

        matrix = np.concatenate(vectors) if vectors else np.zeros((0, encoder.dim), np.float32)
        indexed_numbers = {item.number for item in items}
        report = {
            "indexed": len(items),
            "motifs": len(indexed_numbers),
            "skipped": skipped,
            "files_seen": len(items) + len(skipped),
            "motifs_without_images": sorted(set(motifs) - indexed_numbers),
            "model": model_source,
            "seconds": round(time.perf_counter() - started, 2),
        }
        writer.commit(
            matrix,
            items,
            {n: m.to_dict() for n, m in motifs.items()},
            {"source": model_source, "revision": model_revision, "version": encoder.version},
            report,
            index_type=index_type,
            index_params=index_params,
        )
    except BaseException:
        writer.abort()
        raise
    log.info("indexed %d images of %d motifs into %s", len(items), len(indexed_numbers), out)
    return {**report, "out": str(out)}
