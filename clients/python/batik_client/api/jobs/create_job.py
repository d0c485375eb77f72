from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.job_created import JobCreated
from ...models.rag_job_request import RagJobRequest
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: RagJobRequest,
    idempotency_key: None | str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/jobs",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> ErrorBody | JobCreated | None:
    if response.status_code == 202:
        response_202 = JobCreated.from_dict(response.json())

        return response_202

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

    if response.status_code == 503:
        response_503 = ErrorBody.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorBody | JobCreated]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: RagJobRequest,
    idempotency_key: None | str | Unset = UNSET,
) -> Response[ErrorBody | JobCreated]:
    """Run the RAG flow as a job (the /v1/rag body); poll GET /v1/jobs/{job_id}

     Answers 202 with the job id at once. A request whose answer is cached makes a job that is already
    `succeeded`. The seed is fixed now (random when omitted), so a job that is run again after a gateway
    stopped gives the same answer. With `Idempotency-Key`, a retry answers the first request's job
    (`Idempotent-Replayed: true`); with `callback_url`, a signed `job.finished` event is POSTed there
    when the job ends.

    Args:
        idempotency_key (None | str | Unset): Any unique string (a UUID) of up to 255 printable
            ASCII characters: a retry with the same key and body within 24 h (a job's key: while its
            job is kept, GATEWAY_JOB_TTL_S, when that is shorter) answers what the first request did;
            the same key with another body is 422 `idempotency_mismatch`. Keys are per API key.
        body (RagJobRequest): `POST /v1/jobs`: the `/v1/rag` body, and where to report the job's
            end.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | JobCreated]
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
    body: RagJobRequest,
    idempotency_key: None | str | Unset = UNSET,
) -> ErrorBody | JobCreated | None:
    """Run the RAG flow as a job (the /v1/rag body); poll GET /v1/jobs/{job_id}

     Answers 202 with the job id at once. A request whose answer is cached makes a job that is already
    `succeeded`. The seed is fixed now (random when omitted), so a job that is run again after a gateway
    stopped gives the same answer. With `Idempotency-Key`, a retry answers the first request's job
    (`Idempotent-Replayed: true`); with `callback_url`, a signed `job.finished` event is POSTed there
    when the job ends.

    Args:
        idempotency_key (None | str | Unset): Any unique string (a UUID) of up to 255 printable
            ASCII characters: a retry with the same key and body within 24 h (a job's key: while its
            job is kept, GATEWAY_JOB_TTL_S, when that is shorter) answers what the first request did;
            the same key with another body is 422 `idempotency_mismatch`. Keys are per API key.
        body (RagJobRequest): `POST /v1/jobs`: the `/v1/rag` body, and where to report the job's
            end.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | JobCreated
    """

    return sync_detailed(
        client=client,
        body=body,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: RagJobRequest,
    idempotency_key: None | str | Unset = UNSET,
) -> Response[ErrorBody | JobCreated]:
    """Run the RAG flow as a job (the /v1/rag body); poll GET /v1/jobs/{job_id}

     Answers 202 with the job id at once. A request whose answer is cached makes a job that is already
    `succeeded`. The seed is fixed now (random when omitted), so a job that is run again after a gateway
    stopped gives the same answer. With `Idempotency-Key`, a retry answers the first request's job
    (`Idempotent-Replayed: true`); with `callback_url`, a signed `job.finished` event is POSTed there
    when the job ends.

    Args:
        idempotency_key (None | str | Unset): Any unique string (a UUID) of up to 255 printable
            ASCII characters: a retry with the same key and body within 24 h (a job's key: while its
            job is kept, GATEWAY_JOB_TTL_S, when that is shorter) answers what the first request did;
            the same key with another body is 422 `idempotency_mismatch`. Keys are per API key.
        body (RagJobRequest): `POST /v1/jobs`: the `/v1/rag` body, and where to report the job's
            end.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | JobCreated]
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
    body: RagJobRequest,
    idempotency_key: None | str | Unset = UNSET,
) -> ErrorBody | JobCreated | None:
    """Run the RAG flow as a job (the /v1/rag body); poll GET /v1/jobs/{job_id}

     Answers 202 with the job id at once. A request whose answer is cached makes a job that is already
    `succeeded`. The seed is fixed now (random when omitted), so a job that is run again after a gateway
    stopped gives the same answer. With `Idempotency-Key`, a retry answers the first request's job
    (`Idempotent-Replayed: true`); with `callback_url`, a signed `job.finished` event is POSTed there
    when the job ends.

    Args:
        idempotency_key (None | str | Unset): Any unique string (a UUID) of up to 255 printable
            ASCII characters: a retry with the same key and body within 24 h (a job's key: while its
            job is kept, GATEWAY_JOB_TTL_S, when that is shorter) answers what the first request did;
            the same key with another body is 422 `idempotency_mismatch`. Keys are per API key.
        body (RagJobRequest): `POST /v1/jobs`: the `/v1/rag` body, and where to report the job's
            end.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | JobCreated
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed
