from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.colorway_request import ColorwayRequest
from ...models.colorway_response import ColorwayResponse
from ...models.error_body import ErrorBody
from ...types import Response


def _get_kwargs(
    design_id: str,
    *,
    body: ColorwayRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/designs/{design_id}/colorways".format(
            design_id=quote(str(design_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ColorwayResponse | ErrorBody | None:
    if response.status_code == 200:
        response_200 = ColorwayResponse.from_dict(response.json())

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
) -> Response[ColorwayResponse | ErrorBody]:
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
    body: ColorwayRequest,
) -> Response[ColorwayResponse | ErrorBody]:
    """A design in named batik palettes, side by side; each saved as a child design

     Each palette's variant keeps the design's structure (its colour clusters, mapped onto the palette
    darkest to darkest) and is saved as a design whose `parent_id` is this one, with the palette and its
    source in its provenance (`save: false` keeps nothing).

    Args:
        design_id (str): `d_` and 20 hex digits.
        body (ColorwayRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ColorwayResponse | ErrorBody]
    """

    kwargs = _get_kwargs(
        design_id=design_id,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    design_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: ColorwayRequest,
) -> ColorwayResponse | ErrorBody | None:
    """A design in named batik palettes, side by side; each saved as a child design

     Each palette's variant keeps the design's structure (its colour clusters, mapped onto the palette
    darkest to darkest) and is saved as a design whose `parent_id` is this one, with the palette and its
    source in its provenance (`save: false` keeps nothing).

    Args:
        design_id (str): `d_` and 20 hex digits.
        body (ColorwayRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ColorwayResponse | ErrorBody
    """

    return sync_detailed(
        design_id=design_id,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    design_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: ColorwayRequest,
) -> Response[ColorwayResponse | ErrorBody]:
    """A design in named batik palettes, side by side; each saved as a child design

     Each palette's variant keeps the design's structure (its colour clusters, mapped onto the palette
    darkest to darkest) and is saved as a design whose `parent_id` is this one, with the palette and its
    source in its provenance (`save: false` keeps nothing).

    Args:
        design_id (str): `d_` and 20 hex digits.
        body (ColorwayRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ColorwayResponse | ErrorBody]
    """

    kwargs = _get_kwargs(
        design_id=design_id,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    design_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: ColorwayRequest,
) -> ColorwayResponse | ErrorBody | None:
    """A design in named batik palettes, side by side; each saved as a child design

     Each palette's variant keeps the design's structure (its colour clusters, mapped onto the palette
    darkest to darkest) and is saved as a design whose `parent_id` is this one, with the palette and its
    source in its provenance (`save: false` keeps nothing).

    Args:
        design_id (str): `d_` and 20 hex digits.
        body (ColorwayRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ColorwayResponse | ErrorBody
    """

    return (
        await asyncio_detailed(
            design_id=design_id,
            client=client,
            body=body,
        )
    ).parsed
