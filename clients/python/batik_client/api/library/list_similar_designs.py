from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.nearest_response import NearestResponse
from ...types import UNSET, Response, Unset


def _get_kwargs(
    design_id: str,
    *,
    limit: int | Unset = 10,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["limit"] = limit

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/designs/{design_id}/similar".format(
            design_id=quote(str(design_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | NearestResponse | None:
    if response.status_code == 200:
        response_200 = NearestResponse.from_dict(response.json())

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
) -> Response[ErrorBody | NearestResponse]:
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
    limit: int | Unset = 10,
) -> Response[ErrorBody | NearestResponse]:
    """The caller's designs nearest to this one (CLIP embedding, cosine)

     The caller's other designs ranked by the cosine similarity of their CLIP image embeddings to this
    one's, best first.

    Args:
        design_id (str): `d_` and 20 hex digits.
        limit (int | Unset): Designs to answer, best first. Default: 10.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | NearestResponse]
    """

    kwargs = _get_kwargs(
        design_id=design_id,
        limit=limit,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    design_id: str,
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = 10,
) -> ErrorBody | NearestResponse | None:
    """The caller's designs nearest to this one (CLIP embedding, cosine)

     The caller's other designs ranked by the cosine similarity of their CLIP image embeddings to this
    one's, best first.

    Args:
        design_id (str): `d_` and 20 hex digits.
        limit (int | Unset): Designs to answer, best first. Default: 10.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | NearestResponse
    """

    return sync_detailed(
        design_id=design_id,
        client=client,
        limit=limit,
    ).parsed


async def asyncio_detailed(
    design_id: str,
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = 10,
) -> Response[ErrorBody | NearestResponse]:
    """The caller's designs nearest to this one (CLIP embedding, cosine)

     The caller's other designs ranked by the cosine similarity of their CLIP image embeddings to this
    one's, best first.

    Args:
        design_id (str): `d_` and 20 hex digits.
        limit (int | Unset): Designs to answer, best first. Default: 10.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | NearestResponse]
    """

    kwargs = _get_kwargs(
        design_id=design_id,
        limit=limit,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    design_id: str,
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = 10,
) -> ErrorBody | NearestResponse | None:
    """The caller's designs nearest to this one (CLIP embedding, cosine)

     The caller's other designs ranked by the cosine similarity of their CLIP image embeddings to this
    one's, best first.

    Args:
        design_id (str): `d_` and 20 hex digits.
        limit (int | Unset): Designs to answer, best first. Default: 10.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | NearestResponse
    """

    return (
        await asyncio_detailed(
            design_id=design_id,
            client=client,
            limit=limit,
        )
    ).parsed
