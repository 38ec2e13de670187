"""Reusing a run: `ganbench sample` writes PNGs from a checkpoint that outside metrics read,
`ganbench export` writes a generator that loads with torch alone and makes the same images."""

import json
import subprocess
import sys

import numpy as np
import torch
from conftest import SMALL, TINY, run_dir
from PIL import Image

SCORED = [*SMALL, "metrics=mnist_fd", "eval_every=2", "eval_real=40", "eval_fake=40"]
TINY_CYCLE = [
    "plugins=cyclegan,digit_styles",
    "res=16",
    "ngf=4",
    "ndf=4",
    "n_blocks=1",
    "n_layers=2",
    "batch=2",
    "log_every=2",
    "ckpt_every=2",
    "metrics=",
]


def _pixels(folder):
    return np.stack([np.asarray(Image.open(p)) for p in sorted(folder.glob("*.png"))])


def test_sample_writes_pngs_that_torch_fidelity_reads(invoke, workdir):
    from torch_fidelity.datasets import ImagesPathDataset

    assert invoke("run", *TINY, "--steps", "2").exit_code == 0
    result = invoke("sample", "1", "--n", "12", "--out", "fakes")
    assert (
        result.exit_code == 0
        and "wrote 12 images of run 1 at step 2 (last checkpoint)" in result.output
    )
    files = sorted((workdir / "fakes").glob("*.png"))
    assert [f.name for f in files[:2]] == ["000000.png", "000001.png"] and len(files) == 12
    assert Image.open(files[0]).size == (16, 16) and Image.open(files[0]).mode == "L"
    loaded = ImagesPathDataset([str(f) for f in files])
    assert (
        len(loaded) == 12
        and tuple(loaded[0].shape) == (3, 16, 16)
        and loaded[0].dtype == torch.uint8
    )
    assert _pixels(workdir / "fakes").std() > 0  # images, not a blank


def test_sample_is_reproducible_by_seed_and_never_overwrites(invoke, workdir):
    assert invoke("run", *TINY, "--steps", "2").exit_code == 0
    for out, seed in (("a", "3"), ("b", "3"), ("c", "4")):
        assert invoke("sample", "1", "--n", "5", "--out", out, "--seed", seed).exit_code == 0
    assert np.array_equal(_pixels(workdir / "a"), _pixels(workdir / "b"))
    assert not np.array_equal(_pixels(workdir / "a"), _pixels(workdir / "c"))
    again = invoke("sample", "1", "--n", "5", "--out", "a")
    assert again.exit_code == 2 and "a already exists and is not an empty folder" in again.output


def test_best_checkpoint_needs_a_scored_run(invoke, workdir, db):
    assert invoke("run", *TINY, "--steps", "2").exit_code == 0
    result = invoke("sample", "1", "--out", "x", "--checkpoint", "best")
    assert (
        result.exit_code == 2
        and "has no best checkpoint" in result.output
        and "--checkpoint last" in result.output
    )
    assert invoke("run", *SCORED, "--steps", "4").exit_code == 0
    best = torch.load(run_dir(db, 2) / "best.pt")
    result = invoke("sample", "2", "--n", "3", "--out", "y", "--checkpoint", "best")
    assert result.exit_code == 0 and f"at step {best['step']} (best checkpoint)" in result.output


def test_translation_samples_each_direction_from_the_test_images(invoke, workdir):
    assert invoke("run", *TINY_CYCLE, "--steps", "2").exit_code == 0
    result = invoke("sample", "1", "--n", "6", "--out", "moved")
    assert result.exit_code == 0, result.output
    assert [len(list((workdir / "moved" / way).glob("*.png"))) for way in ("ab", "ba")] == [6, 6]


LOAD_WITHOUT_GANBENCH = """
import json, sys
sys.modules["ganbench"] = sys.modules["ganbench_plugins"] = None  # importing either now fails
import torch
extra = {"ganbench.json": ""}
g = torch.export.load(sys.argv[1], extra_files=extra).module()
z = torch.Generator().manual_seed(3)
images = g(torch.randn(5, 100, generator=z))
print(json.dumps({"meta": json.loads(extra["ganbench.json"]), "pixels": images.add(1).mul(127.5).round().clamp(0, 255).tolist()}))
"""


def test_an_exported_generator_loads_with_torch_alone_and_makes_the_sampled_images(invoke, workdir):
    assert invoke("run", *TINY, "--steps", "2").exit_code == 0
    result = invoke("export", "1", "--out", "G.pt2")
    assert result.exit_code == 0 and "it takes noise (N, 100) from 'normal'" in result.output
    assert invoke("sample", "1", "--n", "5", "--out", "fakes", "--seed", "3").exit_code == 0
    loaded = subprocess.run(
        [sys.executable, "-c", LOAD_WITHOUT_GANBENCH, "G.pt2"], capture_output=True, text=True
    )
    assert loaded.returncode == 0, loaded.stderr
    found = json.loads(loaded.stdout)
    assert (
        found["meta"]["run"] == 1
        and found["meta"]["step"] == 2
        and found["meta"]["config"]["options"]["res"] == 16
    )
    pixels = np.array(found["pixels"], dtype=np.uint8)[:, 0]
    assert np.array_equal(
        pixels, _pixels(workdir / "fakes")
    )  # same seed, same images as `ganbench sample`


def test_export_names_the_generators_a_run_has(invoke, workdir):
    assert invoke("run", *TINY_CYCLE, "--steps", "2").exit_code == 0
    wrong = invoke("export", "1", "--out", "G.pt2", "--net", "g")
    assert wrong.exit_code == 2 and "--net takes one of: g_ab, g_ba" in wrong.output
    result = invoke("export", "1", "--out", "G.pt2", "--net", "g_ba")
    assert (
        result.exit_code == 0
        and "wrote g_ba" in result.output
        and "images (N, 1, 16, 16)" in result.output
    )
    g = torch.export.load("G.pt2").module()
    assert tuple(g(torch.zeros(3, 1, 16, 16)).shape) == (3, 1, 16, 16)
    assert tuple(g(torch.zeros(1, 1, 16, 16)).shape) == (1, 1, 16, 16)  # any batch size, one too
