import pytest
from fastapi.testclient import TestClient

from tests.conftest import wait_ready
from tests.helpers import RedisServer


@pytest.fixture(scope="module")
def retrieval_client(tiny_models, synthetic_index):
    from services.retrieval.app import create_app
    from services.retrieval.config import RetrievalSettings

    settings = RetrievalSettings(model=str(tiny_models["clip"]), index_dir=str(synthetic_index))
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        wait_ready(client)
        yield client


@pytest.fixture(scope="module")
def captioning_client(tiny_models):
    from services.captioning.app import create_app
    from services.captioning.config import CaptioningSettings

    settings = CaptioningSettings(model=str(tiny_models["blip2"]))
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        wait_ready(client)
        yield client


@pytest.fixture(scope="module")
def generation_client(tiny_models):
    from services.generation.app import create_app
    from services.generation.config import GenerationSettings

    settings = GenerationSettings(model=str(tiny_models["sd"]))
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        wait_ready(client)
        yield client


# ---- styles (services/generation/styles.py) ------------------------------------------------------
STYLE_ADMIN_TOKEN = "style-admin-token"


@pytest.fixture(scope="session")
def style_folders(tmp_path_factory, tiny_models):
    """GENERATION_STYLES_DIR with two servable styles (nitik; kawung, with a text-encoder LoRA), one
    for another base model and one with corrupt weights; a spare style and a preview LoRA beside it.
    Tiny random LoRAs in the format `batik finetune-style` writes."""
    import json

    from services.common.tiny import build_tiny_lora

    root = tmp_path_factory.mktemp("style-lib")
    styles = root / "styles"
    sd = tiny_models["sd"]
    build_tiny_lora(sd, styles / "nitik", seed=1, style_name="nitik")
    build_tiny_lora(sd, styles / "kawung", seed=2, style_name="kawung", text_encoder=True)
    foreign = build_tiny_lora(sd, styles / "foreign", seed=4, style_name="foreign")
    manifest = json.loads((foreign / "manifest.json").read_text())
    manifest["base_model"] = {"source": "runwayml/sd-xl", "version": "sdxl@0123"}
    (foreign / "manifest.json").write_text(json.dumps(manifest))
    broken = build_tiny_lora(sd, styles / "broken", seed=5, style_name="broken")
    (broken / "pytorch_lora_weights.safetensors").write_bytes(b"not a safetensors file" * 8)
    spare = build_tiny_lora(sd, root / "spare" / "truntum", seed=6, style_name="truntum")
    preview = build_tiny_lora(sd, root / "lcm", seed=7, std=0.2)
    return {"styles": styles, "spare": spare, "preview": preview}


def styled_generation_app(tiny_models, style_folders, **overrides):
    from services.generation.app import create_app
    from services.generation.config import GenerationSettings

    values = dict(
        model=str(tiny_models["sd"]),
        styles_dir=str(style_folders["styles"]),
        preview_lora=str(style_folders["preview"]),
        admin_token=STYLE_ADMIN_TOKEN,
        max_inflight=8,
    )
    return create_app(GenerationSettings(**(values | overrides)))


@pytest.fixture(scope="module")
def styled_generation_client(tiny_models, style_folders):
    app = styled_generation_app(tiny_models, style_folders)
    with TestClient(app, raise_server_exceptions=False) as client:
        wait_ready(client)
        yield client


@pytest.fixture(scope="module")
def upstream_apps(retrieval_client, captioning_client, generation_client):
    """The three model services' apps, for an in-process gateway (tests.helpers.gateway_app)."""
    return {
        "retrieval": retrieval_client.app,
        "captioning": captioning_client.app,
        "generation": generation_client.app,
    }


@pytest.fixture(scope="module")
def job_redis(tmp_path_factory):
    """A job Redis of the module's own: append-only and noeviction, as deployed."""
    server = RedisServer(tmp_path_factory.mktemp("job-redis")).start()
    yield server
    server.stop()
