from http import HTTPStatus
from io import BytesIO
from typing import Any, cast
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.get_reference_image_size import GetReferenceImageSize
from ...types import UNSET, File, Response, Unset


def _get_kwargs(
    item_id: int,
    *,
    size: GetReferenceImageSize | Unset = GetReferenceImageSize.VALUE_224,
    index_version: None | str | Unset = UNSET,
    if_none_match: None | str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(if_none_match, Unset):
        headers["if-none-match"] = if_none_match

    params: dict[str, Any] = {}

    json_size: int | Unset = UNSET
    if not isinstance(size, Unset):
        json_size = size.value

    params["size"] = json_size

    json_index_version: None | str | Unset
    if isinstance(index_version, Unset):
        json_index_version = UNSET
    else:
        json_index_version = index_version
    params["index_version"] = json_index_version

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/images/{item_id}".format(
            item_id=quote(str(item_id), safe=""),
        ),
        "params": params,
    }

    _kwargs["headers"] = headers
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
    item_id: int,
    *,
    client: AuthenticatedClient | Client,
    size: GetReferenceImageSize | Unset = GetReferenceImageSize.VALUE_224,
    index_version: None | str | Unset = UNSET,
    if_none_match: None | str | Unset = UNSET,
) -> Response[Any | ErrorBody | File]:
    """A reference photo of the index (the `id` of a reference), as JPEG

     The photo behind a reference's `id`, at 224 or 512 px. With the answer's `index_version` it is bound
    to that index (404 once another is loaded) and cacheable for a day; its ETag names version, size and
    id, and `If-None-Match` answers 304.

    Args:
        item_id (int): A reference's `id` (a row of the index).
        size (GetReferenceImageSize | Unset): Side in pixels: 224 or 512. Default:
            GetReferenceImageSize.VALUE_224.
        index_version (None | str | Unset): The answer's `index_version`: ids belong to one index
            version, so once the index is reloaded to another one this is 404 (search again), never
            another row's image; with it the image may be cached for a day, without it every use
            revalidates its ETag.
        if_none_match (None | str | Unset): An ETag of this image seen before: 304 without a body
            when current.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | ErrorBody | File]
    """

    kwargs = _get_kwargs(
        item_id=item_id,
        size=size,
        index_version=index_version,
        if_none_match=if_none_match,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    item_id: int,
    *,
    client: AuthenticatedClient | Client,
    size: GetReferenceImageSize | Unset = GetReferenceImageSize.VALUE_224,
    index_version: None | str | Unset = UNSET,
    if_none_match: None | str | Unset = UNSET,
) -> Any | ErrorBody | File | None:
    """A reference photo of the index (the `id` of a reference), as JPEG

     The photo behind a reference's `id`, at 224 or 512 px. With the answer's `index_version` it is bound
    to that index (404 once another is loaded) and cacheable for a day; its ETag names version, size and
    id, and `If-None-Match` answers 304.

    Args:
        item_id (int): A reference's `id` (a row of the index).
        size (GetReferenceImageSize | Unset): Side in pixels: 224 or 512. Default:
            GetReferenceImageSize.VALUE_224.
        index_version (None | str | Unset): The answer's `index_version`: ids belong to one index
            version, so once the index is reloaded to another one this is 404 (search again), never
            another row's image; with it the image may be cached for a day, without it every use
            revalidates its ETag.
        if_none_match (None | str | Unset): An ETag of this image seen before: 304 without a body
            when current.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | ErrorBody | File
    """

    return sync_detailed(
        item_id=item_id,
        client=client,
        size=size,
        index_version=index_version,
        if_none_match=if_none_match,
    ).parsed


async def asyncio_detailed(
    item_id: int,
    *,
    client: AuthenticatedClient | Client,
    size: GetReferenceImageSize | Unset = GetReferenceImageSize.VALUE_224,
    index_version: None | str | Unset = UNSET,
    if_none_match: None | str | Unset = UNSET,
) -> Response[Any | ErrorBody | File]:
    """A reference photo of the index (the `id` of a reference), as JPEG

     The photo behind a reference's `id`, at 224 or 512 px. With the answer's `index_version` it is bound
    to that index (404 once another is loaded) and cacheable for a day; its ETag names version, size and
    id, and `If-None-Match` answers 304.

    Args:
        item_id (int): A reference's `id` (a row of the index).
        size (GetReferenceImageSize | Unset): Side in pixels: 224 or 512. Default:
            GetReferenceImageSize.VALUE_224.
        index_version (None | str | Unset): The answer's `index_version`: ids belong to one index
            version, so once the index is reloaded to another one this is 404 (search again), never
            another row's image; with it the image may be cached for a day, without it every use
            revalidates its ETag.
        if_none_match (None | str | Unset): An ETag of this image seen before: 304 without a body
            when current.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | ErrorBody | File]
    """

    kwargs = _get_kwargs(
        item_id=item_id,
        size=size,
        index_version=index_version,
        if_none_match=if_none_match,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    item_id: int,
    *,
    client: AuthenticatedClient | Client,
    size: GetReferenceImageSize | Unset = GetReferenceImageSize.VALUE_224,
    index_version: None | str | Unset = UNSET,
    if_none_match: None | str | Unset = UNSET,
) -> Any | ErrorBody | File | None:
    """A reference photo of the index (the `id` of a reference), as JPEG

     The photo behind a reference's `id`, at 224 or 512 px. With the answer's `index_version` it is bound
    to that index (404 once another is loaded) and cacheable for a day; its ETag names version, size and
    id, and `If-None-Match` answers 304.

    Args:
        item_id (int): A reference's `id` (a row of the index).
        size (GetReferenceImageSize | Unset): Side in pixels: 224 or 512. Default:
            GetReferenceImageSize.VALUE_224.
        index_version (None | str | Unset): The answer's `index_version`: ids belong to one index
            version, so once the index is reloaded to another one this is 404 (search again), never
            another row's image; with it the image may be cached for a day, without it every use
            revalidates its ETag.
        if_none_match (None | str | Unset): An ETag of this image seen before: 304 without a body
            when current.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | ErrorBody | File
    """

    return (
        await asyncio_detailed(
            item_id=item_id,
            client=client,
            size=size,
            index_version=index_version,
            if_none_match=if_none_match,
        )
    ).parsed
