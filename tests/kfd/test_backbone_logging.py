"""Building a random backbone silences open_clip's 'initialized randomly' warning without touching the root logger."""

from __future__ import annotations

import logging

import pytest

pytest.importorskip("open_clip")

from forensic_kfd.backbone import load_backbone


def test_root_logger_level_and_filters_are_unchanged_and_other_records_pass(caplog, monkeypatch):
    import open_clip

    real_create = open_clip.create_model

    def create_and_log(*args, **kwargs):
        logging.getLogger("someone.else").warning("a record from another library")
        return real_create(*args, **kwargs)

    monkeypatch.setattr(open_clip, "create_model", create_and_log)
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    filters = list(root.filters)
    with caplog.at_level(logging.INFO):
        load_backbone("kfd-tiny", None, seed=5)
    assert root.level == logging.INFO and root.filters == filters
    messages = [record.getMessage() for record in caplog.records]
    assert "a record from another library" in messages
    assert not [m for m in messages if "initialized randomly" in m.lower() or "randomly" in m.lower()]
