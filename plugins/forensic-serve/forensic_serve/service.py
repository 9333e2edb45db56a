"""The server's long-lived objects: the pipeline, one component pool, the data folder, the queue, the sessions.

Built once per process; every analysis runs through :func:`forensic_core.runner.run_pipeline` with the same
pool (models load once; concurrent calls of a component batch, :mod:`forensic_serve.batching`) into its own
journal folder, so results survive restarts and ``forensic verify`` can
check any of them. Analyses left unfinished by a stop are queued again at start-up (``resume``).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from forensic_core.errors import ConfigError
from forensic_core.pipeline import Pipeline
from forensic_core.registry import Registry, get_registry, use_registry
from forensic_serve.batching import BatchingPool
from forensic_serve.config import ServeConfig
from forensic_serve.jobs import JobQueue, QueueFull
from forensic_serve.sessiondb import FILENAME, SessionDB
from forensic_serve.sessions import SessionManager
from forensic_serve.store import AnalysisStore

log = logging.getLogger("forensic_serve")


def load_pipelines(config: ServeConfig, registry: Registry) -> tuple[Pipeline, Pipeline | None, str]:
    """The analysis pipeline, the same pipeline with a dialog backend (None when no backend is installed) and,
    then, why sessions are unavailable."""
    from forensic_core.cli.dialog import load_dialog_pipeline
    from forensic_core.config import load_pipeline
    from forensic_core.defaults import default_pipeline

    with use_registry(registry):
        source: Any = config.pipeline if config.pipeline is not None else default_pipeline(registry)
        pipeline = load_pipeline(source, registry)
        if config.pipeline is None:
            pipeline = dataclasses.replace(pipeline, source="(default)")
        try:
            dialog = load_dialog_pipeline(config.pipeline)
        except ConfigError as exc:
            return pipeline, None, str(exc)
    return pipeline, dialog, ""


class Service:
    """Everything the routes use."""

    def __init__(self, config: ServeConfig, registry: Registry | None = None) -> None:
        self.config = config
        self.registry = registry or get_registry()
        self.pipeline, dialog, unavailable = load_pipelines(config, self.registry)
        self.pool = BatchingPool(max_items=config.max_batch_items)
        self.store = AnalysisStore(config.data_dir)
        self.max_pixels = min(config.max_pixels, self.pipeline.inputs.max_pixels)
        self.jobs = JobQueue(self.analyse, workers=config.workers, queue_size=config.queue_size)
        self.session_db = SessionDB(
            self.store.root / FILENAME,
            max_sessions=config.stored_sessions,
            max_age_s=config.session_max_age_days * 86_400,
        )
        self.session_db.evict()
        self.sessions = SessionManager(
            dialog,
            self.registry,
            self.pool,
            self.store,
            limit=config.max_sessions,
            unavailable=unavailable,
            db=self.session_db,
        )

    def warm_up(self) -> None:
        """Build every component now, so the first request does not wait for model loading."""
        from forensic_core.analysis import Analyzer

        with use_registry(self.registry):
            self.registry.configure(self.pipeline)
            Analyzer(self.pipeline, pool=self.pool).build()

    def resume_unfinished(self) -> list[str]:
        """Queue the analyses a previous process left unfinished (as many as the queue holds)."""
        queued = []
        for analysis_id in self.store.unfinished():
            try:
                self.jobs.submit(analysis_id)
            except QueueFull:
                log.warning("queue full: analysis %s stays unfinished until it is resubmitted", analysis_id)
                break
            queued.append(analysis_id)
        return queued

    def analyse(self, analysis_id: str) -> None:
        """One analysis through the engine and the journal (``resume``: a restarted job keeps finished work)."""
        from forensic_core.runner import run_pipeline

        meta = self.store.meta(analysis_id)
        if meta is None:
            raise ConfigError(f"analysis {analysis_id} has no meta.json")
        run_pipeline(
            self.pipeline,
            self.registry,
            [str(self.store.upload_path(meta))],
            self.store.analyses / analysis_id,
            pool=self.pool,
            resume=True,
        )

    def close(self) -> None:
        self.jobs.close()
        self.pool.close()
        self.session_db.close()
