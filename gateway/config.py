from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from services.common.settings import BaseServiceSettings
from services.generation.config import DEFAULT_SD

_KEY_HASH = re.compile(r"^sha256:[0-9a-f]{64}$")


def split_list(value: str | None) -> list[str]:
    """Comma-separated setting -> its non-empty entries."""
    return [item.strip() for item in (value or "").split(",") if item.strip()]


class GatewaySettings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", env_ignore_empty=True)

    max_inflight: int = Field(
        32, ge=1, description="RAG requests in flight; past it the gateway answers 429"
    )
    retrieval_url: str = Field("http://127.0.0.1:8001", description="Retrieval service base URL")
    captioning_url: str = Field("http://127.0.0.1:8002", description="Captioning service base URL")
    generation_url: str = Field("http://127.0.0.1:8003", description="Generation service base URL")
    connect_timeout_s: float = Field(2.0, gt=0, description="Connect timeout for every upstream")
    retrieval_timeout_s: float = Field(15.0, gt=0, description="Read timeout for retrieval")
    captioning_timeout_s: float = Field(60.0, gt=0, description="Read timeout for captioning")
    generation_timeout_s: float = Field(
        300.0, gt=0, description="Read timeout for generation (SD on a CPU takes minutes)"
    )
    retries: int = Field(
        2,
        ge=0,
        le=5,
        description="Retries of idempotent upstream calls after a refused connection or a 502-504, "
        "with backoff; a timed-out call is never retried",
    )
    rag_deadline_s: float = Field(
        420.0,
        gt=0,
        description="One deadline for all upstream calls of a synchronous /v1/rag: each waits at most "
        "the time left; captioning past it degrades, generation past it is 504 (not for jobs)",
    )
    redis_url: str | None = Field(
        None,
        description="`redis://host:port/db` for the answer cache and rate limits (and RAG jobs "
        "when GATEWAY_JOB_REDIS_URL is unset); unset: in-process LRU, and the job routes answer 503",
    )
    job_redis_url: str | None = Field(
        None,
        description="`redis://host:port/db` for RAG jobs, the design outbox (designs saved "
        "after the answer) and the webhook outbox: a Redis that persists (appendonly yes) and "
        "never evicts (noeviction), apart from the cache's; unset: jobs and pending webhooks use "
        "GATEWAY_REDIS_URL (which may evict), designs are saved before the answer",
    )
    redis_timeout_s: float = Field(
        2.0,
        gt=0,
        description="Connect and socket timeout of the job store's Redis client: a paused Redis "
        "makes the job routes 503 within it",
    )
    cache_ttl_s: int = Field(86_400, ge=1, description="How long a cached answer lives")
    cache_max_entries: int = Field(256, ge=1, description="Size of the in-process cache")
    version_ttl_s: float = Field(
        30.0, ge=0, description="How long upstream model/index versions (cache key) are reused"
    )
    tokenizer: str = Field(
        DEFAULT_SD, description="SD model whose tokenizer measures fused prompts (77 tokens)"
    )
    tokenizer_subfolder: str | None = Field("tokenizer", description="Tokenizer folder in it")
    tokenizer_revision: str | None = Field(
        None,
        description="Hub revision of GATEWAY_TOKENIZER (pin it with GENERATION_MODEL_REVISION)",
    )
    generation_size: int = Field(
        512, ge=64, le=1024, multiple_of=8, description="Width and height of generated images"
    )
    caption_prompt: str | None = Field(None, description="Text the caption continues, if any")
    max_facts: int = Field(3, ge=0, le=10, description="Metadata sentences offered to fusion")
    breaker_failures: int = Field(
        5, ge=1, description="Failed calls in a row that open an upstream's circuit breaker"
    )
    breaker_reset_s: float = Field(
        30.0, gt=0, description="Seconds an open breaker answers 503 before one probe call"
    )
    api_keys: str | None = Field(
        None,
        description="Comma-separated `sha256:<hex>` hashes of the accepted API keys; "
        "unset: no key needed",
    )
    admin_keys: str | None = Field(
        None,
        description="Comma-separated `sha256:<hex>` hashes of admin API keys: accepted like "
        "GATEWAY_API_KEYS, and they see every owner's designs and boards",
    )
    library_url: str | None = Field(
        "http://127.0.0.1:8004",
        description="Library service base URL (designs and boards); `off`: no library, nothing "
        "is saved and the design routes answer 503",
    )
    library_timeout_s: float = Field(10.0, gt=0, description="Read timeout for the library")
    rate_limit_per_window: int = Field(
        120,
        ge=0,
        description="Requests per window per API key (per client address without keys); 0: off",
    )
    rate_limit_window_s: int = Field(
        60, ge=1, description="Length of the rate-limit window, seconds"
    )
    export_upscaler: Literal["lanczos", "generation"] = Field(
        "lanczos",
        description="How an export upscales a design's tile: lanczos, here (with the repeat's "
        "neighbours); generation, POST /v1/upscale on the generation service (its diffusion "
        "upscaler when GENERATION_UPSCALER is set there, else Lanczos there)",
    )
    max_generations_per_key: int = Field(
        2,
        ge=0,
        description="Generating /v1/rag requests in flight per API key (per client address "
        "without keys), per process; past it 429; 0: off",
    )
    max_jobs_per_key: int = Field(
        8,
        ge=0,
        description="Generating RAG jobs queued or running per API key (per client address "
        "without keys), across replicas; past it POST /v1/jobs answers 429; 0: off",
    )
    job_worker: bool = Field(
        True,
        description="Run RAG jobs in this gateway process (needs GATEWAY_REDIS_URL); false: this "
        "replica only accepts, reads and cancels them",
    )
    job_concurrency: int = Field(
        4, ge=1, description="RAG jobs one gateway process runs at once (they mostly wait upstream)"
    )
    job_queue_max: int = Field(
        64, ge=1, description="RAG jobs queued or running; past it POST /v1/jobs answers 429"
    )
    job_queue_name: str = Field("batik:rag:queue", description="arq queue name of RAG jobs")
    job_ttl_s: int = Field(
        86_400, ge=60, description="How long a RAG job's record and answer stay in Redis"
    )
    job_watchdog_s: float = Field(
        30.0,
        gt=0,
        description="How often stranded jobs are looked for, and how long one may look stranded "
        "(no queue entry, no worker) before it is failed with the reason",
    )
    job_timeout_s: int = Field(
        1800, ge=1, description="Longest a RAG job may run (queue waits upstream included)"
    )
    job_poll_s: float = Field(
        0.2,
        gt=0,
        description="How often an idle job worker polls its queue, and a running job its "
        "generation job",
    )
    url_secret: str | None = Field(
        None,
        description="HMAC-SHA256 key that signs image URLs (`response_format: url`); unset: a random "
        "key per process (logged as a warning): URLs then fail on other replicas and after a restart",
    )
    url_ttl_s: int = Field(
        3600, ge=1, le=7 * 86_400, description="How long a signed image URL stays valid, seconds"
    )
    public_url: str | None = Field(
        None,
        description="Base of signed image URLs, e.g. `https://batik.example.com`; unset: the "
        "request's own scheme and host",
    )
    webhook_secret: str | None = Field(
        None,
        description="HMAC-SHA256 key that signs webhook bodies (`X-Batik-Signature`); unset: "
        "`callback_url` is refused (422)",
    )
    webhook_allow: str | None = Field(
        None,
        description="Comma-separated hosts or networks (`127.0.0.1`, `10.0.0.0/8`, "
        "`hooks.internal`) that webhooks may reach although private, loopback or link-local, and "
        "over plain http",
    )
    webhook_attempts: int = Field(
        5, ge=1, le=10, description="Tries of one webhook delivery (backoff 1, 2, 4, ... s)"
    )
    webhook_timeout_s: float = Field(
        5.0, gt=0, description="Bound of one webhook try as a whole, DNS look-up to reply status"
    )
    cors_origins: str | None = Field(
        None,
        description="Comma-separated origins that browsers may call the API from (CORS); unset: none",
    )

    @field_validator("api_keys", "admin_keys")
    @classmethod
    def _check_key_hashes(cls, value: str | None) -> str | None:
        bad = [entry for entry in split_list(value) if not _KEY_HASH.match(entry)]
        if bad:
            raise ValueError(
                f"{len(bad)} entries are not `sha256:<64 lowercase hex>` (store hashes, never keys)"
            )
        return value

    @property
    def job_store_url(self) -> str | None:
        """Where RAG jobs live: their own Redis when configured, else the cache's."""
        return self.job_redis_url or self.redis_url

    @property
    def api_key_hashes(self) -> list[str]:
        return [entry.removeprefix("sha256:") for entry in split_list(self.api_keys)]

    @property
    def library_base_url(self) -> str | None:
        """The library's URL, or None when it is turned off (empty, `off` or `none`)."""
        url = (self.library_url or "").strip()
        return None if url.lower() in ("", "off", "none") else url

    @property
    def admin_key_hashes(self) -> list[str]:
        return [entry.removeprefix("sha256:") for entry in split_list(self.admin_keys)]

    @property
    def webhook_allow_list(self) -> list[str]:
        return split_list(self.webhook_allow)

    @property
    def cors_origin_list(self) -> list[str]:
        return split_list(self.cors_origins)
