"""Option vocabularies shared by the light modules (settings, CLI) and the torch code."""

from __future__ import annotations

from typing import Literal, get_args

DisplayMode = Literal["sigmoid", "global", "minmax"]
DISPLAY_MODES: tuple[str, ...] = get_args(DisplayMode)

ReadoutMode = Literal["auto", "class", "patches"]
READOUTS: tuple[str, ...] = get_args(ReadoutMode)
