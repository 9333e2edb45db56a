"""The error hierarchy: each error is a user-facing, one-line message that says what to do next.

The CLI prints ``str(error)`` on one line and exits with :attr:`ForensicError.exit_code`; ``--debug`` (or
``FORENSIC_DEBUG=1``) re-raises with the traceback instead.
"""

from __future__ import annotations


class ForensicError(Exception):
    """Base class of every error the framework raises on purpose."""

    exit_code = 2


class PluginLoadError(ForensicError):
    """A plugin failed to import or register and a pipeline needs one of its components."""


class UnknownComponentError(ForensicError):
    """A pipeline names a component no installed plugin registers."""


class AmbiguousComponentError(ForensicError):
    """Two plugins register the same component name; a qualified ``dist:name`` must be used."""


class ConfigError(ForensicError):
    """A pipeline file is invalid. ``problems`` holds ``path: message`` lines."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


class RequirementError(ConfigError):
    """A pipeline's ``requires:`` entry is not satisfied by the installed plugins."""


class InputError(ForensicError):
    """An input cannot be read (missing, unsupported, corrupt, too large)."""


class ComponentError(ForensicError):
    """A component failed on an input, or returned something that breaks its contract."""

    exit_code = 1


class MissingWeightsError(ForensicError):
    """Model weights are not available locally and cannot be downloaded."""


class OutputError(ForensicError):
    """The output folder cannot be used as asked (a file, read-only, an earlier run without --resume/--overwrite)."""


def one_line(
    exc: BaseException, *, limit: int | None = None, bare: tuple[type[BaseException], ...] = (ForensicError,)
) -> str:
    """An exception as one line for a report, a listing or the terminal (the one shortener, used everywhere).

    Whitespace (newlines included) is collapsed and the text cut to ``limit`` characters with "..." (plugin and
    decoder messages can be long, multi-line or empty). Exceptions of the ``bare`` types show their message alone
    (our own errors are written to be read); anything else is ``Type: message``, or the type alone when empty.
    Pass ``bare=(BaseException,)`` for the message alone whatever the type.
    """
    name = exc.__class__.__name__
    text = " ".join(str(exc).split())
    if limit is not None and len(text) > limit:
        text = text[: limit - 3] + "..."
    if not text:
        return name
    return text if isinstance(exc, bare) else f"{name}: {text}"
