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
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image

from ganbench import GanbenchError, ImageSet, Option, TwoDomains, checkpoint, hookimpl, to_resolution
from ganbench.options import positive

SUFFIXES = {".png", ".jpg", ".jpeg", ".webp"}


def image_files(root, what="data_dir"):
    root = Path(root).expanduser()
    if not root.is_dir():
        raise GanbenchError(f"{what}={root}: no such directory; point {what} at a folder of images")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file())
    if not files:
        raise GanbenchError(f"{what}={root}: no .png, .jpg or .webp images in it or below it")
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


def load_folder(root, res, cache_dir, files=None):
    files = files if files is not None else image_files(root)
    cache = Path(cache_dir) / f"folder-{_cache_key(files, res)}.pt"
    if cache.exists():
        return torch.load(cache)
    images = torch.cat([_decode(f, res) for f in files])
    checkpoint.save(cache, images)
    return images


def tagged(root, csv, wanted, most):
    """(files, multi-hot tags) for the images the CSV tags with 1 to `most` wanted tags."""
    try:
        table = pd.read_csv(csv, dtype=str).fillna("")
    except (OSError, pd.errors.ParserError) as e:
        raise GanbenchError(f"tags_csv={csv}: cannot read it ({e})") from None
    if not {"file", "tags"} <= set(table.columns):
        raise GanbenchError(f"tags_csv={csv}: needs columns 'file' and 'tags' (tags separated by ';')")
    tags = table["tags"].map(lambda t: {x.strip() for x in t.split(";") if x.strip()})
    names = [w.strip() for w in wanted.split(",") if w.strip()] or sorted(set().union(*tags))
    hot = torch.tensor([[name in row for name in names] for row in tags], dtype=torch.float32)
    keep = (hot.sum(1) >= 1) & (hot.sum(1) <= most)
    if not keep.any():
        raise GanbenchError(f"tags_csv={csv}: no image has between 1 and {most} of the tags {', '.join(names)}")
    files = [Path(root) / table["file"].iloc[i] for i in keep.nonzero().flatten().tolist()]
    missing = [f for f in files if not f.is_file()]
    if missing:
        raise GanbenchError(f"tags_csv={csv} names {missing[0]}, which is not there ({len(missing)} missing)")
    return files, hot[keep]


def cyclegan_layout(root):
    """True when `root` holds CycleGAN's trainA/ and trainB/ (with testA/ and testB/)."""
    root = Path(root).expanduser()
    return (root / "trainA").is_dir() or (root / "trainB").is_dir()


def layout_domain(cfg, name):
    """One domain of CycleGAN's layout: train<name>/ for training, test<name>/ for scores."""
    root = Path(cfg.data_dir).expanduser()
    for split in ("train", "test"):
        if not (root / f"{split}{name}").is_dir():
            raise GanbenchError(f"data_dir={root} has CycleGAN's layout but no {split}{name}/; it needs "
                                f"trainA/, trainB/, testA/ and testB/")
    train, test = (load_folder(root / f"{split}{name}", cfg.res, cfg.cache_dir,
                               image_files(root / f"{split}{name}", f"domain {name}, {split}{name}")) for split in ("train", "test"))
    return ImageSet(train, None, f"{len(train)} images from {root / f'train{name}'}", test=ImageSet(test))


def held_out_domain(cfg, root, what):
    """A domain from one plain folder: a seed-0 tenth (at least one image) held out as its test set."""
    images = load_folder(root, cfg.res, cfg.cache_dir, image_files(root, what))
    if len(images) < 2:
        raise GanbenchError(f"{what}={root}: one image cannot give both train and test images; add more")
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
    test = max(1, len(images) // 10)
    return ImageSet(images[order[test:]], None, f"{len(images) - test} images from {root}",
                    test=ImageSet(images[order[:test]]))


def two_domains(cfg):
    if cfg.data_dir_b:
        a, b = held_out_domain(cfg, cfg.data_dir, "data_dir"), held_out_domain(cfg, cfg.data_dir_b, "data_dir_b")
    else:
        a, b = layout_domain(cfg, "A"), layout_domain(cfg, "B")
    return TwoDomains(a, b, f"A: {a.description}, B: {b.description}")


def folder(cfg):
    if not cfg.data_dir:
        raise GanbenchError("dataset 'folder' needs data_dir=PATH, a directory of images")
    if cfg.data_dir_b or cyclegan_layout(cfg.data_dir):
        return two_domains(cfg)
    if cfg.tags_csv:
        files, labels = tagged(cfg.data_dir, cfg.tags_csv, cfg.tags, cfg.tags_max)
        images = load_folder(cfg.data_dir, cfg.res, cfg.cache_dir, files)
        return ImageSet(images, labels, f"{len(images)} tagged images from {cfg.data_dir}")
    images = load_folder(cfg.data_dir, cfg.res, cfg.cache_dir)
    return ImageSet(images, None, f"{len(images)} images from {cfg.data_dir}")


@hookimpl
def register_datasets(register):
    register("folder", folder, help="a directory of png/jpg/webp images, recursive; or two domains",
             channels=3, domains=(1, 2), options={
        "data_dir": Option(str, "", "the directory of images for dataset 'folder' (domain A for translation; "
                           "with trainA/, trainB/, testA/, testB/ both domains)"),
        "data_dir_b": Option(str, "", "domain B's directory, for translation between two plain folders "
                             "(a tenth of each held out for scores)"),
        "tags_csv": Option(str, "", "CSV of file,tags giving each image its tags (report 002)"),
        "tags": Option(str, "", "the tags to condition on, comma-separated (default: all in the CSV)"),
        "tags_max": Option(int, 2, "leave out images with more of those tags than this", check=positive),
    })
