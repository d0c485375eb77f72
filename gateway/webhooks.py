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
- **Delivery** never makes the job wait. The event (its id, time and exact body bytes) is written to
  the webhook outbox in the job Redis (gateway/webhook_outbox.py) and every gateway's `drain`
  delivers it under a lease: a 2xx ends it; a transport error, a timeout, 408, 429 or a 5xx makes it
  due again after 1, 2, 4, ... s (GATEWAY_WEBHOOK_ATTEMPTS tries, on whichever gateway claims it
  then); another 4xx, or a target the guard refuses now, ends it (the receiver refused it). Each
  ending is logged and counted (`outcomes`, the `batik_webhook_deliveries` metric). Only the reply's
  status is read, never its body, and each try, its DNS look-up included, is bounded by
  GATEWAY_WEBHOOK_TIMEOUT_S as a whole.
- **At least once**: a gateway that stops mid-try gives its lease back, and one that dies leaves the
  event to another once the lease (the try's bound and 5 s) ends; either may have been delivered
  already, so a receiver can see an event twice and dedupes on its id (`X-Batik-Event-Id`, the
  body's `id`; a job ends once, so its `job_id` does as well). Without a job Redis, or while it does
  not answer, a delivery lives in this process only and is lost (logged) if it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import time
import uuid
from collections.abc import Callable
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import anyio.to_thread
import httpx
from redis.exceptions import RedisError

from gateway.webhook_outbox import WebhookOutbox
from services.common.errors import InvalidInputError

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Batik-Signature"
EVENT_HEADER = "X-Batik-Event"
EVENT_ID_HEADER = "X-Batik-Event-Id"  # the body's `id`: what a receiver dedupes on
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
    # Abandoned when cancelled (a try's timeout): a DNS lookup cannot be interrupted, and the try
    # must not outlive its bound (nor its lease in the outbox).
    return await anyio.to_thread.run_sync(check_target, url, allow, resolve, abandon_on_cancel=True)


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


class Outcome(StrEnum):
    """What one try of a delivery came to."""

    DELIVERED = "delivered"  # a 2xx
    RETRY = "retry"  # a transport error, a timeout, 408, 429 or a 5xx: try again later
    REFUSED = "refused"  # another 4xx, or a target the guard refuses now: never again


# Events delivered at once by one gateway's drain (each try waits on a receiver, up to its timeout).
DRAIN_CONCURRENCY = 16
LONGEST_BACKOFF_S = 3600.0  # never reached by the doubling within GATEWAY_WEBHOOK_ATTEMPTS (<= 10)
LEASE_MARGIN_S = 5.0  # past a try's own bound: the Redis round trips around it


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
        outbox: WebhookOutbox | None = None,
    ) -> None:
        """`outbox` (the job Redis) keeps each event until it is done with, across restarts; without
        it (or while it does not answer) a delivery lives in this process only."""
        self.secret = secret
        self.allow = allow
        self.attempts = attempts
        self.first_backoff_s = first_backoff_s
        self.timeout_s = timeout_s
        self.outbox = outbox
        self._resolve = resolve
        self._client = httpx.AsyncClient(timeout=timeout_s, follow_redirects=False)
        self._tasks: set[asyncio.Task] = set()  # deliveries in this process only
        self.queued = asyncio.Event()  # set by `send`: the drain looks at once
        self.outcomes = {"queued": 0, "delivered": 0, "retried": 0, "refused": 0, "given_up": 0}

    @property
    def enabled(self) -> bool:
        return bool(self.secret)

    @staticmethod
    def lease_s(timeout_s: float) -> float:
        """How long a claimed event stays one gateway's: past its try, bounded by `timeout_s`."""
        return timeout_s + LEASE_MARGIN_S

    async def send(self, url: str, data: dict[str, Any]) -> None:
        """Promise one `job.finished` event to `url`: kept in the outbox, delivered by any gateway's
        drain (the job never waits for it)."""
        if not self.secret:
            log.warning("webhook to %s not sent: GATEWAY_WEBHOOK_SECRET is not set", url)
            return
        event_id, body = _event(data)
        self.outcomes["queued"] += 1
        if self.outbox is not None:
            try:
                await self.outbox.put(event_id, url, body, str(data.get("job_id", "")))
            except RedisError as exc:
                log.warning(
                    "webhook outbox unavailable (%s): webhook %s delivered from this process only",
                    type(exc).__name__,
                    event_id,
                )
            else:
                self.queued.set()
                return
        task = asyncio.create_task(self._deliver(url, event_id, body), name=f"webhook {event_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def deliver(self, url: str, data: dict[str, Any]) -> bool:
        """Deliver one event now, in this process, retrying with backoff; True once the receiver
        took it."""
        if not self.secret:
            log.warning("webhook to %s not sent: GATEWAY_WEBHOOK_SECRET is not set", url)
            return False
        return await self._deliver(url, *_event(data))

    async def _deliver(self, url: str, event_id: str, body: bytes) -> bool:
        for attempt in range(self.attempts):
            if attempt:
                await asyncio.sleep(self._backoff_s(attempt))
            outcome = await self._try(url, event_id, body, attempt)
            if outcome is not Outcome.RETRY:
                self._ended(outcome, event_id, url)
                return outcome is Outcome.DELIVERED
            if attempt + 1 < self.attempts:
                self.outcomes["retried"] += 1
        self._ended(None, event_id, url)
        return False

    def _backoff_s(self, failed: int) -> float:
        """The wait after `failed` failed tries: 1, 2, 4, ... s."""
        return self.first_backoff_s * 2 ** (failed - 1)

    # ---- the outbox: every gateway's drain delivers every pending event ----------------------

    async def deliver_pending(self, event_id: str) -> None:
        """One try of a leased outbox event; then it is done with, or due again after a backoff."""
        assert self.outbox is not None
        pending = await self.outbox.pending(event_id)
        if pending is None:
            # Done with meanwhile (another gateway, after this lease had lapsed), or its body is
            # gone (an evicting Redis): forget the due entry too, or it is claimed for ever.
            await self.outbox.done(event_id)
            return
        try:
            outcome = await self._try(pending.url, event_id, pending.body, pending.attempts)
            if outcome is Outcome.RETRY and pending.attempts + 1 < self.attempts:
                await self.outbox.retry(event_id, self.first_backoff_s, LONGEST_BACKOFF_S)
                self.outcomes["retried"] += 1
                return
            await self.outbox.done(event_id)
        except asyncio.CancelledError:
            # Shutdown, mid-try or before its outcome was written: due again now, for another
            # gateway (a no-op when it was done with already), rather than when the lease ends.
            with contextlib.suppress(RedisError):
                await self.outbox.release(event_id)
            raise
        self._ended(None if outcome is Outcome.RETRY else outcome, event_id, pending.url)

    async def drain(self, idle_s: float = 1.0) -> None:
        """Deliver due outbox events until cancelled (a task of the gateway's lifespan), up to
        DRAIN_CONCURRENCY at once. Looks every `idle_s`, and at once when woken (`send`) or when a
        delivery ends. Cancelled, it gives back the leases of the deliveries it had begun."""
        assert self.outbox is not None
        running: set[asyncio.Task] = set()
        pause = self.first_backoff_s
        try:
            while True:
                self.queued.clear()
                free = DRAIN_CONCURRENCY - len(running)
                claimed = []
                if free > 0:
                    try:
                        claimed = await self.outbox.claim_due(free)
                    except RedisError as exc:
                        log.warning("webhook outbox unavailable (%s); retrying", type(exc).__name__)
                        await asyncio.sleep(pause)
                        pause = min(pause * 2, 30.0)
                        continue
                    pause = self.first_backoff_s
                for event_id in claimed:
                    task = asyncio.create_task(self._deliver_logged(event_id), name=event_id)
                    running.add(task)
                    task.add_done_callback(running.discard)
                    task.add_done_callback(lambda _task: self.queued.set())
                if len(claimed) < free or free <= 0:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(idle_s):
                            await self.queued.wait()
        finally:
            for task in running:
                task.cancel()
            if running:
                await asyncio.wait(running)

    async def _deliver_logged(self, event_id: str) -> None:
        try:
            await self.deliver_pending(event_id)
        except RedisError as exc:
            log.warning(
                "webhook %s: outbox unavailable (%s); due again after its lease",
                event_id,
                type(exc).__name__,
            )
        except Exception:
            log.exception("webhook %s: delivery failed; due again after its lease", event_id)

    # ---- one try ------------------------------------------------------------------------------

    async def _try(self, url: str, event_id: str, body: bytes, failed: int) -> Outcome:
        """One POST of the event, its target checked again first (DNS may have changed); the
        whole try, the check's DNS included, is bounded by `timeout_s`."""
        assert self.secret is not None
        headers = {
            "Content-Type": "application/json",
            EVENT_HEADER: EVENT,
            EVENT_ID_HEADER: event_id,
            # Signed at send time: a rotated secret signs what is still pending.
            SIGNATURE_HEADER: signature(self.secret, body),
        }
        try:
            async with asyncio.timeout(self.timeout_s):
                address = await check_target_off_loop(url, self.allow, self._resolve)
                status = await self._post(url, address, body, headers)
        except InvalidInputError as exc:
            log.warning("webhook %s to %s refused: %s", event_id, url, exc.message)
            return Outcome.REFUSED
        except (httpx.HTTPError, TimeoutError) as exc:
            log.info("webhook %s, try %d: %s", event_id, failed + 1, type(exc).__name__)
            return Outcome.RETRY
        if 200 <= status < 300:
            return Outcome.DELIVERED
        if status < 500 and status not in _RETRY_STATUS:
            log.warning("webhook %s refused by %s: %d", event_id, url, status)
            return Outcome.REFUSED
        log.info("webhook %s, try %d: %d", event_id, failed + 1, status)
        return Outcome.RETRY

    def _ended(self, outcome: Outcome | None, event_id: str, url: str) -> None:
        """Count how a delivery ended (None: its tries ran out, logged here)."""
        if outcome is None:
            log.warning(
                "webhook %s to %s not delivered after %d tries; given up",
                event_id,
                url,
                self.attempts,
            )
            self.outcomes["given_up"] += 1
        else:
            self.outcomes[outcome.value] += 1

    async def _post(self, url: str, address: str, body: bytes, headers: dict[str, str]) -> int:
        """POST to the checked address; only the status is read (the caller bounds the try), so a
        receiver's slow or huge reply holds neither memory nor the task."""
        pinned_url, host_header, extensions = pinned_request(url, address)
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


def _event(data: dict[str, Any]) -> tuple[str, bytes]:
    """A new `job.finished` event: its id and the exact body bytes every try sends."""
    event_id = uuid.uuid4().hex
    event = {"id": event_id, "type": EVENT, "created": int(time.time()), "data": data}
    return event_id, json.dumps(event, separators=(",", ":")).encode()
