import json
import shutil

import pytest

from services.retrieval.index import InvalidIndex, MotifIndex
from services.retrieval.ingest import ingest


def test_shared_sample_indexes_every_file(tmp_path, tiny_models, shared_sample):
    images, workbook = shared_sample
    out = tmp_path / "index"
    report = ingest(images, workbook, out, model_source=str(tiny_models["clip"]), progress=False)
    assert report["indexed"] == 240
    assert report["motifs"] == 60
    assert report["skipped"] == []
    on_disk = json.loads((out / "report.json").read_text())
    assert on_disk["indexed"] == 240 and on_disk["index_version"]
    index = MotifIndex(out)
    assert index.size == 240 and index.manifest["motifs"] == 60
    # The twelve motifs spelled differently in file names still map by number.
    brendi = [item for item in index.items if item.number == 11]
    assert {item.file for item in brendi} >= {"11 Brendhi 1.jpg"}
    assert index.motifs[11]["name"] == "Brendi"
    assert (out / "images" / "512" / "0.jpg").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".index")]


def test_every_file_is_indexed_or_reported(tmp_path, tiny_models, synthetic_dataset):
    images, workbook = synthetic_dataset
    messy = tmp_path / "images"
    shutil.copytree(images, messy)
    (messy / "README.txt").write_text("not an image")
    (messy / "Sekar Kemuning.jpg").write_bytes((images / "1 Sekar Kemuning 1.jpg").read_bytes())
    (messy / "99 Unknown Motif 1.jpg").write_bytes((images / "1 Sekar Kemuning 1.jpg").read_bytes())
    (messy / "2 Sekar Liring 9.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    report = ingest(
        messy, workbook, tmp_path / "index", model_source=str(tiny_models["clip"]), progress=False
    )
    reasons = {s["file"]: s["reason"] for s in report["skipped"]}
    assert report["indexed"] == 48
    assert reasons["README.txt"].startswith("not an image file")
    assert "does not follow" in reasons["Sekar Kemuning.jpg"]
    assert "No. 99" in reasons["99 Unknown Motif 1.jpg"]
    assert reasons["2 Sekar Liring 9.jpg"].startswith("unreadable image")
    assert report["files_seen"] == 48 + 4


def test_rewriting_an_index_replaces_it_whole(tmp_path, tiny_models, synthetic_dataset):
    images, workbook = synthetic_dataset
    out = tmp_path / "index"
    first = ingest(images, workbook, out, model_source=str(tiny_models["clip"]), progress=False)
    (out / "stale-file").write_text("from the old index")
    ingest(images, workbook, out, model_source=str(tiny_models["clip"]), progress=False)
    assert not (out / "stale-file").exists()
    assert MotifIndex(out).size == first["indexed"]


def test_index_refuses_another_model_and_corruption(synthetic_index, tmp_path):
    index = MotifIndex(synthetic_index)
    with pytest.raises(InvalidIndex, match="re-run `batik ingest`"):
        index.check_model("openai/clip-vit-base-patch32", 512)
    broken = tmp_path / "broken"
    shutil.copytree(synthetic_index, broken)
    (broken / "items.jsonl").write_text("{}\n")
    with pytest.raises(InvalidIndex, match="checksum"):
        MotifIndex(broken)
    with pytest.raises(InvalidIndex, match="not an index directory"):
        MotifIndex(tmp_path / "missing")


def test_missing_inputs_fail_clearly(tmp_path, tiny_models, synthetic_dataset):
    images, workbook = synthetic_dataset
    with pytest.raises(FileNotFoundError, match="images folder"):
        ingest(tmp_path / "nope", workbook, tmp_path / "i", model_source=str(tiny_models["clip"]))
    with pytest.raises(FileNotFoundError, match="workbook"):
        ingest(
            images, tmp_path / "nope.xlsx", tmp_path / "i", model_source=str(tiny_models["clip"])
        )


@pytest.mark.parametrize("index_type", ["flat", "hnsw", "ivfpq"])
def test_cli_builds_each_index_type_and_it_searches(
    tmp_path, tiny_models, synthetic_dataset, index_type
):
    from services.cli import main

    images, workbook = synthetic_dataset
    out = tmp_path / "index"
    argv = ["ingest", "--images", str(images), "--metadata", str(workbook), "--out", str(out)]
    argv += ["--model", str(tiny_models["clip"]), "--index-type", index_type]
    if index_type == "hnsw":
        argv += ["--index-param", "m=8", "--index-param", "ef_search=20"]
    assert main(argv) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["index_type"] == index_type
    index = MotifIndex(out)
    assert index.index_type == index_type and index.size == 48
    if index_type == "hnsw":
        assert manifest["index_params"] == {"m": 8, "ef_construction": 80, "ef_search": 20}
    if index_type == "ivfpq":
        assert set(manifest["index_params"]) == {"nlist", "m", "nbits", "nprobe", "k_factor"}
    vectors = index.index.reconstruct_n(0, index.size)
    for row in (0, 17, 47):
        result = index.search(vectors[row], 3)
        assert result.rows[0] == row
        assert result.scores[0] == pytest.approx(1.0, abs=1e-5)


def test_cli_refuses_unknown_index_types_and_parameters(tmp_path, synthetic_dataset, capsys):
    from services.cli import main

    images, workbook = synthetic_dataset
    base = ["ingest", "--images", str(images), "--metadata", str(workbook)]
    with pytest.raises(SystemExit) as exit_info:
        main([*base, "--out", str(tmp_path / "a"), "--index-type", "annoy"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'annoy'" in capsys.readouterr().err
    # A wrong parameter fails before the model loads or any image is embedded.
    bad_param = ["--index-type", "hnsw", "--index-param", "nprobe=4"]
    code = main([*base, "--out", str(tmp_path / "b"), "--model", "no-model", *bad_param])
    assert code == 2
    assert "hnsw index does not take nprobe" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*base, "--out", str(tmp_path / "c"), "--index-param", "m=eight"])
    assert not any(tmp_path.iterdir())
    with pytest.raises(ValueError, match="unknown index type"):
        ingest(images, workbook, tmp_path / "d", model_source="unused", index_type="annoy")
