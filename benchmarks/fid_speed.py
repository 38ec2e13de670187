"""The cost of one FID evaluation once the Inception features are there: torch-fidelity's
path (the reference's statistics every time, general eigenvalues of S_ref S) next to
ganbench's (the reference summarised once per run, symmetric eigenvalues of R S R), on the
same features, with the two values side by side.

    python benchmarks/fid_speed.py [--fakes 10000] [--reals 10000] [--dims 2048] [--device cpu]
"""

import argparse

import torch
from timing import device_name, print_comparison, timed
from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric

from ganbench_plugins.inception import frechet_distance, reference_summary


def torch_fidelity_fid(real, fake):
    stats = [fid_features_to_statistics(f.cpu()) for f in (real, fake)]
    return fid_statistics_to_metric(*stats, verbose=False)["frechet_inception_distance"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fakes", type=int, default=10000)
    parser.add_argument("--reals", type=int, default=10000)
    parser.add_argument("--dims", type=int, default=2048)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.manual_seed(0)
    mixing = (
        torch.randn(args.dims, args.dims, device=device) / args.dims**0.5
    )  # correlated, like Inception's
    real = torch.relu(torch.randn(args.reals, args.dims, device=device) @ mixing)
    fake = torch.relu(torch.randn(args.fakes, args.dims, device=device) @ mixing + 0.05)
    theirs, expected = timed(lambda: torch_fidelity_fid(real, fake), device)
    once, summary = timed(lambda: reference_summary(real), device)
    ours, value = timed(lambda: frechet_distance(summary, fake), device)
    print_comparison(
        f"device: {device_name(device)}; {args.reals:,} real and {args.fakes:,} generated features of {args.dims}",
        ["FID from features", "seconds per evaluation", "FID"],
        [
            [
                "torch-fidelity (reference statistics every time)",
                f"{theirs:.2f}",
                f"{expected:.6f}",
            ],
            ["ganbench (reference summarised once per run)", f"{ours:.2f}", f"{value:.6f}"],
            ["  ganbench's once-per-run summary of the reference", f"{once:.2f}", ""],
        ],
    )


if __name__ == "__main__":
    main()
