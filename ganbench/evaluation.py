"""Evaluating a generator during training: fixed noise, uint8 batches on the device, feature
spaces shared between metrics, cached reference features, and a protocol fingerprint on
every score so that scores made differently are never silently compared."""
import hashlib
import json
from pathlib import Path

import torch

from . import checkpoint
from .network import eval_mode
from .parts import sample_noise

# Evaluation noise comes from its own stream, so the training RNG is untouched by it.
EVAL_SEED_OFFSET = 1_000_003


def to_uint8(images):
    """Generator output in [-1, 1] to uint8 pixels, on the same device."""
    return images.add(1).mul_(127.5).round_().clamp_(0, 255).to(torch.uint8)


def fingerprint_id(details):
    return hashlib.sha256(json.dumps(details, sort_keys=True).encode()).hexdigest()[:12]


class Evaluator:
    """Scores a generator with the run's metrics; built (and weights checked) before training."""

    def __init__(self, metrics, data, cfg, device, seed, cache_dir, conditional=False):
        self.metrics, self.cfg, self.cache_dir = metrics, cfg, Path(cache_dir)
        self.spaces = {}
        for metric in metrics.values():
            self.spaces.setdefault(metric.space.key, metric.space)
        for space in self.spaces.values():
            space.prepare(device)  # fails here, before training, when weights are missing
        self.real_images = self._reference_images(data, min(cfg.eval_real, len(data)))
        rng = torch.Generator(device).manual_seed(seed + EVAL_SEED_OFFSET)
        self.noise = sample_noise(getattr(cfg, "noise", "normal"), cfg.eval_fake, cfg.z_dim, rng)
        # conditional generators get the data's conditions, drawn once
        self.cond = data.fixed_labels(cfg.eval_fake, seed) if conditional else None
        self.digest = hashlib.sha256(self.real_images.cpu().numpy().tobytes()).hexdigest()[:16]
        self.protocols = {key: self._protocol(space, len(data)) for key, space in self.spaces.items()}
        self._real = None

    @staticmethod
    def _reference_images(data, n):
        order = torch.randperm(len(data), generator=torch.Generator().manual_seed(0))
        return data.images[order[:n].to(data.images.device)]

    def _protocol(self, space, total):
        details = {"extractor": space.name, "weights_sha256": space.weights_sha256(),
                   "eval_real": len(self.real_images), "eval_fake": self.cfg.eval_fake,
                   "reference": f"{len(self.real_images)} of {total} (seed-0 permutation), "
                                f"data sha256 {self.digest}",
                   "resize": space.resize}
        return fingerprint_id(details), details

    def _features(self, space, batches):
        parts = [space.extract(batch) for batch in batches]
        return {name: torch.cat([p[name] for p in parts]) for name in parts[0]}

    def _cache_file(self, key):
        # The reference depends on everything in the protocol except how many fakes are made.
        _, details = self.protocols[key]
        reference = {k: v for k, v in details.items() if k != "eval_fake"}
        return self.cache_dir / f"reference-{fingerprint_id(reference)}.pt"

    def reference(self):
        """Real-image features per space, computed once per protocol and cached on disk."""
        if self._real is None:
            self._real = {}
            for key, space in self.spaces.items():
                self._real[key] = self._cached_reference(key, space)
        return self._real

    def _cached_reference(self, key, space):
        path = self._cache_file(key)
        if path.exists():
            return torch.load(path)
        features = self._features(space, self.real_images.split(self.cfg.eval_batch))
        checkpoint.save(path, features)
        return features

    def _generated(self, g):
        zs = self.noise.split(self.cfg.eval_batch)
        with eval_mode(g):
            if self.cond is None:
                return [to_uint8(g(z)) for z in zs]
            return [to_uint8(g(z, c)) for z, c in zip(zs, self.cond.split(self.cfg.eval_batch))]

    def evaluate(self, g):
        """[(name, value, protocol id)] for every metric's every score."""
        batches = self._generated(g)
        fake = {key: self._features(space, batches) for key, space in self.spaces.items()}
        needs_real = any(m.needs_real for m in self.metrics.values())
        real = self.reference() if needs_real else {}
        rows = []
        for metric in self.metrics.values():
            key = metric.space.key
            scores = metric.score(real.get(key), fake[key])
            rows += [(name, float(value), self.protocols[key][0]) for name, value in scores.items()]
        return rows

    def protocol_details(self):
        return dict(self.protocols.values())

    def directions(self):
        """{score name: 'min' | 'max'} for the scores a report shows."""
        return {name: way for m in self.metrics.values() for name, way in m.report.items()}
