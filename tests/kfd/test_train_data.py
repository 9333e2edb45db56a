"""Training data: the step sampler (DDP/accumulation/resume positions), deterministic samples, the config."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("forensic_eval.pseudofake")

from forensic_core.errors import ConfigError  # noqa: E402
from forensic_kfd.training.config import DEFAULT_KNOWLEDGE, Augment, PseudoFakes, Source, load_config, validate_config  # noqa: E402  # noqa: E402
from forensic_kfd.training.data import KfdSamples, StepSampler  # noqa: E402


def sampler(**changes: int) -> StepSampler:
    values = {"seed": 3, "steps": 5, "batch": 2, "accumulate": 1, "world": 1, "rank": 0, "start": 0, **changes}
    return StepSampler(7, **values)


def test_two_ranks_see_what_one_process_accumulating_two_sees() -> None:
    single = list(sampler(accumulate=2))
    rank0, rank1 = list(sampler(world=2, rank=0)), list(sampler(world=2, rank=1))
    for step in range(5):
        one = single[step * 4 : step * 4 + 4]
        assert one[:2] == rank0[step * 2 : step * 2 + 2]
        assert one[2:] == rank1[step * 2 : step * 2 + 2]
    assert len(single) == len(sampler(accumulate=2)) == 20


def test_resumed_sampler_continues_where_the_run_stopped_and_epochs_reshuffle() -> None:
    full = list(sampler())
    assert list(sampler(start=3)) == full[6:]
    first_epoch = [index for epoch, index in full if epoch == 0]
    assert sorted(first_epoch) == list(range(7))
    second = [index for epoch, index in full if epoch == 1]
    assert second != first_epoch[: len(second)]


def samples(source: dict[str, object], **changes: object) -> KfdSamples:
    values: dict[str, object] = {
        "input_size": (32, 32),
        "mean": (0.5, 0.5, 0.5),
        "std": (0.25, 0.25, 0.25),
        "types": list(DEFAULT_KNOWLEDGE),
        "pseudo": PseudoFakes(),
        "augment": Augment(),
        "seed": 0,
        **changes,
    }
    return KfdSamples(Source.model_validate(source), **values)  # type: ignore[arg-type]


def test_real_items_and_their_pseudo_fake_twins() -> None:
    data = samples({"reals": ["builtin:lfw"], "stop": 6})
    assert len(data) == 12
    types = list(DEFAULT_KNOWLEDGE)
    real, twin = data[(0, 2)], data[(0, 8)]
    assert real["images"].shape == (3, 32, 32) and real["images"].dtype == torch.float32
    assert float(real["labels"]) == 0.0 and float(real["masks"].abs().sum()) == 0.0
    assert types[int(real["types"])] == "real"
    assert float(twin["labels"]) == 1.0 and float(twin["masks"].max()) > 0
    assert types[int(twin["types"])] in ("colour", "resample", "sharpen")
    again = data[(0, 8)]
    for name in twin:
        assert torch.equal(twin[name], again[name])
    other_epoch = data[(1, 8)]
    assert not torch.equal(twin["images"], other_epoch["images"])


def test_folder_of_reals_and_the_excluded_type(tmp_path: Path) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 255, (40, 36, 3), dtype=np.uint8)).save(tmp_path / f"face{i}.png")
    data = samples({"reals": [str(tmp_path)]}, pseudo=PseudoFakes(types=("colour",)), augment=None)
    assert len(data) == 6
    types = list(DEFAULT_KNOWLEDGE)
    assert {types[int(data[(0, i)]["types"])] for i in range(3, 6)} == {"colour"}


def test_config_overrides_and_one_line_errors(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("data: {train: {reals: [builtin:lfw]}}\nsteps: 10\n", encoding="utf-8")
    config = load_config(path, ["optim.lr=3e-4", "steps=20", "train.backbone.mode=lora", "cache.enabled=off"])
    assert config.optim.lr == 3e-4 and config.steps == 20 and config.train.backbone.mode == "lora"
    assert config.cache.enabled == "off"  # YAML reads a bare off as false
    with pytest.raises(ConfigError, match=r"steps: Input should be greater than or equal to 1"):
        load_config(path, ["steps=0"])
    with pytest.raises(ConfigError, match=r"key\.sub=value"):
        load_config(path, ["steps"])
    with pytest.raises(ConfigError, match="exactly one of 'reals'"):
        validate_config({"data": {"train": {}}})
    with pytest.raises(ConfigError, match=r"optim\.lrr: Extra inputs"):
        validate_config({"data": {"train": {"reals": ["x"]}}, "optim": {"lrr": 1}})
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "missing.yaml")


def test_missing_reals_folder_is_named() -> None:
    with pytest.raises(ConfigError, match="neither a file nor a folder"):
        samples({"reals": ["/no/such/folder"]})


def test_registered_dataset_with_masks_methods_and_splits(tmp_path: Path) -> None:
    from PIL import Image

    rng = np.random.default_rng(1)
    for name in ("real0", "real1", "fake0", "fake1"):
        Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(tmp_path / f"{name}.png")
    mask = np.zeros((32, 32), np.uint8)
    mask[8:24, 8:24] = 255
    Image.fromarray(mask).save(tmp_path / "fake0-mask.png")
    (tmp_path / "m.csv").write_text(
        "path,label,mask,method,split\n"
        "real0.png,real,,,train\nreal1.png,real,,,test\n"
        "fake0.png,fake,fake0-mask.png,Deepfakes,train\nfake1.png,fake,,SomethingNew,train\n",
        encoding="utf-8",
    )
    source = {"dataset": "manifest", "settings": {"path": str(tmp_path / "m.csv")}, "split": "train"}
    data = samples({**source, "pseudo_fakes": False}, augment=None, pseudo=PseudoFakes(jpeg_quality=None))
    assert len(data) == 3  # the test-split real is left out, no pseudo-fake twins
    types = list(DEFAULT_KNOWLEDGE)
    real, masked, unmasked = data[(0, 0)], data[(0, 1)], data[(0, 2)]
    assert types[int(real["types"])] == "real" and float(real["mask_valid"]) == 1.0
    assert types[int(masked["types"])] == "Deepfakes" and float(masked["mask_valid"]) == 1.0
    assert float(masked["masks"][16, 16]) == 1.0 and float(masked["masks"][2, 2]) == 0.0
    # a method the knowledge base does not name falls back to "fake"; a fake without a mask trains no mask loss
    assert types[int(unmasked["types"])] == "fake" and float(unmasked["mask_valid"]) == 0.0
    with_twins = samples(source, augment=None)
    assert len(with_twins) == 4  # + one pseudo-fake twin of the train real


def write_video(path: Path, frames: list[np.ndarray]) -> None:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 5.0, (width, height))
    assert writer.isOpened()
    for frame in frames:
        writer.write(np.ascontiguousarray(frame[..., ::-1]))
    writer.release()


def test_ffpp_videos_frames_and_mask_videos(tmp_path: Path) -> None:
    """A synthetic FF++ tree: video frames become samples, a fake's mask video gives its per-frame mask."""
    import json

    root = tmp_path / "ffpp"
    grey = [np.full((48, 48, 3), value, np.uint8) for value in (60, 200)]
    for name in ("000", "001"):
        write_video(root / "original_sequences/youtube/c23/videos" / f"{name}.avi", grey)
    write_video(root / "manipulated_sequences/Deepfakes/c23/videos/000_001.avi", grey)
    mask = np.zeros((48, 48, 3), np.uint8)
    mask[:, 24:] = 255
    write_video(root / "manipulated_sequences/Deepfakes/masks/videos/000_001.avi", [mask, mask])
    (root / "splits").mkdir()
    (root / "splits/train.json").write_text(json.dumps([["000", "001"]]), encoding="utf-8")
    source = {"dataset": "ffpp", "settings": {"root": str(root), "split": "train"}, "frames_per_video": 2}
    data = samples(source, augment=None, pseudo=PseudoFakes(jpeg_quality=None))
    assert len(data) == 6 + 4  # 3 videos x 2 frames, + a pseudo-fake twin of each real frame
    types = list(DEFAULT_KNOWLEDGE)
    by_type = {types[int(data[(0, i)]["types"])]: data[(0, i)] for i in range(6)}
    fake = by_type["Deepfakes"]
    assert float(fake["labels"]) == 1.0 and float(fake["mask_valid"]) == 1.0
    assert float(fake["masks"][:, 20:].mean()) > 0.9 and float(fake["masks"][:, :12].max()) == 0.0
    frames = [data[(0, i)]["images"] for i in range(2)]  # the two frames of the first real video
    assert float((frames[1] - frames[0]).mean()) > 1.0


def test_detected_faces_bring_landmarks_for_hull_masks() -> None:
    """With the landmark model installed, faces: detect gives 68 points, so pseudo-fakes use landmark hulls."""
    from forensic_faces.landmarks import dlib_available, packaged_model_path

    if not dlib_available() or packaged_model_path() is None:
        pytest.skip("dlib or its 68-point model is not installed")
    from forensic_eval.pseudofake import make_pseudo_fake
    from forensic_kfd.training.data import FaceLoader, source_records

    source = Source.model_validate({"reals": ["builtin:astronaut"], "faces": "detect"})
    face = FaceLoader(source)(0, source_records(source)[0])
    assert face.landmarks is not None and face.landmarks.shape == (68, 2)
    x0, y0, x1, y1 = face.box
    assert face.image.shape[0] > y1 - y0  # the crop has a margin around the face
    inside = (face.landmarks[:, 0] > x0 - 10) & (face.landmarks[:, 0] < x1 + 10) & (face.landmarks[:, 1] > y0 - 10)
    assert inside.all()
    fake = make_pseudo_fake(face.image, 0, face_box=face.box, landmarks=face.landmarks)
    assert fake.recipe.mask_shape in ("hull", "lower_hull", "inner_hull")
