from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.rag_job import RagJob
from ...models.response_format import ResponseFormat
from ...types import UNSET, Response, Unset


def _get_kwargs(
    job_id: str,
    *,
    response_format: None | ResponseFormat | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_response_format: None | str | Unset
    if isinstance(response_format, Unset):
        json_response_format = UNSET
    elif isinstance(response_format, ResponseFormat):
        json_response_format = response_format.value
    else:
        json_response_format = response_format
    params["response_format"] = json_response_format

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/jobs/{job_id}".format(
            job_id=quote(str(job_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> ErrorBody | RagJob | None:
    if response.status_code == 200:
        response_200 = RagJob.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = ErrorBody.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ErrorBody.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = ErrorBody.from_dict(response.json())

        return response_404

    if response.status_code == 422:
        response_422 = ErrorBody.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = ErrorBody.from_dict(response.json())

        return response_429

    if response.status_code == 500:
        response_500 = ErrorBody.from_dict(response.json())

        return response_500

    if response.status_code == 503:
        response_503 = ErrorBody.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[ErrorBody | RagJob]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    job_id: str,
    *,
    client: AuthenticatedClient | Client,
    response_format: None | ResponseFormat | Unset = UNSET,
) -> Response[ErrorBody | RagJob]:
    """State, stage, generation progress, and the RAG answer (or error) of a job

     The job's record: `state` (queued, running, succeeded, failed, cancelled), the `stage` running,
    generation `progress` (steps of total), and once it ends the RAG answer in `result` or the refusal
    in `error`. Another key's job answers 404.

    Args:
        job_id (str): The `job_id` that `POST /v1/jobs` answered (32 hex digits).
        response_format (None | ResponseFormat | Unset): `b64_json`: images (and previews) inline
            as base64 PNG in `images`; `url`: `images` is empty and `image_urls` lists signed,
            expiring URLs that need no API key (an `<img src>` works). Default: the job's own.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | RagJob]
    """

    kwargs = _get_kwargs(
        job_id=job_id,
        response_format=response_format,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    job_id: str,
    *,
    client: AuthenticatedClient | Client,
    response_format: None | ResponseFormat | Unset = UNSET,
) -> ErrorBody | RagJob | None:
    """State, stage, generation progress, and the RAG answer (or error) of a job

     The job's record: `state` (queued, running, succeeded, failed, cancelled), the `stage` running,
    generation `progress` (steps of total), and once it ends the RAG answer in `result` or the refusal
    in `error`. Another key's job answers 404.

    Args:
        job_id (str): The `job_id` that `POST /v1/jobs` answered (32 hex digits).
        response_format (None | ResponseFormat | Unset): `b64_json`: images (and previews) inline
            as base64 PNG in `images`; `url`: `images` is empty and `image_urls` lists signed,
            expiring URLs that need no API key (an `<img src>` works). Default: the job's own.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | RagJob
    """

    return sync_detailed(
        job_id=job_id,
        client=client,
        response_format=response_format,
    ).parsed


async def asyncio_detailed(
    job_id: str,
    *,
    client: AuthenticatedClient | Client,
    response_format: None | ResponseFormat | Unset = UNSET,
) -> Response[ErrorBody | RagJob]:
    """State, stage, generation progress, and the RAG answer (or error) of a job

     The job's record: `state` (queued, running, succeeded, failed, cancelled), the `stage` running,
    generation `progress` (steps of total), and once it ends the RAG answer in `result` or the refusal
    in `error`. Another key's job answers 404.

    Args:
        job_id (str): The `job_id` that `POST /v1/jobs` answered (32 hex digits).
        response_format (None | ResponseFormat | Unset): `b64_json`: images (and previews) inline
            as base64 PNG in `images`; `url`: `images` is empty and `image_urls` lists signed,
            expiring URLs that need no API key (an `<img src>` works). Default: the job's own.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | RagJob]
    """

    kwargs = _get_kwargs(
        job_id=job_id,
        response_format=response_format,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    job_id: str,
    *,
    client: AuthenticatedClient | Client,
    response_format: None | ResponseFormat | Unset = UNSET,
) -> ErrorBody | RagJob | None:
    """State, stage, generation progress, and the RAG answer (or error) of a job

     The job's record: `state` (queued, running, succeeded, failed, cancelled), the `stage` running,
    generation `progress` (steps of total), and once it ends the RAG answer in `result` or the refusal
    in `error`. Another key's job answers 404.

    Args:
        job_id (str): The `job_id` that `POST /v1/jobs` answered (32 hex digits).
        response_format (None | ResponseFormat | Unset): `b64_json`: images (and previews) inline
            as base64 PNG in `images`; `url`: `images` is empty and `image_urls` lists signed,
            expiring URLs that need no API key (an `<img src>` works). Default: the job's own.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | RagJob
    """

    return (
        await asyncio_detailed(
            job_id=job_id,
            client=client,
            response_format=response_format,
        )
    ).parsed
