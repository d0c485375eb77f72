from http import HTTPStatus
from io import BytesIO
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.export_upload_form import ExportUploadForm
from ...types import File, Response


def _get_kwargs(
    *,
    body: ExportUploadForm,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/export",
    }

    _kwargs["files"] = body.to_multipart()

    headers["Content-Type"] = "multipart/form-data; boundary=+++"

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
    *,
    client: AuthenticatedClient | Client,
    body: ExportUploadForm,
) -> Response[ErrorBody | File]:
    """An uploaded tile as a print-ready file (the export of a design, for any image)

     The same export as `POST /v1/designs/{id}/export`, of a tile sent as a file with the options as form
    fields: `curl -F image=@tile.png -F width_cm=20 -F repeat=half_drop`. Nothing is saved. A file that
    is not an image answers 415 `unsupported_media`, as on every upload.

    Args:
        body (ExportUploadForm): The `POST /v1/designs/{id}/export` options as a form, with the
            tile as a file.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | File]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: ExportUploadForm,
) -> ErrorBody | File | None:
    """An uploaded tile as a print-ready file (the export of a design, for any image)

     The same export as `POST /v1/designs/{id}/export`, of a tile sent as a file with the options as form
    fields: `curl -F image=@tile.png -F width_cm=20 -F repeat=half_drop`. Nothing is saved. A file that
    is not an image answers 415 `unsupported_media`, as on every upload.

    Args:
        body (ExportUploadForm): The `POST /v1/designs/{id}/export` options as a form, with the
            tile as a file.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | File
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: ExportUploadForm,
) -> Response[ErrorBody | File]:
    """An uploaded tile as a print-ready file (the export of a design, for any image)

     The same export as `POST /v1/designs/{id}/export`, of a tile sent as a file with the options as form
    fields: `curl -F image=@tile.png -F width_cm=20 -F repeat=half_drop`. Nothing is saved. A file that
    is not an image answers 415 `unsupported_media`, as on every upload.

    Args:
        body (ExportUploadForm): The `POST /v1/designs/{id}/export` options as a form, with the
            tile as a file.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | File]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: ExportUploadForm,
) -> ErrorBody | File | None:
    """An uploaded tile as a print-ready file (the export of a design, for any image)

     The same export as `POST /v1/designs/{id}/export`, of a tile sent as a file with the options as form
    fields: `curl -F image=@tile.png -F width_cm=20 -F repeat=half_drop`. Nothing is saved. A file that
    is not an image answers 415 `unsupported_media`, as on every upload.

    Args:
        body (ExportUploadForm): The `POST /v1/designs/{id}/export` options as a form, with the
            tile as a file.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | File
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
