"""``python -m forensic_kfd.training CONFIG -o RUN``: the ``kfd train`` command, for ``torchrun -m``."""

from __future__ import annotations

from forensic_kfd.training.cli import main

main()
