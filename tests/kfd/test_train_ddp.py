"""Two-process DDP training on CPU (torchrun, gloo) equals one process accumulating two micro-batches."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("forensic_eval.pseudofake")

from safetensors.torch import load_file  # noqa: E402

from forensic_kfd.training.config import validate_config  # noqa: E402
from forensic_kfd.training.trainer import train  # noqa: E402

CONFIG = """\
model: {backbone: kfd-tiny, pretrained: null}
data: {train: {reals: ['builtin:lfw'], stop: 10}}
steps: 3
batch_size: 4
accumulate: ACCUMULATE
device: cpu
threads: 1
progress: false
optim: {warmup_steps: 0, lr: 0.01}
"""


def test_two_gloo_processes_match_one_process_with_accumulation(tmp_path: Path) -> None:
    config = tmp_path / "ddp.yaml"
    config.write_text(CONFIG.replace("ACCUMULATE", "1"), encoding="utf-8")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "forensic_kfd.training",
        str(config),
        "-o",
        str(tmp_path / "ddp"),
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    reports = [line for line in done.stdout.splitlines() if line.startswith("weights:")]
    assert len(reports) == 1  # rank 0 exports and reports

    import yaml

    single = validate_config(yaml.safe_load(CONFIG.replace("ACCUMULATE", "2")))
    train(single, tmp_path / "single")
    plain = validate_config(yaml.safe_load(CONFIG.replace("ACCUMULATE", "1")))
    train(plain, tmp_path / "plain")

    ddp = load_file(str(tmp_path / "ddp" / "kfd.safetensors"))
    accumulated = load_file(str(tmp_path / "single" / "kfd.safetensors"))
    one_batch = load_file(str(tmp_path / "plain" / "kfd.safetensors"))
    assert ddp.keys() == accumulated.keys()
    for key, value in ddp.items():
        torch.testing.assert_close(value, accumulated[key], rtol=1e-4, atol=1e-6, msg=key)
    # without the all-reduce, rank 0 alone would have trained like the one-micro-batch run: it did not
    assert any(not torch.allclose(ddp[key], one_batch[key], rtol=1e-4, atol=1e-6) for key in ddp)
