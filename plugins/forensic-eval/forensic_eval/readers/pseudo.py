"""``pseudo``: self-blended pseudo-fakes generated from a folder of real face images.

Each real image yields itself (label real) and ``per_image`` pseudo-fakes made by
:func:`forensic_eval.pseudofake.make_pseudo_fake`, seeded from (``seed``, image index, copy index) so the same
settings give the same images. A Sample names a file, so the fakes and their masks are written (PNG) into a cache
folder and reused when present; the recipe goes in ``meta["recipe"]`` and its type is the sample's method.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from forensic_core.datasets import Sample
from forensic_core.errors import ConfigError
from forensic_core.media import IMAGE_SUFFIXES
from forensic_eval.readers.common import Reader, existing_dir, media_files

if TYPE_CHECKING:
    from forensic_eval.plugin import PseudoSettings


class PseudoReader(Reader):
    name = "pseudo"

    def __init__(
        self, root: Path, *, seed: int = 0, per_image: int = 1, include_reals: bool = True, cache: Path | None = None
    ) -> None:
        super().__init__(None)
        self.root = existing_dir(root, "folder of real face images", "give a folder of real (pristine) images")
        self.seed, self.per_image, self.include_reals = seed, per_image, include_reals
        key = hashlib.sha256(f"{self.root}|{seed}|{per_image}".encode()).hexdigest()[:16]
        self.cache = (cache or Path(tempfile.gettempdir()) / "forensic-pseudofake" / key).resolve()

    def samples(self) -> Iterator[Sample]:
        images = media_files(self.root, IMAGE_SUFFIXES)
        if not images:
            raise ConfigError(f"{self.root}: no images to make pseudo-fakes from")
        for index, path in enumerate(images):
            relative = path.relative_to(self.root)
            if self.include_reals:
                yield Sample(str(path), "real")
            for copy in range(self.per_image):
                image_path, mask_path, recipe = self._fake(path, relative, index, copy)
                yield Sample(
                    str(image_path),
                    "fake",
                    mask=str(mask_path),
                    method=str(recipe.get("type", "pseudo")),
                    meta={"recipe": recipe, "source": str(path)},
                )

    def _fake(self, path: Path, relative: Path, index: int, copy: int) -> tuple[Path, Path, dict[str, Any]]:
        stem = self.cache / relative.parent / f"{relative.stem}-pf{copy}"
        image_path, mask_path, recipe_path = (stem.with_name(stem.name + s) for s in (".png", "-mask.png", ".json"))
        if image_path.is_file() and mask_path.is_file() and recipe_path.is_file():
            return image_path, mask_path, json.loads(recipe_path.read_text(encoding="utf-8"))
        import numpy as np
        from PIL import Image

        from forensic_core.media import load_image
        from forensic_eval.pseudofake import make_pseudo_fake

        rng = np.random.default_rng(np.random.SeedSequence([self.seed, index, copy]))
        fake = make_pseudo_fake(load_image(path), rng)
        stem.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(fake.image).save(image_path)
        Image.fromarray(((fake.mask >= 0.5) * 255).astype(np.uint8)).save(mask_path)
        recipe = fake.recipe.as_dict()
        recipe_path.write_text(json.dumps(recipe), encoding="utf-8")
        return image_path, mask_path, recipe


def build(settings: PseudoSettings, context: object = None) -> PseudoReader:
    return PseudoReader(
        Path(settings.root),
        seed=settings.seed,
        per_image=settings.per_image,
        include_reals=settings.include_reals,
        cache=Path(settings.cache) if settings.cache else None,
    )
