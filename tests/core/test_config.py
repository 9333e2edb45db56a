"""Pipeline files: composition from the registry, paths in errors, did-you-mean, requires, safe YAML."""

from __future__ import annotations

import pytest

from forensic_core import ComponentSpec, hookimpl
from forensic_core.config import load_pipeline, pipeline_schema
from forensic_core.errors import ConfigError, RequirementError


def problems_of(data, registry) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_pipeline(data, registry)
    return info.value.problems


def test_plain_names_and_mappings_are_both_accepted(fake_registry):
    pipeline = load_pipeline(
        {"detectors": ["brightness", {"name": "face-brightness", "settings": {"threshold": 0.3}}]}, fake_registry
    )
    assert [e.label for e in pipeline.detectors] == ["brightness", "face-brightness"]
    assert pipeline.detectors[1].settings.threshold == 0.3
    assert pipeline.detectors[1].scope == "faces"
    assert pipeline.detectors[0].component.plugin == "fake-plugin"


def test_bad_setting_reports_yaml_path_of_singular_key(fake_registry):
    problems = problems_of({"detector": {"name": "brightness", "settings": {"threshold": 2}}}, fake_registry)
    assert problems == ["detector.brightness.settings.threshold: Input should be less than or equal to 1"]


def test_bad_setting_in_list_reports_index(fake_registry):
    problems = problems_of(
        {"detectors": ["brightness", {"name": "brightness", "settings": {"threshold": -1}}]}, fake_registry
    )
    assert problems[0].startswith("detectors[1].brightness.settings.threshold:")


def test_unknown_setting_gets_did_you_mean(fake_registry):
    problems = problems_of({"detectors": [{"name": "brightness", "settings": {"threshhold": 0.2}}]}, fake_registry)
    assert problems == [
        "detectors[0].brightness.settings.threshhold: unknown key 'threshhold'; did you mean 'threshold'?"
    ]


def test_unknown_component_gets_did_you_mean(fake_registry):
    problems = problems_of({"detectors": ["brightnes"]}, fake_registry)
    assert problems == ["detectors[0]: unknown detector 'brightnes'; did you mean 'brightness'?"]


def test_unknown_top_level_key_gets_did_you_mean(fake_registry):
    problems = problems_of({"localisers": ["bright-map"]}, fake_registry)
    assert problems == ["localisers: unknown key 'localisers'; did you mean 'localizers'?"]


def test_entry_without_name(fake_registry):
    problems = problems_of({"detectors": [{"settings": {}}]}, fake_registry)
    assert "needs a 'name'" in problems[0]


def test_several_problems_are_all_listed(fake_registry):
    problems = problems_of({"detectors": ["nope", {"name": "brightness", "settings": {"threshold": 3}}]}, fake_registry)
    assert len(problems) == 2


class SecondPlugin:
    @hookimpl
    def forensic_register_detectors(self):
        return [ComponentSpec("brightness", "another brightness", factory=lambda s, ctx: None)]


def test_duplicate_component_name_must_be_qualified(fake_registry, register_plugin):
    register_plugin(SecondPlugin(), "second-plugin")
    problems = problems_of({"detectors": ["brightness"]}, fake_registry)
    assert problems == [
        "detectors[0]: detector 'brightness' is registered by both 'fake-plugin' and 'second-plugin'; "
        "write 'fake-plugin:brightness' or 'second-plugin:brightness' to choose"
    ]
    pipeline = load_pipeline({"detectors": ["second-plugin:brightness"]}, fake_registry)
    assert pipeline.detectors[0].component.plugin == "second-plugin"


def test_requires_is_checked_before_building(fake_registry):
    with pytest.raises(RequirementError) as info:
        load_pipeline({"requires": ["fake-plugin>=2"], "detectors": ["brightness"]}, fake_registry)
    assert info.value.problems == [
        "requires[0]: fake-plugin 1.2.0 is installed but 'fake-plugin>=2' is required; pip install 'fake-plugin>=2'"
    ]
    with pytest.raises(RequirementError, match="'forensic-nothing' is not installed"):
        load_pipeline({"requires": ["forensic-nothing"]}, fake_registry)
    load_pipeline({"requires": ["fake-plugin>=1,<2"], "detectors": ["brightness"]}, fake_registry)


def test_yaml_is_loaded_safely(tmp_path, fake_registry):
    path = tmp_path / "evil.yaml"
    path.write_text("detectors: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_pipeline(path, fake_registry)


def test_yaml_file_errors_are_one_line(tmp_path, fake_registry):
    with pytest.raises(ConfigError, match="cannot read pipeline file"):
        load_pipeline(tmp_path / "missing.yaml", fake_registry)
    bad = tmp_path / "bad.yaml"
    bad.write_text("detectors: [brightness\n")
    with pytest.raises(ConfigError, match=r"invalid YAML at line \d+"):
        load_pipeline(bad, fake_registry)


def test_explainer_must_point_at_a_pipeline_detector(fake_registry):
    problems = problems_of(
        {"detectors": ["brightness"], "explainers": [{"name": "saliency", "detector": "brightnes"}]}, fake_registry
    )
    assert problems == [
        "explainers[0].detector: 'brightnes' is not a detector of this pipeline; did you mean 'brightness'?"
    ]


def test_schema_covers_installed_components(fake_registry):
    schema = pipeline_schema(fake_registry)
    text = str(schema)
    for name in ("brightness", "bright-map", "saliency", "fixed-faces", "echo", "threshold"):
        assert name in text
    assert schema["additionalProperties"] is False


def test_face_detector_alias_and_its_error_path(fake_registry):
    pipeline = load_pipeline({"face_detector": "fixed-faces", "detectors": ["face-brightness"]}, fake_registry)
    assert pipeline.faces is not None and pipeline.faces.name == "fixed-faces"
    problems = problems_of({"face_detector": {"name": "fixed-faces", "settings": {"margin": 1}}}, fake_registry)
    assert problems == ["face_detector.fixed-faces.settings.margin: unknown key 'margin'; allowed: (none)"]
