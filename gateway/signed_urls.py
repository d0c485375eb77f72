"""Signed, expiring URLs: a capability to read one image without the API key (an `<img src>`).

A URL is `path?<params>&exp=<unix time>&sig=<hex>` where `sig` is HMAC-SHA256 over the path, the
other parameters (sorted) and `exp`, under GATEWAY_URL_SECRET. Any change to the path, a parameter
or the expiry breaks the signature; past `exp` the URL is refused even with a good one. Both refusals
are 403 `forbidden` (the URL was never, or is no longer, a permission).

Without a configured secret each process draws a random one (a warning says so): its URLs then work
only on the replica that made them, and only until it restarts.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Mapping
from urllib.parse import urlencode

from services.common.errors import ErrorType, ServiceError

log = logging.getLogger(__name__)


class UrlSigner:
    def __init__(self, secret: str | None, ttl_s: int) -> None:
        if not secret:
            log.warning(
                "GATEWAY_URL_SECRET is not set: image URLs are signed with a random key of this "
                "process (they fail on other replicas and after a restart)"
            )
            secret = secrets.token_hex(32)
        self._key = secret.encode()
        self.ttl_s = ttl_s

    def _signature(self, path: str, params: Mapping[str, str], expires: int) -> str:
        material = "\n".join(
            [path, *(f"{k}={params[k]}" for k in sorted(params)), f"exp={expires}"]
        )
        return hmac.new(self._key, material.encode(), hashlib.sha256).hexdigest()

    def sign(self, path: str, params: Mapping[str, str] | None = None) -> str:
        """`path` with its query: the parameters, the expiry and the signature."""
        params = dict(params or {})
        expires = int(time.time()) + self.ttl_s
        query = {**params, "exp": str(expires), "sig": self._signature(path, params, expires)}
        return f"{path}?{urlencode(query)}"

    def verify(self, path: str, query: Mapping[str, str]) -> dict[str, str]:
        """The signed parameters of a request to `path`; 403 when tampered with or expired."""
        params = {k: v for k, v in query.items() if k not in ("exp", "sig")}
        expires, signature = query.get("exp", ""), query.get("sig", "")
        # ASCII only: "²".isdigit() and int() refuses it; compare_digest raises on a non-ASCII str.
        if not (expires.isascii() and expires.isdigit()) or not signature:
            raise ServiceError(ErrorType.FORBIDDEN, "this URL is not signed (exp and sig missing)")
        expected = self._signature(path, params, int(expires))
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise ServiceError(ErrorType.FORBIDDEN, "this URL's signature does not match")
        if int(expires) < time.time():
            raise ServiceError(
                ErrorType.FORBIDDEN, "this URL has expired: ask for the answer again"
            )
        return params
