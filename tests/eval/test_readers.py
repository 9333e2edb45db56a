"""Each first-party reader on a small synthetic tree of its data set's layout."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from forensic_core.components import ComponentKind
from forensic_core.context import BuildContext
from forensic_core.datasets import Dataset, Sample
from forensic_core.errors import ConfigError
from forensic_core.testing import imported_heavy_modules

from .conftest import write_image, write_video


def read(registry: Any, name: str, **settings: Any) -> list[Sample]:
    component = registry.resolve(ComponentKind.DATASET, name)
    reader = component.spec.resolve_factory()(component.spec.settings(**settings), BuildContext())
    assert isinstance(reader, Dataset)
    first = list(reader.samples())
    assert list(reader.samples()) == first  # deterministic order
    return first


def test_readers_are_registered_and_listed(eval_registry: Any, forensic_cli: Any) -> None:
    names = [c.name for c in eval_registry.components(ComponentKind.DATASET)]
    assert names == ["manifest", "folder", "ffpp", "celebdf", "dfdc", "pseudo"]
    listed = forensic_cli("components", "--kind", "dataset").output
    for name in names:
        assert f"dataset  {name}" in listed


def test_reader_settings_are_strict_and_documented(eval_registry: Any) -> None:
    for component in eval_registry.components(ComponentKind.DATASET):
        model = component.spec.settings
        assert model.model_config.get("extra") == "forbid", component.name
        for field_name, field in model.model_fields.items():
            assert field.description, f"{component.name}.{field_name} has no description"


def test_registration_module_is_light() -> None:
    assert imported_heavy_modules("import forensic_eval.plugin") == []


def test_manifest_reader(eval_registry: Any, tmp_path: Path) -> None:
    write_image(tmp_path / "imgs" / "a.png", 10)
    write_image(tmp_path / "imgs" / "b.png", 200)
    write_image(tmp_path / "imgs" / "b_mask.png", 255)
    write_video(tmp_path / "clips" / "c.avi", [50, 60])
    (tmp_path / "m.csv").write_text(
        "path,label,mask,video,method\n"
        "imgs/a.png,real,,,\n"
        "imgs/b.png,1,imgs/b_mask.png,vid7,splice\n"
        "clips/c.avi,0,,,\n",
        encoding="utf-8",
    )
    samples = read(eval_registry, "manifest", path=str(tmp_path / "m.csv"))
    assert [s.label for s in samples] == ["real", "fake", "real"]
    assert samples[0] == Sample(str(tmp_path / "imgs" / "a.png"), "real")
    assert samples[1].mask == str(tmp_path / "imgs" / "b_mask.png")
    assert (samples[1].video, samples[1].method) == ("vid7", "splice")
    assert samples[2].video == "clips/c.avi"  # a video is keyed by its relative path, not its bare name


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("path\nimgs/a.png\n", r"lacks column\(s\) label"),
        ("path,label,colour\nimgs/a.png,real,red\n", r"unknown manifest column\(s\) colour"),
        ("path,label\nimgs/a.png,maybe\n", "m.csv:2: label 'maybe' is not real, fake, 0 or 1"),
        ("path,label\nimgs/missing.png,real\n", "m.csv:2: .*missing.png does not exist"),
    ],
)
def test_manifest_errors_name_the_line(eval_registry: Any, tmp_path: Path, text: str, message: str) -> None:
    write_image(tmp_path / "imgs" / "a.png", 10)
    (tmp_path / "m.csv").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        read(eval_registry, "manifest", path=str(tmp_path / "m.csv"))


def test_folder_reader(eval_registry: Any, tmp_path: Path) -> None:
    write_image(tmp_path / "real" / "r1.png", 10)
    write_image(tmp_path / "fake" / "f1.png", 200)
    write_image(tmp_path / "fake" / "swap" / "f2.jpg", 150)
    write_image(tmp_path / "masks" / "swap" / "f2.png", 255)
    samples = read(eval_registry, "folder", root=str(tmp_path))
    assert [(Path(s.path).name, s.label, s.method) for s in samples] == [
        ("r1.png", "real", None),
        ("f1.png", "fake", None),
        ("f2.jpg", "fake", "swap"),
    ]
    assert samples[1].mask is None
    assert samples[2].mask == str(tmp_path / "masks" / "swap" / "f2.png")
    with pytest.raises(ConfigError, match=r"real/ \(and fake/\) sub-folder"):
        read(eval_registry, "folder", root=str(tmp_path / "real"))


def ffpp_tree(root: Path) -> None:
    for name in ("000", "001", "002", "003"):
        write_video(root / "original_sequences/youtube/c23/videos" / f"{name}.avi", [20, 30])
    for method in ("Deepfakes", "FaceSwap"):
        for name in ("000_001", "001_000", "002_003"):
            write_video(root / "manipulated_sequences" / method / "c23/videos" / f"{name}.avi", [200, 210])
    write_video(root / "manipulated_sequences/Deepfakes/masks/videos/000_001.avi", [255, 255])
    (root / "splits").mkdir()
    (root / "splits/test.json").write_text(json.dumps([["000", "001"]]), encoding="utf-8")
    (root / "splits/train.json").write_text(json.dumps([["002", "003"]]), encoding="utf-8")


def test_ffpp_same_file_name_under_two_methods_is_two_videos(eval_registry: Any, tmp_path: Path) -> None:
    ffpp_tree(tmp_path)
    samples = read(eval_registry, "ffpp", root=str(tmp_path), split="test")
    fakes = [s for s in samples if s.label == "fake"]
    assert [s.video for s in samples if s.label == "real"] == [
        "original_sequences/youtube/c23/videos/000.avi",
        "original_sequences/youtube/c23/videos/001.avi",
    ]
    assert [(s.method, s.video) for s in fakes] == [
        ("Deepfakes", "manipulated_sequences/Deepfakes/c23/videos/000_001.avi"),
        ("Deepfakes", "manipulated_sequences/Deepfakes/c23/videos/001_000.avi"),
        ("FaceSwap", "manipulated_sequences/FaceSwap/c23/videos/000_001.avi"),
        ("FaceSwap", "manipulated_sequences/FaceSwap/c23/videos/001_000.avi"),
    ]
    assert len({s.video for s in fakes}) == 4  # 000_001.avi under both methods stays two videos
    assert all(s.split == "test" for s in samples)
    assert fakes[0].meta["mask_video"].endswith("Deepfakes/masks/videos/000_001.avi")


def test_ffpp_splits_methods_and_errors(eval_registry: Any, tmp_path: Path) -> None:
    ffpp_tree(tmp_path)
    train = read(eval_registry, "ffpp", root=str(tmp_path), split="train", methods=["FaceSwap"])
    assert [Path(s.path).stem for s in train] == ["002", "003", "002_003"]
    assert len(read(eval_registry, "ffpp", root=str(tmp_path), split="all")) == 4 + 6
    with pytest.raises(ConfigError, match=r"method\(s\) NeuralTextures not found.*present: Deepfakes, FaceSwap"):
        read(eval_registry, "ffpp", root=str(tmp_path), methods=["NeuralTextures"])
    with pytest.raises(ConfigError, match=r"no splits/val.json"):
        read(eval_registry, "ffpp", root=str(tmp_path), split="val")
    with pytest.raises(ConfigError, match=r"is 'c40' the compression you downloaded"):
        read(eval_registry, "ffpp", root=str(tmp_path), compression="c40")


def celebdf_tree(root: Path, listing: str) -> None:
    write_video(root / "Celeb-real/id0_0000.avi", [20, 30])
    write_video(root / "Celeb-real/id0_0001.avi", [20, 30])
    write_video(root / "YouTube-real/00000.avi", [20, 30])
    write_video(root / "Celeb-synthesis/id0_id1_0000.avi", [200, 210])
    write_video(root / "Celeb-synthesis/id0_id1_0001.avi", [200, 210])
    (root / "List_of_testing_videos.txt").write_text(listing, encoding="utf-8")


def test_celebdf_test_list_flag_one_means_real(eval_registry: Any, tmp_path: Path) -> None:
    celebdf_tree(tmp_path, "1 Celeb-real/id0_0000.avi\n0 Celeb-synthesis/id0_id1_0000.avi\n1 YouTube-real/00000.avi\n")
    test = read(eval_registry, "celebdf", root=str(tmp_path))
    assert [(s.video, s.label) for s in test] == [
        ("Celeb-real/id0_0000.avi", "real"),
        ("YouTube-real/00000.avi", "real"),
        ("Celeb-synthesis/id0_id1_0000.avi", "fake"),
    ]
    train = read(eval_registry, "celebdf", root=str(tmp_path), split="train")
    assert [(s.video, s.label, s.split) for s in train] == [
        ("Celeb-real/id0_0001.avi", "real", "train"),
        ("Celeb-synthesis/id0_id1_0001.avi", "fake", "train"),
    ]
    assert len(read(eval_registry, "celebdf", root=str(tmp_path), split="all")) == 5


def test_celebdf_refuses_a_list_that_contradicts_the_folders(eval_registry: Any, tmp_path: Path) -> None:
    celebdf_tree(tmp_path, "0 Celeb-real/id0_0000.avi\n")  # read as 1 = fake, it would be a real labelled fake
    with pytest.raises(ConfigError, match=r"id0_0000.avi is listed as fake \(1 = real\) but lies in Celeb-real/"):
        read(eval_registry, "celebdf", root=str(tmp_path))


def test_dfdc_reader(eval_registry: Any, tmp_path: Path) -> None:
    part = tmp_path / "dfdc_train_part_0"
    write_video(part / "aaa.avi", [20, 30])
    write_video(part / "bbb.avi", [200, 210])
    metadata = {
        "bbb.avi": {"label": "FAKE", "split": "train", "original": "aaa.avi"},
        "aaa.avi": {"label": "REAL", "split": "train"},
    }
    (part / "metadata.json").write_text(json.dumps(metadata), encoding="utf-8")
    samples = read(eval_registry, "dfdc", root=str(tmp_path))
    assert [(s.video, s.label) for s in samples] == [
        ("dfdc_train_part_0/aaa.avi", "real"),
        ("dfdc_train_part_0/bbb.avi", "fake"),
    ]
    assert samples[1].meta == {"original": "aaa.avi"}
    assert read(eval_registry, "dfdc", root=str(tmp_path), split="test") == []
    metadata["ccc.avi"] = {"label": "REAL", "split": "train"}
    (part / "metadata.json").write_text(json.dumps(metadata), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"ccc.avi is listed but missing"):
        read(eval_registry, "dfdc", root=str(tmp_path))
    assert len(read(eval_registry, "dfdc", root=str(tmp_path), missing="skip")) == 2


def test_pseudo_reader_generates_reproducible_fakes_with_masks(eval_registry: Any, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for index in range(2):
        write_image(
            tmp_path / "faces" / f"face{index}.png",
            0,
            red=rng.integers(0, 255, (64, 64), dtype=np.uint8),
            size=(64, 64),
        )
    settings = {"root": str(tmp_path / "faces"), "cache": str(tmp_path / "cache"), "per_image": 2}
    samples = read(eval_registry, "pseudo", **settings)
    assert [s.label for s in samples] == ["real", "fake", "fake", "real", "fake", "fake"]
    fakes = [s for s in samples if s.label == "fake"]
    assert all(s.mask and Path(s.mask).is_file() and s.method == s.meta["recipe"]["type"] for s in fakes)
    first = Path(fakes[0].path).read_bytes()
    shutil.rmtree(tmp_path / "cache")
    again = read(eval_registry, "pseudo", **settings)
    assert Path(again[1].path).read_bytes() == first  # regenerated identically from the seed
    assert again == samples
