"""The fast path against what users would run instead, all measured in one run on one device:

  (a) a plain PyTorch script: a DataLoader over PNG files, both losses read with .item() every step;
  (b) ganbench eager fp32 (uint8 data on the device, losses read every log_every steps);
  (c) ganbench's fast path: precision=bf16 compile=true channels_last=true (compile_mode with --mode);
  (d) a 4-arm sweep's aggregate steps/s with --workers 1 and with --workers N (whole commands, start-up included);
  (e) one FID evaluation of --fid-images generated images, Inception included: ganbench's (on the device,
      reference summarised once) next to PNG files + torch_fidelity.calculate_metrics with its cached reference.

Same DCGAN, loss, optimizer and batch on (a) to (c). The fair's settings are the default on a GPU:

    python benchmarks/fast_path.py --res 64 --batch 64 --steps 500 --workers 4 --mode reduce-overhead \
        --inception-weights weights-inception-2015-12-05-6726825d.pth
    python benchmarks/fast_path.py --res 32 --batch 32 --filters 0.25 --steps 100 --workers 2 \
        --fid-images 200 --fid-reals 200   # a 2-core CPU

Without --inception-weights (e) uses a random InceptionV3: the same work, meaningless FIDs.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from eval_throughput import fidelity_fid, ganbench_fid, random_weights, reference
from eval_throughput import write_pngs as write_rgb_pngs
from PIL import Image
from timing import device_name, print_comparison, timed
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms.functional import pil_to_tensor

from ganbench import Batch
from ganbench.config.defaults import default_components
from ganbench.config.spec import resolve
from ganbench.engine import fast_path
from ganbench.engine.build import build
from ganbench.engine.loop import _read_losses
from ganbench.environment import pick_device
from ganbench.plugins.manager import registry
from ganbench_plugins.inception import InceptionSpace


class PngFolder(Dataset):
    """What a user's script reads: one PNG per image, decoded and scaled per item."""

    def __init__(self, folder):
        self.files = sorted(Path(folder).glob("*.png"))

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        with Image.open(self.files[i]) as image:
            return pil_to_tensor(image).float().div(127.5).sub(1)


def write_pngs(exp, folder, count=2000):
    for i, image in enumerate(exp.data.images[:count].cpu()):
        Image.fromarray(
            image[0].numpy() if image.shape[0] == 1 else image.permute(1, 2, 0).numpy()
        ).save(Path(folder) / f"{i:05d}.png")


def plain_script(exp, folder, steps, batch, device, workers):
    """The loop as users write it: every batch from the DataLoader, .item() on both losses."""
    loader = DataLoader(
        PngFolder(folder),
        batch_size=batch,
        shuffle=True,
        drop_last=True,
        num_workers=workers,
        persistent_workers=workers > 0,
    )
    done = 0
    while done < steps:
        for real in loader:
            losses = exp.scheme.step(exp.parts, Batch(real.to(device)))
            [value.item() for value in losses.values()]
            done += 1
            if done == steps:
                return


def ganbench_loop(exp, steps, batch, log_every=100):
    """The runner's step: device batches, the autocast the config asks for, losses read every log_every."""
    window = []
    for step in range(1, steps + 1):
        with fast_path.autocast(exp.config.options, exp.device):
            window.append(exp.scheme.step(exp.parts, exp.data.sample(batch, exp.parts.rng)))
        if step % log_every == 0:
            _read_losses(window)
            window = []
    if window:
        _read_losses(window)


def experiment(settings, device, extra=()):
    config = resolve([*settings, *extra, "metrics="], registry(), default_components())
    return build(config, registry(), device, 0, "results/cache")


def steps_per_s(loop, exp, steps, warmup):
    loop(warmup)  # cudnn autotuning, compilation, the allocator and the loader's workers warm up
    seconds, _ = timed(lambda: loop(steps), exp.device)
    return steps / seconds


def sweep(settings, steps, workers, device):
    """A 4-arm sweep as one `ganbench run` command: its aggregate steps/s, start-up included."""
    with tempfile.TemporaryDirectory() as folder:
        command = [
            sys.executable,
            "-m",
            "ganbench",
            "run",
            *settings,
            "metrics=",
            "log_every=100",
            "sample_every=0",
            "g_lr=choice(1e-4,2e-4,3e-4,4e-4)",
            "--steps",
            str(steps),
            "--device",
            device.type,
            "--workers",
            str(workers),
            "--db",
            f"sqlite:///{folder}/sweep.db",
        ]
        start = time.perf_counter()
        subprocess.run(
            command,
            check=True,
            stdout=subprocess.DEVNULL,
            env={**os.environ, "GANBENCH_OFFLINE": "1"},
        )
        return 4 * steps / (time.perf_counter() - start)


def fid_seconds(exp, args, device):
    """(ganbench's seconds, torch-fidelity's seconds, both FIDs) for one evaluation of the same
    --fid-images fakes against --fid-reals real images, each path's reference ready beforehand."""
    with tempfile.TemporaryDirectory() as tmp:
        weights, batch = args.inception_weights or random_weights(tmp), args.eval_batch
        space = InceptionSpace(weights)
        space.prepare(device)
        reals = exp.data.images[: args.fid_reals]
        summary = reference(space, reals, batch)
        write_rgb_pngs(reals.cpu(), f"{tmp}/reals")
        make = lambda n: exp.scheme.sample(exp.parts, n, seed=0)[""]  # noqa: E731
        fidelity_fid(
            lambda: make(batch), weights, device, batch, f"{tmp}/warm", f"{tmp}/reals", tmp
        )  # caches reals
        ours, ours_fid = timed(
            lambda: ganbench_fid(lambda: make(args.fid_images), space, summary), device
        )
        theirs, their_fid = timed(
            lambda: fidelity_fid(
                lambda: make(args.fid_images),
                weights,
                device,
                batch,
                f"{tmp}/fakes",
                f"{tmp}/reals",
                tmp,
            ),
            device,
        )
    return ours, theirs, ours_fid, their_fid


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--res", type=int, default=64)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--filters", type=float, default=1.0)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--loader-workers", type=int, default=2, help="the plain script's DataLoader workers"
    )
    parser.add_argument("--mode", default="default", help="compile_mode of the fast path")
    parser.add_argument(
        "--fid-images", type=int, default=10000, help="(e)'s generated images; 0 skips (e)"
    )
    parser.add_argument(
        "--fid-reals", type=int, default=10000, help="(e)'s real images (at most the data set's)"
    )
    parser.add_argument("--eval-batch", type=int, default=200)
    parser.add_argument("--inception-weights", default=None)
    args = parser.parse_args()
    device = pick_device(args.device)
    settings = [
        f"res={args.res}",
        f"batch={args.batch}",
        f"filters={args.filters}",
        "plugins=dcgan",
    ]
    warmup = max(10, args.steps // 10)
    eager = experiment(settings, device)
    fast = experiment(
        settings,
        device,
        ["precision=bf16", "compile=true", "channels_last=true", f"compile_mode={args.mode}"],
    )
    with tempfile.TemporaryDirectory() as folder:
        write_pngs(eager, folder)
        plain = steps_per_s(
            lambda n: plain_script(eager, folder, n, args.batch, device, args.loader_workers),
            eager,
            args.steps,
            warmup,
        )
    ours = steps_per_s(lambda n: ganbench_loop(eager, n, args.batch), eager, args.steps, warmup)
    fastest = steps_per_s(lambda n: ganbench_loop(fast, n, args.batch), fast, args.steps, warmup)
    one, many = (
        sweep(settings, args.steps, 1, device),
        sweep(settings, args.steps, args.workers, device),
    )
    rows = fid_rows(eager, args, device) if args.fid_images else []
    print_comparison(
        f"device: {device_name(device)}; DCGAN {args.res}x{args.res}, batch {args.batch}, filters {args.filters}; "
        f"{args.steps} timed steps after {warmup} to warm up",
        ["what", "steps/s ((e): seconds)", "vs (a)"],
        [
            ["(a) plain script: DataLoader over PNGs, .item() every step", f"{plain:.1f}", "1.00x"],
            ["(b) ganbench eager fp32", f"{ours:.1f}", f"{ours / plain:.2f}x"],
            [
                f"(c) ganbench bf16 + compile ({args.mode}) + channels_last",
                f"{fastest:.1f}",
                f"{fastest / plain:.2f}x",
            ],
            ["(d) 4-arm sweep, --workers 1, aggregate (whole command)", f"{one:.1f}", ""],
            [
                f"(d) 4-arm sweep, --workers {args.workers}, aggregate (whole command)",
                f"{many:.1f}",
                f"{many / one:.2f}x of --workers 1",
            ],
            *rows,
        ],
    )


def fid_rows(exp, args, device):
    ours, theirs, ours_fid, their_fid = fid_seconds(exp, args, device)
    what = f"FID-{args.fid_images} vs {min(args.fid_reals, len(exp.data.images))} reals"
    return [
        [
            f"(e) {what}, ganbench: seconds (FID {ours_fid:.6g})",
            f"{ours:.2f}",
            f"{theirs / ours:.2f}x faster",
        ],
        [f"(e) {what}, PNGs + torch-fidelity: seconds (FID {their_fid:.6g})", f"{theirs:.2f}", ""],
    ]


if __name__ == "__main__":
    main()
