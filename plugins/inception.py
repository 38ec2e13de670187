"""FID, Inception Score, KID and precision/recall from torch-fidelity, on InceptionV3 features.

ganbench drives torch-fidelity's own InceptionV3 extractor on uint8 batches on the device and
hands the features to torch-fidelity's metric functions, so the numbers are torch-fidelity's.
Weights: `--inception-weights PATH` (or GANBENCH_INCEPTION_WEIGHTS) points at a local file;
otherwise torch-fidelity's file is taken from the torch hub cache or downloaded before training
starts (never with GANBENCH_OFFLINE=1).
"""

import functools
import hashlib
import os
from contextlib import contextmanager
from pathlib import Path

import torch
from torch_fidelity import feature_extractor_inceptionv3 as fe
from torch_fidelity.metric_isc import isc_features_to_metric
from torch_fidelity.metric_kid import kid_features_to_metric
from torch_fidelity.metric_prc import prc_features_to_metric

from ganbench import GanbenchError

FEATURES = ["2048", "logits_unbiased"]


def hub_file():
    """Where torch-fidelity's download of the weights lands."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(fe.URL_INCEPTION_V3)


def missing_weights_message(reason):
    return (
        f"InceptionV3 weights are not available ({reason}): torch-fidelity wants "
        f"{hub_file().name} from {fe.URL_INCEPTION_V3} (saved as {hub_file()}); download it "
        f"where there is internet and pass --inception-weights PATH (or set "
        f"GANBENCH_INCEPTION_WEIGHTS), or choose other metrics with metrics="
    )


def damaged_weights_message(path, error):
    """torch.hub names a download by the start of its sha256: the file name says what to expect."""
    expected = hub_file().stem.rsplit("-", 1)[-1]
    return (
        f"InceptionV3 weights {path} cannot be loaded ({type(error).__name__}); torch-fidelity's "
        f"{hub_file().name} has a sha256 starting {expected}, this file's starts {sha256(path)[:8]}: "
        f"download it again"
    )


@functools.lru_cache(maxsize=8)
def _sha256(path, mtime_ns):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256(path):
    return _sha256(str(path), Path(path).stat().st_mtime_ns)


class InceptionSpace:
    """torch-fidelity's InceptionV3 ('inception-v3-compat'), loaded once per process and path."""

    name = "inception-v3-compat"
    resize = "torch-fidelity's TF1-compatible bilinear resize to 299x299"

    def __init__(self, weights_path):
        self.weights_path = weights_path
        self.key = f"{self.name}:{weights_path or 'hub'}"
        self.net = None

    def _resolve(self):
        if self.weights_path:
            if not Path(self.weights_path).is_file():
                raise GanbenchError(f"--inception-weights {self.weights_path}: no such file")
            return str(self.weights_path)
        if hub_file().exists():
            return str(hub_file())
        if os.environ.get("GANBENCH_OFFLINE"):
            raise GanbenchError(
                missing_weights_message("GANBENCH_OFFLINE is set and it is not cached")
            )
        return None  # torch-fidelity downloads it now, before training

    def prepare(self, device):
        path = self._resolve()
        try:
            self.net = _extractor(path, str(device))
        except (OSError, RuntimeError) as e:  # URLError is an OSError
            raise GanbenchError(missing_weights_message(f"{type(e).__name__}: {e}")) from None
        except Exception as e:  # a damaged or foreign file: pickle and torch raise several kinds
            raise GanbenchError(damaged_weights_message(path, e)) from None
        self.weights_path = self.weights_path or str(hub_file())

    def weights_sha256(self):
        return sha256(self.weights_path)

    @torch.no_grad()
    def extract(self, images):
        if images.shape[1] == 1:
            images = images.expand(-1, 3, -1, -1)
        with inception_precision(images.device):
            pool, logits = self.net(images)
        return {"2048": pool.cpu(), "logits_unbiased": logits.cpu()}


@contextmanager
def inception_precision(device):
    """The fastest precision that keeps FID within 1e-3 relative of strict fp32: TF32 on a
    GPU's convolutions and matrix products (3e-5 with TF32's rounding emulated on a random
    InceptionV3; bf16 autocast moves FID 2%, tests/test_inception_precision.py; fp16 1%). A CPU has no
    TF32 and its bf16 fails the bound, so it stays fp32."""
    if device.type != "cuda":
        yield
        return
    kept = torch.backends.cudnn.conv.fp32_precision, torch.backends.cuda.matmul.fp32_precision
    torch.backends.cudnn.conv.fp32_precision = torch.backends.cuda.matmul.fp32_precision = "tf32"
    try:
        yield
    finally:
        torch.backends.cudnn.conv.fp32_precision, torch.backends.cuda.matmul.fp32_precision = kept


@functools.lru_cache(maxsize=4)
def _extractor(path, device):
    net = fe.FeatureExtractorInceptionV3(
        "inception-v3-compat", FEATURES, feature_extractor_weights_path=path
    )
    return net.to(device)


class FID:
    """torch-fidelity's FID, with the reference's side computed once per run: its mean, its
    covariance's trace and that covariance's symmetric square root R. Each evaluation then
    needs the generated images' statistics and the eigenvalues of the symmetric R S R, whose
    square roots sum to tr sqrt(S_ref S) (torch-fidelity takes general eigenvalues of S_ref S
    and recomputes the reference's statistics every time)."""

    needs_real, report = True, {"fid": "min"}

    def __init__(self, space):
        self.space, self.reference = space, None  # (the reference features, their summary)

    def score(self, real, fake):
        features = real["2048"]
        if self.reference is None or self.reference[0] is not features:
            self.reference = (features, reference_summary(features))
        return {"fid": frechet_distance(self.reference[1], fake["2048"])}


def statistics(features):
    """Mean and covariance (n - 1), in float64, as torch-fidelity's numpy computes them."""
    x = features.double()
    mu = x.mean(0)
    centred = x - mu
    return mu, centred.T @ centred / (len(x) - 1)


def reference_summary(features):
    """(mean, trace of the covariance, its symmetric square root)."""
    mu, sigma = statistics(features)
    values, vectors = torch.linalg.eigh(sigma)
    return mu, sigma.trace(), (vectors * values.clamp(min=0).sqrt()) @ vectors.T


def frechet_distance(summary, features):
    mu1, trace1, root1 = summary
    mu2, sigma2 = statistics(features)
    covmean_trace = torch.linalg.eigvalsh(root1 @ sigma2 @ root1).clamp(min=0).sqrt().sum()
    return float((mu1 - mu2).square().sum() + trace1 + sigma2.trace() - 2 * covmean_trace)


class IS:
    needs_real, report, extra = False, {"is": "max"}, ("is_std",)

    def __init__(self, space, splits):
        self.space, self.splits = space, splits

    def score(self, real, fake):
        out = isc_features_to_metric(fake["logits_unbiased"], splits=self.splits)
        return {"is": out["inception_score_mean"], "is_std": out["inception_score_std"]}


class KID:
    needs_real, report, extra = True, {"kid": "min"}, ("kid_std",)

    def __init__(self, space, subsets, subset_size):
        self.space, self.subsets, self.subset_size = space, subsets, subset_size

    def size(self, n_real, n_fake):
        """The subset size, shrunk to the image counts: translation test sets hold 100-500."""
        return min(self.subset_size, n_real, n_fake)

    def fingerprint(self, n_real, n_fake):
        """An adapted subset size goes into the protocol, so KIDs of other sizes never mix."""
        size = self.size(n_real, n_fake)
        return {"kid_subset_size": size} if size != self.subset_size else {}

    def score(self, real, fake):
        size = self.size(len(real["2048"]), len(fake["2048"]))
        out = kid_features_to_metric(
            fake["2048"],
            real["2048"],
            kid_subsets=self.subsets,
            kid_subset_size=size,
            verbose=False,
        )
        return {
            "kid": out["kernel_inception_distance_mean"],
            "kid_std": out["kernel_inception_distance_std"],
        }


class PRC:
    needs_real, report, extra = True, {"precision": "max", "recall": "max"}, ("f_score",)

    def __init__(self, space, neighborhood):
        self.space, self.neighborhood = space, neighborhood

    def score(self, real, fake):
        out = prc_features_to_metric(
            fake["2048"],
            real["2048"],
            prc_neighborhood=self.neighborhood,
            prc_batch_size=10000,
            save_cpu_ram=False,
            verbose=False,
        )
        return {"precision": out["precision"], "recall": out["recall"], "f_score": out["f_score"]}


def space(cfg):
    return InceptionSpace(getattr(cfg, "inception_weights", None))
