"""All configuration in one place, read from FIELDSCOPE_* environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FIELDSCOPE_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./data/fieldscope.db",
        description="SQLAlchemy URL. SQLite (WAL) by default; postgresql+psycopg://... for teams.",
    )
    token_ttl_days: int = Field(
        default=7, ge=1, le=90, description="A device token stays valid this long unused."
    )
    password_min_length: int = Field(
        default=10, ge=8, description="Shortest password accepted for an account, in characters."
    )
    max_text_length: int = Field(
        default=20_000, description="Longest note, quote or write-up accepted, in characters."
    )
    page_size_max: int = Field(default=500, description="Largest page a list endpoint returns.")
    static_dir: Path | None = Field(
        default=None, description="Built PWA to serve at /; defaults to the packaged build."
    )
    base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Public address, used in setup links; unset, `serve` uses http://HOST:PORT.",
    )
    sqlite_busy_timeout_ms: int = Field(
        default=30_000, description="How long a SQLite writer waits for the lock before failing."
    )
    sqlite_checkpoint_seconds: float = Field(
        default=1.0,
        ge=0,
        description="How often the served app checkpoints SQLite's WAL in the background "
        "(0: only SQLite's own, in the commit that takes it past 10,000 pages).",
    )


@lru_cache
def get_settings() -> Settings:
    return Settings()
