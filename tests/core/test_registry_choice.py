"""One mechanism chooses the registry: the context variable set by use_registry, else the installed plugins."""

from __future__ import annotations

import threading

from forensic_core import registry as registry_module
from forensic_core.registry import Registry, get_registry, installed_registry, use_registry


def test_no_module_global_beside_the_context_variable():
    assert not hasattr(registry_module, "_discovered")


def test_use_registry_overrides_and_other_threads_see_the_installed_one():
    mine = Registry(raise_errors=False)
    seen: list[Registry] = []
    with use_registry(mine):
        assert get_registry() is mine
        thread = threading.Thread(target=lambda: seen.append(get_registry()))
        thread.start()
        thread.join()
    assert seen == [installed_registry()]
    assert get_registry() is installed_registry() is installed_registry()
