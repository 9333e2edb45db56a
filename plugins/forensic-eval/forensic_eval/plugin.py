"""Registration module of forensic-eval (entry point ``forensic.plugins: eval``).

Imports only the core and pydantic: readers live in :mod:`forensic_eval.readers`, named by import string and
loaded only when a dataset is used.
"""

from __future__ import annotations

from collections.abc import Sequence

from forensic_core import ComponentSpec, hookimpl


@hookimpl
def forensic_register_datasets() -> Sequence[ComponentSpec]:
    """The first-party dataset readers (filled in as each reader lands)."""
    return []
