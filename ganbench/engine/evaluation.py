"""Evaluating a run during training: the scheme's tracks (generated images and the real
images to score them against), uint8 batches on the device, feature spaces shared between
metrics, cached reference features, and a protocol fingerprint on every score so that
scores made differently are never silently compared."""

import hashlib
import json
import math
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import Any, TypeAlias

import torch

from ganbench.api.contracts import Features, FeatureSpace, Metric, as_metric
from ganbench.api.parts import Parts
from ganbench.api.scheme import Track
from ganbench.api.settings import Settings
from ganbench.engine import checkpoint
from ganbench.errors import GanbenchError, GanbenchWarning

Fingerprint: TypeAlias = tuple[str, dict[str, Any]]  # a fingerprint id and what it fingerprints
ScoreRow: TypeAlias = tuple[str, float, str]  # score name (with its track), value, protocol id


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Generator output in [-1, 1] to uint8 pixels, on the same device."""
    return images.add(1).mul_(127.5).round_().clamp_(0, 255).to(torch.uint8)


def fingerprint_id(details: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(details, sort_keys=True).encode()).hexdigest()[:12]


class Evaluator:
    """Scores a run's tracks with its metrics; built (and weights checked) before training."""

    def __init__(
        self,
        metrics: Mapping[str, object],  # what the metric builds gave: `Metric`s or duck-typed
        tracks: Sequence[Track],
        cfg: Settings,
        device: torch.device,
        cache_dir: str | PathLike[str],
    ) -> None:
        self.metrics = {name: as_metric(metric) for name, metric in metrics.items()}
        self.tracks, self.cfg, self.cache_dir = tracks, cfg, Path(cache_dir)
        self.spaces: dict[str, FeatureSpace] = {}
        for metric in self.metrics.values():  # an adapted metric has the space it wraps
            self.spaces.setdefault(metric.space.key, metric.space)
        for space in self.spaces.values():
            space.prepare(device)  # fails here, before training, when weights are missing
        self.protocols = {
            (t.name, key): self._protocol(t, space)
            for t in tracks
            for key, space in self.spaces.items()
        }
        self._real: dict[str, dict[str, Features]] = {}

    def _protocol(self, track: Track, space: FeatureSpace) -> Fingerprint:
        details = {
            "extractor": space.name,
            "weights_sha256": space.weights_sha256(),
            "eval_real": len(track.reference),
            "eval_fake": track.count,
            "reference": track.reference_note,
            "resize": space.resize,
        }
        if track.direction:
            details["direction"] = track.direction
        for metric in (m for m in self.metrics.values() if m.space.key == space.key):
            details.update(metric.fingerprint(len(track.reference), track.count))
        return fingerprint_id(details), details

    def _features(self, space: FeatureSpace, batches: Iterable[torch.Tensor]) -> Features:
        parts = [space.extract(batch) for batch in batches]
        return {name: torch.cat([p[name] for p in parts]) for name in parts[0]}

    def _cache_file(self, track: Track, key: str) -> Path:
        # The reference depends on everything in the protocol except how many fakes are made.
        _, details = self.protocols[(track.name, key)]
        reference = {
            k: v
            for k, v in details.items()
            if k not in ("eval_fake", "direction", "kid_subset_size")
        }
        return self.cache_dir / f"reference-{fingerprint_id(reference)}.pt"

    def reference(self, track: Track) -> dict[str, Features]:
        """Real-image features per space for one track, computed once per protocol and cached on disk."""
        if track.name not in self._real:
            self._real[track.name] = {
                key: self._cached_reference(track, key, space) for key, space in self.spaces.items()
            }
        return self._real[track.name]

    def _cached_reference(self, track: Track, key: str, space: FeatureSpace) -> Features:
        path = self._cache_file(track, key)
        if path.exists():
            return torch.load(path)
        features = self._features(space, track.reference.split(self.cfg.eval_batch))
        checkpoint.save(path, features)
        return features

    def evaluate(self, parts: Parts, step: int | None = None) -> list[ScoreRow]:
        """[(name, value, protocol id)] for every track's every metric's every score."""
        return [row for track in self.tracks for row in self._score(track, parts, step)]

    def _score(self, track: Track, parts: Parts, step: int | None) -> list[ScoreRow]:
        batches = [to_uint8(images) for images in track.make(parts)]
        fake = {key: self._features(space, batches) for key, space in self.spaces.items()}
        if (
            track.labels is not None
        ):  # the classes the images should show, for metrics that check them
            fake = {
                key: {**features, "labels": track.labels.cpu()} for key, features in fake.items()
            }
        real = self.reference(track) if any(m.needs_real for m in self.metrics.values()) else {}
        rows = []
        for name, metric in self.metrics.items():
            key = metric.space.key
            scores = checked_scores(
                name, metric, lambda: metric.score(real.get(key), fake[key]), step
            )
            rows += [
                (track.scored(score), value, self.protocols[(track.name, key)][0])
                for score, value in scores.items()
            ]
        return rows

    def protocol_details(self) -> dict[str, dict[str, Any]]:
        return dict(self.protocols.values())

    def directions(self) -> dict[str, str]:
        """{score name: 'min' | 'max'} for the scores a report shows, per track."""
        return {
            t.scored(name): way
            for t in self.tracks
            for m in self.metrics.values()
            for name, way in m.report.items()
        }


def checked_scores(
    name: str, metric: Metric, score: Callable[[], Mapping[str, float]], step: int | None
) -> dict[str, float]:
    """A metric's scores as floats, or one clear error naming the metric and the step: it
    raised, returned a score it does not declare (`report`, `extra`), or left one out. `{}`
    means it does not apply to these images. NaN is kept, and said."""
    at = f" at step {step}" if step is not None else ""
    try:
        scores = {k: float(v) for k, v in score().items()}
    except Exception as e:  # noqa: BLE001 - whatever a plugin's metric raises
        raise GanbenchError(
            f"metric '{name}' failed{at}: {type(e).__name__}: {e}".splitlines()[0]
        ) from None
    declared = set(metric.report) | set(metric.extra)
    if scores and (set(scores) - declared or set(metric.report) - set(scores)):
        raise GanbenchError(
            f"metric '{name}'{at} returned {sorted(scores)} but declares {sorted(metric.report)} "
            f"(and extra {sorted(declared - set(metric.report))}); fix its report or extra"
        )
    for nan in (s for s, v in scores.items() if math.isnan(v)):
        warnings.warn(f"metric '{name}' scored {nan} = NaN{at}", GanbenchWarning, stacklevel=2)
    return scores
