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

API_VERSION = "1.2.0"
"""The plugin API this host implements (major.minor.patch)."""
