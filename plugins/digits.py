"""Quality figures for the embedded digits that need no download (docs/metrics.md).

`mnist_fd`: the Fréchet distance between real and generated digits in the 128-d feature space
of a small classifier trained on mnist5k (shipped in plugins/weights). It is FID's formula
(torch-fidelity's) in another feature space, so it is not FID and is never shown as FID.
`mnist_kept`: for translation (and conditional runs), the share of generated digits the
classifier reads as the label they should keep: the source digit's, or the condition's.
`mnist_modes`: the share of the ten classes the generator covers (a class counts once it gets
at least a tenth of its fair share, 1% of the images) and the KL divergence of the generated
predicted-class histogram from the real one: mode collapse raises the KL and lowers coverage.
"""

import functools
from typing import Any, TypeVar

import torch
from scipy.stats import entropy
from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric

from ganbench import GanbenchError

from . import digit_classifier
from .inception import sha256

CLASSES = 10
Features = dict[str, torch.Tensor]  # what DigitSpace.extract gives, per image set
T = TypeVar("T")


@functools.lru_cache(maxsize=4)
def _classifier(device: str) -> digit_classifier.DigitClassifier:
    saved = torch.load(digit_classifier.WEIGHTS, map_location="cpu")
    net = digit_classifier.DigitClassifier()
    net.load_state_dict(saved["state_dict"])
    return net.eval().requires_grad_(False).to(device)


class DigitSpace:
    name = key = "mnist5k-classifier"
    resize = "bilinear (antialiased) to 28x28, RGB averaged to grey"

    def prepare(self, device: torch.device | str) -> None:
        self.net = _classifier(str(device))

    def weights_sha256(self) -> str:
        return sha256(digit_classifier.WEIGHTS)

    @torch.no_grad()
    def extract(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        features = self.net.features(digit_classifier.prepare(images))
        return {"features": features.cpu(), "probs": self.net.head(features).softmax(1).cpu()}


class DigitFD:
    needs_real, report = True, {"mnist_fd": "min"}
    space = DigitSpace()

    def score(self, real: Features, fake: Features) -> dict[str, float]:
        stats = [fid_features_to_statistics(f["features"]) for f in (real, fake)]
        return {
            "mnist_fd": fid_statistics_to_metric(*stats, verbose=False)[
                "frechet_inception_distance"
            ]
        }


def class_histogram(probs: torch.Tensor) -> torch.Tensor:
    return torch.bincount(probs.argmax(1), minlength=CLASSES).double() / len(probs)


class DigitModes:
    needs_real, report = True, {"mnist_coverage": "max", "mnist_kl": "min"}
    space = DigitSpace()

    def score(self, real: Features, fake: Features) -> dict[str, float]:
        data, made = class_histogram(real["probs"]), class_histogram(fake["probs"])
        coverage = (made >= 0.1 / CLASSES).double().mean().item()
        # A small floor keeps KL finite when a class is missing entirely; it still comes out large.
        kl = entropy(data.numpy(), (made + 1e-6).numpy())
        return {"mnist_coverage": coverage, "mnist_kl": float(kl)}


class DigitKept:
    """For translated digits (or a conditional G's): the share the classifier reads as the
    class they should show, the source image's label. Scored where the scheme knows labels."""

    needs_real, report = False, {"mnist_kept": "max"}
    space = DigitSpace()

    def score(self, real: Features, fake: Features) -> dict[str, float]:
        if "labels" not in fake:
            return {}
        return {"mnist_kept": (fake["probs"].argmax(1) == fake["labels"]).double().mean().item()}


def digits_only(cfg: Any, metric: type[T]) -> T:
    """A `metric` (DigitFD, ...) for grey digits; one clear line for other data."""
    if cfg.channels != 1:
        raise GanbenchError(
            "the mnist_* metrics score grey digits; use them with dataset "
            "mnist5k or mnist, and fid/is/kid/prc for other data"
        )
    return metric()
