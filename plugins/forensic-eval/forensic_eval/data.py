"""What ``forensic eval`` evaluates: a CSV manifest, or a YAML file naming datasets with their settings.

The YAML file is validated like a pipeline: ``datasets`` is a list whose entries are discriminated on ``name``
over the installed dataset readers, each with its own settings model, so a typo gives ``datasets[0].settings.roo:
...`` instead of a reader crash. Relative paths in settings (``root``, ``path``, ``cache``) are relative to the
YAML file's folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from forensic_core.components import ComponentKind
from forensic_core.context import BuildContext
from forensic_core.datasets import Dataset, Sample
from forensic_core.errors import ConfigError, one_line
from forensic_core.registry import Registry

PATH_SETTINGS = ("root", "path", "cache")


@dataclass(frozen=True)
class LoadedDataset:
    """One dataset of an evaluation: its registered name, the reader, and the frames it asks for."""

    name: str
    reader: Dataset
    frames: int | None


def data_model(registry: Registry) -> type[BaseModel]:
    """The pydantic model of evaluation data files for the installed dataset readers."""
    variants: list[Any] = []
    for component in registry.components(ComponentKind.DATASET):
        tags: Any = [component.qualified_name]
        if component.name in registry.names(ComponentKind.DATASET):  # the plain name, when no other plugin uses it
            tags.insert(0, component.name)
        tag_type: Any = Literal[tuple(tags)]
        variants.append(
            create_model(
                f"dataset_{component.plugin}_{component.name}".replace("-", "_"),
                __config__=ConfigDict(extra="forbid", frozen=True),
                name=(tag_type, Field(description=component.spec.summary)),
                settings=(component.spec.settings, Field(description="settings of this reader")),
            )
        )
    if not variants:
        raise ConfigError("no dataset readers are installed; pip install ./plugins/forensic-eval")
    union: Any = Union[tuple(variants)]  # noqa: UP007 - a runtime-built union needs Union[]
    typed: Any = Annotated[union, Field(discriminator="name")] if len(variants) > 1 else variants[0]
    return create_model(
        "EvalData",
        __config__=ConfigDict(extra="forbid"),
        datasets=(list[typed], Field(min_length=1, description="datasets to evaluate on")),
    )


def _absolute(settings: dict[str, Any], base: Path) -> dict[str, Any]:
    fixed = dict(settings)
    for key in PATH_SETTINGS:
        if isinstance(fixed.get(key), str) and not Path(fixed[key]).expanduser().is_absolute():
            fixed[key] = str(base / Path(fixed[key]).expanduser())
    return fixed


def load_data(source: Path, registry: Registry, context: BuildContext | None = None) -> list[LoadedDataset]:
    """The datasets ``source`` names: a ``.csv`` is one manifest, anything else a YAML data file."""
    if not source.is_file():
        raise ConfigError(f"{source}: not found; give a CSV manifest or a YAML file with datasets:")
    context = context or BuildContext()
    if source.suffix.lower() == ".csv":
        return [_build(registry, "manifest", {"path": str(source.resolve())}, context, str(source))]
    import yaml

    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(
            f"{source}: cannot read data file: {one_line(exc, limit=200, bare=(BaseException,))}"
        ) from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a data file is a mapping with a datasets: list (or give a .csv manifest)")
    model = data_model(registry)
    try:
        model.model_validate(data)
    except ValidationError as exc:
        problems = [_describe(error) for error in exc.errors()]
        raise ConfigError(
            f"{source}: {problems[0]}" + (f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""),
            [f"{source}: {p}" for p in problems],
        ) from None
    base = source.resolve().parent
    return [
        _build(registry, entry["name"], _absolute(entry.get("settings") or {}, base), context, f"{source}: {index}")
        for index, entry in enumerate(data["datasets"])
    ]


def _describe(error: Any) -> str:
    parts: list[str] = []
    for item in error["loc"]:
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1]}[{item}]" if parts else f"[{item}]"]
        elif parts and parts[-1].startswith("datasets[") and len(parts) == 1 and item not in ("name", "settings"):
            continue  # pydantic's union tag (the reader name) between the index and the field
        else:
            parts.append(str(item))
    return f"{'.'.join(parts) or '(top level)'}: {error['msg']}"


def _build(registry: Registry, name: str, settings: dict[str, Any], context: BuildContext, where: str) -> LoadedDataset:
    component = registry.resolve(ComponentKind.DATASET, name)
    try:
        validated = component.spec.settings.model_validate(settings)
    except ValidationError as exc:
        raise ConfigError(f"{where}: dataset {name!r}: {_describe(exc.errors()[0])}") from None
    reader = component.spec.resolve_factory()(validated, context)
    if not isinstance(reader, Dataset):
        raise ConfigError(f"dataset {name!r} ({component.plugin}) returned {type(reader).__name__}, not a Dataset")
    return LoadedDataset(component.name, reader, getattr(reader, "frames", None))


def collect_samples(datasets: Sequence[LoadedDataset]) -> list[Sample]:
    """Every dataset's samples in order; a file named twice is an error (its results could not be told apart)."""
    samples: list[Sample] = []
    seen: dict[str, str] = {}
    for dataset in datasets:
        for sample in dataset.reader.samples():
            if sample.path in seen:
                raise ConfigError(
                    f"{sample.path}: named twice (by {seen[sample.path]} and {dataset.name}); each file is one sample"
                )
            seen[sample.path] = dataset.name
            samples.append(sample)
    if not samples:
        raise ConfigError("the data yields no samples; check the dataset roots and splits")
    return samples


def common_frames(datasets: Sequence[LoadedDataset]) -> int | None:
    """The frames per video the datasets ask for (None: keep the pipeline's); datasets that disagree are an error,
    since one run samples every video alike."""
    asked = sorted({d.frames for d in datasets if d.frames is not None})
    if len(asked) > 1:
        raise ConfigError(
            f"the datasets ask for different frames per video ({', '.join(map(str, asked))}); "
            "give them the same frames or evaluate them separately"
        )
    return asked[0] if asked else None
