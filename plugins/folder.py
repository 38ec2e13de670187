"""Any directory of images (recursive; png, jpg, webp), center-cropped and resized to res.

Decoding happens once: the uint8 tensor is cached under the run's cache directory, keyed by
every file's path, size and modification time and the resolution, so an edit re-decodes.
"""
import hashlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganbench import GanbenchError, ImageSet, Option, hookimpl, to_resolution

SUFFIXES = {".png", ".jpg", ".jpeg", ".webp"}


def image_files(root):
    root = Path(root).expanduser()
    if not root.is_dir():
        raise GanbenchError(f"data_dir={root}: no such directory; point data_dir at a folder of images")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file())
    if not files:
        raise GanbenchError(f"data_dir={root}: no .png, .jpg or .webp images in it or below it")
    return files


def _cache_key(files, res):
    digest = hashlib.sha256(str(res).encode())
    for f in files:
        stat = f.stat()
        digest.update(f"{f}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:20]


def _decode(path, res):
    try:
        with Image.open(path) as image:
            pixels = np.array(image.convert("RGB"))
    except (OSError, ValueError) as e:  # PIL's UnidentifiedImageError is an OSError
        raise GanbenchError(f"{path}: cannot decode this image ({e}); remove or replace it") from None
    return to_resolution(torch.from_numpy(pixels).permute(2, 0, 1).unsqueeze(0), res)


def load_folder(root, res, cache_dir):
    files = image_files(root)
    cache = Path(cache_dir) / f"folder-{_cache_key(files, res)}.pt"
    if cache.exists():
        return torch.load(cache)
    images = torch.cat([_decode(f, res) for f in files])
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    torch.save(images, tmp)
    tmp.replace(cache)
    return images


def folder(cfg):
    if not cfg.data_dir:
        raise GanbenchError("dataset 'folder' needs data_dir=PATH, a directory of images")
    images = load_folder(cfg.data_dir, cfg.res, cfg.cache_dir)
    return ImageSet(images, None, f"{len(images)} images from {cfg.data_dir}")


@hookimpl
def register_datasets(register):
    register("folder", folder, help="a directory of png/jpg/webp images, recursive", channels=3, options={
        "data_dir": Option(str, "", "the directory of images for dataset 'folder'"),
    })
