"""Run observers: how engines report progress (a terminal bar, a server's event stream, Ray's driver).

Engines call an observer from their driver thread: ``run_started`` once with the number of inputs still to do,
``input_finished`` after each input is in the journal, ``run_finished`` at the end. Observers never influence
results; one that raises is the run's problem, so keep them simple.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import Any, Protocol, TextIO, runtime_checkable

from forensic_core.report import InputResult, Summary
from forensic_core.terminal import printable


@runtime_checkable
class RunObserver(Protocol):
    def run_started(self, total: int, resumed: int) -> None: ...

    def input_finished(self, result: InputResult) -> None: ...

    def run_finished(self, summary: Summary) -> None: ...


class NullObserver:
    """Observes nothing (library use, tests)."""

    def run_started(self, total: int, resumed: int) -> None:
        pass

    def input_finished(self, result: InputResult) -> None:
        pass

    def run_finished(self, summary: Summary) -> None:
        pass


class Observers:
    """Several observers as one."""

    def __init__(self, observers: Iterable[RunObserver]) -> None:
        self.observers = list(observers)

    def run_started(self, total: int, resumed: int) -> None:
        for observer in self.observers:
            observer.run_started(total, resumed)

    def input_finished(self, result: InputResult) -> None:
        for observer in self.observers:
            observer.input_finished(result)

    def run_finished(self, summary: Summary) -> None:
        for observer in self.observers:
            observer.run_finished(summary)


def verdict_line(result: InputResult) -> str:
    """``source: detector score label, ...`` or ``source: error: reason``, safe to print on a terminal."""
    source = printable(result.source)
    if result.status != "ok":
        return f"{source}: error: {printable(result.error or 'failed')}"
    verdict = ", ".join(f"{printable(d.component)} {d.score:.2f} {d.label}" for d in result.detections) or "-"
    return f"{source}: {verdict}"


class TerminalObserver:
    """A progress bar on a TTY (tqdm on stderr: total, rate, ETA, errors so far) and one line per finished input.

    The bar is drawn only when ``stream`` is a terminal and ``progress`` is on; lines go through ``echo`` (stdout)
    and, while a bar is shown, through tqdm so they do not tear it.
    """

    def __init__(
        self,
        *,
        progress: bool = True,
        echo: Callable[[str], Any] | None = None,
        stream: TextIO | None = None,
    ) -> None:
        self.stream = stream or sys.stderr
        self.enabled = progress and _isatty(self.stream)
        self.echo = echo
        self.errors = 0
        self._bar: Any = None

    def run_started(self, total: int, resumed: int) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        note = f" ({resumed} done earlier)" if resumed else ""
        self._bar = tqdm(total=total, file=self.stream, unit="input", desc=f"analysing{note}", dynamic_ncols=True)
        self._bar.set_postfix(errors=0)

    def input_finished(self, result: InputResult) -> None:
        self.errors += result.status != "ok"
        if self.echo is not None:
            line = verdict_line(result)
            if self._bar is not None:
                self._bar.write(line, file=sys.stdout)
            else:
                self.echo(line)
        if self._bar is not None:
            self._bar.set_postfix(errors=self.errors, refresh=False)
            self._bar.update(1)

    def run_finished(self, summary: Summary) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
