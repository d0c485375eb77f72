from http import HTTPStatus
from io import BytesIO
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.export_request import ExportRequest
from ...types import File, Response


def _get_kwargs(
    design_id: str,
    *,
    body: ExportRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/designs/{design_id}/export".format(
            design_id=quote(str(design_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> ErrorBody | File | None:
    if response.status_code == 200:
        response_200 = File(payload=BytesIO(response.content))

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
    body: ExportRequest,
) -> Response[ErrorBody | File]:
    """A design as a print-ready file: its repeat at a physical width and dpi

     PNG (pHYs), TIFF (resolution tags) and PDF (the page at its physical size) lay the repeat out at
    `width_cm` (or `width_px`) and `dpi`, the tile upscaled with its repeat neighbours so the seam stays
    closed; `palette` or `colors` give a colourway. SVG is the nitik dot grid: one circle per dot in
    millimetres, grouped by colour; `X-Dot-Count` and `X-Render-Difference` (resvg's drawing against the
    raster, per cell, 0-255) come as headers. A page over the pixel cap answers 422 naming the largest
    width allowed at that dpi.

    Args:
        design_id (str): `d_` and 20 hex digits.
        body (ExportRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | File]
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
    body: ExportRequest,
) -> ErrorBody | File | None:
    """A design as a print-ready file: its repeat at a physical width and dpi

     PNG (pHYs), TIFF (resolution tags) and PDF (the page at its physical size) lay the repeat out at
    `width_cm` (or `width_px`) and `dpi`, the tile upscaled with its repeat neighbours so the seam stays
    closed; `palette` or `colors` give a colourway. SVG is the nitik dot grid: one circle per dot in
    millimetres, grouped by colour; `X-Dot-Count` and `X-Render-Difference` (resvg's drawing against the
    raster, per cell, 0-255) come as headers. A page over the pixel cap answers 422 naming the largest
    width allowed at that dpi.

    Args:
        design_id (str): `d_` and 20 hex digits.
        body (ExportRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | File
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
    body: ExportRequest,
) -> Response[ErrorBody | File]:
    """A design as a print-ready file: its repeat at a physical width and dpi

     PNG (pHYs), TIFF (resolution tags) and PDF (the page at its physical size) lay the repeat out at
    `width_cm` (or `width_px`) and `dpi`, the tile upscaled with its repeat neighbours so the seam stays
    closed; `palette` or `colors` give a colourway. SVG is the nitik dot grid: one circle per dot in
    millimetres, grouped by colour; `X-Dot-Count` and `X-Render-Difference` (resvg's drawing against the
    raster, per cell, 0-255) come as headers. A page over the pixel cap answers 422 naming the largest
    width allowed at that dpi.

    Args:
        design_id (str): `d_` and 20 hex digits.
        body (ExportRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | File]
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
    body: ExportRequest,
) -> ErrorBody | File | None:
    """A design as a print-ready file: its repeat at a physical width and dpi

     PNG (pHYs), TIFF (resolution tags) and PDF (the page at its physical size) lay the repeat out at
    `width_cm` (or `width_px`) and `dpi`, the tile upscaled with its repeat neighbours so the seam stays
    closed; `palette` or `colors` give a colourway. SVG is the nitik dot grid: one circle per dot in
    millimetres, grouped by colour; `X-Dot-Count` and `X-Render-Difference` (resvg's drawing against the
    raster, per cell, 0-255) come as headers. A page over the pixel cap answers 422 naming the largest
    width allowed at that dpi.

    Args:
        design_id (str): `d_` and 20 hex digits.
        body (ExportRequest):

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
            body=body,
        )
    ).parsed
