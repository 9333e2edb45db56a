"""Training the Knowledge-guided Forgery Detector (the ``forensic-kfd[train]`` extra; ``forensic kfd train``).

Never imported by the plugin's registration module: the ``kfd train`` command imports it in its body.
:func:`forensic_kfd.training.trainer.train` runs a :class:`~forensic_kfd.training.config.TrainConfig`.
"""

from __future__ import annotations
