"""Which precision Inception's forward may run in: FID within 1e-3 relative of strict fp32.

A GPU is not needed to check the numbers: TF32 rounds each convolution's and matrix product's
inputs to a 10-bit mantissa and accumulates in fp32, which hooks emulate on the CPU. bf16 is
emulated the same way (a 7-bit mantissa, outputs rounded too, as autocast stores them), since a
CPU without bf16 units runs autocast's bf16 about 9 times slower than fp32; one small batch
through the real autocast ties the emulation to it."""

from contextlib import contextmanager, nullcontext
from types import SimpleNamespace

import pytest
import torch
from conftest import random_inception

from ganbench_plugins.inception import (
    InceptionSpace,
    frechet_distance,
    inception_precision,
    reference_summary,
)
from ganbench_plugins.mnist5k import mnist5k


@pytest.fixture(scope="module")
def space(tmp_path_factory):
    """A random InceptionV3 whose features differ between images."""
    path = random_inception(tmp_path_factory.mktemp("weights") / "he-inception.pth", he_init=True)
    space = InceptionSpace(str(path))
    space.prepare(torch.device("cpu"))
    return space


@pytest.fixture(scope="module")
def digits():
    images = mnist5k(SimpleNamespace(res=32)).images.expand(-1, 3, -1, -1)
    # 64 a set: with torch 2.14's CPU kernels 24 a set put the emulated TF32 at 1.03e-3 of
    # strict fp32, 64 at 8.7e-4 (bf16: 3e-2 either way); fewer images make FID's estimate,
    # and its relative change, noisier
    return images[:64].contiguous(), images[2000:2064].contiguous()


def strict_net_features(space, images):
    with torch.no_grad():
        return space.net(images)[0].cpu()


def rounded(tensor, drop):
    """Round fp32 to nearest, keeping 23 - `drop` mantissa bits (TF32: 13 dropped, bf16: 16)."""
    bits = tensor.contiguous().view(torch.int32)
    return ((bits + (1 << (drop - 1))) & ~((1 << drop) - 1)).view(torch.float32)


def tf32(tensor):
    return rounded(tensor, 13)


def bf16(tensor):
    return rounded(tensor, 16)


@contextmanager
def emulated(net, rounding, outputs=False):
    """Each convolution and linear layer computes on rounded inputs and weights (accumulating
    in fp32); with `outputs`, its output is rounded too."""
    layers = [m for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    kept = [layer.weight.data for layer in layers]
    hooks = [
        layer.register_forward_pre_hook(lambda _, args: (rounding(args[0]),)) for layer in layers
    ]
    if outputs:
        hooks += [layer.register_forward_hook(lambda *args: rounding(args[2])) for layer in layers]
    for layer in layers:
        layer.weight.data = rounding(layer.weight.data)
    try:
        yield
    finally:
        for layer, weight in zip(layers, kept):
            layer.weight.data = weight
        for hook in hooks:
            hook.remove()


def emulated_tf32(net):
    return emulated(net, tf32)


def features(space, digits, context=nullcontext):
    with context():
        return tuple(space.extract(images)["2048"] for images in digits)


def distance(real, fake):
    return frechet_distance(reference_summary(real), fake)


def test_tf32_keeps_fid_within_1e_3_of_fp32_and_bf16_does_not(space, digits):
    strict_features = features(space, digits)
    strict = distance(*strict_features)
    assert strict > 0.1  # the random features tell the two sets apart
    rounded_fid = distance(*features(space, digits, lambda: emulated_tf32(space.net)))
    assert abs(rounded_fid - strict) / strict < 1e-3
    assert rounded_fid != strict  # the emulation did round
    # bf16's error shows at 24 a set already; the strict features of the first 24 are theirs
    fewer = tuple(images[:24] for images in digits)
    strict_fewer = distance(*(found[:24] for found in strict_features))
    bf16_fid = distance(*features(space, fewer, lambda: emulated(space.net, bf16, outputs=True)))
    assert (
        abs(bf16_fid - strict_fewer) / strict_fewer > 1e-3
    )  # why a CPU, which has no TF32, stays fp32
    few = digits[0][:2]
    assert torch.equal(space.extract(few)["2048"], strict_net_features(space, few))  # hooks gone


def test_emulated_bf16_errs_as_much_as_real_autocast(space, digits):
    """Two images through the real bf16 autocast: its features stray from fp32's by the
    emulation's order of magnitude, so the emulated FID above stands for the real one."""
    few = digits[0][:2]
    strict = strict_net_features(space, few)
    real = features(space, (few,), lambda: torch.autocast("cpu", torch.bfloat16))[0]
    emulated_bf16 = features(space, (few,), lambda: emulated(space.net, bf16, outputs=True))[0]
    real_error, emulated_error = (
        (f.float() - strict).norm() / strict.norm() for f in (real, emulated_bf16)
    )
    assert real_error > 1e-3 and emulated_error > 1e-3
    assert 0.1 < emulated_error / real_error < 10


def test_extraction_turns_tf32_on_for_a_gpu_only_and_restores_it():
    conv, matmul = torch.backends.cudnn.conv, torch.backends.cuda.matmul
    kept = conv.fp32_precision, matmul.fp32_precision
    conv.fp32_precision = matmul.fp32_precision = "ieee"
    try:
        with inception_precision(torch.device("cpu")):
            assert (conv.fp32_precision, matmul.fp32_precision) == ("ieee", "ieee")
        with inception_precision(torch.device("cuda")):
            assert (conv.fp32_precision, matmul.fp32_precision) == ("tf32", "tf32")
        assert (conv.fp32_precision, matmul.fp32_precision) == ("ieee", "ieee")
    finally:
        conv.fp32_precision, matmul.fp32_precision = kept
