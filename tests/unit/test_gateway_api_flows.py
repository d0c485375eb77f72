"""The pure parts of issue 18's flows: URL signing, the webhook target guard and signature, and the
idempotency fingerprint."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qsl, urlsplit

import pytest

from gateway.idempotency import fingerprint
from gateway.signed_urls import UrlSigner
from gateway.webhooks import check_target, signature
from services.common.contracts.gateway import RagRequest
from services.common.errors import InvalidInputError, ServiceError


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
