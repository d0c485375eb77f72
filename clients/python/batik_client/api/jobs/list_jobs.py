from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.job_state import JobState
from ...models.rag_job_page import RagJobPage
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
    state: JobState | None | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["limit"] = limit

    json_cursor: None | str | Unset
    if isinstance(cursor, Unset):
        json_cursor = UNSET
    else:
        json_cursor = cursor
    params["cursor"] = json_cursor

    json_state: None | str | Unset
    if isinstance(state, Unset):
        json_state = UNSET
    elif isinstance(state, JobState):
        json_state = state.value
    else:
        json_state = state
    params["state"] = json_state

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/jobs",
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> ErrorBody | RagJobPage | None:
    if response.status_code == 200:
        response_200 = RagJobPage.from_dict(response.json())

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


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorBody | RagJobPage]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
    state: JobState | None | Unset = UNSET,
) -> Response[ErrorBody | RagJobPage]:
    """The caller's jobs, newest first, a page at a time (without their answers)

     Jobs stay listed as long as their records live (GATEWAY_JOB_TTL_S). Pass a page's `next_cursor` as
    `cursor` for the next one; jobs created meanwhile never shift a page.

    Args:
        limit (int | Unset): Jobs per page. Default: 20.
        cursor (None | str | Unset): `next_cursor` of the page before.
        state (JobState | None | Unset): Only jobs in this state.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | RagJobPage]
    """

    kwargs = _get_kwargs(
        limit=limit,
        cursor=cursor,
        state=state,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
    state: JobState | None | Unset = UNSET,
) -> ErrorBody | RagJobPage | None:
    """The caller's jobs, newest first, a page at a time (without their answers)

     Jobs stay listed as long as their records live (GATEWAY_JOB_TTL_S). Pass a page's `next_cursor` as
    `cursor` for the next one; jobs created meanwhile never shift a page.

    Args:
        limit (int | Unset): Jobs per page. Default: 20.
        cursor (None | str | Unset): `next_cursor` of the page before.
        state (JobState | None | Unset): Only jobs in this state.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | RagJobPage
    """

    return sync_detailed(
        client=client,
        limit=limit,
        cursor=cursor,
        state=state,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
    state: JobState | None | Unset = UNSET,
) -> Response[ErrorBody | RagJobPage]:
    """The caller's jobs, newest first, a page at a time (without their answers)

     Jobs stay listed as long as their records live (GATEWAY_JOB_TTL_S). Pass a page's `next_cursor` as
    `cursor` for the next one; jobs created meanwhile never shift a page.

    Args:
        limit (int | Unset): Jobs per page. Default: 20.
        cursor (None | str | Unset): `next_cursor` of the page before.
        state (JobState | None | Unset): Only jobs in this state.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | RagJobPage]
    """

    kwargs = _get_kwargs(
        limit=limit,
        cursor=cursor,
        state=state,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
    state: JobState | None | Unset = UNSET,
) -> ErrorBody | RagJobPage | None:
    """The caller's jobs, newest first, a page at a time (without their answers)

     Jobs stay listed as long as their records live (GATEWAY_JOB_TTL_S). Pass a page's `next_cursor` as
    `cursor` for the next one; jobs created meanwhile never shift a page.

    Args:
        limit (int | Unset): Jobs per page. Default: 20.
        cursor (None | str | Unset): `next_cursor` of the page before.
        state (JobState | None | Unset): Only jobs in this state.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | RagJobPage
    """

    return (
        await asyncio_detailed(
            client=client,
            limit=limit,
            cursor=cursor,
            state=state,
        )
    ).parsed
