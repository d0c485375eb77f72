from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.rag_response import RagResponse
from ...models.remix_request import RemixRequest
from ...types import Response


def _get_kwargs(
    design_id: str,
    *,
    body: RemixRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/designs/{design_id}/remix".format(
            design_id=quote(str(design_id), safe=""),
        ),
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
) -> Response[ErrorBody | RagResponse]:
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
    body: RemixRequest,
) -> Response[ErrorBody | RagResponse]:
    """Run a design's recorded request again with changes; the new design's parent is it

     Overrides: text, seed, strength, guidance_scale, steps, symmetry, tile, repeat (`tile: false` alone
    also drops the recorded repeat); `response_format` as in `/v1/rag`. A design made from a query image
    cannot be remixed here (the library keeps no query image): upload the image again with its settings.

    Args:
        design_id (str): `d_` and 20 hex digits.
        body (RemixRequest): `POST /v1/designs/{id}/remix`: the design's recorded request again,
            with these changes.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | RagResponse]
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
    body: RemixRequest,
) -> ErrorBody | RagResponse | None:
    """Run a design's recorded request again with changes; the new design's parent is it

     Overrides: text, seed, strength, guidance_scale, steps, symmetry, tile, repeat (`tile: false` alone
    also drops the recorded repeat); `response_format` as in `/v1/rag`. A design made from a query image
    cannot be remixed here (the library keeps no query image): upload the image again with its settings.

    Args:
        design_id (str): `d_` and 20 hex digits.
        body (RemixRequest): `POST /v1/designs/{id}/remix`: the design's recorded request again,
            with these changes.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | RagResponse
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
    body: RemixRequest,
) -> Response[ErrorBody | RagResponse]:
    """Run a design's recorded request again with changes; the new design's parent is it

     Overrides: text, seed, strength, guidance_scale, steps, symmetry, tile, repeat (`tile: false` alone
    also drops the recorded repeat); `response_format` as in `/v1/rag`. A design made from a query image
    cannot be remixed here (the library keeps no query image): upload the image again with its settings.

    Args:
        design_id (str): `d_` and 20 hex digits.
        body (RemixRequest): `POST /v1/designs/{id}/remix`: the design's recorded request again,
            with these changes.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | RagResponse]
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
    body: RemixRequest,
) -> ErrorBody | RagResponse | None:
    """Run a design's recorded request again with changes; the new design's parent is it

     Overrides: text, seed, strength, guidance_scale, steps, symmetry, tile, repeat (`tile: false` alone
    also drops the recorded repeat); `response_format` as in `/v1/rag`. A design made from a query image
    cannot be remixed here (the library keeps no query image): upload the image again with its settings.

    Args:
        design_id (str): `d_` and 20 hex digits.
        body (RemixRequest): `POST /v1/designs/{id}/remix`: the design's recorded request again,
            with these changes.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | RagResponse
    """

    return (
        await asyncio_detailed(
            design_id=design_id,
            client=client,
            body=body,
        )
    ).parsed
