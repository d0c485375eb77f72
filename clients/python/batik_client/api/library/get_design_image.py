from http import HTTPStatus
from io import BytesIO
from typing import Any, cast
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.get_design_image_size import GetDesignImageSize
from ...types import UNSET, File, Response, Unset


def _get_kwargs(
    design_id: str,
    *,
    size: GetDesignImageSize | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_size: int | Unset = UNSET
    if not isinstance(size, Unset):
        json_size = size.value

    params["size"] = json_size

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/designs/{design_id}/image".format(
            design_id=quote(str(design_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Any | ErrorBody | File | None:
    if response.status_code == 200:
        response_200 = File(payload=BytesIO(response.content))

        return response_200

    if response.status_code == 304:
        response_304 = cast(Any, None)
        return response_304

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
) -> Response[Any | ErrorBody | File]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    design_id: str,
    *,
    client: AuthenticatedClient | Client,
    size: GetDesignImageSize | Unset = UNSET,
) -> Response[Any | ErrorBody | File]:
    """A design's PNG (its settings inside), or a thumbnail with `size`

     Immutable: the answer carries an `ETag` (the PNG's sha256) and a long `Cache-Control`; a request
    with that `If-None-Match` answers 304 without a body.

    Args:
        design_id (str): `d_` and 20 hex digits.
        size (GetDesignImageSize | Unset): Longest side of a thumbnail, pixels: one of (128, 256,
            512).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | ErrorBody | File]
    """

    kwargs = _get_kwargs(
        design_id=design_id,
        size=size,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    design_id: str,
    *,
    client: AuthenticatedClient | Client,
    size: GetDesignImageSize | Unset = UNSET,
) -> Any | ErrorBody | File | None:
    """A design's PNG (its settings inside), or a thumbnail with `size`

     Immutable: the answer carries an `ETag` (the PNG's sha256) and a long `Cache-Control`; a request
    with that `If-None-Match` answers 304 without a body.

    Args:
        design_id (str): `d_` and 20 hex digits.
        size (GetDesignImageSize | Unset): Longest side of a thumbnail, pixels: one of (128, 256,
            512).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | ErrorBody | File
    """

    return sync_detailed(
        design_id=design_id,
        client=client,
        size=size,
    ).parsed


async def asyncio_detailed(
    design_id: str,
    *,
    client: AuthenticatedClient | Client,
    size: GetDesignImageSize | Unset = UNSET,
) -> Response[Any | ErrorBody | File]:
    """A design's PNG (its settings inside), or a thumbnail with `size`

     Immutable: the answer carries an `ETag` (the PNG's sha256) and a long `Cache-Control`; a request
    with that `If-None-Match` answers 304 without a body.

    Args:
        design_id (str): `d_` and 20 hex digits.
        size (GetDesignImageSize | Unset): Longest side of a thumbnail, pixels: one of (128, 256,
            512).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | ErrorBody | File]
    """

    kwargs = _get_kwargs(
        design_id=design_id,
        size=size,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    design_id: str,
    *,
    client: AuthenticatedClient | Client,
    size: GetDesignImageSize | Unset = UNSET,
) -> Any | ErrorBody | File | None:
    """A design's PNG (its settings inside), or a thumbnail with `size`

     Immutable: the answer carries an `ETag` (the PNG's sha256) and a long `Cache-Control`; a request
    with that `If-None-Match` answers 304 without a body.

    Args:
        design_id (str): `d_` and 20 hex digits.
        size (GetDesignImageSize | Unset): Longest side of a thumbnail, pixels: one of (128, 256,
            512).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | ErrorBody | File
    """

    return (
        await asyncio_detailed(
            design_id=design_id,
            client=client,
            size=size,
        )
    ).parsed
