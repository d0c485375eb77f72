"""uvicorn's own limits for each service, the same wherever it is started: `batik up` and `batik demo`
(services/launcher.py), the test stacks, and the images' CMD lines (tests/deploy checks that those
say the same as this table).

- `--limit-concurrency`: connections plus requests in progress past which uvicorn answers 503 at
  once (plain text, not the error envelope). A last resort above each service's own bounds
  (`*_MAX_INFLIGHT`, the decode budget, the job queue: 429 with `Retry-After` in the envelope), so
  that a flood of connections cannot grow a process's memory without limit. Idle keep-alive
  connections count too: the model services are called by gateways (httpx keeps at most 100
  connections each), the gateway by clients or an ingress.
- `--backlog`: connections the kernel holds before uvicorn accepts them (uvicorn's default, stated).
- `--timeout-keep-alive`: how long an idle connection is kept. The model services and the library
  keep theirs longer than the gateway's pooled connections live (httpx: 5 s), so the gateway never
  reuses one the server has just closed; the gateway, which clients reach, closes idle ones after
  5 s.

uvicorn has no timeout for a request's headers or body: a client that sends them slowly holds its
connection. In production the ingress cuts those (docs/DEPLOY.md, "Timeouts").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServerLimits:
    limit_concurrency: int
    keep_alive_s: int
    backlog: int = 2048

    def args(self) -> list[str]:
        """uvicorn's command-line options for these limits."""
        return [
            "--limit-concurrency",
            str(self.limit_concurrency),
            "--backlog",
            str(self.backlog),
            "--timeout-keep-alive",
            str(self.keep_alive_s),
        ]


MODEL_SERVICE = ServerLimits(limit_concurrency=512, keep_alive_s=75)
LIMITS = {
    "gateway": ServerLimits(limit_concurrency=1024, keep_alive_s=5),
    "retrieval": MODEL_SERVICE,
    "captioning": MODEL_SERVICE,
    "generation": MODEL_SERVICE,
    "library": MODEL_SERVICE,
}


def limits_for(app: str) -> ServerLimits | None:
    """The limits of an ASGI app path such as `gateway.app:app` or `services.library.app:app`;
    None for an app that is none of the services (uvicorn's defaults)."""
    module = app.split(":")[0].removesuffix(".app")
    return LIMITS.get(module.rsplit(".", 1)[-1])
