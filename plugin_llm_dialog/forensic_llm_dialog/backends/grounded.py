"""The ``grounded`` backend: deterministic answers from the evidence, no model (always available, the default)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from forensic_core import BuildContext, Findings, Message
from forensic_llm_dialog.grounding import answer
from forensic_llm_dialog.settings import GroundedSettings


def build(settings: GroundedSettings, context: BuildContext) -> GroundedBackend:
    return GroundedBackend(settings)


class GroundedBackend:
    """Answers each question type from the findings' citations; the same findings give the same words."""

    accepts_embeddings = False

    def __init__(self, settings: GroundedSettings | None = None) -> None:
        self.settings = settings or GroundedSettings()

    def reply(self, findings: Findings, conversation: Sequence[Message]) -> Iterator[str]:
        question = next((m.content for m in reversed(conversation) if m.role == "user"), "")
        yield answer(findings, question, max_regions=self.settings.max_regions)
