"""Which precision Inception's forward may run in: FID within 1e-3 relative of strict fp32.

A GPU is not needed to check the numbers: TF32 rounds each convolution's and matrix product's
inputs to a 10-bit mantissa and accumulates in fp32, which hooks emulate on the CPU."""

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


def fid(space, digits, context=nullcontext):
    with context():
        real, fake = (space.extract(images)["2048"] for images in digits)
    return frechet_distance(reference_summary(real), fake)


def strict_features(space, images):
    with torch.no_grad():
        return space.net(images)[0].cpu()


def tf32(tensor):
    """Round to TF32's 10-bit mantissa, to nearest."""
    bits = tensor.contiguous().view(torch.int32)
    return ((bits + 0x1000) & ~0x1FFF).view(torch.float32)


@contextmanager
def emulated_tf32(net):
    layers = [m for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    kept = [layer.weight.data for layer in layers]
    hooks = [layer.register_forward_pre_hook(lambda _, args: (tf32(args[0]),)) for layer in layers]
    for layer in layers:
        layer.weight.data = tf32(layer.weight.data)
    try:
        yield
    finally:
        for layer, weight, hook in zip(layers, kept, hooks):
            layer.weight.data = weight
            hook.remove()


def test_tf32_keeps_fid_within_1e_3_of_fp32_and_bf16_does_not(space, digits):
    strict = fid(space, digits)
    assert strict > 0.1  # the random features tell the two sets apart
    rounded = fid(space, digits, lambda: emulated_tf32(space.net))
    assert abs(rounded - strict) / strict < 1e-3
    assert rounded != strict  # the emulation did round
    fewer = tuple(images[:24] for images in digits)  # bf16's error shows at 24 a set already
    strict_fewer = fid(space, fewer)
    bf16 = fid(space, fewer, lambda: torch.autocast("cpu", torch.bfloat16))
    assert (
        abs(bf16 - strict_fewer) / strict_fewer > 1e-3
    )  # why a CPU, which has no TF32, stays fp32
    few = digits[0][:2]
    assert torch.equal(
        space.extract(few)["2048"], strict_features(space, few)
    )  # the hooks are gone


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
