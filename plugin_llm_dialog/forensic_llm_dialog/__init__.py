"""forensic-llm-dialog: dialog backends that answer questions about an input's forensic findings.

Backends (``grounded``, ``hf``, ``openai``, ``llm``) are registered by :mod:`forensic_llm_dialog.plugin`; the
session that drives them (history, citations, follow-up analysis, guard rails) is the core's
:class:`forensic_core.dialog.DialogSession`.
"""

from __future__ import annotations

__version__ = "0.1.0"
