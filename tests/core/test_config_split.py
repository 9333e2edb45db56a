"""config.py split by job (YAML safety / schema / checks) keeps every name it exported importable from it."""

from __future__ import annotations

import forensic_core.config as config
from forensic_core import pipeline_checks, pipeline_schema, pipeline_yaml


def test_old_names_still_come_from_forensic_core_config():
    assert config.read_pipeline_file is pipeline_yaml.read_pipeline_file
    assert config.MAX_PIPELINE_BYTES == pipeline_yaml.MAX_PIPELINE_BYTES
    assert config.pipeline_model is pipeline_schema.pipeline_model
    assert config.check_requirements is pipeline_checks.check_requirements
    for name in config.__all__:
        assert hasattr(config, name), name
