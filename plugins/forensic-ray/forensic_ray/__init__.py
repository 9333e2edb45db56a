"""forensic-ray: the ``ray`` engine, which runs ``forensic run`` and ``forensic eval`` over a Ray cluster.

Inputs flow as a Ray Data stream into a pool of actors, each building the pipeline's models once through the
core's :class:`~forensic_core.engine.worker.InputWorker`; results stream back to the driver's journal as they
finish, so resume, custody and the report are the core's. Ray is imported only when the engine runs.
"""

from __future__ import annotations

__version__ = "0.1.0"
