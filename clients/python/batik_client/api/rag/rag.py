from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.rag_request import RagRequest
from ...models.rag_response import RagResponse
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: RagRequest,
    idempotency_key: None | str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/rag",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | RagResponse | None:
    if response.status_code == 200:
        response_200 = RagResponse.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = ErrorBody.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ErrorBody.from_dict(response.json())

        return response_403

    if response.status_code == 413:
        response_413 = ErrorBody.from_dict(response.json())

        return response_413

    if response.status_code == 415:
        response_415 = ErrorBody.from_dict(response.json())

        return response_415

    if response.status_code == 422:
        response_422 = ErrorBody.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = ErrorBody.from_dict(response.json())

        return response_429

    if response.status_code == 500:
        response_500 = ErrorBody.from_dict(response.json())

        return response_500

    if response.status_code == 502:
        response_502 = ErrorBody.from_dict(response.json())

        return response_502

    if response.status_code == 503:
        response_503 = ErrorBody.from_dict(response.json())

        return response_503

    if response.status_code == 504:
        response_504 = ErrorBody.from_dict(response.json())

        return response_504

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorBody | RagResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: RagRequest,
    idempotency_key: None | str | Unset = UNSET,
) -> Response[ErrorBody | RagResponse]:
    """Retrieve, caption, fuse and generate: the whole Batik Nitik RAG flow

     Finds the motifs nearest to `text` and/or `image` (CLIP + BM25), captions the top reference
    (BLIP-2), fuses query, caption and motif facts into one prompt of at most 77 tokens, and generates
    from the reference (img2img), the query image or nothing (txt2img). Answers the references,
    captions, the prompt with its parts, the images (base64 PNG), the seed, timings and the designs
    saved. A failed caption degrades the answer (`degraded`), not the call. The same request and seed
    answer from the cache.

    Args:
        idempotency_key (None | str | Unset): Any unique string (a UUID) of up to 255 printable
            ASCII characters: a retry with the same key and body within 24 h (a job's key: while its
            job is kept, GATEWAY_JOB_TTL_S, when that is shorter) answers what the first request did;
            the same key with another body is 422 `idempotency_mismatch`. Keys are per API key.
        body (RagRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | RagResponse]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: RagRequest,
    idempotency_key: None | str | Unset = UNSET,
) -> ErrorBody | RagResponse | None:
    """Retrieve, caption, fuse and generate: the whole Batik Nitik RAG flow

     Finds the motifs nearest to `text` and/or `image` (CLIP + BM25), captions the top reference
    (BLIP-2), fuses query, caption and motif facts into one prompt of at most 77 tokens, and generates
    from the reference (img2img), the query image or nothing (txt2img). Answers the references,
    captions, the prompt with its parts, the images (base64 PNG), the seed, timings and the designs
    saved. A failed caption degrades the answer (`degraded`), not the call. The same request and seed
    answer from the cache.

    Args:
        idempotency_key (None | str | Unset): Any unique string (a UUID) of up to 255 printable
            ASCII characters: a retry with the same key and body within 24 h (a job's key: while its
            job is kept, GATEWAY_JOB_TTL_S, when that is shorter) answers what the first request did;
            the same key with another body is 422 `idempotency_mismatch`. Keys are per API key.
        body (RagRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | RagResponse
    """

    return sync_detailed(
        client=client,
        body=body,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: RagRequest,
    idempotency_key: None | str | Unset = UNSET,
) -> Response[ErrorBody | RagResponse]:
    """Retrieve, caption, fuse and generate: the whole Batik Nitik RAG flow

     Finds the motifs nearest to `text` and/or `image` (CLIP + BM25), captions the top reference
    (BLIP-2), fuses query, caption and motif facts into one prompt of at most 77 tokens, and generates
    from the reference (img2img), the query image or nothing (txt2img). Answers the references,
    captions, the prompt with its parts, the images (base64 PNG), the seed, timings and the designs
    saved. A failed caption degrades the answer (`degraded`), not the call. The same request and seed
    answer from the cache.

    Args:
        idempotency_key (None | str | Unset): Any unique string (a UUID) of up to 255 printable
            ASCII characters: a retry with the same key and body within 24 h (a job's key: while its
            job is kept, GATEWAY_JOB_TTL_S, when that is shorter) answers what the first request did;
            the same key with another body is 422 `idempotency_mismatch`. Keys are per API key.
        body (RagRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | RagResponse]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: RagRequest,
    idempotency_key: None | str | Unset = UNSET,
) -> ErrorBody | RagResponse | None:
    """Retrieve, caption, fuse and generate: the whole Batik Nitik RAG flow

     Finds the motifs nearest to `text` and/or `image` (CLIP + BM25), captions the top reference
    (BLIP-2), fuses query, caption and motif facts into one prompt of at most 77 tokens, and generates
    from the reference (img2img), the query image or nothing (txt2img). Answers the references,
    captions, the prompt with its parts, the images (base64 PNG), the seed, timings and the designs
    saved. A failed caption degrades the answer (`degraded`), not the call. The same request and seed
    answer from the cache.

    Args:
        idempotency_key (None | str | Unset): Any unique string (a UUID) of up to 255 printable
            ASCII characters: a retry with the same key and body within 24 h (a job's key: while its
            job is kept, GATEWAY_JOB_TTL_S, when that is shorter) answers what the first request did;
            the same key with another body is 422 `idempotency_mismatch`. Keys are per API key.
        body (RagRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | RagResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed
