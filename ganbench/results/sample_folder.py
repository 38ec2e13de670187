"""`ganbench sample`: images from a run's checkpoint written one PNG each, a folder that
torch-fidelity and clean-fid read as it is."""

from collections.abc import Iterable, Iterator
from pathlib import Path

import torch
from PIL import Image

from ganbench.engine import checkpoint
from ganbench.engine.build import Experiment
from ganbench.engine.evaluation import to_uint8
from ganbench.errors import GanbenchError

OUT_FIX = "give --out a writable folder on a disk with room for the images"


def empty_folder(out: str | Path) -> Path:
    """The output folder, refused when it already holds files (nothing is overwritten) or
    cannot be written (before the checkpoint is loaded)."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise GanbenchError(f"{out} already exists and is not an empty folder; choose a new --out")
    why = checkpoint.unwritable(out.absolute())
    if why:
        raise GanbenchError(f"cannot write images to {out}: {why}; {OUT_FIX}")
    return out


def write_samples(exp: Experiment, n: int, seed: int, out: str | Path) -> dict[Path, int]:
    """n images per folder the scheme makes (one, or one per direction); {folder: count}."""
    written: dict[Path, int] = {}
    with torch.no_grad():
        for name, batches in exp.scheme.sample(exp.parts, n, seed).items():
            folder = Path(out) / name
            written[folder] = sum(
                _write(folder, to_uint8(images), start) for start, images in _counted(batches)
            )
    return written


def _counted(batches: Iterable[torch.Tensor]) -> Iterator[tuple[int, torch.Tensor]]:
    start = 0
    for images in batches:
        yield start, images
        start += len(images)


def _write(folder: Path, images: torch.Tensor, start: int) -> int:
    """One PNG per image, each whole or not there; grey images as single-channel PNGs."""
    pixels = images.permute(0, 2, 3, 1).cpu().numpy()
    for i, image in enumerate(pixels):
        png = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
        path = folder / f"{start + i:06d}.png"
        checkpoint.write_whole(path, lambda file: png.save(file, format="PNG"), OUT_FIX)
    return len(pixels)
