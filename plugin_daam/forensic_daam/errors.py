"""Errors of the DAAM library (no framework import: the library stands on its own)."""

from __future__ import annotations


class UnsupportedModelError(ValueError):
    """The model is not a Vision Transformer DAAM can trace (no [class] token, unknown attention, pooling...)."""
