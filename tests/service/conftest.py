import pytest
from fastapi.testclient import TestClient

from tests.conftest import wait_ready


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
