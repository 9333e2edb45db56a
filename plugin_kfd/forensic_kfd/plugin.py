"""Registration module of forensic-kfd (the ``forensic.plugins`` entry point).

Light on purpose: it imports the core, pydantic and the standard library only. torch and open_clip are imported
by :mod:`forensic_kfd.components` when a pipeline builds a ``kfd`` component.
"""

from __future__ import annotations

from forensic_core import ComponentSpec, hookimpl
from forensic_kfd.settings import KfdSettings

REQUIRES = "torch, open_clip"


@hookimpl
def forensic_register_detectors() -> list[ComponentSpec]:
    return [
        ComponentSpec(
            name="kfd",
            summary="Knowledge-guided Forgery Detector: open_clip patch/text correlation maps -> p(fake)",
            settings=KfdSettings,
            factory="forensic_kfd.components:build_detector",
            scope="faces",
            requires=REQUIRES,
            tags=("deepfake", "clip", "explainable"),
        )
    ]


@hookimpl
def forensic_register_localizers() -> list[ComponentSpec]:
    return [
        ComponentSpec(
            name="kfd",
            summary="Knowledge-guided Forgery Detector: forgery mask and per-layer correlation maps",
            settings=KfdSettings,
            factory="forensic_kfd.components:build_localizer",
            scope="faces",
            requires=REQUIRES,
            tags=("deepfake", "clip"),
        )
    ]
