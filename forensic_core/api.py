"""The version of the plugin API: the promise the host makes to plugins.

The plugin API is everything a plugin touches: the hook specifications, the component protocols, the result
types, :class:`~forensic_core.components.ComponentSpec`, the settings base classes and the contract suites of
:mod:`forensic_core.testing`. It is versioned on its own, apart from the distribution's version, because a
plugin author needs to know one thing: will my plugin keep working?

Policy (semantic versioning of the API, documented in docs/plugin-contract.md):

* a **patch** release changes no API;
* a **minor** release only adds: a new hook, a new optional protocol member (the host supplies its documented
  default when a component lacks it), a new optional ``ComponentSpec`` field or result field with a default. A
  plugin written for 1.x keeps passing its contract suites on every later 1.y;
* anything removed or renamed is first deprecated: it keeps working and warns (``FutureWarning``) for at least one
  minor version, and goes away only in the next major version.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

API_VERSION = "1.2.0"
"""The plugin API this host implements (major.minor.patch)."""

__all__ = [
    "API_VERSION",
    "OPTIONAL_MEMBERS",
    "ApiRangeError",
    "OptionalMember",
    "check_api_range",
    "member",
    "warn_deprecated",
]


@dataclass(frozen=True)
class OptionalMember:
    """An optional protocol member: a component may lack it (one written before ``since``), and then the host
    supplies ``default``."""

    kind: str
    name: str
    default: Any
    since: str
    meaning: str


OPTIONAL_MEMBERS: dict[tuple[str, str], OptionalMember] = {
    (m.kind, m.name): m
    for m in (
        OptionalMember(
            "dialog",
            "accepts_embeddings",
            False,
            "1.1",
            "the backend feeds the findings to its model as embeddings (forgery prompt tokens) besides the text",
        ),
        OptionalMember(
            "any",
            "effective_settings",
            None,
            "1.2",
            "a method returning the settings the component runs with when a model file decided some of them; the "
            "report's provenance shows these instead of the pipeline's",
        ),
        OptionalMember(
            "any",
            "preferred_batch_size",
            1,
            "1.2",
            "the number of items the component likes per call; the host joins inputs into batches of that size "
            "unless --batch-size says otherwise",
        ),
        OptionalMember(
            "any",
            "weights_identity",
            None,
            "1.0",
            "a method naming the weights the component runs (file hash, model tag) for provenance",
        ),
    )
}
"""Every optional protocol member, by (component kind, name): what the host assumes when a component lacks it."""


def member(component: object, name: str, kind: str = "any") -> Any:
    """``component.name``, or the documented default of that optional member when the component lacks it.

    The host reads optional members only through here, so that a plugin written before a member existed behaves
    as the default says, and the default is written down once.
    """
    entry = OPTIONAL_MEMBERS.get((kind, name)) or OPTIONAL_MEMBERS.get(("any", name))
    if entry is None:
        raise KeyError(f"{name!r} is not an optional protocol member of {kind!r} components")
    return getattr(component, name, entry.default)


class ApiRangeError(ValueError):
    """A plugin declares a plugin-API range this host is outside of (or a range that cannot be read)."""


def check_api_range(required: object, plugin: str) -> str:
    """Check a plugin's declared API range (``forensic_api = ">=1.0,<2"``) against :data:`API_VERSION`.

    Returns the range as text; raises :class:`ApiRangeError` with one line naming the plugin, both versions and
    what to do.
    """
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    text = str(required).strip() if isinstance(required, str) else None
    if not text:
        raise ApiRangeError(f"{plugin} declares forensic_api = {required!r}: give a version range such as '>=1.0,<2'")
    try:
        specifier = SpecifierSet(text)
    except InvalidSpecifier:
        raise ApiRangeError(
            f"{plugin} declares forensic_api = {text!r}, which is not a version range (write e.g. '>=1.0,<2')"
        ) from None
    if API_VERSION not in specifier:
        raise ApiRangeError(
            f"{plugin} needs plugin API {text}, but this forensic-core provides plugin API {API_VERSION}: install "
            f"a release of {plugin} made for API {API_VERSION.split('.')[0]}.x, or a forensic-core whose API is "
            f"in {text}"
        )
    return text


def warn_deprecated(what: str, *, since: str, removal: str, instead: str) -> None:
    """Warn that ``what`` is deprecated since API ``since`` and goes away in ``removal`` (a major version).

    A ``FutureWarning`` (shown by default, unlike ``DeprecationWarning``): the people who must act are plugin
    users as well as plugin authors.
    """
    warnings.warn(
        f"{what} is deprecated since plugin API {since} and will be removed in API {removal}; {instead}",
        FutureWarning,
        stacklevel=3,
    )
