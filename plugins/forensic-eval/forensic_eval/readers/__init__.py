"""First-party dataset readers: one module per layout, each a factory ``build(settings, context)``."""

from __future__ import annotations
