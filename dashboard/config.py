"""Dashboard settings (`DASHBOARD_` prefix). The dashboard talks to the gateway and nothing else."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class DashboardSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DASHBOARD_", extra="ignore", env_ignore_empty=True
    )

    gateway_url: str = Field("http://127.0.0.1:8000", description="Gateway base URL")
    api_key: str | None = Field(
        None,
        description="API key the dashboard sends to the gateway (its hash in GATEWAY_API_KEYS)",
    )
    timeout_s: float = Field(
        600.0,
        gt=0,
        description="How long to wait for one RAG answer (CPU generation takes minutes)",
    )
