from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.settings import BaseServiceSettings

DB_FILE = "library.sqlite3"


class LibrarySettings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LIBRARY_", extra="ignore", env_ignore_empty=True)

    dir: Path = Field(
        Path("data/library"),
        description="Directory of the design files (PNGs, thumbnails) and of the default SQLite "
        "database; keep it on a volume",
    )
    db_url: str | None = Field(
        None,
        description="Database URL, e.g. postgresql://user:pass@host:5432/library; unset: a "
        f"SQLite file `{DB_FILE}` in LIBRARY_DIR (one node)",
    )
    db_pool_size: int = Field(5, ge=1, description="PostgreSQL connections kept per process")
    search_threads: int = Field(
        2,
        ge=1,
        le=64,
        description="Threads that scan an owner's embeddings at once for nearest designs (the scan "
        "is bound by memory bandwidth, which one core does not use up)",
    )
    db_wait_s: float = Field(
        120, ge=0, description="How long the start waits for an unreachable database"
    )
    migrate_on_start: bool = Field(
        True, description="Apply database migrations at start (`batik db upgrade` does the same)"
    )
    retention_days: int | None = Field(
        None,
        ge=1,
        description="Delete designs older than this (favourites are kept); unset: forever",
    )
    max_designs_per_owner: int | None = Field(
        100_000, ge=1, description="Designs one owner may keep; past it saving answers 409"
    )
    max_body_bytes: int = Field(
        16 * 1024 * 1024,
        ge=1024,
        description="Largest request body (a design: base64 PNG, embedding and provenance JSON)",
    )
    sweep_interval_s: float = Field(
        3600, gt=0, description="How often retention and the orphan-file sweep run"
    )
    sweep_grace_s: float = Field(
        600,
        ge=0,
        description="Files no row names are removed once older than this (a younger one may be "
        "a save in flight)",
    )

    @property
    def database_url(self) -> str:
        return self.db_url or f"sqlite:///{self.dir.resolve() / DB_FILE}"
