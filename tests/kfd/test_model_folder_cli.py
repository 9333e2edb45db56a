"""Through the CLI: ``forensic eval`` with only ``weights:`` scores with the trained model, ``forensic kfd export``
writes a model folder that loads the same way, and a sidecar/settings conflict is one line and exit 2."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch")
pytest.importorskip("forensic_eval.pseudofake")

from forensic_core import MediaItem  # noqa: E402
from forensic_kfd.runtime import KfdRuntime  # noqa: E402
from forensic_kfd.training.trainer import Trainer  # noqa: E402

from .conftest import tiny_settings  # noqa: E402
from .test_train_run import tiny_config  # noqa: E402

# bf16 autocast when a pipeline's device 'auto' finds CUDA: the scores then only agree roughly
TOLERANCE = {"rtol": 2e-2, "atol": 2e-2} if torch.cuda.is_available() else {"rtol": 2e-5, "atol": 1e-7}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """A 4-step tiny run with validation (so RUN/val.jsonl exists), and the in-process model it ended with."""
    run = tmp_path_factory.mktemp("kfd-run")
    threads = torch.get_num_threads()
    try:
        trainer = Trainer(tiny_config(cache__enabled="off", data__val={"reals": ["builtin:lfw"], "start": 94}), run)
        trainer.run()
    finally:
        torch.set_num_threads(threads)  # the config's threads: 1 is process-wide; later tests expect the default
    return run, trainer.module.kfd


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six images of three sizes and a manifest labelling them (forensic eval reads path,label CSVs)."""
    root = tmp_path_factory.mktemp("eval-data")
    rng = np.random.default_rng(7)
    lines = ["path,label"]
    for index in range(6):
        shape = [(40, 36), (32, 32), (56, 48)][index % 3]
        Image.fromarray(rng.integers(0, 256, size=(*shape, 3), dtype=np.uint8)).save(root / f"face{index}.png")
        lines.append(f"face{index}.png,{index % 2}")
    (root / "data.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


@pytest.fixture
def cli(forensic_cli: Any, register_plugin: Any) -> Any:
    from forensic_eval import plugin as eval_plugin
    from forensic_kfd import plugin as kfd_plugin

    for module, name in ((eval_plugin, "forensic-eval"), (kfd_plugin, "forensic-kfd")):
        assert register_plugin(module, name, "0.1.0").status == "loaded"
    return forensic_cli


def in_process_scores(model: Any, root: Path) -> dict[str, float]:
    """The scores of the model object training ended with, on the images as the kfd runtime preprocesses them."""
    names = [f"face{index}.png" for index in range(6)]
    items = [MediaItem(image=np.asarray(Image.open(root / name).convert("RGB")), source=name) for name in names]
    preprocess = KfdRuntime(tiny_settings()).preprocess  # the runtime's resizing and normalisation
    with torch.no_grad():
        scores = model(preprocess(items)).scores.numpy()
    return dict(zip(names, scores.tolist(), strict=True))


def eval_scores(cli: Any, data: Path, pipeline: Path, out: Path) -> dict[str, float]:
    result = cli("eval", str(data), "-p", str(pipeline), "-o", str(out), "--bootstrap", "0")
    assert result.exit_code == 0, result.output
    with (out / "predictions.csv").open(newline="", encoding="utf-8") as handle:
        return {Path(row["path"]).name: float(row["score"]) for row in csv.DictReader(handle)}


def write_pipeline(path: Path, settings: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"detectors": [{"name": "kfd", "settings": settings}]}), encoding="utf-8")
    return path


def test_eval_with_only_weights_scores_with_the_trained_model(
    cli: Any, trained: tuple[Path, Any], images: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The acceptance check of issue 19: no backbone settings, offline, scores == the model training ended with.

    The weights path is relative to the pipeline file, and the command runs in another folder.
    """
    run, model = trained
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    pipelines = tmp_path / "pipelines"
    (pipelines / "models").mkdir(parents=True)
    shutil.copy(run / "kfd.safetensors", pipelines / "models" / "kfd.safetensors")
    shutil.copy(run / "kfd.json", pipelines / "models" / "kfd.json")
    pipeline = write_pipeline(pipelines / "trained.yaml", {"weights": "models/kfd.safetensors"})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # "models/..." must be found next to the pipeline file, not here
    got = eval_scores(cli, images / "data.csv", pipeline, tmp_path / "out")
    expected = in_process_scores(model, images)
    assert sorted(got) == sorted(expected)
    np.testing.assert_allclose([got[k] for k in expected], list(expected.values()), **TOLERANCE)
    untrained_pipeline = write_pipeline(tmp_path / "untrained.yaml", tiny_settings().model_dump(mode="json"))
    untrained = eval_scores(cli, images / "data.csv", untrained_pipeline, tmp_path / "u")
    assert max(abs(untrained[k] - got[k]) for k in got) > 1e-4  # the trained heads, not the untrained ones, scored


def test_the_report_names_the_backbone_the_sidecar_chose(
    cli: Any, trained: tuple[Path, Any], images: Path, tmp_path: Path
) -> None:
    """Provenance shows the settings the model ran with (effective_settings), not the defaults of unset fields."""
    run, _ = trained
    pipeline = write_pipeline(tmp_path / "p.yaml", {"weights": str(run / "kfd.safetensors")})
    result = cli("run", str(images / "face0.png"), "-p", str(pipeline), "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    components = json.loads((tmp_path / "out" / "report.json").read_text())["components"]
    settings = next(c["settings"] for c in components if c["component"] == "kfd")
    assert (settings["backbone"], settings["pretrained"], settings["seed"]) == ("kfd-tiny", None, 0)
    assert settings["weights"] == str(run / "kfd.safetensors") and settings["layers"] == [2, 3, 4]


def test_export_writes_a_model_folder_with_a_card_that_loads_the_same(
    cli: Any, trained: tuple[Path, Any], images: Path, tmp_path: Path
) -> None:
    run, model = trained
    folder = tmp_path / "kfd-tiny-model"
    result = cli("kfd", "export", str(run), str(folder))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "kfd.json", "kfd.safetensors"]
    assert (folder / "kfd.safetensors").read_bytes() == (run / "kfd.safetensors").read_bytes()
    sidecar = json.loads((folder / "kfd.json").read_text())
    assert sidecar["format"] == "forensic-kfd/2" and sidecar["backbone"]["name"] == "kfd-tiny"
    card = (folder / "README.md").read_text()
    last = json.loads((run / "val.jsonl").read_text().splitlines()[-1])
    assert f"| {last['step']} | {int(last['n'])} | {last['frame_auc']:.4f} |" in card  # the metrics of val.jsonl
    assert sidecar["tensors_sha256"] in card and sidecar["backbone"]["sha256"] in card
    assert sidecar["training"]["config_digest"] in card
    assert "builtin:lfw" in card and '"lr": 0.001' in card  # the data and the recipe
    assert "weights: path/to/kfd-tiny-model" in card and "hf-hub:ORG/NAME" in card
    pipeline = write_pipeline(tmp_path / "p.yaml", {"weights": str(folder)})
    got = eval_scores(cli, images / "data.csv", pipeline, tmp_path / "o")
    expected = in_process_scores(model, images)
    np.testing.assert_allclose([got[k] for k in expected], list(expected.values()), **TOLERANCE)
    again = cli("kfd", "export", str(run), str(folder))
    assert again.exit_code == 2 and "--overwrite" in again.output and len(again.output.strip().splitlines()) == 1
    assert cli("kfd", "export", str(run), str(folder), "--overwrite").exit_code == 0


def test_export_upgrades_a_format_1_run(cli: Any, trained: tuple[Path, Any], tmp_path: Path) -> None:
    run, _ = trained
    old = tmp_path / "old-run"
    old.mkdir()
    shutil.copy(run / "kfd.safetensors", old / "kfd.safetensors")
    sidecar = json.loads((run / "kfd.json").read_text())
    sidecar = {
        "format": "forensic-kfd/1",
        "backbone": {k: sidecar["backbone"][k] for k in ("identity", "sha256")},
        **{k: sidecar[k] for k in ("input", "kfd", "tensors_sha256")},
    }
    (old / "kfd.json").write_text(json.dumps(sidecar))
    result = cli("kfd", "export", str(old), str(tmp_path / "model"))
    assert result.exit_code == 0, result.output
    upgraded = json.loads((tmp_path / "model" / "kfd.json").read_text())
    assert upgraded["format"] == "forensic-kfd/2"
    assert (upgraded["backbone"]["name"], upgraded["backbone"]["pretrained"]) == ("kfd-tiny", None)
    assert "None recorded" in (tmp_path / "model" / "README.md").read_text()  # no val.jsonl in that folder


@pytest.mark.parametrize("command", ["run", "eval"])
@pytest.mark.parametrize(
    ("settings", "pattern"),
    [
        ({"backbone": "ViT-B-16"}, r"backbone='ViT-B-16'.*backbone='kfd-tiny'.*remove 'backbone'"),
        ({"weights": "hf-hub:someone/absent"}, r"hf-hub:someone/absent are not in the local cache.*HF_HUB_OFFLINE"),
    ],
    ids=["conflict", "uncached-hub"],
)
def test_a_conflict_or_missing_hub_model_is_one_line_and_exit_2(
    cli: Any,
    trained: tuple[Path, Any],
    images: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    settings: dict[str, str],
    pattern: str,
) -> None:
    run, _ = trained
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    pipeline = write_pipeline(tmp_path / "p.yaml", {"weights": str(run / "kfd.safetensors"), **settings})
    target = str(images / ("face0.png" if command == "run" else "data.csv"))
    result = cli(command, target, "-p", str(pipeline), "-o", str(tmp_path / "out"))
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert re.search(pattern, lines[0]), lines[0]


def test_a_weights_only_pipeline_rebuilt_from_its_document_loads_the_same(
    trained: tuple[Path, Any], forensic_registry: Any, register_plugin: Any
) -> None:
    """Remote workers (Ray actors) rebuild the pipeline from its validated document: settings left out must stay
    left out there, or the default backbone would look explicit and contradict the sidecar."""
    from forensic_core.config import load_pipeline
    from forensic_kfd import plugin as kfd_plugin

    run, _ = trained
    register_plugin(kfd_plugin, "forensic-kfd", "0.1.0")
    document = {"detectors": [{"name": "kfd", "settings": {"weights": str(run / "kfd.safetensors"), "device": "cpu"}}]}
    rebuilt = load_pipeline(load_pipeline(document, forensic_registry).document, forensic_registry)
    settings = rebuilt.detectors[0].settings
    assert settings.model_fields_set == {"weights", "device"}
    assert KfdRuntime(settings).backbone_identity == "kfd-tiny/random(seed=0)"


def test_weights_alone_score_like_the_model_training_ended_with(trained: tuple[Path, Any], images: Path) -> None:
    """In process, without the CSV's rounding: the runtime that ``weights`` alone builds runs the trained model."""
    from forensic_kfd.settings import KfdSettings

    run, model = trained
    runtime = KfdRuntime(KfdSettings.model_validate({"weights": str(run / "kfd.safetensors"), "device": "cpu"}))
    names = [f"face{index}.png" for index in range(6)]
    items = [MediaItem(image=np.asarray(Image.open(images / name).convert("RGB")), source=name) for name in names]
    loaded = [analysis.score for analysis in runtime.analyse(items)]
    expected = in_process_scores(model, images)
    np.testing.assert_allclose(loaded, [expected[name] for name in names], rtol=1e-6, atol=1e-7)
