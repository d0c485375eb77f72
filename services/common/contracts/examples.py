"""An example of each wire model the services answer or take, for their OpenAPI (`examples`).

Kept beside the contracts rather than inside them: the answers are long, and one place shows them
all. `services/common/openapi.py` puts each on its schema; tests/unit/test_openapi_spec.py checks
that every example parses as its model, so none can drift from the contract.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

JOB_ID = "0f3c6a1e2b4d4e8f9a7b6c5d4e3f2a1b"
DESIGN_ID = "d_3f9a1c2b4d5e6f708192"
BOARD_ID = "b_8a7b6c5d4e3f2a1b0c9d"
INDEX_VERSION = "20260101T000000Z-5f2c"
PNG_B64 = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGNgYGAAAAAEAAH2FzhVAAAAAElFTkSuQmCC"
)

HIT = {
    "id": 12,
    "score": 0.83,
    "motif": {
        "number": 5,
        "name": "Truntum",
        "description_id": "Motif bintang kecil yang bertaburan.",
        "description_en": "Small scattered stars.",
        "philosophy": "Love that grows again, ever more.",
    },
    "file": "5 Truntum 1.jpg",
    "instance": 1,
    "rotation": 0,
    "fused_score": None,
    "visual": {"score": 0.83, "rank": 1},
    "lexical": None,
}
RAG_RESPONSE = {
    "references": [HIT],
    "index_version": INDEX_VERSION,
    "captions": [{"reference_id": 12, "text": "a brown batik with small stars"}],
    "prompt": {
        "text": "sekar bunga, Truntum, a brown batik with small stars",
        "parts": [
            {"source": "query", "text": "sekar bunga", "tokens": 3, "kept": "full"},
            {"source": "motif", "text": "Truntum", "tokens": 3, "kept": "full"},
            {
                "source": "caption",
                "text": "a brown batik with small stars",
                "tokens": 7,
                "kept": "full",
            },
        ],
        "tokens": 15,
        "truncated": False,
        "cut": [],
    },
    "images": [PNG_B64],
    "seed": 7,
    "mode": "img2img",
    "previews": [],
    "symmetry": "none",
    "symmetry_scores": {},
    "model": "stable-diffusion-v1-5/stable-diffusion-v1-5",
    "scheduler": "pndm",
    "model_version": "sd15@6d3b",
    "styles": [],
    "timings_ms": {"cache": 0.4, "retrieval": 12.1, "captioning": 180.3, "generation": 2100.5},
    "cache": {"hit": False, "key": "rag:v1:9c1f", "shared": False},
    "degraded": [],
    "designs": [{"id": DESIGN_ID, "url": f"/v1/designs/{DESIGN_ID}/image"}],
}
DESIGN = {
    "id": DESIGN_ID,
    "owner": "3a7bd3e2360a3d29",
    "url": f"/v1/designs/{DESIGN_ID}/image",
    "created_at": "2026-12-01T14:00:00Z",
    "title": "Truntum in brown",
    "notes": None,
    "tags": ["truntum"],
    "favorite": False,
    "parent_id": None,
    "motifs": [5],
    "prompt": "sekar bunga, Truntum, a brown batik with small stars",
    "board_ids": [BOARD_ID],
    "provenance": {"request": {"text": "sekar bunga", "seed": 7}},
    "width": 512,
    "height": 512,
    "sha256": "5d41402abc4b2a76b9719d911017c592ae4e5d5e4e0b7a1f2f1d0c3b4a5e6f70",
}
BOARD = {
    "id": BOARD_ID,
    "name": "Stars",
    "created_at": "2026-12-01T14:00:00Z",
    "design_count": 1,
}


def examples() -> dict[type[BaseModel], dict[str, Any]]:
    """Model -> one example of it (imported late: the contracts import nothing from here)."""
    return {**_gateway(), **_internal()}


def _gateway() -> dict[type[BaseModel], dict[str, Any]]:
    from services.common.contracts.export import ColorwayResponse
    from services.common.contracts.gateway import RagJob, RagJobPage, RagResponse
    from services.common.contracts.generation import StyleList
    from services.common.contracts.library import (
        Board,
        BoardCreate,
        BoardList,
        BoardUpdate,
        Design,
        DesignPage,
        DesignUpdate,
        ImportResponse,
        NearestResponse,
    )
    from services.common.jobs import JobCreated

    return {
        RagResponse: RAG_RESPONSE,
        ColorwayResponse: {
            "parent_id": DESIGN_ID,
            "colorways": [
                {
                    "palette": "sogan_yogya",
                    "id": "d_4a0b2c3d5e6f708192a3",
                    "url": "/v1/designs/d_4a0b2c3d5e6f708192a3/image",
                    "colors": ["#231812", "#4a2e1c", "#8a5a30", "#f3ecdd"],
                }
            ],
            "sheet": PNG_B64,
        },
        RagJob: {
            "job_id": JOB_ID,
            "kind": "rag",
            "state": "succeeded",
            "progress": {"step": 30, "total": 30},
            "cancel_requested": False,
            "error": None,
            "result": RAG_RESPONSE,
            "created_at": 1796220000.0,
            "updated_at": 1796220004.2,
            "stage": "generation",
            "generation_job_id": "7e6d5c4b3a2918f7e6d5c4b3a2918f7e",
        },
        JobCreated: {"job_id": JOB_ID, "state": "queued", "status_url": f"/v1/jobs/{JOB_ID}"},
        RagJobPage: {
            "jobs": [
                {
                    "job_id": JOB_ID,
                    "state": "succeeded",
                    "stage": "generation",
                    "progress": {"step": 30, "total": 30},
                    "cancel_requested": False,
                    "error": None,
                    "created_at": 1796220000.0,
                    "updated_at": 1796220004.2,
                    "status_url": f"/v1/jobs/{JOB_ID}",
                }
            ],
            "next_cursor": f"1796220000.0:{JOB_ID}",
        },
        StyleList: {
            "styles": [
                {
                    "name": "nitik",
                    "base_model": "stable-diffusion-v1-5/stable-diffusion-v1-5",
                    "base_version": "6d3b",
                    "rank": 8,
                    "trigger_words": ["nitik batik"],
                    "version": "a1b2c3",
                    "fused": False,
                }
            ],
            "default": None,
            "preview": False,
        },
        Design: DESIGN,
        DesignPage: {"designs": [DESIGN], "next_cursor": None},
        DesignUpdate: {"title": "Truntum in brown", "tags": ["truntum"], "favorite": True},
        NearestResponse: {"designs": [{"design": DESIGN, "score": 0.91}]},
        ImportResponse: {
            "request": {"text": "kawung nitik", "seed": 3, "steps": 10, "guidance_scale": 7.0},
            "source": "parameters",
        },
        BoardCreate: {"name": "Stars"},
        BoardUpdate: {"name": "Stars and flowers"},
        Board: BOARD,
        BoardList: {"boards": [BOARD]},
    }


INDEX_STATUS = {
    "version": INDEX_VERSION,
    "type": "flat",
    "size": 3840,
    "dim": 512,
    "motifs": 60,
    "model": "openai/clip-vit-base-patch32",
    "model_version": "3d74acf",
    "params": {"nlist": 0},
    "device": "cpu",
    "directory": "/data/index/20260101T000000Z",
    "created": "2026-01-01T00:00:00Z",
    "loaded_at": "2026-12-01T14:00:00Z",
    "load_seconds": 1.8,
}
GENERATED = {
    "seed": 7,
    "seeds": [7],
    "mode": "img2img",
    "scheduler": "pndm",
    "prompt_tokens": 15,
    "prompt_chunks": 1,
    "truncated": False,
    "model": "stable-diffusion-v1-5/stable-diffusion-v1-5",
    "symmetry": "none",
    "symmetry_scores": {},
    "tile": False,
    "control_scale": None,
    "model_version": "sd15@6d3b",
    "styles": [],
    "preview": False,
}
GENERATE_REQUEST = {
    "prompt": "sekar bunga, Truntum, a brown batik with small stars",
    "init_image": PNG_B64,
    "strength": 0.55,
    "steps": 30,
    "seed": 7,
}


def _internal() -> dict[type[BaseModel], dict[str, Any]]:
    from services.common.contracts.captioning import (
        AdaptersResponse,
        CaptionRequest,
        CaptionResponse,
        VqaRequest,
        VqaResponse,
    )
    from services.common.contracts.generation import (
        GenerateRequest,
        GenerateResponse,
        GenerationJob,
        StyleReload,
        UpscaleRequest,
        UpscaleResponse,
    )
    from services.common.contracts.library import DesignCreate, NearestRequest
    from services.common.contracts.retrieval import (
        EmbedResponse,
        IndexStatus,
        ReloadResponse,
        SearchResponse,
    )

    return {
        SearchResponse: {
            "hits": [HIT],
            "index": {"version": INDEX_VERSION, "size": 3840, "model": "clip", "type": "flat"},
            "search": {"exact": True, "candidates": 20, "deduped": True},
            "query": {"language": "id", "lexical_weight": 0.5, "fusion": "rrf"},
        },
        EmbedResponse: {
            "model": "openai/clip-vit-base-patch32",
            "model_version": "3d74acf",
            "dim": 4,
            "texts": [[0.5, 0.5, 0.5, 0.5]],
            "images": [],
        },
        IndexStatus: INDEX_STATUS,
        ReloadResponse: {"previous_version": "20251201T000000Z-1a2b", "index": INDEX_STATUS},
        CaptionRequest: {"image": PNG_B64, "max_new_tokens": 40},
        CaptionResponse: {
            "caption": "a brown batik with small stars",
            "captions": [{"caption": "a brown batik with small stars", "degenerate": False}],
            "model": "Salesforce/blip2-opt-2.7b",
            "adapter": "batik-nitik",
        },
        VqaRequest: {"image": PNG_B64, "question": "What colour is the motif?"},
        VqaResponse: {"answer": "brown", "model": "Salesforce/blip2-opt-2.7b"},
        AdaptersResponse: {
            "model": "Salesforce/blip2-opt-2.7b",
            "default": "batik-nitik",
            "adapters": [
                {
                    "name": "batik-nitik",
                    "default": True,
                    "merged": True,
                    "source": "/models/adapters/batik-nitik",
                    "version": "c0ffee",
                }
            ],
        },
        GenerateRequest: GENERATE_REQUEST,
        GenerateResponse: {**GENERATED, "images": [PNG_B64]},
        GenerationJob: {
            "job_id": JOB_ID,
            "kind": "generate",
            "state": "succeeded",
            "progress": {"step": 30, "total": 30},
            "result": {**GENERATED, "images": [f"/v1/jobs/{JOB_ID}/images/0"]},
            "created_at": 1796220000.0,
            "updated_at": 1796220003.1,
        },
        StyleReload: {
            "styles": [],
            "default": None,
            "preview": False,
            "added": ["nitik"],
            "removed": [],
            "skipped": [],
        },
        DesignCreate: {
            "image_b64": PNG_B64,
            "provenance": {"request": {"text": "sekar bunga", "seed": 7}},
            "title": "Truntum in brown",
            "tags": ["truntum"],
        },
        NearestRequest: {"embedding": [0.5, 0.5, 0.5, 0.5], "limit": 10},
        UpscaleRequest: {"image": PNG_B64, "repeat": "full", "factor": 2.0},
        UpscaleResponse: {
            "image": PNG_B64,
            "width": 1024,
            "height": 1024,
            "repeat": "full",
            "method": "lanczos",
        },
    }
