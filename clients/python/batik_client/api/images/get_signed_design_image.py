from http import HTTPStatus
from io import BytesIO
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...types import UNSET, File, Response


def _get_kwargs(
    design_id: str,
    *,
    owner: str,
    exp: int,
    sig: str,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["owner"] = owner

    params["exp"] = exp

    params["sig"] = sig

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/signed/designs/{design_id}/image".format(
            design_id=quote(str(design_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> ErrorBody | File | None:
    if response.status_code == 200:
        response_200 = File(payload=BytesIO(response.content))

        return response_200

    if response.status_code == 403:
        response_403 = ErrorBody.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = ErrorBody.from_dict(response.json())

        return response_404

    if response.status_code == 422:
        response_422 = ErrorBody.from_dict(response.json())

        return response_422

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[ErrorBody | File]:
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
    owner: str,
    exp: int,
    sig: str,
) -> Response[ErrorBody | File]:
    """A saved design's PNG by signed URL (no API key)

     The URL an answer with `response_format: url` lists for an image saved as a design: read as the
    owner it names, until `exp`. Tampered or expired: 403.

    Args:
        design_id (str): The design.
        owner (str): The design's owner id; it is signed.
        exp (int): When the URL expires (unix time); it is signed.
        sig (str): HMAC-SHA256 of the path, parameters and `exp`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | File]
    """

    kwargs = _get_kwargs(
        design_id=design_id,
        owner=owner,
        exp=exp,
        sig=sig,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    design_id: str,
    *,
    client: AuthenticatedClient | Client,
    owner: str,
    exp: int,
    sig: str,
) -> ErrorBody | File | None:
    """A saved design's PNG by signed URL (no API key)

     The URL an answer with `response_format: url` lists for an image saved as a design: read as the
    owner it names, until `exp`. Tampered or expired: 403.

    Args:
        design_id (str): The design.
        owner (str): The design's owner id; it is signed.
        exp (int): When the URL expires (unix time); it is signed.
        sig (str): HMAC-SHA256 of the path, parameters and `exp`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | File
    """

    return sync_detailed(
        design_id=design_id,
        client=client,
        owner=owner,
        exp=exp,
        sig=sig,
    ).parsed


async def asyncio_detailed(
    design_id: str,
    *,
    client: AuthenticatedClient | Client,
    owner: str,
    exp: int,
    sig: str,
) -> Response[ErrorBody | File]:
    """A saved design's PNG by signed URL (no API key)

     The URL an answer with `response_format: url` lists for an image saved as a design: read as the
    owner it names, until `exp`. Tampered or expired: 403.

    Args:
        design_id (str): The design.
        owner (str): The design's owner id; it is signed.
        exp (int): When the URL expires (unix time); it is signed.
        sig (str): HMAC-SHA256 of the path, parameters and `exp`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | File]
    """

    kwargs = _get_kwargs(
        design_id=design_id,
        owner=owner,
        exp=exp,
        sig=sig,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    design_id: str,
    *,
    client: AuthenticatedClient | Client,
    owner: str,
    exp: int,
    sig: str,
) -> ErrorBody | File | None:
    """A saved design's PNG by signed URL (no API key)

     The URL an answer with `response_format: url` lists for an image saved as a design: read as the
    owner it names, until `exp`. Tampered or expired: 403.

    Args:
        design_id (str): The design.
        owner (str): The design's owner id; it is signed.
        exp (int): When the URL expires (unix time); it is signed.
        sig (str): HMAC-SHA256 of the path, parameters and `exp`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | File
    """

    return (
        await asyncio_detailed(
            design_id=design_id,
            client=client,
            owner=owner,
            exp=exp,
            sig=sig,
        )
    ).parsed
