"""The training loop: build a run's parts from its config, then train fixed steps, recording
losses, parameter counts, wall time and the final status in the store."""
import math
import os
import signal
import socket
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Optional

import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from . import checkpoint, environment
from .config import RunConfig, active, declared_options
from .registry import SINGLE_KINDS
from .data import DeviceData
from .errors import GanbenchError
from .evaluation import Evaluator
from .network import count_parameters, eval_mode
from .parts import Parts
from .samples import Sampler
from .store import now


class Diverged(Exception):
    """A recorded loss was NaN or infinite."""


@dataclass
class Experiment:
    """Everything one run trains with, built and checked before anything is recorded."""

    config: RunConfig
    components: list
    data: DeviceData
    parts: Parts
    scheme: object
    device: torch.device
    evaluator: Optional[Evaluator] = None
    seed: int = 0
    sample_labels: Optional[torch.Tensor] = None  # conditions for sample grids of a conditional G


def build(config, registry, device, seed, cache_dir, extras=None):
    """Build data, networks, modifiers, optimizers, loss, scheme and metrics from a config.
    `extras` are settings that are not part of the config (say, a weights file's path)."""
    components = active(config.components, registry)
    chosen = {c.kind: c for c in components if c.kind in SINGLE_KINDS}
    metrics = [c for c in components if c.kind == "metric"]
    torch.manual_seed(seed)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed shapes every step: autotune once
    cfg = config.settings(cache_dir=str(cache_dir), channels=None, cond_dim=0, **(extras or {}))
    data = DeviceData(chosen["dataset"].build(cfg), device, cfg.flip, cfg.rotate)
    cfg.channels, cfg.cond_dim = data.channels, data.cond_dim
    scheme = chosen["scheme"].build(cfg)
    conditional = getattr(scheme, "conditional", False)
    cfg.cond_dim = cfg.cond_dim if conditional else 0  # networks take conditions only when given them
    g, d = networks(components, cfg)
    g, d = g.to(device), d.to(device)
    _check_shapes(g, d, cfg, device, conditional)
    rng = torch.Generator(device).manual_seed(seed)
    optimizer = chosen["optimizer"].build
    parts = Parts(g, d, optimizer(g.parameters(), cfg.g_lr, cfg), optimizer(d.parameters(), cfg.d_lr, cfg),
                  chosen["loss"].build(cfg), cfg.z_dim, rng, cfg.noise,
                  draw=lambda: data.sample(cfg.batch, rng), g_ema=_ema(g, cfg.g_ema))
    evaluator = None
    if metrics:
        built = {m.name: m.build(cfg) for m in metrics}
        evaluator = Evaluator(built, data, cfg, device, seed, cache_dir, conditional)
    labels = data.fixed_labels(25, seed) if conditional else None
    return Experiment(config, components, data, parts, scheme, device, evaluator, seed, labels)


def networks(components, cfg):
    """G and D built from their components, then the modifiers applied in the order given."""
    chosen = {c.kind: c for c in components}
    g, d = chosen["generator"].build(cfg), chosen["discriminator"].build(cfg)
    for modifier in (c for c in components if c.kind == "modifier"):
        modifier.build(g if modifier.target == "generator" else d, cfg)
    return g, d


def _ema(g, decay):
    if not decay:
        return None
    return AveragedModel(g, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


def _check_shapes(g, d, cfg, device, conditional):
    """One tiny forward pass in eval mode (no BN statistics change) to catch mismatches early."""
    with eval_mode(g, d):
        z = torch.randn(2, cfg.z_dim, device=device)
        cond = (torch.zeros(2, cfg.cond_dim, device=device),) if conditional else ()
        image = g(z, *cond)
        want = (2, cfg.channels, cfg.res, cfg.res)
        if tuple(image.shape) != want:
            raise GanbenchError(f"the generator makes images of shape {tuple(image.shape)[1:]}, the "
                                f"data set has {want[1:]}; check res and the generator's options")
        logits = d(image, *cond)
        logits = logits[0] if isinstance(logits, tuple) else logits  # (realness, auxiliary)
        if tuple(logits.shape) != (2,):
            raise GanbenchError(f"the discriminator returns shape {tuple(logits.shape)} for 2 images; "
                                f"it must return one logit per image")


def run_record(exp, seed, name, registry, study=None):
    """The columns a new run starts with."""
    declared = declared_options(exp.config.components, registry)
    env = environment.describe(exp.device, exp.components)
    return dict(label=name or exp.config.label(declared), study=study, plugins=",".join(exp.config.plugins),
                config=exp.config.to_dict(), config_hash=exp.config.hash(), seed=seed,
                status="queued", target_steps=exp.config.options["steps"],
                g_params=count_parameters(exp.parts.g), d_params=count_parameters(exp.parts.d),
                device=str(exp.device), gpu=env["gpu"], torch_version=env["torch"],
                cuda_version=env["cuda"], ganbench_version=env["ganbench"], git_sha=env["git_sha"],
                plugin_versions=env["plugins"], environment=env,
                score_directions=exp.evaluator.directions() if exp.evaluator else {})


@contextmanager
def sigterm_as_interrupt():
    """SIGTERM (a cluster's scheduler stopping the job) ends the run like Ctrl-C does."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _read_losses(window):
    """Mean of each loss over the window: one device-to-host copy for the lot."""
    names = list(window[0])
    means = torch.stack([torch.stack([w[n].float() for n in names]) for w in window]).mean(0)
    return dict(zip(names, means.tolist()))


def train(store, run_id, exp, progress, state=None):
    """Train from `state` (a checkpoint, or None for step 0) to the config's target steps."""
    o = exp.config.options
    step, clock = 0, Clock()
    if state:
        step = checkpoint.restore(exp.parts, state)
        clock = Clock(state["train_s"], state["eval_s"])
    ckpt = checkpoint.checkpoint_path(store.results_dir, run_id)
    sampler = Sampler(ckpt.parent, exp.config.settings(), exp.device, exp.seed, exp.sample_labels)
    best = Best(exp.evaluator.directions() if exp.evaluator else {}, sampler.recorded_best())
    if exp.evaluator:
        store.add_protocols(exp.evaluator.protocol_details())
    store.update_run(run_id, status="running", started_at=now(), ended_at=None, error=None,
                     steps_done=step, host=socket.gethostname(), pid=os.getpid())
    status, error, window, first = "completed", None, [], step
    try:
        with sigterm_as_interrupt(), progress:
            while step < o["steps"]:
                batch = exp.data.sample(o["batch"], exp.parts.generator)
                exp.parts.step = step
                window.append(exp.scheme.step(exp.parts, batch))
                if exp.parts.g_ema is not None:
                    exp.parts.g_ema.update_parameters(exp.parts.g)
                step += 1
                progress.advance()
                last = step == o["steps"]
                if step % o["log_every"] == 0 or last:
                    losses, window = _record(store, run_id, step, window), []
                    store.update_run(run_id, steps_done=step, train_s=clock.train_s())
                    progress.show(losses, (step - first) / clock.train_s(since=state))
                    if not all(math.isfinite(v) for v in losses.values()):
                        raise Diverged(f"non-finite loss at step {step}: {losses}")
                if exp.evaluator and (step % o["eval_every"] == 0 or last):
                    with clock.evaluating():
                        scores = exp.evaluator.evaluate(exp.parts.g_for_evaluation())
                    store.add_metrics(run_id, [(step, *row) for row in scores])
                    store.update_run(run_id, eval_s=clock.eval_s)
                    progress.show({name: value for name, value, _ in scores}, None)
                    if best.improved(scores):
                        with clock.paused():
                            sampler.best(exp.parts.g_for_evaluation(), step, *best.current)
                if o["sample_every"] and (step % o["sample_every"] == 0 or last):
                    with clock.paused():
                        sampler.grid(exp.parts.g_for_evaluation(), step)
                if step % o["ckpt_every"] == 0 or last:
                    with clock.paused():
                        checkpoint.save(ckpt, checkpoint.capture(exp.parts, step, clock))
    except Diverged as e:
        status, error = "diverged", str(e)
    except KeyboardInterrupt:
        status, error = "interrupted", f"interrupted at step {step}"
        _record(store, run_id, step, window)
    except BaseException as e:
        status, error = "failed", "".join(traceback.format_exception(e))
        raise
    finally:
        store.update_run(run_id, status=status, error=error, steps_done=step,
                         train_s=clock.train_s(), eval_s=clock.eval_s, ended_at=now())
    return status


class Best:
    """The best value so far of the run's first reported score (FID when it is recorded)."""

    def __init__(self, directions, recorded=None):
        self.score, self.way = next(iter(directions.items()), (None, None))
        self.current = recorded  # (score, value) written before a resume

    def improved(self, scores):
        value = next((v for name, v, _ in scores if name == self.score), None)
        if value is None or not math.isfinite(value):
            return False
        better = self.current is None or (value < self.current[1] if self.way == "min" else value > self.current[1])
        if better:
            self.current = (self.score, value)
        return better


class Clock:
    """Wall time split into training and evaluation; checkpoint writes count as neither."""

    def __init__(self, train_s=0.0, eval_s=0.0):
        self.origin = time.perf_counter() - train_s
        self.eval_s = eval_s

    def train_s(self, since=None):
        spent = time.perf_counter() - self.origin
        return max(spent - (since["train_s"] if since else 0.0), 1e-9)

    @contextmanager
    def paused(self):
        began = time.perf_counter()
        try:
            yield
        finally:
            self.origin += time.perf_counter() - began

    @contextmanager
    def evaluating(self):
        began = time.perf_counter()
        with self.paused():
            yield
        self.eval_s += time.perf_counter() - began


def _record(store, run_id, step, window):
    if not window:
        return {}
    losses = _read_losses(window)
    store.add_metrics(run_id, [(step, name, value) for name, value in losses.items()])
    return losses
