import datetime
from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.design_page import DesignPage
from ...models.error_body import ErrorBody
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    limit: int | Unset = 50,
    cursor: None | str | Unset = UNSET,
    motif: int | None | Unset = UNSET,
    board: None | str | Unset = UNSET,
    favorite: bool | None | Unset = UNSET,
    created_after: datetime.datetime | None | Unset = UNSET,
    created_before: datetime.datetime | None | Unset = UNSET,
    q: None | str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["limit"] = limit

    json_cursor: None | str | Unset
    if isinstance(cursor, Unset):
        json_cursor = UNSET
    else:
        json_cursor = cursor
    params["cursor"] = json_cursor

    json_motif: int | None | Unset
    if isinstance(motif, Unset):
        json_motif = UNSET
    else:
        json_motif = motif
    params["motif"] = json_motif

    json_board: None | str | Unset
    if isinstance(board, Unset):
        json_board = UNSET
    else:
        json_board = board
    params["board"] = json_board

    json_favorite: bool | None | Unset
    if isinstance(favorite, Unset):
        json_favorite = UNSET
    else:
        json_favorite = favorite
    params["favorite"] = json_favorite

    json_created_after: None | str | Unset
    if isinstance(created_after, Unset):
        json_created_after = UNSET
    elif isinstance(created_after, datetime.datetime):
        json_created_after = created_after.isoformat()
    else:
        json_created_after = created_after
    params["created_after"] = json_created_after

    json_created_before: None | str | Unset
    if isinstance(created_before, Unset):
        json_created_before = UNSET
    elif isinstance(created_before, datetime.datetime):
        json_created_before = created_before.isoformat()
    else:
        json_created_before = created_before
    params["created_before"] = json_created_before

    json_q: None | str | Unset
    if isinstance(q, Unset):
        json_q = UNSET
    else:
        json_q = q
    params["q"] = json_q

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/designs",
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> DesignPage | ErrorBody | None:
    if response.status_code == 200:
        response_200 = DesignPage.from_dict(response.json())

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
) -> Response[DesignPage | ErrorBody]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = 50,
    cursor: None | str | Unset = UNSET,
    motif: int | None | Unset = UNSET,
    board: None | str | Unset = UNSET,
    favorite: bool | None | Unset = UNSET,
    created_after: datetime.datetime | None | Unset = UNSET,
    created_before: datetime.datetime | None | Unset = UNSET,
    q: None | str | Unset = UNSET,
) -> Response[DesignPage | ErrorBody]:
    """The caller's designs, newest first, a page at a time, with filters

     Pages of the caller's saved designs (an admin key: everyone's), newest first; pass `next_cursor` as
    `cursor` for the next page. Filters combine; a `board` that is not the caller's answers 404.

    Args:
        limit (int | Unset): Designs per page. Default: 50.
        cursor (None | str | Unset): `next_cursor` of the page before.
        motif (int | None | Unset): Only designs made from this motif number.
        board (None | str | Unset): Only designs on this board (its id, `b_` and 20 hex digits).
        favorite (bool | None | Unset): true: only favourites.
        created_after (datetime.datetime | None | Unset): ISO 8601 time.
        created_before (datetime.datetime | None | Unset): ISO 8601 time.
        q (None | str | Unset): Words in prompt, title or tags.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DesignPage | ErrorBody]
    """

    kwargs = _get_kwargs(
        limit=limit,
        cursor=cursor,
        motif=motif,
        board=board,
        favorite=favorite,
        created_after=created_after,
        created_before=created_before,
        q=q,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = 50,
    cursor: None | str | Unset = UNSET,
    motif: int | None | Unset = UNSET,
    board: None | str | Unset = UNSET,
    favorite: bool | None | Unset = UNSET,
    created_after: datetime.datetime | None | Unset = UNSET,
    created_before: datetime.datetime | None | Unset = UNSET,
    q: None | str | Unset = UNSET,
) -> DesignPage | ErrorBody | None:
    """The caller's designs, newest first, a page at a time, with filters

     Pages of the caller's saved designs (an admin key: everyone's), newest first; pass `next_cursor` as
    `cursor` for the next page. Filters combine; a `board` that is not the caller's answers 404.

    Args:
        limit (int | Unset): Designs per page. Default: 50.
        cursor (None | str | Unset): `next_cursor` of the page before.
        motif (int | None | Unset): Only designs made from this motif number.
        board (None | str | Unset): Only designs on this board (its id, `b_` and 20 hex digits).
        favorite (bool | None | Unset): true: only favourites.
        created_after (datetime.datetime | None | Unset): ISO 8601 time.
        created_before (datetime.datetime | None | Unset): ISO 8601 time.
        q (None | str | Unset): Words in prompt, title or tags.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DesignPage | ErrorBody
    """

    return sync_detailed(
        client=client,
        limit=limit,
        cursor=cursor,
        motif=motif,
        board=board,
        favorite=favorite,
        created_after=created_after,
        created_before=created_before,
        q=q,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = 50,
    cursor: None | str | Unset = UNSET,
    motif: int | None | Unset = UNSET,
    board: None | str | Unset = UNSET,
    favorite: bool | None | Unset = UNSET,
    created_after: datetime.datetime | None | Unset = UNSET,
    created_before: datetime.datetime | None | Unset = UNSET,
    q: None | str | Unset = UNSET,
) -> Response[DesignPage | ErrorBody]:
    """The caller's designs, newest first, a page at a time, with filters

     Pages of the caller's saved designs (an admin key: everyone's), newest first; pass `next_cursor` as
    `cursor` for the next page. Filters combine; a `board` that is not the caller's answers 404.

    Args:
        limit (int | Unset): Designs per page. Default: 50.
        cursor (None | str | Unset): `next_cursor` of the page before.
        motif (int | None | Unset): Only designs made from this motif number.
        board (None | str | Unset): Only designs on this board (its id, `b_` and 20 hex digits).
        favorite (bool | None | Unset): true: only favourites.
        created_after (datetime.datetime | None | Unset): ISO 8601 time.
        created_before (datetime.datetime | None | Unset): ISO 8601 time.
        q (None | str | Unset): Words in prompt, title or tags.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DesignPage | ErrorBody]
    """

    kwargs = _get_kwargs(
        limit=limit,
        cursor=cursor,
        motif=motif,
        board=board,
        favorite=favorite,
        created_after=created_after,
        created_before=created_before,
        q=q,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = 50,
    cursor: None | str | Unset = UNSET,
    motif: int | None | Unset = UNSET,
    board: None | str | Unset = UNSET,
    favorite: bool | None | Unset = UNSET,
    created_after: datetime.datetime | None | Unset = UNSET,
    created_before: datetime.datetime | None | Unset = UNSET,
    q: None | str | Unset = UNSET,
) -> DesignPage | ErrorBody | None:
    """The caller's designs, newest first, a page at a time, with filters

     Pages of the caller's saved designs (an admin key: everyone's), newest first; pass `next_cursor` as
    `cursor` for the next page. Filters combine; a `board` that is not the caller's answers 404.

    Args:
        limit (int | Unset): Designs per page. Default: 50.
        cursor (None | str | Unset): `next_cursor` of the page before.
        motif (int | None | Unset): Only designs made from this motif number.
        board (None | str | Unset): Only designs on this board (its id, `b_` and 20 hex digits).
        favorite (bool | None | Unset): true: only favourites.
        created_after (datetime.datetime | None | Unset): ISO 8601 time.
        created_before (datetime.datetime | None | Unset): ISO 8601 time.
        q (None | str | Unset): Words in prompt, title or tags.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DesignPage | ErrorBody
    """

    return (
        await asyncio_detailed(
            client=client,
            limit=limit,
            cursor=cursor,
            motif=motif,
            board=board,
            favorite=favorite,
            created_after=created_after,
            created_before=created_before,
            q=q,
        )
    ).parsed
