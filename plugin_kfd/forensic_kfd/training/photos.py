"""Write face photos of a training source to a folder, e.g. held-out built-in photos for ``forensic eval``.

``python -m forensic_kfd.training.photos OUT builtin:lfw --start 80`` writes the 20 held-out LFW faces as PNG
files; ``--faces detect`` crops the largest face (haar) first, as training does. The evaluation harness's
``pseudo`` reader then makes pseudo-fakes of them.
"""

from __future__ import annotations

from pathlib import Path

import click

from forensic_core.errors import ForensicError


def write_photos(
    output: Path, entries: list[str], *, start: int = 0, stop: int | None = None, faces: str = "full"
) -> list[Path]:
    """The source's (cropped) photos as ``OUT/NNNN.png``; returns the files written."""
    import numpy as np
    from PIL import Image

    from forensic_kfd.training.config import Source
    from forensic_kfd.training.data import FaceLoader, source_records

    source = Source.model_validate({"reals": entries, "start": start, "stop": stop, "faces": faces})
    loader = FaceLoader(source)
    output.mkdir(parents=True, exist_ok=True)
    written = []
    for position, record in enumerate(source_records(source)):
        face = loader(position, record)
        path = output / f"{position:04d}.png"
        Image.fromarray(np.ascontiguousarray(face.image)).save(path)
        written.append(path)
    return written


@click.command()
@click.argument("output", type=click.Path(file_okay=False, path_type=Path))
@click.argument("entries", nargs=-1, required=True)
@click.option("--start", type=int, default=0, show_default=True, help="first image of the sorted list")
@click.option("--stop", type=int, default=None, help="end of the slice (default: all)")
@click.option("--faces", type=click.Choice(["full", "detect"]), default="full", show_default=True)
def main(output: Path, entries: tuple[str, ...], start: int, stop: int | None, faces: str) -> None:
    """Write ENTRIES (files, folders, builtin:lfw / builtin:astronaut / builtin:grace_hopper) to OUTPUT."""
    try:
        written = write_photos(output, list(entries), start=start, stop=stop, faces=faces)
    except ForensicError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"{len(written)} photo(s) in {output}")


if __name__ == "__main__":
    main()
