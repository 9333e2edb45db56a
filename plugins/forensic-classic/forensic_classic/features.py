"""Image-level features of the classic evidence maps: what the learned detector's model reads.

A local edit makes a *compact* region that some map finds unusual, often several maps at the same place, and it
breaks the image's JPEG history there. So the features are, per map (:data:`MAPS`):

* ``c20`` / ``c10`` / ``c05``: the concentration of the heuristic detector (the most anomalous square window's
  mean robust z minus the median, windows 0.2, 0.1 and 0.05 of the shorter side: big, small and eye-sized edits);
* ``top``: the mean of the top 2% cells minus the median (strength of the strongest cells wherever they are);
* ``tail``: the fraction of cells above z = 3;

and across maps:

* ``agree_c10`` / ``agree_c20``: the concentration of the agreement map, the mean over maps of each map's z
  clipped to [-3, 8] (several weak maps at one place);
* ``in_dq_<map>``: each other map's mean z inside dq's strongest 0.1 window (do they point at the same place?);
* JPEG traces: ``dq_periodic`` (fraction of the 12 dq frequencies with a double-quantisation period, i.e. how
  much of the image was saved twice on the same grid), ``dq_step`` (log of the estimated first AC step, a proxy
  of the last quality), ``nadjpg_search`` (log strength of the best shifted-grid hypothesis) and
  ``nadjpg_shifted`` (the best grid is not the image's own), when nadjpg is among the maps;
* copy-move: ``clone_top`` (log count of the block pairs sharing the most common displacement) and
  ``clone_share`` (that count over all matching pairs), from :mod:`forensic_classic.clones`.

nadjpg is not in the default :data:`MAPS`: on the photo kit it changed the held-out AUC by 0.005, and it is the
slowest map (4 s on 12 MP).

Heavy-tailed statistics are compressed by ``log1p`` so that a logistic model stays well-behaved on them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from forensic_classic.clones import clone_statistics
from forensic_classic.ela import CellMap
from forensic_classic.scoring import concentration

MAPS = ("dq", "ghost", "blindnoise", "noise", "ela")
PER_MAP = ("c20", "c10", "c05", "top", "tail")
CLONES = ("clone_top", "clone_share")
TRACES = ("dq_periodic", "dq_step", "nadjpg_search", "nadjpg_shifted")
AGREEMENT = ("agree_c20", "agree_c10")


def feature_names(maps: tuple[str, ...] = MAPS) -> list[str]:
    """The features, in the order of :func:`feature_vector`, for the evidence ``maps``."""
    names = [f"{name}_{stat}" for name in maps for stat in PER_MAP]
    names += list(AGREEMENT)
    if "dq" in maps:
        names += [f"in_dq_{name}" for name in maps if name != "dq"]
        names += ["dq_periodic", "dq_step"]
    if "nadjpg" in maps:
        names += ["nadjpg_search", "nadjpg_shifted"]
    return names + list(CLONES)


def _on_grid(z: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A map on a coarser grid (noise: 16 px) repeated onto the 8 x 8 grid ``shape``, cropped or edge-padded."""
    factor = max(1, round(shape[0] / max(1, z.shape[0])))
    grid = np.kron(z, np.ones((factor, factor))) if factor > 1 else z
    grid = grid[: shape[0], : shape[1]]
    pad = ((0, shape[0] - grid.shape[0]), (0, shape[1] - grid.shape[1]))
    return np.pad(grid, pad, mode="edge") if any(p[1] for p in pad) else grid


def _strongest_window(z: np.ndarray, fraction: float) -> tuple[slice, slice]:
    from scipy.ndimage import uniform_filter

    side = max(1, round(fraction * min(z.shape)))
    local = uniform_filter(z.astype(np.float64), size=side, mode="nearest")
    row, col = np.unravel_index(int(np.argmax(local)), local.shape)
    top, left = max(0, row - side // 2), max(0, col - side // 2)
    return slice(top, top + side), slice(left, left + side)


def _log1p(value: float) -> float:
    return math.log1p(max(0.0, value))


def map_statistics(z: np.ndarray) -> list[float]:
    """(c20, c10, c05, top, tail) of one map, compressed."""
    flat = np.asarray(z, dtype=np.float64).ravel()
    median = float(np.median(flat))
    count = max(1, math.ceil(0.02 * flat.size))
    top = float(np.partition(flat, flat.size - count)[-count:].mean()) - median
    tail = float((flat > 3.0).mean())
    windows = [_log1p(concentration(z, fraction)) for fraction in (0.2, 0.1, 0.05)]
    return [*windows, _log1p(top), math.sqrt(tail)]


def feature_vector(image: np.ndarray, cells: Mapping[str, CellMap], maps: tuple[str, ...] = MAPS) -> np.ndarray:
    """The features of one RGB image (see the module docstring) from its evidence maps, as float64."""
    values: list[float] = []
    for name in maps:
        values += map_statistics(cells[name].z)
    shape = cells[maps[0]].z.shape
    grids = {name: _on_grid(np.nan_to_num(cells[name].z), shape) for name in maps}
    agreement = np.mean([np.clip(grid, -3.0, 8.0) for grid in grids.values()], axis=0)
    values += [_log1p(concentration(agreement, 0.2)), _log1p(concentration(agreement, 0.1))]
    if "dq" in maps:
        window = _strongest_window(grids["dq"], 0.1)
        for name in maps:
            if name != "dq":
                inside = float(np.clip(grids[name][window], -3.0, 8.0).mean())
                values.append(inside - float(np.median(np.clip(grids[name], -3.0, 8.0))))
        frequencies = cells["dq"].details.get("frequencies", {})
        values.append(len(frequencies) / 12.0)
        values.append(math.log(float(cells["dq"].details.get("steps", {}).get("0,1", 1))))
    if "nadjpg" in maps:
        details = cells["nadjpg"].details
        values.append(_log1p(float(details.get("search_score") or 0.0)))
        shift = details.get("shift") or [0, 0]
        values.append(float(tuple(shift) != (0, 0)))
    values += clone_statistics(image)
    return np.asarray(values, dtype=np.float64)
