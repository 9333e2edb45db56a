"""Suite-wide settings: offline model hubs and the core's testing kit."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

pytest_plugins = ["forensic_core.testing"]
