import json
import re
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from conftest import query
from PIL import Image

from ganbench import GanbenchError, ImageSet, to_resolution
from ganbench.api.data import DeviceData
from ganbench.errors import GanbenchWarning
from ganbench_plugins import folder as folder_plugin
from ganbench_plugins.mnist5k import mnist5k


def test_embedded_digits_are_real_mnist_at_the_asked_resolution():
    data = mnist5k(SimpleNamespace(res=32))
    assert data.images.shape == (5000, 1, 32, 32) and data.images.dtype == torch.uint8
    assert torch.bincount(data.labels).tolist() == [500] * 10
    images = data.images.float()
    assert images[:, :, :3, :].mean() < 1  # dark borders, as MNIST has, unlike noise
    assert images[:, :, 12:20, 12:20].mean() > 60  # ink in the middle
    ones, zeros = images[data.labels == 1].mean(0), images[data.labels == 0].mean(0)
    assert ones[0, 16, 16] > zeros[0, 16, 16]  # a 1 is a stroke through the center, a 0 a ring


def test_to_resolution_center_crops_then_resizes():
    wide = torch.zeros(1, 3, 20, 40, dtype=torch.uint8)
    wide[..., 10:30] = 200  # the central square is bright, the sides dark
    out = to_resolution(wide, 8)
    assert out.shape == (1, 3, 8, 8) and out.dtype == torch.uint8
    assert (out == 200).all()


def test_batches_are_scaled_to_minus_one_one_and_flipped_on_the_device():
    images = torch.zeros(1, 1, 4, 4, dtype=torch.uint8)
    images[..., 0] = 255  # left column white
    data = DeviceData(ImageSet(images), torch.device("cpu"), flip=True)
    batch = data.sample(64, torch.Generator().manual_seed(0))
    assert batch.real.min() == -1 and batch.real.max() == 1
    left_white = (batch.real[:, 0, 0, 0] == 1).sum().item()
    assert 10 < left_white < 54  # roughly half were mirrored
    assert ((batch.real[:, 0, 0, 0] == 1) ^ (batch.real[:, 0, 0, 3] == 1)).all()


def _save(path, size, color, fmt):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path, fmt)


@pytest.fixture
def image_dir(tmp_path):
    root = tmp_path / "faces"
    _save(root / "a.png", (40, 20), (255, 0, 0), "PNG")
    _save(root / "deeper" / "b.JPG", (16, 16), (0, 0, 255), "JPEG")
    _save(root / "deeper" / "more" / "c.webp", (30, 50), (0, 255, 0), "WEBP")
    (root / "readme.txt").write_text("not an image")
    return root


def test_folder_reads_every_image_recursively_and_caches_them(image_dir, tmp_path, monkeypatch):
    cfg = SimpleNamespace(
        res=8,
        data_dir=str(image_dir),
        cache_dir=str(tmp_path / "cache"),
        tags_csv="",
        data_dir_b="",
        skip_bad=False,
    )
    data = folder_plugin.folder(cfg)
    assert data.images.shape == (3, 3, 8, 8)
    means = data.images.float().mean(dim=(2, 3))
    assert means[0].argmax() == 0 and means[1].argmax() == 2 and means[2].argmax() == 1
    assert len(list((tmp_path / "cache").glob("folder-*.pt"))) == 1

    monkeypatch.setattr(folder_plugin, "_decode", lambda *a: pytest.fail("decoded again"))
    assert torch.equal(folder_plugin.folder(cfg).images, data.images)


def test_folder_cache_notices_a_new_image(image_dir, tmp_path):
    cfg = SimpleNamespace(
        res=8,
        data_dir=str(image_dir),
        cache_dir=str(tmp_path / "cache"),
        tags_csv="",
        data_dir_b="",
        skip_bad=False,
    )
    folder_plugin.folder(cfg)
    _save(image_dir / "d.png", (8, 8), (9, 9, 9), "PNG")
    assert len(folder_plugin.folder(cfg).images) == 4


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda root: None, "no such directory"),
        (lambda root: root.mkdir(), r"no images \(\.bmp, \.gif"),
        (
            lambda root: (root.mkdir(), (root / "x.png").write_bytes(b"garbage")),
            "1 of 1 images cannot be decoded: .*x.png",
        ),
    ],
)
def test_folder_errors_name_the_problem(tmp_path, setup, message):
    root = tmp_path / "imgs"
    setup(root)
    cfg = SimpleNamespace(
        res=8,
        data_dir=str(root),
        cache_dir=str(tmp_path / "cache"),
        tags_csv="",
        data_dir_b="",
        skip_bad=False,
    )
    with pytest.raises(GanbenchError, match=message):
        folder_plugin.folder(cfg)


def test_folder_without_data_dir_says_how_to_give_one(invoke):
    result = invoke("run", "plugins=folder", "res=16")
    assert result.exit_code == 2 and "needs data_dir=PATH" in result.output


def test_a_run_trains_on_a_folder(invoke, image_dir):
    result = invoke(
        "run",
        "plugins=folder",
        f"data_dir={image_dir}",
        "res=16",
        "batch=2",
        "filters=0.0625",
        "metrics=",
        "--steps",
        "2",
        "log_every=1",
    )
    assert result.exit_code == 0, result.output


def _folder_cfg(root, tmp_path, **extra):
    return SimpleNamespace(
        res=8,
        data_dir=str(root),
        cache_dir=str(tmp_path / "cache"),
        tags_csv="",
        data_dir_b="",
        skip_bad=False,
        **extra,
    )


def test_every_bad_file_is_named_at_once_and_skip_bad_trains_on_the_rest(image_dir, tmp_path):
    for name in ("bad1.png", "bad2.jpg"):
        (image_dir / name).write_bytes(b"garbage")
    with pytest.raises(
        GanbenchError,
        match=r"2 of 5 images cannot be decoded: .*bad1\.png .*bad2\.jpg .*skip_bad=true",
    ):
        folder_plugin.folder(_folder_cfg(image_dir, tmp_path))
    cfg = _folder_cfg(image_dir, tmp_path)
    cfg.skip_bad = True
    with pytest.warns(GanbenchWarning, match=r"skipping 2 of 5 images .*bad1\.png .*bad2\.jpg"):
        data = folder_plugin.folder(cfg)
    assert (
        len(data.images) == 3
        and "3 images from" in data.description
        and "2 skipped" in data.description
    )


def test_sixteen_bit_grey_bmp_and_tif_images_are_read_as_they_look(tmp_path):
    root = tmp_path / "wide"
    root.mkdir()
    Image.fromarray(np.full((8, 8), 32768, dtype=np.uint16)).save(
        root / "grey16.png"
    )  # mid-grey at 16 bits
    Image.new("RGB", (8, 8), (200, 10, 10)).save(root / "red.bmp")
    Image.new("RGB", (8, 8), (10, 200, 10)).save(root / "green.tif")
    data = folder_plugin.folder(_folder_cfg(root, tmp_path))
    green, grey, red = data.images  # sorted: green.tif, grey16.png, red.bmp
    assert grey.unique().tolist() == [128]  # mid-grey, not clipped to white
    assert green[1].float().mean() > 150 > green[0].float().mean() and red[0].float().mean() > 150


def test_a_run_records_what_it_read_and_warns_when_the_set_is_smaller_than_a_batch(
    invoke, db, image_dir
):
    with pytest.warns(GanbenchWarning, match="has 3 images, fewer than batch=4"):
        result = invoke(
            "run",
            "plugins=folder",
            f"data_dir={image_dir}",
            "res=16",
            "batch=4",
            "filters=0.0625",
            "metrics=",
            "--steps",
            "1",
        )
    assert result.exit_code == 0, result.output
    ((env,),) = query(db, "select environment from runs")
    assert re.search(
        r"3 images from .* \(0 skipped, decoded in \d+\.\d s\)", json.loads(env)["data"]
    )
