"""Box geometry: where the facial features of an upright frontal face sit inside a face detector's box.

When no landmark model is installed, the 68 points of a canonical face are placed in the detector's box and
the regions are built from them exactly as from real landmarks (:mod:`forensic_faces.regions`), so both sources
give regions of the same shapes and names.

The canonical proportions: eyes on the line at 39% of the box height, 44% of the box width apart; brows at
25-31%; nose tip at 62%, nose base at 66-69%; mouth at 76-88%; the chin just below the box (108%, Haar boxes
stop at the chin's upper edge); the jaw line at the box's sides from 42% down. These are the mean 68-point
landmarks (dlib's shape predictor) of the frontal faces in scikit-image's ``astronaut`` and matplotlib's
``grace_hopper.jpg``, and of their mirror images, normalised to the OpenCV frontal-face Haar box and made
exactly left-right symmetric. scikit-image's LBP cascade returns boxes of similar placement (slightly tighter
on some faces), so the same template serves it.
"""

from __future__ import annotations

import math

import numpy as np

from forensic_core import Box

# (u, v): fractions of the box width and height from its top-left corner, in 68-point order.
CANONICAL_POINTS = np.array(
    [
        [0.057, 0.416], [0.061, 0.525], [0.074, 0.634], [0.095, 0.744], [0.137, 0.848], [0.203, 0.938],
        [0.291, 1.008], [0.387, 1.069], [0.5, 1.084], [0.613, 1.069], [0.709, 1.008], [0.797, 0.938],
        [0.863, 0.848], [0.905, 0.744], [0.926, 0.634], [0.939, 0.525], [0.943, 0.416],
        [0.134, 0.313], [0.181, 0.26], [0.257, 0.244], [0.334, 0.254], [0.403, 0.29],
        [0.597, 0.29], [0.666, 0.254], [0.743, 0.244], [0.819, 0.26], [0.866, 0.313],
        [0.5, 0.385], [0.5, 0.465], [0.5, 0.542], [0.5, 0.618],
        [0.4, 0.658], [0.448, 0.673], [0.5, 0.688], [0.552, 0.673], [0.6, 0.658],
        [0.219, 0.392], [0.264, 0.361], [0.324, 0.362], [0.374, 0.406], [0.32, 0.411], [0.263, 0.413],
        [0.626, 0.406], [0.676, 0.362], [0.736, 0.361], [0.781, 0.392], [0.737, 0.413], [0.68, 0.411],
        [0.3, 0.762], [0.376, 0.759], [0.451, 0.757], [0.5, 0.769], [0.549, 0.757], [0.624, 0.759],
        [0.7, 0.762], [0.627, 0.844], [0.554, 0.877], [0.5, 0.883], [0.446, 0.877], [0.373, 0.844],
        [0.323, 0.771], [0.449, 0.79], [0.5, 0.796], [0.551, 0.79], [0.677, 0.771],
        [0.552, 0.824], [0.5, 0.829], [0.448, 0.824],
    ],
    dtype=float,
)  # fmt: skip

# The index of each point's mirror image (left-right swap): a face seen in a mirror keeps its point numbering.
MIRROR = np.array(
    [
        *range(16, -1, -1),  # jaw line
        *range(26, 16, -1),  # brows
        *(27, 28, 29, 30, 35, 34, 33, 32, 31),  # nose
        *(45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40),  # eyes
        *(54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55),  # outer lips
        *(64, 63, 62, 61, 60, 67, 66, 65),  # inner lips
    ]
)


def points_in_box(box: Box, roll_degrees: float = 0.0) -> np.ndarray:
    """The canonical 68 points placed in ``box`` (full-image pixels), turned by ``roll_degrees`` about its centre.

    A positive roll turns the face clockwise on screen (y down), i.e. the subject's left eye (on the right of
    the photo) lower than the right eye.
    """
    points = np.array([box.x0, box.y0], dtype=float) + CANONICAL_POINTS * [box.width, box.height]
    if roll_degrees:
        centre = np.array([(box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2])
        angle = math.radians(roll_degrees)
        rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
        points = centre + (points - centre) @ rotation.T
    return points
