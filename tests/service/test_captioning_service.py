import threading
import time

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.conftest import wait_ready
from tests.helpers import assert_envelope, b64, bad_image_corpus, image_bytes

MOTIF = b64(image_bytes(Image.new("RGB", (80, 80), (92, 52, 28))))
COLOURS = [(92, 52, 28), (20, 40, 160), (240, 240, 230), (10, 10, 10)]
BATCH = [b64(image_bytes(Image.new("RGB", (64, 64), c))) for c in COLOURS]


def random_adapter(base_dir: str, out, seed: int, targets=("q_proj", "v_proj")) -> None:
    """A LoRA adapter with random (non-zero) weights, saved the way `batik finetune` saves one."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import Blip2ForConditionalGeneration

    torch.manual_seed(seed)
    base = Blip2ForConditionalGeneration.from_pretrained(base_dir)
    config = LoraConfig(r=4, lora_alpha=64, target_modules=list(targets), init_lora_weights=False)
    get_peft_model(base, config).save_pretrained(str(out))


@pytest.fixture(scope="module")
def adapters_root(tmp_path_factory, tiny_models):
    root = tmp_path_factory.mktemp("adapters")
    random_adapter(str(tiny_models["blip2"]), root / "nitik-a", seed=1)
    random_adapter(str(tiny_models["blip2"]), root / "nitik-b", seed=2, targets=("query", "value"))
    (root / "not-an-adapter").mkdir()
    return root


def client_for(tiny_models, **overrides) -> TestClient:
    from services.captioning.app import create_app
    from services.captioning.config import CaptioningSettings

    settings = CaptioningSettings(model=str(tiny_models["blip2"]), **overrides)
    return TestClient(create_app(settings), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def adapted_client(tiny_models, adapters_root):
    # min_caption_words=1: the tiny random model's short outputs still count as captions here.
    with client_for(
        tiny_models, adapters_dir=str(adapters_root), adapter="nitik-a", min_caption_words=1
    ) as client:
        wait_ready(client)
        yield client


# ---- the gateway's contract: one image --------------------------------------------------------


def test_caption(captioning_client, tiny_models):
    answer = captioning_client.post("/v1/caption", json={"image": MOTIF, "max_new_tokens": 8})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert isinstance(body["caption"], str)
    assert body["model"] == str(tiny_models["blip2"])
    assert body["adapter"] is None
    assert len(body["captions"]) == 1 and body["captions"][0]["caption"] == body["caption"]


def test_caption_with_prompt_does_not_echo_it(captioning_client):
    prompt = "a batik motif of"
    body = captioning_client.post(
        "/v1/caption", json={"image": MOTIF, "prompt": prompt, "max_new_tokens": 6}
    ).json()
    assert not body["caption"].startswith(prompt)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"image": MOTIF, "max_new_tokens": 0},
        {"image": MOTIF, "max_new_tokens": 1000},
        {"image": MOTIF, "images": [MOTIF]},
        {"images": []},
        {"image": MOTIF, "adapter": "../etc"},
    ],
)
def test_bad_requests(captioning_client, body):
    assert_envelope(captioning_client.post("/v1/caption", json=body), 422, "validation")


@pytest.mark.parametrize(("name", "case"), bad_image_corpus().items())
def test_bad_images(captioning_client, name, case):
    payload, status, kind = case
    assert_envelope(captioning_client.post("/v1/caption", json={"image": payload}), status, kind)


def test_a_bad_image_in_a_batch_is_named(captioning_client):
    payload, status, kind = bad_image_corpus()["text file"]
    error = assert_envelope(
        captioning_client.post("/v1/caption", json={"images": [MOTIF, payload]}), status, kind
    )
    assert "images[1]" in error["message"]


# ---- batches -----------------------------------------------------------------------------------


def test_batch_matches_one_by_one(captioning_client):
    """A batch of 4 answers in order, and each item is what the image alone gets (greedy)."""
    body = captioning_client.post("/v1/caption", json={"images": BATCH, "max_new_tokens": 8}).json()
    assert body["caption"] is None and len(body["captions"]) == len(BATCH)
    singles = [
        captioning_client.post("/v1/caption", json={"image": i, "max_new_tokens": 8}).json()
        for i in BATCH
    ]
    assert [c["caption"] for c in body["captions"]] == [s["caption"] for s in singles]
    assert len({s["caption"] for s in singles}) > 1  # the images really differ to the model


def test_batch_over_the_cap_is_refused(tiny_models):
    with client_for(tiny_models, max_batch=2) as client:
        wait_ready(client)
        error = assert_envelope(
            client.post("/v1/caption", json={"images": BATCH[:3]}), 422, "validation"
        )
        assert "at most 2" in error["message"]
        assert client.post("/v1/caption", json={"images": BATCH[:2]}).status_code == 200


def test_an_engine_value_error_is_a_422_not_a_500(tiny_models):
    # The settings allow 4 images but the engine this loader builds takes 2: the engine's own check
    # (a ValueError) is what refuses the batch, and errors.py answers it as validation.
    from services.captioning.app import create_app, default_loader
    from services.captioning.config import CaptioningSettings

    settings = CaptioningSettings(model=str(tiny_models["blip2"]), max_batch=4)
    loader = lambda s: default_loader(s.model_copy(update={"max_batch": 2}))  # noqa: E731
    with TestClient(create_app(settings, loader), raise_server_exceptions=False) as client:
        wait_ready(client)
        error = assert_envelope(
            client.post("/v1/caption", json={"images": BATCH[:3]}), 422, "validation"
        )
        assert "at most 2 per request" in error["message"]


# ---- VQA ---------------------------------------------------------------------------------------


def test_vqa_answers_without_echoing_the_question(captioning_client):
    question = "what motif is this"
    answer = captioning_client.post(
        "/v1/vqa", json={"image": MOTIF, "question": question, "max_new_tokens": 8}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert isinstance(body["answer"], str) and body["adapter"] is None
    assert "question:" not in body["answer"].lower()
    assert body["degenerate"] or body["answer"]


@pytest.mark.parametrize("body", [{"image": MOTIF}, {"image": MOTIF, "question": "   "}])
def test_vqa_needs_a_question(captioning_client, body):
    assert_envelope(captioning_client.post("/v1/vqa", json=body), 422, "validation")


# ---- adapters ----------------------------------------------------------------------------------


def test_adapters_are_listed_with_the_default_merged(adapted_client, adapters_root):
    body = adapted_client.get("/v1/adapters").json()
    assert body["default"] == "nitik-a"
    by_name = {a["name"]: a for a in body["adapters"]}
    assert set(by_name) == {"nitik-a", "nitik-b"}  # a folder without adapter_config.json is not
    assert by_name["nitik-a"]["default"] and by_name["nitik-a"]["merged"]
    assert not by_name["nitik-b"]["default"]
    assert by_name["nitik-b"]["target_modules"] == ["query", "value"]
    assert by_name["nitik-a"]["source"] == str(adapters_root / "nitik-a")


def test_requests_select_an_adapter_and_switching_back_is_exact(adapted_client):
    def caption(adapter=None):
        body = {"image": MOTIF, "max_new_tokens": 10, **({"adapter": adapter} if adapter else {})}
        answer = adapted_client.post("/v1/caption", json=body)
        assert answer.status_code == 200, answer.text
        return answer.json()

    default = caption()
    assert default["adapter"] == "nitik-a"
    other, base = caption("nitik-b"), caption("none")
    assert other["adapter"] == "nitik-b" and base["adapter"] is None
    assert len({default["caption"], other["caption"], base["caption"]}) == 3
    # Back to the merged default after unmerging twice: the same caption, no drift.
    assert caption()["caption"] == default["caption"]
    assert caption("nitik-a")["caption"] == default["caption"]


def test_unknown_adapter_is_a_404(adapted_client):
    for path, body in (
        ("/v1/caption", {"image": MOTIF, "adapter": "nitik-z"}),
        ("/v1/vqa", {"image": MOTIF, "question": "what is it", "adapter": "nitik-z"}),
    ):
        error = assert_envelope(adapted_client.post(path, json=body), 404, "not_found")
        assert "nitik-z" in error["message"] and "nitik-a" in error["message"]


def test_new_adapters_in_the_root_are_selectable_without_restart(
    adapted_client, adapters_root, tiny_models
):
    random_adapter(str(tiny_models["blip2"]), adapters_root / "nitik-c", seed=3)
    names = {a["name"] for a in adapted_client.get("/v1/adapters").json()["adapters"]}
    assert "nitik-c" in names
    answer = adapted_client.post(
        "/v1/caption", json={"image": MOTIF, "adapter": "nitik-c", "max_new_tokens": 4}
    )
    assert answer.status_code == 200 and answer.json()["adapter"] == "nitik-c"


def test_adapter_is_merged_and_changes_the_output(tmp_path, tiny_models):
    """A LoRA adapter saved by peft loads, merges, and really acts on the weights."""
    import torch

    from services.captioning.captioner import Blip2Captioner

    random_adapter(str(tiny_models["blip2"]), tmp_path / "adapter", seed=4)
    plain = Blip2Captioner(str(tiny_models["blip2"]))
    tuned = Blip2Captioner(str(tiny_models["blip2"]), adapter=str(tmp_path / "adapter"))
    inputs = plain.processor(
        images=Image.new("RGB", (64, 64), "red"), text="a", return_tensors="pt"
    )
    with torch.inference_mode():
        assert not torch.allclose(plain.model(**inputs).logits, tuned.model(**inputs).logits)
    assert tuned.lora.merged == "adapter"
    assert tuned.describe()["adapter"] == "adapter"
    assert tuned.version != plain.version


# ---- output hygiene and load -----------------------------------------------------------------


def test_degenerate_output_is_retried_then_reported_not_served(tiny_models):
    # No 8-token output can have 50 words: every output is degenerate, so the guard must act.
    with client_for(tiny_models, min_caption_words=50, min_answer_words=50) as client:
        wait_ready(client)
        body = client.post("/v1/caption", json={"image": MOTIF, "max_new_tokens": 8}).json()
        assert body["degenerate"] is True and body["caption"] == ""
        assert body["captions"][0]["attempts"] == 2
        assert "shorter than 50 words" in body["captions"][0]["reason"]
        vqa = client.post(
            "/v1/vqa", json={"image": MOTIF, "question": "what is it", "max_new_tokens": 8}
        ).json()
        assert vqa["degenerate"] is True and vqa["answer"] == "" and vqa["attempts"] == 2


def test_past_the_inflight_bound_answers_429(tiny_models):
    with client_for(tiny_models, max_inflight=1) as client:
        wait_ready(client)
        engine, limiter = client.app.state.engine, client.app.state.limiter
        results = {}
        with engine._lock:  # the first request waits for the model inside its worker thread
            worker = threading.Thread(
                target=lambda: results.update(
                    first=client.post("/v1/caption", json={"image": MOTIF, "max_new_tokens": 2})
                )
            )
            worker.start()
            deadline = time.monotonic() + 30
            while limiter.inflight < 1:
                assert time.monotonic() < deadline, "the first request never started"
                time.sleep(0.01)
            second = client.post("/v1/caption", json={"image": MOTIF})
            assert_envelope(second, 429, "overloaded")
            assert second.headers["retry-after"] == "1"
        worker.join(timeout=60)
        assert results["first"].status_code == 200


def test_openapi_declares_the_errors(captioning_client):
    paths = captioning_client.get("/openapi.json").json()["paths"]
    for path in ("/v1/caption", "/v1/vqa"):
        assert {"404", "413", "415", "422", "429", "503"} <= set(paths[path]["post"]["responses"])
    assert "/v1/adapters" in paths
