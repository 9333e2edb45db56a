"""Training samples: real faces (+ on-the-fly pseudo-fakes) or a registered dataset, as tensors for KFD.

A source is a list of *records* (an image, or a frame of a video, with its label). The training set is a
*virtual* list: every record, then (with ``pseudo_fakes``) one pseudo-fake twin per real record. Item ``(epoch,
index)`` is a pure function of the seed, the epoch and the index: augmentation and the pseudo-fake recipe draw
from ``np.random.default_rng([seed, salt, epoch, index])``. That is what makes data-loader workers, DDP ranks and
``--resume`` exact: the data position is just the step number (see :class:`StepSampler`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from forensic_core.errors import ConfigError
from forensic_kfd.training.config import Augment, PseudoFakes, Source

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm")
BUILTIN = ("builtin:lfw", "builtin:astronaut", "builtin:grace_hopper")
TRAIN_SALT, VAL_SALT = 1, 2
_MEMO_LIMIT = 4096


@dataclass(frozen=True)
class Record:
    """One labelled image: a file (or a video frame), or pixels held in memory (built-in photos)."""

    source: str
    label: int  # 1 = fake
    method: str | None = None
    mask: str | None = None  # a mask image, or (for a video sample) a mask video with the same frames
    frame: int | None = None
    frames: int = 1
    pixels: np.ndarray | None = None


def builtin_photos(name: str) -> list[np.ndarray]:
    """Real face photos that ship inside installed packages (scikit-image, matplotlib)."""
    if name == "builtin:lfw":
        from skimage.data import lfw_subset

        faces = lfw_subset()[:100]  # the first 100 of the 200 are faces, the rest non-faces
        return [np.repeat((face * 255).round().astype(np.uint8)[..., None], 3, axis=2) for face in faces]
    if name == "builtin:astronaut":
        from skimage.data import astronaut

        return [np.ascontiguousarray(astronaut()[..., :3])]
    if name == "builtin:grace_hopper":
        from matplotlib import cbook
        from PIL import Image

        with Image.open(str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))) as image:
            return [np.asarray(image.convert("RGB"))]
    raise ConfigError(f"kfd train: unknown built-in image set {name!r}; known: {', '.join(BUILTIN)}")


def source_records(source: Source) -> list[Record]:
    """The records of a source, sorted (folders walked), sliced by start/stop."""
    records: list[Record] = []
    if source.reals is not None:
        for entry in source.reals:
            if entry.startswith("builtin:"):
                records += [Record(f"{entry}#{i}", 0, pixels=p) for i, p in enumerate(builtin_photos(entry))]
            else:
                records += [Record(str(path), 0) for path in _image_files(entry)]
    else:
        records = _dataset_records(source)
    records = records[source.start : source.stop]
    if not records:
        raise ConfigError(f"kfd train: data source {_describe(source)} holds no samples (check paths/start/stop)")
    return _expand_videos(records, source.frames_per_video)


def _describe(source: Source) -> str:
    return f"dataset {source.dataset!r}" if source.dataset else f"reals {source.reals}"


def _image_files(entry: str) -> list[Path]:
    path = Path(entry).expanduser()
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if path.is_file():
        return [path]
    raise ConfigError(f"kfd train: reals entry {entry!r} is neither a file nor a folder: fix data.*.reals")


def _dataset_records(source: Source) -> list[Record]:
    from forensic_core import BuildContext
    from forensic_core.components import ComponentKind
    from forensic_core.registry import get_registry

    assert source.dataset is not None
    spec = get_registry().resolve(ComponentKind.DATASET, source.dataset).spec
    settings = spec.settings.model_validate(source.settings)
    reader = spec.resolve_factory()(settings, BuildContext())
    records = []
    for sample in reader.samples():
        if source.split is not None and sample.split not in (None, source.split):
            continue
        label = 1 if sample.label == "fake" else 0
        mask = sample.mask or sample.meta.get("mask_video")  # FF++ keeps its masks as videos
        records.append(Record(sample.path, label, method=sample.method if label else None, mask=mask))
    return records


def _expand_videos(records: list[Record], frames: int) -> list[Record]:
    out = []
    for record in records:
        if record.pixels is None and Path(record.source).suffix.lower() in VIDEO_SUFFIXES:
            out += [
                Record(record.source, record.label, record.method, record.mask, frame=k, frames=frames)
                for k in range(frames)
            ]
        else:
            out.append(record)
    return out


@dataclass
class Face:
    """A face crop and where the face is inside it."""

    image: np.ndarray
    box: tuple[float, float, float, float]
    landmarks: np.ndarray | None
    mask: np.ndarray | None  # the dataset's manipulation mask (float32 in [0, 1]), for fakes that have one


class FaceLoader:
    """Reads a record's pixels and, with ``faces: detect``, crops the largest face (results memoised)."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self._detector: Any = None
        self._memo: dict[int, Face] = {}

    def __call__(self, position: int, record: Record) -> Face:
        face = self._memo.get(position)
        if face is None:
            face = self._load(record)
            if len(self._memo) < _MEMO_LIMIT:
                self._memo[position] = face
        return face

    def _load(self, record: Record) -> Face:
        image = record.pixels if record.pixels is not None else self._read(record.source, record)
        mask = None
        if record.mask and record.frame is not None:
            mask = (self._read(record.mask, record).max(axis=2) > 127).astype(np.float32)
            mask = resize_mask(mask, image.shape[:2])
        elif record.mask:
            mask = _read_mask(record.mask, image.shape[:2])
        height, width = image.shape[:2]
        if self.source.faces == "full":
            return Face(image, (0.0, 0.0, float(width), float(height)), None, mask)
        found = self._detect(image)
        if found is None:
            return Face(image, (0.0, 0.0, float(width), float(height)), None, mask)
        box, landmarks = found
        grow_x, grow_y = self.source.margin * (box[2] - box[0]), self.source.margin * (box[3] - box[1])
        x0, y0 = int(max(0, box[0] - grow_x)), int(max(0, box[1] - grow_y))
        x1, y1 = int(min(width, box[2] + grow_x)), int(min(height, box[3] + grow_y))
        crop = np.ascontiguousarray(image[y0:y1, x0:x1])
        shifted = None if landmarks is None else landmarks - np.array([x0, y0], dtype=np.float32)
        local_box = (box[0] - x0, box[1] - y0, box[2] - x0, box[3] - y0)
        return Face(crop, local_box, shifted, None if mask is None else mask[y0:y1, x0:x1])

    def _read(self, source: str, record: Record) -> np.ndarray:
        from forensic_core.media import load_image, load_video_frames

        path = Path(source)
        if record.frame is None:
            return load_image(path)
        items = load_video_frames(path, record.frames, 1 << 26)
        return items[min(record.frame, len(items) - 1)].image

    def _detect(self, image: np.ndarray) -> tuple[tuple[float, float, float, float], np.ndarray | None] | None:
        if self._detector is None:
            from forensic_core import BuildContext
            from forensic_core.components import ComponentKind
            from forensic_core.registry import get_registry

            spec = get_registry().resolve(ComponentKind.FACE_DETECTOR, self.source.face_detector).spec
            self._detector = spec.resolve_factory()(spec.settings(), BuildContext())
        faces = self._detector.detect_faces(image)
        if not faces:
            return None
        face = max(faces, key=lambda f: f.box.width * f.box.height)
        box = (float(face.box.x0), float(face.box.y0), float(face.box.x1), float(face.box.y1))
        landmarks = None if face.landmarks is None else np.asarray(face.landmarks, dtype=np.float32)
        return box, landmarks


def _read_mask(path: str, shape: tuple[int, ...]) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as mask:
        grey = np.asarray(mask.convert("L").resize((shape[1], shape[0]), Image.Resampling.NEAREST))
    return (grey > 127).astype(np.float32)


class KfdSamples(torch.utils.data.Dataset[dict[str, Any]]):
    """Item ``(epoch, index)`` of the virtual list as KFD tensors (normalised image, mask, label, type)."""

    def __init__(
        self,
        source: Source,
        *,
        input_size: tuple[int, int],
        mean: Sequence[float],
        std: Sequence[float],
        types: Sequence[str],
        pseudo: PseudoFakes,
        augment: Augment | None,
        seed: int,
        salt: int = TRAIN_SALT,
    ) -> None:
        self.records = source_records(source)
        self.reals = [i for i, record in enumerate(self.records) if record.label == 0]
        self.twins = self.reals if source.pseudo_fakes else []
        self.loader = FaceLoader(source)
        self.input_size = input_size
        self.mean = torch.tensor(list(mean), dtype=torch.float32).view(3, 1, 1)
        self.std = torch.tensor(list(std), dtype=torch.float32).view(3, 1, 1)
        self.types = {name: i for i, name in enumerate(types)}
        self.pseudo = pseudo
        self.augment = augment
        self.seed = seed
        self.salt = salt
        if not self.twins and not any(record.label for record in self.records):
            raise ConfigError(f"kfd train: {_describe(source)} has no fakes and pseudo_fakes is off")

    def __len__(self) -> int:
        return len(self.records) + len(self.twins)

    def __getitem__(self, key: tuple[int, int]) -> dict[str, Any]:
        epoch, index = int(key[0]), int(key[1])
        rng = np.random.default_rng([self.seed, self.salt, epoch, index])
        twin = index >= len(self.records)
        position = self.twins[index - len(self.records)] if twin else index
        record = self.records[position]
        face = self.loader(position, record)
        image, box, landmarks, mask = _augment(rng, face, self.augment)
        # pseudo-fakes (and JPEG) at the crop's own resolution, then the resize the kfd runtime also applies
        if twin:
            image, mask, kind = self._pseudo_fake(rng, image, box, landmarks)
        else:
            kind = self._type_of(record)
            image = _maybe_jpeg(rng, image, self.pseudo.jpeg_quality)
        pixels = (model_input(image, self.input_size) - self.mean) / self.std
        mask = resize_mask(mask, self.input_size)
        label = 1 if twin else record.label
        mask_valid = 1.0 if (label == 0 or twin or record.mask is not None) else 0.0
        return {
            "images": pixels.contiguous(),
            "masks": torch.from_numpy(np.ascontiguousarray(mask, dtype=np.float32)),
            "mask_valid": torch.tensor(mask_valid),
            "labels": torch.tensor(float(label)),
            "types": torch.tensor(kind),
        }

    def _type_of(self, record: Record) -> int:
        if record.label == 0:
            return self.types["real"]
        return self.types.get(record.method or "fake", self.types["fake"])

    def _pseudo_fake(
        self, rng: np.random.Generator, image: np.ndarray, box: Sequence[float], landmarks: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray, int]:
        from forensic_eval.pseudofake import PseudoFakeConfig, make_pseudo_fake

        config = PseudoFakeConfig(
            types=tuple(self.pseudo.types),
            blend_ratios=tuple(self.pseudo.blend_ratios),
            jpeg_quality=self.pseudo.jpeg_quality,
            jitter=self.pseudo.jitter,
            elastic=self.pseudo.elastic,
        )
        fake = make_pseudo_fake(image, rng, face_box=box, landmarks=landmarks, config=config)
        return fake.image, fake.mask, self.types.get(fake.recipe.type, self.types["fake"])


def _augment(
    rng: np.random.Generator, face: Face, augment: Augment | None
) -> tuple[np.ndarray, tuple[float, float, float, float], np.ndarray | None, np.ndarray | None]:
    image, box, landmarks, mask = face.image, face.box, face.landmarks, face.mask
    if augment is None:
        return image, box, landmarks, mask
    height, width = image.shape[:2]
    if augment.crop > 0:
        # remove up to `crop` of each side, never cutting into the face box
        cut = rng.uniform(0, augment.crop, size=4) * np.array([width, height, width, height])
        x0 = int(min(cut[0], box[0]))
        y0 = int(min(cut[1], box[1]))
        x1 = int(max(width - cut[2], box[2], x0 + 8))
        y1 = int(max(height - cut[3], box[3], y0 + 8))
        image = image[y0:y1, x0:x1]
        mask = None if mask is None else mask[y0:y1, x0:x1]
        box = (box[0] - x0, box[1] - y0, box[2] - x0, box[3] - y0)
        landmarks = None if landmarks is None else landmarks - np.array([x0, y0], dtype=np.float32)
        height, width = image.shape[:2]
    if augment.flip and rng.random() < 0.5:
        image = image[:, ::-1]
        mask = None if mask is None else mask[:, ::-1]
        box = (width - box[2], box[1], width - box[0], box[3])
        if landmarks is not None:
            landmarks = landmarks * np.array([-1, 1], dtype=np.float32) + np.array([width, 0], dtype=np.float32)
    if augment.colour > 0:
        gain = 1 + rng.uniform(-augment.colour, augment.colour)
        offset = 255 * rng.uniform(-augment.colour, augment.colour) / 2
        image = np.clip(image.astype(np.float32) * gain + offset, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(image), box, landmarks, None if mask is None else np.ascontiguousarray(mask)


def model_input(image: np.ndarray, size: tuple[int, int]) -> torch.Tensor:
    """(3, H, W) float32 in [0, 1] at the model's input size, resized exactly as the kfd runtime resizes."""
    import torch.nn.functional as F

    pixels = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float().div_(255.0)[None]
    if tuple(pixels.shape[-2:]) != tuple(size):
        pixels = F.interpolate(pixels, size=size, mode="bicubic", antialias=True).clamp_(0.0, 1.0)
    return pixels[0]


def resize_mask(mask: np.ndarray | None, size: tuple[int, int]) -> np.ndarray:
    """The ground-truth mask at the input size (bilinear, as the localizer's output is upsampled); zeros if None."""
    if mask is None:
        return np.zeros(size, np.float32)
    if mask.shape[:2] == tuple(size):
        return np.ascontiguousarray(mask, dtype=np.float32)
    import cv2

    resized = cv2.resize(
        np.ascontiguousarray(mask, dtype=np.float32), (size[1], size[0]), interpolation=cv2.INTER_LINEAR
    )
    return np.clip(resized, 0.0, 1.0).astype(np.float32)


def _maybe_jpeg(rng: np.random.Generator, image: np.ndarray, quality: tuple[int, int] | None) -> np.ndarray:
    """Reals get the same JPEG distribution as pseudo-fakes, so compression alone never tells them apart."""
    if quality is None:
        return image
    import cv2

    value = int(rng.integers(quality[0], quality[1] + 1))
    ok, data = cv2.imencode(".jpg", image[..., ::-1], [int(cv2.IMWRITE_JPEG_QUALITY), value])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    decoded = np.asarray(cv2.imdecode(data, cv2.IMREAD_COLOR))
    return np.ascontiguousarray(decoded[..., ::-1])


class StepSampler(torch.utils.data.Sampler[tuple[int, int]]):
    """This process's ``(epoch, index)`` keys, micro-batch after micro-batch, from step ``start`` on.

    The global batch of a step is ``batch * accumulate * world`` consecutive keys of the epoch-wise shuffled
    stream; its j-th chunk of ``batch`` keys goes to micro-batch ``j // world`` of rank ``j % world``. So one
    process accumulating 2 micro-batches sees exactly the samples two DDP processes see, and a resumed run
    starts at the key where the interrupted one stopped.
    """

    def __init__(
        self, size: int, *, seed: int, steps: int, batch: int, accumulate: int, world: int, rank: int, start: int
    ) -> None:
        self.size, self.seed, self.steps = size, seed, steps
        self.batch, self.accumulate, self.world, self.rank, self.start = batch, accumulate, world, rank, start

    def global_keys(self, offset: int, count: int) -> list[tuple[int, int]]:
        keys: list[tuple[int, int]] = []
        position = offset
        while len(keys) < count:
            epoch, within = divmod(position, self.size)
            order = self._order(epoch)
            take = min(count - len(keys), self.size - within)
            keys += [(epoch, int(i)) for i in order[within : within + take]]
            position += take
        return keys

    def _order(self, epoch: int) -> np.ndarray:
        if getattr(self, "_cached_epoch", None) != epoch:
            self._cached_epoch = epoch
            self._cached_order = np.random.default_rng([self.seed, epoch]).permutation(self.size)
        return self._cached_order

    def __iter__(self) -> Iterator[tuple[int, int]]:
        per_step = self.batch * self.accumulate * self.world
        for step in range(self.start, self.steps):
            keys = self.global_keys(step * per_step, per_step)
            for micro in range(self.accumulate):
                chunk = micro * self.world + self.rank
                yield from keys[chunk * self.batch : (chunk + 1) * self.batch]

    def __len__(self) -> int:
        return max(0, self.steps - self.start) * self.batch * self.accumulate
