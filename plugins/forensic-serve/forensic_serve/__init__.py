"""forensic-serve: the ``forensic serve`` command, an HTTP API and a single web page over the engine and journal."""

from __future__ import annotations

__version__ = "0.1.0"
