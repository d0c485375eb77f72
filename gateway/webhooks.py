"""Webhooks: a job's `callback_url` is POSTed one `job.finished` event when the job ends.

- **Target guard** (`check_target`): https only; the host must resolve, and only to public
  addresses: private, loopback, link-local (cloud metadata at 169.254.169.254), shared, reserved and
  multicast ones are refused. GATEWAY_WEBHOOK_ALLOW names hosts or networks that may be reached
  anyway, over plain http too (a receiver inside the cluster, or a test's on 127.0.0.1). The check
  runs when the job is created (a 422) and again before every delivery (DNS may have changed since);
  a delivery connects to the address it checked (the `Host` header and TLS name stay the host's), so
  a DNS answer that changes between check and connect cannot reach a private host. An IPv6 address
  that carries an IPv4 one (mapped, 6to4, NAT64, Teredo) must pass the IPv4 rule too. Redirects are
  not followed.
- **Signature**: `X-Batik-Signature: sha256=<hex>`, HMAC-SHA256 of the exact body bytes under
  GATEWAY_WEBHOOK_SECRET. The body carries the event's `id` and `created` time, so a receiver can
  drop replays. Without a secret `callback_url` is refused.
- **Delivery** runs in a task of its own: the job never waits for it. A 2xx ends it; a transport
  error, a timeout, 408, 429 or a 5xx is tried again after 1, 2, 4, ... s (GATEWAY_WEBHOOK_ATTEMPTS
  tries); another 4xx ends it (the receiver refused it). Only the reply's status is read, never its
  body, and each try is bounded by GATEWAY_WEBHOOK_TIMEOUT_S as a whole. A delivery in flight when its gateway stops
  is lost (logged): the job record and `GET /v1/jobs/{id}/events` stay the source of truth.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import anyio.to_thread
import httpx

from services.common.errors import InvalidInputError

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Batik-Signature"
EVENT_HEADER = "X-Batik-Event"
EVENT = "job.finished"
_RETRY_STATUS = {408, 429}

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _allow_list(entries: list[str]) -> tuple[set[str], list[IpNetwork]]:
    """GATEWAY_WEBHOOK_ALLOW as (host names, networks)."""
    names, networks = set(), []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            names.add(entry.lower().rstrip("."))
    return names, networks


Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _address(text: str) -> Address:
    return ipaddress.ip_address(text.split("%", 1)[0])  # an IPv6 scope id is not part of it


def _embedded_ipv4(ip: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64, Teredo's client), or None: each
    reaches that IPv4 host, so it must pass the same rule (2002:a9fe:a9fe::1 is the metadata host)."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def _is_public(ip: Address) -> bool:
    embedded = _embedded_ipv4(ip)
    if embedded is not None and not _is_public(embedded):
        return False
    return ip.is_global and not ip.is_multicast


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise InvalidInputError(f"callback_url: host {host!r} does not resolve ({exc})") from None
    return sorted({info[4][0] for info in infos})


Resolver = Callable[[str, int], list[str]]


def check_target(url: str, allow: list[str], resolve: Resolver = _resolve) -> str:
    """Refuse (InvalidInputError, a 422) a webhook target that is not https or not public, unless
    GATEWAY_WEBHOOK_ALLOW names it; else the checked address to connect to (connecting to the host
    name would resolve it again, and a rebinding DNS could answer a private address then).
    Blocking (DNS): run it off the event loop."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise InvalidInputError(f"callback_url is not a URL ({exc})") from None
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme not in ("http", "https") or not host:
        raise InvalidInputError("callback_url must be an absolute https:// URL")
    if parts.username or parts.password:
        raise InvalidInputError("callback_url must not carry credentials")
    names, networks = _allow_list(allow)
    resolved = resolve(host, port)
    if not resolved:
        raise InvalidInputError(f"callback_url: host {host!r} does not resolve")
    addresses = [_address(a) for a in resolved]
    allowed = host in names or all(any(ip in net for net in networks) for ip in addresses)
    if allowed:
        return str(addresses[0])
    if parts.scheme != "https":
        raise InvalidInputError(
            "callback_url must be https (plain http only to allow-listed hosts)"
        )
    for ip in addresses:
        if not _is_public(ip):
            raise InvalidInputError(
                f"callback_url resolves to {ip}, a private, loopback or link-local address; "
                "webhooks go to public hosts only (unless GATEWAY_WEBHOOK_ALLOW lists it)"
            )
    return str(addresses[0])


async def check_target_off_loop(url: str, allow: list[str], resolve: Resolver = _resolve) -> str:
    return await anyio.to_thread.run_sync(check_target, url, allow, resolve)


def pinned_request(url: str, address: str) -> tuple[str, dict[str, str], dict[str, Any]]:
    """(URL, headers, httpx extensions) that reach `address`, the checked one, while the receiver
    still sees its host name: in `Host`, and for https in the TLS SNI and certificate check."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    literal = f"[{address}]" if ":" in address else address
    netloc = literal + (f":{parts.port}" if parts.port else "")
    host_header = (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else "")
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    return urlunsplit(parts._replace(netloc=netloc)), {"Host": host_header}, extensions


def signature(secret: str, body: bytes) -> str:
    """The `X-Batik-Signature` value: `sha256=` and the hex HMAC-SHA256 of `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def finished_event(job_id: str, state: str, error: dict[str, Any] | None) -> dict[str, Any]:
    """What a job's end says, in a webhook and as the last event of its stream."""
    return {"job_id": job_id, "state": state, "status_url": f"/v1/jobs/{job_id}", "error": error}


class WebhookSender:
    def __init__(
        self,
        *,
        secret: str | None,
        allow: list[str],
        attempts: int,
        timeout_s: float,
        first_backoff_s: float = 1.0,
        resolve: Resolver = _resolve,
    ) -> None:
        self.secret = secret
        self.allow = allow
        self.attempts = attempts
        self.first_backoff_s = first_backoff_s
        self.timeout_s = timeout_s
        self._resolve = resolve
        self._client = httpx.AsyncClient(timeout=timeout_s, follow_redirects=False)
        self._tasks: set[asyncio.Task] = set()

    @property
    def enabled(self) -> bool:
        return bool(self.secret)

    def send_later(self, url: str, data: dict[str, Any]) -> None:
        """Deliver one event to `url` in the background (never awaited by the job)."""
        task = asyncio.create_task(self.deliver(url, data), name=f"webhook {data.get('job_id')}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def deliver(self, url: str, data: dict[str, Any]) -> bool:
        """POST the event, retrying with backoff; True once the receiver took it."""
        if not self.secret:
            log.warning("webhook to %s not sent: GATEWAY_WEBHOOK_SECRET is not set", url)
            return False
        event = {"id": uuid.uuid4().hex, "type": EVENT, "created": int(time.time()), "data": data}
        body = json.dumps(event, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            EVENT_HEADER: EVENT,
            SIGNATURE_HEADER: signature(self.secret, body),
        }
        for attempt in range(self.attempts):
            if attempt:
                await asyncio.sleep(self.first_backoff_s * 2 ** (attempt - 1))
            try:
                address = await check_target_off_loop(url, self.allow, self._resolve)
                status = await self._post(url, address, body, headers)
            except InvalidInputError as exc:
                log.warning("webhook %s to %s refused: %s", event["id"], url, exc.message)
                return False
            except (httpx.HTTPError, TimeoutError) as exc:
                log.info("webhook %s, try %d: %s", event["id"], attempt + 1, type(exc).__name__)
                continue
            if 200 <= status < 300:
                return True
            if status < 500 and status not in _RETRY_STATUS:
                log.warning("webhook %s refused by %s: %d", event["id"], url, status)
                return False
            log.info("webhook %s, try %d: %d", event["id"], attempt + 1, status)
        log.warning(
            "webhook %s to %s not delivered after %d tries", event["id"], url, self.attempts
        )
        return False

    async def _post(self, url: str, address: str, body: bytes, headers: dict[str, str]) -> int:
        """POST to the checked address; only the status is read, and the whole try is bounded, so
        a receiver's slow or huge reply holds neither memory nor the task."""
        pinned_url, host_header, extensions = pinned_request(url, address)
        async with asyncio.timeout(self.timeout_s):
            async with self._client.stream(
                "POST",
                pinned_url,
                content=body,
                headers={**headers, **host_header},
                extensions=extensions,
            ) as answer:
                return answer.status_code

    async def aclose(self) -> None:
        for task in list(self._tasks):
            log.warning("webhook delivery %s dropped: the gateway is stopping", task.get_name())
            task.cancel()
        await self._client.aclose()
