"""``--address`` reaches the ray engine as its ``address`` setting, without writing RAY_ADDRESS (issue 21).

The engine here is a stand-in named ``ray`` (no Ray started); the option is forensic-ray's own.
"""

from __future__ import annotations

import os

from pydantic import Field

from forensic_core import ComponentSettings, ComponentSpec, hookimpl
from forensic_ray import plugin as ray_plugin

BUILT: list[object] = []


class AddressSettings(ComponentSettings):
    address: str | None = Field(None, description="cluster address")
    actors_per_node: int = Field(0, description="kept from the pipeline")


class RecordingEngine:
    def __init__(self, settings: AddressSettings, context: object) -> None:
        BUILT.append(settings)

    def run(self, plan, journal, observer, stop) -> None:
        return None


class StandInRay:
    forensic_add_commands = staticmethod(ray_plugin.forensic_add_commands)

    @hookimpl
    def forensic_register_engines(self):
        return [ComponentSpec("ray", "stand-in", settings=AddressSettings, factory=RecordingEngine)]


def test_address_is_an_engine_setting_laid_over_the_pipelines(register_plugin, forensic_cli, tmp_path, monkeypatch):
    register_plugin(StandInRay(), name="stand-in-ray")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    (tmp_path / "p.yaml").write_text("engine: {name: ray, settings: {actors_per_node: 3}}\n")
    BUILT.clear()
    args = ["run", "-p", str(tmp_path / "p.yaml"), str(tmp_path), "-o", str(tmp_path / "out"), "--no-progress"]
    forensic_cli(*args, "--address", "ray://head:10001")
    assert [(s.address, s.actors_per_node) for s in BUILT] == [("ray://head:10001", 3)]
    assert "RAY_ADDRESS" not in os.environ
    BUILT.clear()
    forensic_cli(*args, "--overwrite")
    assert [(s.address, s.actors_per_node) for s in BUILT] == [(None, 3)]
