"""The run's control plane: one small Ray actor that every analysis actor asks before it starts an input.

Ray restarts a dead actor and re-runs its calls without telling the new actor that they are re-runs; the
ledger is how an input's attempts are counted anyway (so retries are bounded and reported), how an input that
timed out stays abandoned when the call that held it is re-run, and how the driver stops the start of new
inputs at once across the whole cluster (Ctrl-C, fail-fast) while the inputs in flight finish.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import ray

Verdict = Literal["go", "skip", "timed-out", "abandon"]


@dataclass(frozen=True)
class Admission:
    """The ledger's answer for one input: whether to analyse it, and which attempt this is."""

    verdict: Verdict
    attempt: int
    timeout_s: float = 0.0


@dataclass(frozen=True)
class LedgerStats:
    retried: int
    timed_out: int
    abandoned: int


class Ledger:
    """Attempts per input id, inputs that timed out, and the stop flag (held by one actor per run)."""

    def __init__(self, retries: int) -> None:
        self.retries = retries
        self.attempts: dict[str, int] = {}
        self.timed_out: dict[str, float] = {}
        self.abandoned: set[str] = set()
        self.stopped = False

    def begin(self, input_id: str) -> Admission:
        """Called by an actor before it analyses ``input_id``: the attempt number, or why not to analyse it."""
        if input_id in self.timed_out:
            return Admission("timed-out", self.attempts.get(input_id, 1), self.timed_out[input_id])
        if self.stopped:
            return Admission("skip", self.attempts.get(input_id, 0))
        attempt = self.attempts.get(input_id, 0) + 1
        self.attempts[input_id] = attempt
        if attempt > self.retries + 1:
            self.abandoned.add(input_id)
            return Admission("abandon", attempt - 1)
        return Admission("go", attempt)

    def record_timeout(self, input_id: str, seconds: float) -> None:
        self.timed_out[input_id] = seconds

    def stop(self) -> None:
        self.stopped = True

    def stats(self) -> LedgerStats:
        retried = sum(
            1
            for input_id, count in self.attempts.items()
            if count > 1 and input_id not in self.timed_out and input_id not in self.abandoned
        )
        return LedgerStats(retried=retried, timed_out=len(self.timed_out), abandoned=len(self.abandoned))


def start_ledger(retries: int) -> Any:
    """The ledger actor of one run (an actor handle): no CPU reserved (it only counts), never restarted (it is
    the run's memory)."""
    remote: Any = ray.remote(num_cpus=0, max_restarts=0)(Ledger)
    return remote.remote(retries)
