"""Evaluation images/s: ganbench's path next to what a user would otherwise do.

ganbench: generate uint8 batches on the device and feed them straight to torch-fidelity's
InceptionV3, then torch-fidelity's metric functions. The reference: save the generated
images as PNG files, then call torch_fidelity.calculate_metrics on the folder. Both compute
the Inception Score of the same images from the same generator and weights.

    python benchmarks/eval_throughput.py [--device auto] [--images 200] [--inception-weights PATH]

Without --inception-weights a randomly initialised InceptionV3 is used: the timings are the
same, the scores are meaningless (and printed only to show both paths agree).
"""

import argparse
import tempfile
from pathlib import Path
from unittest import mock

import torch
import torch_fidelity
from timing import device_name, print_comparison, timed
from torch_fidelity import feature_extractor_inceptionv3 as fe
from torchvision.utils import save_image

from ganbench.config.defaults import default_components
from ganbench.config.spec import resolve
from ganbench.engine.build import build
from ganbench.engine.evaluation import to_uint8
from ganbench.environment import pick_device
from ganbench.plugins.manager import registry
from ganbench_plugins.inception import IS, InceptionSpace, frechet_distance, reference_summary


def random_weights(folder):
    with (
        mock.patch.object(fe, "load_state_dict_from_url", lambda *a, **k: None),
        mock.patch.object(fe.FeatureExtractorInceptionV3, "load_state_dict", lambda self, sd: None),
    ):
        net = fe.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    for (
        module
    ) in net.modules():  # He init keeps features apart (PyTorch's default makes every FID ~1e-13)
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    path = Path(folder) / "random-inception.pth"
    torch.save(net.state_dict(), path)
    return str(path)


@torch.no_grad()
def ganbench_path(g, noise, space, batch):
    features = [space.extract(to_uint8(g(z))) for z in noise.split(batch)]
    logits = torch.cat([f["logits_unbiased"] for f in features])
    return IS(space, splits=10).score(None, {"logits_unbiased": logits})["is"]


@torch.no_grad()
def features(space, batches):
    return torch.cat([space.extract(batch)["2048"] for batch in batches])


@torch.no_grad()
def ganbench_fid(make, space, summary):
    """A run's FID evaluation: fakes (batches in [-1, 1] from `make()`) made and read on the
    device, against the summary its reference was given once."""
    return frechet_distance(summary, features(space, (to_uint8(batch) for batch in make())))


def reference(space, reals, batch):
    return reference_summary(features(space, reals.split(batch)))


def write_pngs(images, folder):
    """uint8 images (N, C, H, W) or [-1, 1] floats, one 3-channel PNG each."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images):
        image = (
            image.float().div(255)
            if image.dtype == torch.uint8
            else image.add(1).div(2).clamp(0, 1)
        )
        save_image(image.expand(3, -1, -1), Path(folder) / f"{i:05d}.png")


@torch.no_grad()
def fidelity_fid(make, weights, device, batch, folder, reals_folder, cache_root):
    """What users run: the fakes saved as PNGs, then torch-fidelity on the folder, the real
    folder's statistics cached by torch-fidelity after its first call."""
    write_pngs(torch.cat([images.cpu() for images in make()]), folder)
    out = torch_fidelity.calculate_metrics(
        input1=str(folder),
        input2=str(reals_folder),
        fid=True,
        cuda=device.type == "cuda",
        feature_extractor_weights_path=weights,
        batch_size=batch,
        cache_root=str(cache_root),
        input2_cache_name="reals",
        verbose=False,
    )
    return out["frechet_inception_distance"]


@torch.no_grad()
def png_path(g, noise, weights, device, batch, folder):
    write_pngs(torch.cat([g(z).cpu() for z in noise.split(batch)]), folder)
    out = torch_fidelity.calculate_metrics(
        input1=str(folder),
        isc=True,
        cuda=device.type == "cuda",
        feature_extractor_weights_path=weights,
        batch_size=batch,
        cache=False,
        verbose=False,
    )
    return out["inception_score_mean"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--inception-weights", default=None)
    args = parser.parse_args()
    device = pick_device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        weights = args.inception_weights or random_weights(tmp)
        config = resolve(["res=64", "filters=0.5", "metrics="], registry(), default_components())
        g = build(config, registry(), device, 0, Path(tmp) / "cache").parts.g.eval()
        noise = torch.randn(
            args.images, 100, device=device, generator=torch.Generator(device).manual_seed(0)
        )
        space = InceptionSpace(weights)
        space.prepare(device)
        ganbench_path(g, noise[: args.batch], space, args.batch)  # warm-up: cudnn, allocator
        ours, ours_is = timed(lambda: ganbench_path(g, noise, space, args.batch), device)
        (Path(tmp) / "png").mkdir()
        theirs, theirs_is = timed(
            lambda: png_path(g, noise, weights, device, args.batch, Path(tmp) / "png"), device
        )
    print_comparison(
        f"device: {device_name(device)}; {args.images} generated 64x64 images, Inception Score on each path",
        ["path", "images/s", "IS"],
        [
            [
                "ganbench (uint8 on the device, no files)",
                f"{args.images / ours:.1f}",
                f"{ours_is:.4f}",
            ],
            [
                "PNG files + torch_fidelity.calculate_metrics",
                f"{args.images / theirs:.1f}",
                f"{theirs_is:.4f}",
            ],
        ],
    )


if __name__ == "__main__":
    main()
