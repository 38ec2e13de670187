"""Any directory of images (recursive; png, jpg, webp), center-cropped and resized to res.

Two domains for translation: a data_dir in CycleGAN's layout (trainA/, trainB/, testA/,
testB/), or two plain folders data_dir and data_dir_b, each with a seed-0 tenth held out
as its test images.

Decoding happens once: the uint8 tensor is cached under the run's cache directory, keyed by
every file's path, size and modification time and the resolution, so an edit re-decodes.

With `tags_csv`, a CSV with columns `file` (relative to data_dir) and `tags` (separated by
';') gives each image a multi-hot condition over `tags` (comma-separated; default: every tag
in the file), and, as report 002 did, images with no such tag or more than `tags_max` of
them are left out.
"""

import hashlib
import os
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import torch
from PIL import Image
from rich.console import Console
from rich.progress import track

from ganbench import GanbenchError, ImageSet, TwoDomains, to_resolution
from ganbench.api.data import cached
from ganbench.errors import GanbenchWarning

SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif"}
WIDE_GREY = (
    "I;16",
    "I;16B",
    "I;16L",
    "I",
)  # 16- and 32-bit grey, which convert("RGB") clips to white


def image_files(root: str | Path, what: str = "data_dir") -> list[Path]:
    root = Path(root).expanduser()
    if not root.is_dir():
        raise GanbenchError(f"{what}={root}: no such directory; point {what} at a folder of images")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file())
    if not files:
        raise GanbenchError(
            f"{what}={root}: no images ({', '.join(sorted(SUFFIXES))}) in it or below it"
        )
    return files


def _cache_key(files: list[Path], res: int, skip_bad: bool = False) -> str:
    digest = hashlib.sha256(f"{res} {skip_bad}".encode())
    for f in files:
        stat = f.stat()
        digest.update(f"{f}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:20]


def _pixels(image: Image.Image) -> np.ndarray:
    """RGB uint8 pixels; wide grey scaled down to 8 bits instead of clipped."""
    if image.mode in WIDE_GREY:
        wide = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or wide.max() > 255 else 255.0
        return np.repeat(
            np.clip(np.round(wide / top * 255), 0, 255).astype(np.uint8)[..., None], 3, axis=2
        )
    return np.array(image.convert("RGB"))


def _decode(path: Path, res: int) -> tuple[torch.Tensor | None, str | None]:
    """(image tensor, None), or (None, why it cannot be decoded)."""
    try:
        with Image.open(path) as image:
            pixels = _pixels(image)
    except (OSError, ValueError) as e:  # PIL's UnidentifiedImageError is an OSError
        return None, str(e)
    return to_resolution(torch.from_numpy(pixels).permute(2, 0, 1).unsqueeze(0), res), None


def decode_all(files: list[Path], res: int) -> list[tuple[torch.Tensor | None, str | None]]:
    """Every file decoded on all cores, with a progress bar on stderr."""
    console = Console(stderr=True)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        decoded = pool.map(lambda f: _decode(f, res), files)
        return list(
            track(
                decoded,
                total=len(files),
                description=f"decoding {len(files):,} images",
                console=console,
                transient=True,
                disable=not console.is_terminal,
            )
        )


class Loaded(NamedTuple):
    images: torch.Tensor  # uint8, the files that decoded
    description: str  # how many, from where, how many skipped, how long decoding took
    kept: list[bool]  # per file: whether it decoded (labels of skipped files are dropped too)


def load_folder(
    root: str | Path,
    res: int,
    cache_dir: str | Path,
    files: list[Path] | None = None,
    skip_bad: bool = False,
) -> Loaded:
    """The folder's images as a Loaded, decoded once and cached."""
    files = files if files is not None else image_files(root)
    name = f"folder-{_cache_key(files, res, skip_bad)}.pt"
    return Loaded(*cached(cache_dir, name, lambda: _decoded(root, res, files, skip_bad)))


def _decoded(
    root: str | Path, res: int, files: list[Path], skip_bad: bool
) -> tuple[torch.Tensor, str, list[bool]]:
    """Every file decoded now: a Loaded's fields as a plain tuple, which is what the cache
    keeps; files that cannot be decoded are refused, or skipped with skip_bad."""
    began = time.perf_counter()
    decoded = decode_all(files, res)
    bad = [(f, why) for f, (image, why) in zip(files, decoded) if image is None]
    _refuse_or_warn(bad, len(files), skip_bad)
    images = torch.cat([image for image, _ in decoded if image is not None])
    return (
        images,
        f"{len(images):,} images from {root} ({len(bad)} skipped, decoded in {time.perf_counter() - began:.1f} s)",
        [image is not None for image, _ in decoded],
    )


def _refuse_or_warn(bad: list[tuple[Path, str | None]], total: int, skip_bad: bool) -> None:
    """Every file that cannot be decoded, named at once: an error, or with skip_bad a warning."""
    if not bad:
        return
    listed = "; ".join(f"{f} ({why})" for f, why in bad[:5]) + (
        f"; and {len(bad) - 5} more" if len(bad) > 5 else ""
    )
    if len(bad) == total or not skip_bad:
        raise GanbenchError(
            f"{len(bad)} of {total} images cannot be decoded: {listed}; remove or replace them"
            + ("" if len(bad) == total else ", or pass skip_bad=true to train on the rest")
        )
    warnings.warn(
        f"skipping {len(bad)} of {total} images that cannot be decoded: {listed}",
        GanbenchWarning,
        stacklevel=2,
    )


def tagged(root: str | Path, csv: str, wanted: str, most: int) -> tuple[list[Path], torch.Tensor]:
    """(files, multi-hot tags) for the images the CSV tags with 1 to `most` wanted tags."""
    try:
        table = pd.read_csv(csv, dtype=str).fillna("")
    except (OSError, pd.errors.ParserError) as e:
        raise GanbenchError(f"tags_csv={csv}: cannot read it ({e})") from None
    if not {"file", "tags"} <= set(table.columns):
        raise GanbenchError(
            f"tags_csv={csv}: needs columns 'file' and 'tags' (tags separated by ';')"
        )
    tags = table["tags"].map(lambda t: {x.strip() for x in t.split(";") if x.strip()})
    names = [w.strip() for w in wanted.split(",") if w.strip()] or sorted(set().union(*tags))
    hot = torch.tensor([[name in row for name in names] for row in tags], dtype=torch.float32)
    keep = (hot.sum(1) >= 1) & (hot.sum(1) <= most)
    if not keep.any():
        raise GanbenchError(
            f"tags_csv={csv}: no image has between 1 and {most} of the tags {', '.join(names)}"
        )
    files = [Path(root) / table["file"].iloc[i] for i in keep.nonzero().flatten().tolist()]
    missing = [f for f in files if not f.is_file()]
    if missing:
        raise GanbenchError(
            f"tags_csv={csv} names {missing[0]}, which is not there ({len(missing)} missing)"
        )
    return files, hot[keep]


def cyclegan_layout(root: str | Path) -> bool:
    """True when `root` holds CycleGAN's trainA/ and trainB/ (with testA/ and testB/)."""
    root = Path(root).expanduser()
    return (root / "trainA").is_dir() or (root / "trainB").is_dir()


def layout_domain(cfg: Any, name: str) -> ImageSet:
    """One domain of CycleGAN's layout: train<name>/ for training, test<name>/ for scores."""
    root = Path(cfg.data_dir).expanduser()
    for split in ("train", "test"):
        if not (root / f"{split}{name}").is_dir():
            raise GanbenchError(
                f"data_dir={root} has CycleGAN's layout but no {split}{name}/; it needs "
                f"trainA/, trainB/, testA/ and testB/"
            )
    train, test = (
        load_folder(
            root / f"{split}{name}",
            cfg.res,
            cfg.cache_dir,
            image_files(root / f"{split}{name}", f"domain {name}, {split}{name}"),
            cfg.skip_bad,
        )
        for split in ("train", "test")
    )
    return ImageSet(
        train.images, None, train.description, test=ImageSet(test.images, None, test.description)
    )


def held_out_domain(cfg: Any, root: str | Path, what: str) -> ImageSet:
    """A domain from one plain folder: a seed-0 tenth (at least one image) held out as its test set."""
    loaded = load_folder(root, cfg.res, cfg.cache_dir, image_files(root, what), cfg.skip_bad)
    images = loaded.images
    if len(images) < 2:
        raise GanbenchError(
            f"{what}={root}: one image cannot give both train and test images; add more"
        )
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
    test = max(1, len(images) // 10)
    return ImageSet(
        images[order[test:]],
        None,
        f"{loaded.description}, {test} held out for tests",
        test=ImageSet(images[order[:test]]),
    )


def two_domains(cfg: Any) -> TwoDomains:
    if cfg.data_dir_b:
        a, b = (
            held_out_domain(cfg, cfg.data_dir, "data_dir"),
            held_out_domain(cfg, cfg.data_dir_b, "data_dir_b"),
        )
    else:
        a, b = layout_domain(cfg, "A"), layout_domain(cfg, "B")
    return TwoDomains(a, b, f"A: {a.description}, B: {b.description}")


def folder(cfg: Any) -> ImageSet | TwoDomains:
    if not cfg.data_dir:
        raise GanbenchError("dataset 'folder' needs data_dir=PATH, a directory of images")
    if cfg.data_dir_b or cyclegan_layout(cfg.data_dir):
        return two_domains(cfg)
    if cfg.tags_csv:
        files, labels = tagged(cfg.data_dir, cfg.tags_csv, cfg.tags, cfg.tags_max)
        loaded = load_folder(cfg.data_dir, cfg.res, cfg.cache_dir, files, cfg.skip_bad)
        return ImageSet(
            loaded.images, labels[torch.tensor(loaded.kept)], f"tagged: {loaded.description}"
        )
    loaded = load_folder(cfg.data_dir, cfg.res, cfg.cache_dir, skip_bad=cfg.skip_bad)
    return ImageSet(loaded.images, None, loaded.description)
