"""Tiny KFD training runs (kfd-tiny, CPU): losses fall, exact resume, cache == no cache, weights load and matter."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("forensic_eval.pseudofake")

from forensic_core.errors import ConfigError  # noqa: E402
from forensic_kfd.training.config import TrainConfig, config_digest, validate_config  # noqa: E402
from forensic_kfd.training.trainer import Trainer, train  # noqa: E402

from .conftest import face_items, tiny_settings  # noqa: E402


def tiny_config(**changes: Any) -> TrainConfig:
    raw: dict[str, Any] = {
        "model": {"backbone": "kfd-tiny", "pretrained": None},
        "data": {"train": {"reals": ["builtin:lfw"], "stop": 12}},
        "steps": 4,
        "batch_size": 6,
        "device": "cpu",
        "log_every": 1,
        "checkpoint_every": 2,
        "progress": False,
        "threads": 1,
        "optim": {"warmup_steps": 1},
    }
    for key, value in changes.items():
        node = raw
        parts = key.split("__")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return validate_config(raw)


def logged(run: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def base_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 uncached steps (on-the-fly pseudo-fakes through the data loader), checkpoints at 2 and 4."""
    run = tmp_path_factory.mktemp("base")
    train(tiny_config(cache__enabled="off"), run)
    return run


def test_training_leaves_the_callers_thread_count(tmp_path: Path) -> None:
    import torch

    before = torch.get_num_threads()
    train(tiny_config(steps=1, threads=max(1, before - 1) if before > 1 else 2, cache__enabled="off"), tmp_path)
    assert torch.get_num_threads() == before


def test_run_writes_metrics_checkpoints_and_weights(base_run: Path) -> None:
    lines = logged(base_run)
    assert [line["step"] for line in lines] == [1, 2, 3, 4]
    for line in lines:
        assert {"loss", "mask_focal", "mask_dice", "score_bce", "knowledge", "lr", "temperature"} <= set(line)
        parts = 1.0 * line["mask_focal"] + line["mask_dice"] + line["score_bce"] + 0.1 * line["knowledge"]
        assert line["loss"] == pytest.approx(parts, rel=1e-4)
    assert sorted(p.name for p in (base_run / "checkpoints").iterdir()) == ["step-00000002.pt", "step-00000004.pt"]
    sidecar = json.loads((base_run / "kfd.json").read_text())
    assert sidecar["format"] == "forensic-kfd/2" and sidecar["kfd"]["layers"] == [2, 3, 4]
    assert sidecar["training"]["steps"] == 4 and sidecar["training"]["config_digest"] == config_digest(
        tiny_config(cache__enabled="off")
    )


def test_resume_reproduces_the_uninterrupted_run_bit_for_bit(base_run: Path, tmp_path: Path) -> None:
    """A new process state from the step-2 checkpoint trains steps 3-4 to exactly the same weights."""
    resumed = tmp_path / "resumed"
    (resumed / "checkpoints").mkdir(parents=True)
    shutil.copy(base_run / "checkpoints" / "step-00000002.pt", resumed / "checkpoints")
    shutil.copy(base_run / "metrics.jsonl", resumed / "metrics.jsonl")  # holds steps 1-4: 3-4 get rewritten
    torch.manual_seed(12345)  # a different global RNG state before resuming must not matter
    result = train(tiny_config(cache__enabled="off"), resumed, resume=True)
    assert result.steps == 4
    assert (resumed / "kfd.safetensors").read_bytes() == (base_run / "kfd.safetensors").read_bytes()
    original = torch.load(base_run / "checkpoints" / "step-00000004.pt", weights_only=False)
    again = torch.load(resumed / "checkpoints" / "step-00000004.pt", weights_only=False)
    for key, value in original["model"].items():
        assert torch.equal(value, again["model"][key]), key
    for key, state in original["optimizer"]["state"].items():
        for name, value in state.items():
            assert torch.equal(torch.as_tensor(value), torch.as_tensor(again["optimizer"]["state"][key][name]))
    assert original["scheduler"] == again["scheduler"]

    def drop_timing(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in line.items() if k != "samples_per_s"} for line in lines]

    assert drop_timing(logged(resumed)) == drop_timing(logged(base_run))


def test_a_run_folder_with_checkpoints_needs_resume_and_the_same_config(base_run: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="pass --resume"):
        train(tiny_config(cache__enabled="off"), base_run)
    with pytest.raises(ConfigError, match="different config"):
        train(tiny_config(cache__enabled="off", optim__lr=0.5), base_run, resume=True)
    with pytest.raises(ConfigError, match="holds no checkpoint"):
        train(tiny_config(), tmp_path / "empty", resume=True)


def test_losses_fall_on_a_tiny_run(tmp_path: Path) -> None:
    config = tiny_config(steps=40, batch_size=12, log_every=1, checkpoint_every=40, optim__lr=0.01)
    result = train(config, tmp_path / "run")
    assert result.used_cache
    losses = [line["loss"] for line in logged(tmp_path / "run")]
    assert np.mean(losses[-8:]) < 0.85 * np.mean(losses[:8])


def test_cached_and_uncached_gradients_agree(tmp_path: Path) -> None:
    config = tiny_config(cache__dtype="float32", cache__epochs=2, cache__dir=str(tmp_path / "cache"))
    trainer = Trainer(config, tmp_path / "run")
    cache = trainer.training_data()
    keys = [(1, 3), (0, 14), (1, 20), (0, 0)]  # reals and pseudo-fakes, both cached epochs
    uncached = _collate([trainer.train_samples[key] for key in keys])
    cached = _collate([cache[key] for key in keys])
    assert "images" in uncached and "tokens" in cached and "images" not in cached

    def gradients(batch: dict[str, Any]) -> dict[str, Any]:
        trainer.module.zero_grad(set_to_none=True)
        terms = trainer.module(batch)
        terms["loss"].backward()
        return {n: p.grad.clone() for n, p in trainer.module.named_parameters() if p.requires_grad}

    first, second = gradients(uncached), gradients(cached)
    assert first.keys() == second.keys() and len(first) > 5
    for name, grad in first.items():
        torch.testing.assert_close(second[name], grad, rtol=1e-5, atol=1e-7, msg=name)
    assert any(float(g.abs().sum()) > 0 for g in first.values())


def _collate(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {name: torch.stack([item[name] for item in items]) for name in items[0]}


def test_trained_weights_load_into_the_kfd_components_and_change_their_scores(base_run: Path) -> None:
    from forensic_core import BuildContext
    from forensic_core.components import ComponentKind
    from forensic_core.registry import get_registry

    def components(**settings: object) -> tuple[Any, Any]:
        registry, context = get_registry(), BuildContext()
        built = []
        for kind in (ComponentKind.DETECTOR, ComponentKind.LOCALIZER):
            spec = registry.resolve(kind, "kfd").spec
            built.append(spec.resolve_factory()(tiny_settings(**settings), context))
        return built[0], built[1]

    items = face_items(4)
    untrained_detector, untrained_localizer = components()
    detector, localizer = components(weights=str(base_run / "kfd.safetensors"))
    before = np.array([d.score for d in untrained_detector.detect(items)])
    after = np.array([d.score for d in detector.detect(items)])
    assert np.abs(before - after).max() > 1e-4
    assert detector.detect(items)[0].details["heads"] == "trained"
    masks_before = untrained_localizer.localize(items)[0].heatmap
    masks_after = localizer.localize(items)[0].heatmap
    assert np.abs(masks_before - masks_after).max() > 1e-4
    # the components run exactly the model that trained: same scores from the checkpoint's own module
    trainer_model = Trainer(tiny_config(cache__enabled="off"), base_run / "unused").module
    state = torch.load(base_run / "checkpoints" / "step-00000004.pt", weights_only=False)["model"]
    trainer_model.load_state_dict(state, strict=False)
    with torch.no_grad():
        direct = trainer_model.kfd(detector.runtime.preprocess(items)).scores.numpy()
    np.testing.assert_allclose(after, direct, rtol=1e-5, atol=1e-6)


def test_lora_run_exports_merged_backbone_tensors_the_runtime_applies(tmp_path: Path) -> None:
    from forensic_kfd.runtime import KfdRuntime

    config = tiny_config(steps=2, train__backbone={"mode": "lora", "blocks": 1, "lora_rank": 2}, optim__lr=0.05)
    result = train(config, tmp_path / "lora")
    assert not result.used_cache  # the backbone trains: no token cache
    from safetensors.torch import load_file

    tensors = load_file(str(tmp_path / "lora" / "kfd.safetensors"))
    tuned = sorted(k for k in tensors if k.startswith("clip."))
    assert tuned == [
        "clip.visual.transformer.resblocks.3.mlp.c_fc.bias",
        "clip.visual.transformer.resblocks.3.mlp.c_fc.weight",
        "clip.visual.transformer.resblocks.3.mlp.c_proj.bias",
        "clip.visual.transformer.resblocks.3.mlp.c_proj.weight",
    ]
    base = KfdRuntime(tiny_settings())
    runtime = KfdRuntime(tiny_settings(weights=str(tmp_path / "lora" / "kfd.safetensors")))
    applied = runtime.model.clip.state_dict()["visual.transformer.resblocks.3.mlp.c_fc.weight"]
    original = base.model.clip.state_dict()["visual.transformer.resblocks.3.mlp.c_fc.weight"]
    assert torch.equal(applied, tensors["clip.visual.transformer.resblocks.3.mlp.c_fc.weight"])
    assert not torch.equal(applied, original)


def test_visual_prompts_train_through_the_backbone_without_cache(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="token cache needs a frozen backbone"):
        Trainer(tiny_config(model__visual_prompts=2, cache__enabled="on"), tmp_path / "a")
    trainer = Trainer(tiny_config(model__visual_prompts=2, steps=1), tmp_path / "b")
    assert not trainer.use_cache
    before = trainer.module.kfd.visual_prompts.detach().clone()
    trainer.run()
    assert not torch.equal(before, trainer.module.kfd.visual_prompts.detach())


def test_switched_off_parts_do_not_change(tmp_path: Path) -> None:
    trainer = Trainer(tiny_config(steps=2, train__classifier=False, train__context=False), tmp_path / "run")
    classifier = {k: v.clone() for k, v in trainer.module.kfd.classifier.state_dict().items()}
    context = trainer.module.kfd.prompts.context.detach().clone()
    localizer = {k: v.clone() for k, v in trainer.module.kfd.localizer.state_dict().items()}
    trainer.run()
    for key, value in trainer.module.kfd.classifier.state_dict().items():
        assert torch.equal(value, classifier[key])
    assert torch.equal(trainer.module.kfd.prompts.context.detach(), context)
    assert any(not torch.equal(v, localizer[k]) for k, v in trainer.module.kfd.localizer.state_dict().items())


def test_cli_trains_and_errors_are_one_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from forensic_core.cli import build_cli

    config = tmp_path / "tiny.yaml"
    config.write_text(
        "model: {backbone: kfd-tiny, pretrained: null}\n"
        "data: {train: {reals: ['builtin:lfw'], stop: 6}, val: {reals: ['builtin:lfw'], start: 90}}\n"
        "steps: 2\nbatch_size: 4\ndevice: cpu\nprogress: false\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    result = runner.invoke(build_cli(), ["kfd", "train", str(config), "-o", str(tmp_path / "run"), "--set", "steps=3"])
    assert result.exit_code == 0, result.output
    assert "weights:" in result.output and "frame_auc" in result.output
    assert f"settings: {{weights: {tmp_path / 'run' / 'kfd.safetensors'}}}" in result.output  # how to load it
    assert json.loads((tmp_path / "run" / "val.jsonl").read_text().splitlines()[-1])["step"] == 3
    bad = runner.invoke(build_cli(), ["kfd", "train", str(config), "-o", str(tmp_path / "x"), "--set", "optim.lr=-1"])
    assert bad.exit_code != 0
    assert "optim.lr" in bad.output and len(bad.output.strip().splitlines()) == 1


def test_registration_module_does_not_import_training_or_torch() -> None:
    code = (
        "import sys, forensic_kfd.plugin as p; from forensic_core.cli import build_cli; build_cli(); "
        "print('torch' in sys.modules, any(m.startswith('forensic_kfd.training') for m in sys.modules))"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.split() == ["False", "False"]


def test_data_loader_workers_give_the_same_run(base_run: Path, tmp_path: Path) -> None:
    """Items are pure functions of (seed, epoch, index): two worker processes train the same weights."""
    train(tiny_config(cache__enabled="off", data__workers=2), tmp_path / "workers")
    assert (tmp_path / "workers" / "kfd.safetensors").read_bytes() == (base_run / "kfd.safetensors").read_bytes()
