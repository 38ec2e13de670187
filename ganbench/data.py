"""Image sets kept as uint8 on the device and batched there, with no host round trip."""
import math
from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn.functional as F


@dataclass
class ImageSet:
    """What a data set plugin returns: uint8 images (N, C, res, res) and optional labels,
    class ids (N,) or multi-hot tags (N, K); either becomes a float condition vector."""

    images: torch.Tensor
    labels: Optional[torch.Tensor] = None
    description: str = ""


@dataclass
class Batch:
    """One step's real data: images in [-1, 1], and labels or a second domain when present."""

    real: torch.Tensor
    labels: Optional[torch.Tensor] = None  # (N, K) float conditions: one-hot classes or tags
    other: Optional[torch.Tensor] = None


class DeviceData:
    """Holds an ImageSet on the device and draws random batches from it there."""

    def __init__(self, imageset, device, flip=False, rotate=0.0):
        self.images = imageset.images.to(device)
        self.labels = None if imageset.labels is None else conditions(imageset.labels).to(device)
        self.flip, self.rotate = flip, rotate

    @property
    def cond_dim(self):
        return 0 if self.labels is None else self.labels.shape[1]

    @property
    def channels(self):
        return self.images.shape[1]

    def __len__(self):
        return self.images.shape[0]

    def fixed_labels(self, n, seed):
        """n conditions drawn from the data with their own seed: the same every evaluation and
        every sample grid of a run, and as varied as the data (whose labels may be sorted)."""
        pick = torch.randint(len(self), (n,), generator=torch.Generator().manual_seed(seed))
        return self.labels[pick.to(self.labels.device)]

    def sample(self, n, generator):
        idx = torch.randint(len(self), (n,), device=self.images.device, generator=generator)
        real = self.images[idx].float().div_(127.5).sub_(1.0)
        if self.flip:
            mirror = torch.rand(n, 1, 1, 1, device=real.device, generator=generator) < 0.5
            real = torch.where(mirror, real.flip(3), real)
        if self.rotate:
            real = rotated(real, self.rotate, generator)
        labels = None if self.labels is None else self.labels[idx]
        return Batch(real, labels)


def conditions(labels):
    """Class ids to one-hot rows; multi-hot tags stay as they are; float either way."""
    if labels.dim() == 1:
        return F.one_hot(labels.long(), int(labels.max()) + 1).float()
    return labels.float()


def rotated(images, degrees, generator):
    """Each image turned by a random angle in [-degrees, degrees], edges repeated."""
    n = images.shape[0]
    angle = (torch.rand(n, device=images.device, generator=generator) * 2 - 1) * math.radians(degrees)
    cos, sin, zero = angle.cos(), angle.sin(), torch.zeros_like(angle)
    theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)


def to_resolution(images, res):
    """Center-crop uint8 images (N, C, H, W) to a square and resize them to res x res."""
    h, w = images.shape[-2:]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = images[..., top:top + side, left:left + side]
    if side == res:
        return square.contiguous()
    resized = F.interpolate(square.float(), size=(res, res), mode="bilinear",
                            antialias=side > res, align_corners=False)
    return resized.round_().clamp_(0, 255).to(torch.uint8)
