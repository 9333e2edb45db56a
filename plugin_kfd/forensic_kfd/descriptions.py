"""The built-in knowledge base: what genuine and forged faces look like, in words the text encoder reads.

These are data, not code: users replace or extend them in the pipeline file (``descriptions`` /
``extra_descriptions``), and a trained weights file records the ones it was trained with. Sentences are noun
phrases because the learnable context (initialised from :data:`CONTEXT_INIT`) is put in front of them:
"a close up of" + "a face with blending boundaries".
"""

from __future__ import annotations

CLASS_NAMES: tuple[str, str] = ("pristine", "deepfake")

CONTEXT_INIT = "a close up of"

PRISTINE: tuple[str, ...] = (
    "a genuine photo of a face",
    "a real face with natural skin texture",
    "an unedited photograph of a person",
    "a face with consistent lighting and colour",
    "a natural face with coherent, sharp details",
)

DEEPFAKE: tuple[str, ...] = (
    "a deepfake photo of a face",
    "a face with blending boundaries",
    "a face with inconsistent skin texture",
    "a face whose colour does not match the neck and forehead",
    "a face with blurry, resampled regions",
    "a face with GAN texture artifacts",
    "a face swapped onto another head",
    "a face with unnatural eyes, teeth or mouth",
)

# Manipulation types for the knowledge-guided contrastive term (used by training, kept here with the other text).
MANIPULATION_TYPES: dict[str, tuple[str, ...]] = {
    "real": ("a genuine photo of a face",),
    "face_swap": ("a face swapped onto another head", "a face with blending boundaries"),
    "reenactment": ("a face with manipulated expression and mouth movement",),
    "colour_mismatch": ("a face whose colour does not match the neck and forehead",),
    "resampling": ("a face with blurry, resampled regions",),
    "gan_texture": ("a face with GAN texture artifacts",),
}


def default_descriptions() -> dict[str, list[str]]:
    """A fresh copy of the built-in class descriptions, keyed by class name."""
    return {"pristine": list(PRISTINE), "deepfake": list(DEEPFAKE)}
