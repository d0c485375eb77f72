"""The pure parts of issue 18's flows: URL signing, the webhook target guard and signature, and the
idempotency fingerprint; and webhook delivery to real loopback receivers (the checked address is the
one connected to; a slow reply cannot hold a delivery)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import socket
import threading
import time
from urllib.parse import parse_qsl, urlsplit

import pytest

from gateway.idempotency import fingerprint
from gateway.signed_urls import UrlSigner
from gateway.webhooks import WebhookSender, check_target, pinned_request, signature
from services.common.contracts.gateway import RagRequest
from services.common.errors import InvalidInputError, ServiceError
from tests.helpers import WebhookReceiver


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def test_a_signed_url_verifies_and_any_change_breaks_it():
    signer = UrlSigner("secret", ttl_s=60)
    url = signer.sign("/v1/signed/designs/d_1/image", {"owner": "abc"})
    path, query = urlsplit(url).path, query_of(url)
    assert signer.verify(path, query) == {"owner": "abc"}
    for changed_path, changed in [
        ("/v1/signed/designs/d_2/image", query),
        (path, {**query, "owner": "abd"}),
        (path, {**query, "exp": str(int(query["exp"]) + 1)}),
        (path, {**query, "sig": query["sig"][:-1] + ("1" if query["sig"][-1] == "0" else "0")}),
        (path, {**query, "extra": "1"}),
        (path, {k: v for k, v in query.items() if k != "sig"}),
        (path, {**query, "sig": "Éuw\U000f3a2e"}),  # non-ASCII: compare_digest raised, a 500
        (path, {**query, "exp": "²"}),  # a digit to isdigit(), not to int(): a 500
    ]:
        with pytest.raises(ServiceError) as refused:
            signer.verify(changed_path, changed)
        assert refused.value.status == 403
    with pytest.raises(ServiceError, match="signature"):  # another secret's URL
        UrlSigner("other", ttl_s=60).verify(path, query)


def test_an_expired_url_is_refused_and_an_unset_secret_is_random_per_signer():
    signer = UrlSigner("secret", ttl_s=-1)
    url = signer.sign("/x")
    with pytest.raises(ServiceError, match="expired"):
        signer.verify("/x", query_of(url))
    first, second = UrlSigner(None, ttl_s=60), UrlSigner(None, ttl_s=60)
    url = first.sign("/x")
    first.verify("/x", query_of(url))
    with pytest.raises(ServiceError):
        second.verify("/x", query_of(url))


@pytest.mark.parametrize(
    "target",
    [
        "http://93.184.216.34/",  # public, but not https
        "https://127.0.0.1/",
        "https://localhost/",
        "https://10.0.0.8/",
        "https://172.16.4.1/",
        "https://192.168.1.1/",
        "https://169.254.169.254/",
        "https://100.64.0.1/",  # shared address space
        "https://[fe80::1]/",
        "https://[::ffff:10.0.0.1]/",
        "https://[::ffff:127.0.0.1]/",  # IPv4-mapped loopback
        "https://[64:ff9b::a9fe:a9fe]/",  # NAT64 of 169.254.169.254
        "https://[2002:a9fe:a9fe::1]/",  # 6to4 of 169.254.169.254
        "https://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/",  # Teredo, client 10.0.0.1
        "https://224.0.0.1/",
        "https://0.0.0.0/",
        "https://no-such-host.invalid/",
        "mailto:a@b",
        "https:///path-only",
    ],
)
def test_the_webhook_guard_refuses_plain_http_and_private_targets(target):
    with pytest.raises(InvalidInputError):
        check_target(target, allow=[])


def test_the_webhook_allow_list_admits_hosts_and_networks_over_http_too():
    check_target("https://93.184.216.34/hook", allow=[])
    check_target("http://127.0.0.1:9/hook", allow=["127.0.0.1"])
    check_target("https://10.2.3.4/hook", allow=["10.0.0.0/8"])
    check_target("http://localhost:9/", allow=["localhost"])
    with pytest.raises(InvalidInputError):
        check_target("https://10.2.3.4/hook", allow=["192.168.0.0/16"])


def test_public_addresses_wrapping_a_public_ipv4_pass_and_the_checked_address_is_returned():
    assert check_target("https://[2002:5db8:d822::1]/", allow=[]) == "2002:5db8:d822::1"
    assert check_target("https://[64:ff9b::5db8:d822]/", allow=[]) == "64:ff9b::5db8:d822"
    answers = {"hooks.example.com": ["93.184.216.34"], "rebind.example.com": ["169.254.169.254"]}

    def resolve(host: str, port: int) -> list[str]:
        return answers[host]

    address = check_target("https://hooks.example.com:8443/h?x=1", allow=[], resolve=resolve)
    assert address == "93.184.216.34"
    url, headers, extensions = pinned_request("https://hooks.example.com:8443/h?x=1", address)
    assert url == "https://93.184.216.34:8443/h?x=1"
    assert headers == {"Host": "hooks.example.com:8443"}
    assert extensions == {"sni_hostname": "hooks.example.com"}
    with pytest.raises(InvalidInputError, match=r"169\.254\.169\.254"):
        check_target("https://rebind.example.com/", allow=[], resolve=resolve)
    assert pinned_request("http://[::1]:9/", "::1") == ("http://[::1]:9/", {"Host": "[::1]:9"}, {})


def test_a_delivery_connects_to_the_address_that_was_checked():
    # `hooks.test` resolves (through the injected resolver) to the receiver's loopback address
    # only: a delivery that resolved the name again itself could not reach the receiver.
    with WebhookReceiver() as receiver:
        port = int(receiver.url.rsplit(":", 1)[1])
        sender = WebhookSender(
            secret="s",
            allow=["hooks.test"],
            attempts=1,
            timeout_s=10,
            resolve=lambda host, _port: {"hooks.test": ["127.0.0.1"]}[host],
        )

        async def deliver() -> bool:
            try:
                return await sender.deliver(f"http://hooks.test:{port}/hook", {"job_id": "j"})
            finally:
                await sender.aclose()

        assert asyncio.run(deliver()) is True
        [delivered] = receiver.wait_for(1)
    assert delivered["path"] == "/hook"
    assert delivered["headers"]["Host"] == f"hooks.test:{port}"


class TricklingReceiver:
    """A loopback HTTP server whose reply never ends: with `status_first` it answers 200 at once
    and then trickles an endless body; else it trickles the status line itself, one byte at a time
    (each byte inside any per-read timeout)."""

    def __init__(self, status_first: bool) -> None:
        self.status_first = status_first
        self.stop = threading.Event()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}/hook"
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        conn, _ = self._server.accept()
        with conn:
            conn.recv(65536)
            try:
                if self.status_first:
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n")
                    while not self.stop.is_set():
                        conn.sendall(b"x" * 65536)
                        time.sleep(0.01)
                else:
                    for byte in b"HTTP/1.1 200 OK\r\n":
                        if self.stop.wait(0.05):
                            break
                        conn.sendall(bytes([byte]))
                    self.stop.wait()
            except OSError:
                pass  # the sender hung up

    def __enter__(self) -> TricklingReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self._server.close()


@pytest.mark.parametrize("status_first", [True, False], ids=["endless-body", "slow-status"])
def test_a_huge_or_slow_reply_cannot_hold_a_delivery(status_first):
    with TricklingReceiver(status_first) as receiver:
        sender = WebhookSender(secret="s", allow=["127.0.0.1"], attempts=1, timeout_s=0.3)

        async def deliver() -> bool:
            try:
                # The bound only catches a delivery that never ends (it would hang here).
                return await asyncio.wait_for(sender.deliver(receiver.url, {"job_id": "j"}), 60)
            finally:
                await sender.aclose()

        # An endless body is never read: the status is the answer. A status that never
        # arrives ends the try at the overall timeout (a failed delivery, not a stuck task).
        assert asyncio.run(deliver()) is status_first


def test_the_webhook_signature_is_hmac_sha256_of_the_body():
    body = b'{"id":"1"}'
    expected = hmac.new(b"key", body, hashlib.sha256).hexdigest()
    assert signature("key", body) == f"sha256={expected}"
    assert signature("key", body + b" ") != signature("key", body)


def test_the_idempotency_fingerprint_reads_the_validated_body():
    plain = RagRequest.model_validate({"text": "kawung"})
    explicit = RagRequest.model_validate({"text": "kawung", "top_k": 5})
    other = RagRequest.model_validate({"text": "kawung", "top_k": 6})
    assert fingerprint(plain) == fingerprint(explicit) != fingerprint(other)
