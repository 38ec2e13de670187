"""Training steps/s: ganbench's loop next to what a hand-written script usually does.

The reference is the common script: a torch DataLoader over a float CPU tensor, each batch
copied to the device, and both losses read with .item() every step (a host-device sync per
step). ganbench keeps uint8 images on the device, batches them there and reads the losses
every log_every steps. Same networks, loss, optimizer and batch size on both sides.

    python benchmarks/train_throughput.py [--device auto] [--steps 200] [KEY=VALUE ...]
    python benchmarks/train_throughput.py plugins=cyclegan,digit_styles res=32 ngf=16 ndf=16 n_blocks=4 batch=8
"""

import argparse

from timing import device_name, print_comparison, timed
from torch.utils.data import DataLoader, TensorDataset

from ganbench import Batch
from ganbench.config.defaults import default_components
from ganbench.config.spec import resolve
from ganbench.engine.build import build
from ganbench.engine.loop import _read_losses
from ganbench.environment import pick_device
from ganbench.plugins.manager import registry


def ganbench_loop(exp, steps, batch, log_every):
    window = []
    for step in range(1, steps + 1):
        window.append(exp.scheme.step(exp.parts, exp.data.sample(batch, exp.parts.rng)))
        if step % log_every == 0:
            _read_losses(window)
            window = []


def loader(images, batch):
    return DataLoader(
        TensorDataset(images.cpu().float().div(127.5).sub(1)),
        batch_size=batch,
        shuffle=True,
        drop_last=True,
    )


def handwritten_batches(data, batch, device):
    """Endless batches as a script makes them: one DataLoader per domain, copied each step."""
    domains = [data] if data.domains == 1 else [data.a, data.b]
    while True:
        for pairs in zip(*(loader(d.images, batch) for d in domains)):
            real = [p[0].to(device) for p in pairs]
            yield Batch(real[0], other=real[1] if len(real) > 1 else None)


def handwritten_loop(exp, steps, batch, device):
    batches = handwritten_batches(exp.data, batch, device)
    for _ in range(steps):
        losses = exp.scheme.step(exp.parts, next(batches))
        [v.item() for v in losses.values()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("overrides", nargs="*", default=["res=32", "filters=0.25", "batch=32"])
    args = parser.parse_args()
    device = pick_device(args.device)
    config = resolve(
        args.overrides + ["log_every=50", "metrics="], registry(), default_components()
    )
    exp = build(config, registry(), device, 0, "results/cache")
    batch, warmup = config.options["batch"], max(10, args.steps // 10)
    ganbench_loop(exp, warmup, batch, 50)  # cudnn autotuning and allocator warm-up
    ours, _ = timed(lambda: ganbench_loop(exp, args.steps, batch, 50), device)
    theirs, _ = timed(lambda: handwritten_loop(exp, args.steps, batch, device), device)
    print_comparison(
        f"device: {device_name(device)}; config: {' '.join(args.overrides)}; {args.steps} steps each",
        ["loop", "steps/s"],
        [
            ["ganbench (device-resident data)", f"{args.steps / ours:.1f}"],
            ["hand-written (DataLoader + .item())", f"{args.steps / theirs:.1f}"],
        ],
    )


if __name__ == "__main__":
    main()
