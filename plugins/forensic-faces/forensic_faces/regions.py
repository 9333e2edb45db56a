"""Named facial regions from 68 facial points (the iBUG 300-W / dlib convention).

One construction serves both sources of points: real landmarks from a shape predictor (``landmarks-68``) and
the canonical template placed in a face box (``box-geometry``, see :mod:`forensic_faces.template`). Regions are
polygons in the points' coordinates (full-image pixels), built in the face's own frame (the axis through the
eye centres and its perpendicular) so that they follow a tilted head.

Point indices (0-based): jaw line 0-16 from the subject's right ear to the left; right brow 17-21, left brow
22-26; nose bridge 27-30, nose base 31-35; right eye 36-41, left eye 42-47; outer lips 48-59, inner lips 60-67.
"Right" is the subject's right, which appears on the *left* of a frontal photo.
"""

from __future__ import annotations

import numpy as np

from forensic_faces.geometry import convex_hull

RIGHT_EYE = slice(36, 42)
LEFT_EYE = slice(42, 48)

# Proportions below are fractions of the distance between the eye centres unless said otherwise. They were set
# by drawing the regions over the landmarks of the test photos (astronaut, Grace Hopper) and checking that each
# covers its feature without swallowing its neighbours.
BROW_HALF_THICKNESS = 0.08
JAW_BAND = (0.88, 1.08)  # inner and outer edge of the jaw band, as a scale of the jaw line about the nose tip
FOREHEAD_HEIGHT = 0.6  # of the brow-to-nose-base height, which equals the hairline-to-brow height (rule of thirds)
EYE_SEMI_MAJOR = 0.65  # of the eye's corner-to-corner width
EYE_MIN_SEMI_MINOR = 0.35  # of the eye's width, so that a closed eye still has a region
MOUTH_SCALE = 1.15  # outer lip line, scaled about its centroid to include the lip border


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else np.array([1.0, 0.0])


def face_frame(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """The face's own axes: ``across`` (subject's right eye -> left eye), ``down`` (towards the chin), eye distance.

    In image coordinates (y down) ``down`` is ``across`` turned by +90 degrees.
    """
    right_eye = points[RIGHT_EYE].mean(axis=0)
    left_eye = points[LEFT_EYE].mean(axis=0)
    across = _unit(left_eye - right_eye)
    down = np.array([-across[1], across[0]])
    return across, down, float(np.linalg.norm(left_eye - right_eye))


def _scaled(points: np.ndarray, factor: float, centre: np.ndarray | None = None) -> np.ndarray:
    centre = points.mean(axis=0) if centre is None else centre
    return centre + factor * (points - centre)


def _eye(contour: np.ndarray, down: np.ndarray, samples: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """An ellipse around one eye (6 contour points), and the two points of the cheek's upper edge below it.

    An ellipse rather than the contour itself: the contour hugs the lid opening, which is a sliver (or a line
    for a closed eye), while artifacts of face swaps show on the lids and the skin around the eye.
    """
    centre = contour.mean(axis=0)
    axis = contour[3] - contour[0]
    eye_width = float(np.linalg.norm(axis))
    along = _unit(axis)
    across_axis = np.array([-along[1], along[0]])
    if np.dot(across_axis, down) < 0:
        across_axis = -across_axis
    opening = float(np.mean([np.linalg.norm(contour[1] - contour[5]), np.linalg.norm(contour[2] - contour[4])]))
    semi_major = EYE_SEMI_MAJOR * eye_width
    semi_minor = max(EYE_MIN_SEMI_MINOR * eye_width, 0.75 * opening)
    angles = np.linspace(0.0, 2 * np.pi, samples, endpoint=False)
    ellipse = centre + np.outer(semi_major * np.cos(angles), along) + np.outer(semi_minor * np.sin(angles), across_axis)
    # Where the cheek starts: under the eye at the ellipse's lower edge, below contour[0] then below contour[3]
    # (outer then inner corner for the right eye, inner then outer for the left).
    below = centre + semi_minor * across_axis
    cheek_top = np.stack([below - 0.45 * eye_width * along, below + 0.45 * eye_width * along])
    return ellipse, cheek_top


def _band(line: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """A polygon around a polyline: the line moved by ``-offset``, then by ``+offset`` in reverse order."""
    return np.concatenate([line - offset, (line + offset)[::-1]])


def regions_from_points(points: np.ndarray) -> dict[str, np.ndarray]:
    """Region polygons (name -> K x 2 float array of x, y) from 68 facial points in image coordinates."""
    p = np.asarray(points, dtype=float)
    if p.shape != (68, 2):
        raise ValueError(f"expected 68 x 2 facial points, got shape {p.shape}")
    across, down, eye_distance = face_frame(p)

    right_eye, right_cheek_top = _eye(p[36:42], down)
    left_eye, left_cheek_top = _eye(p[42:48], down)

    brow_offset = BROW_HALF_THICKNESS * eye_distance * down
    right_brow = _band(p[17:22], brow_offset)
    left_brow = _band(p[22:27], brow_offset)

    nose_width = float(np.linalg.norm(p[35] - p[31]))
    wing = 0.25 * nose_width * across
    nose = convex_hull(np.stack([p[27] - wing, p[27] + wing, p[31] - wing, p[35] + wing, p[30], *p[31:36]]))

    mouth = _scaled(p[48:60], MOUTH_SCALE)

    nose_tip = p[30]
    jaw_inner = _scaled(p[0:17], JAW_BAND[0], nose_tip)
    jaw_outer = _scaled(p[0:17], JAW_BAND[1], nose_tip)
    jaw = np.concatenate([jaw_outer, jaw_inner[::-1]])

    # Cheeks run from the inner edge of the jaw band to the mouth corner and nose wing, up to below the eye;
    # sharing the jaw band's edge keeps "jaw" and "cheek" from claiming the same pixels.
    right_cheek = np.stack([*jaw_inner[1:5], p[48], p[31], right_cheek_top[1], right_cheek_top[0]])
    left_cheek = np.stack([*jaw_inner[15:11:-1], p[54], p[35], left_cheek_top[0], left_cheek_top[1]])

    brow_top = p[17:27] - brow_offset
    third = float(np.dot(p[33] - p[17:27].mean(axis=0), down))
    forehead = np.concatenate([brow_top, (brow_top - FOREHEAD_HEIGHT * third * down)[::-1]])

    return {
        "left_eye": left_eye,
        "right_eye": right_eye,
        "left_brow": left_brow,
        "right_brow": right_brow,
        "nose": nose,
        "mouth": mouth,
        "jaw": jaw,
        "left_cheek": left_cheek,
        "right_cheek": right_cheek,
        "forehead": forehead,
    }
