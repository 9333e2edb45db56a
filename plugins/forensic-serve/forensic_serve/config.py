"""What a server is started with: one validated settings object, built by ``forensic serve`` or by tests."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_TOKEN_ENV = "FORENSIC_SERVE_TOKEN"


class ServeConfig(BaseModel):
    """Settings of one server process (limits, folders, safety switches)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data_dir: Path = Field(description="the server's own folder: uploads/ and one journal folder per analysis")
    pipeline: Path | None = Field(None, description="pipeline YAML; None: the built-in offline pipeline")
    host: str = Field("127.0.0.1", description="address to bind; anything but loopback needs allow_remote")
    port: int = Field(8000, ge=0, le=65535, description="TCP port (0: any free port)")
    allow_remote: bool = Field(False, description="permit binding a non-loopback address (a warning is printed)")
    max_upload_bytes: int = Field(50 * 2**20, ge=1, description="largest request body accepted (413 above)")
    max_pixels: int = Field(40_000_000, ge=1, description="largest image (width x height) accepted (413 above)")
    workers: int = Field(1, ge=1, le=64, description="analyses run at the same time (threads sharing one pool)")
    max_batch_items: int = Field(
        32, ge=1, le=4096, description="most items one component call holds when concurrent analyses are batched"
    )
    queue_size: int = Field(8, ge=0, le=10_000, description="analyses waiting for a worker before 429")
    max_sessions: int = Field(
        64, ge=1, description="dialog sessions kept in memory, each with its heatmaps (the least recently used goes)"
    )
    stored_sessions: int = Field(
        10_000, ge=1, description="dialog sessions kept on disk (DATA/sessions.sqlite3); the least recently used go"
    )
    session_max_age_days: float = Field(
        30.0, gt=0, description="a dialog session unused for longer is removed from disk (with its messages)"
    )
    token_env: str = Field(
        DEFAULT_TOKEN_ENV, description="environment variable holding the bearer token; unset or empty: no token"
    )
    token: str | None = Field(None, description="the bearer token read from token_env at start-up", repr=False)


def is_loopback(host: str) -> bool:
    """Whether ``host`` names only this machine (``localhost`` or a loopback address)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
