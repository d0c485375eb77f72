from enum import StrEnum


class ErrorType(StrEnum):
    BREAKER_OPEN = "breaker_open"
    FORBIDDEN = "forbidden"
    IDEMPOTENCY_MISMATCH = "idempotency_mismatch"
    INTERNAL = "internal"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    NOT_FOUND = "not_found"
    NOT_READY = "not_ready"
    NO_JOB_STORE = "no_job_store"
    OUT_OF_MEMORY = "out_of_memory"
    OVERLOADED = "overloaded"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    QUOTA_EXCEEDED = "quota_exceeded"
    STORE_UNAVAILABLE = "store_unavailable"
    UNAUTHORIZED = "unauthorized"
    UNSUPPORTED_MEDIA = "unsupported_media"
    UPSTREAM = "upstream"
    UPSTREAM_TIMEOUT = "upstream_timeout"
    VALIDATION = "validation"

    def __str__(self) -> str:
        return str(self.value)
