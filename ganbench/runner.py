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
from .data import DeviceData, DomainData, TwoDomains
from .errors import GanbenchError
from .evaluation import Evaluator
from .network import count_parameters
from .parts import Parts
from .scheme import Scheme
from .samples import Sampler
from .store import now


class Diverged(Exception):
    """A recorded loss was NaN or infinite."""


@dataclass
class Experiment:
    """Everything one run trains with, built and checked before anything is recorded."""

    config: RunConfig
    components: list
    data: object  # DeviceData, or DomainData for two domains
    parts: Parts
    scheme: Scheme
    device: torch.device
    evaluator: Optional[Evaluator] = None
    seed: int = 0


def build(config, registry, device, seed, cache_dir, extras=None):
    """Build data, scheme, its networks with modifiers and optimizers, loss and metrics from a
    config. `extras` are settings that are not part of the config (say, a weights file's path)."""
    components = active(config.components, registry)
    chosen = {c.kind: c for c in components if c.kind in SINGLE_KINDS}
    torch.manual_seed(seed)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed shapes every step: autotune once
    cfg = config.settings(cache_dir=str(cache_dir), channels=None, cond_dim=0, **(extras or {}))
    data = device_data(chosen["dataset"].build(cfg), device, cfg)
    cfg.channels, cfg.cond_dim = data.channels, data.cond_dim
    scheme = chosen["scheme"].build(cfg)
    check_fit(scheme, chosen, data.domains, registry)
    cfg.cond_dim = data.cond_dim if scheme.conditional else 0  # networks take conditions only when given them
    nets = {name: net.to(device) for name, net in networks(scheme, components, cfg).items()}
    rng = torch.Generator(device).manual_seed(seed)
    parts = make_parts(scheme, nets, chosen, cfg, rng, draw=lambda: data.sample(cfg.batch, rng))
    scheme.prepare(data, cfg, seed)
    scheme.check(parts)
    metrics = {c.name: c.build(cfg) for c in components if c.kind == "metric"}
    evaluator = Evaluator(metrics, scheme.tracks(), cfg, device, cache_dir) if metrics else None
    return Experiment(config, components, data, parts, scheme, device, evaluator, seed)


def device_data(found, device, cfg):
    """A data set plugin's ImageSet or TwoDomains, on the device."""
    holder = DomainData if isinstance(found, TwoDomains) else DeviceData
    return holder(found, device, cfg.flip, cfg.rotate)


def check_fit(scheme, chosen, domains, registry):
    """The data set has the scheme's domains and the generator takes what the scheme feeds it.
    `domains`: the data's count, or the counts a data set may give (folder: 1 or 2)."""
    name, dataset, generator = chosen["scheme"].name, chosen["dataset"].name, chosen["generator"]
    if scheme.domains not in _counts(domains):
        fitting = [c.name for c in registry if c.kind == "dataset" and scheme.domains in _counts(c.meta.get("domains", 1))]
        raise GanbenchError(f"scheme '{name}' trains on {scheme.domains} image domain(s), dataset '{dataset}' "
                            f"has {domains}; choose a data set with {scheme.domains}: {', '.join(fitting) or 'none installed'}")
    takes = generator.meta.get("input", "noise")
    if takes != scheme.generator_input:
        fitting = [c.name for c in registry if c.kind == "generator" and c.meta.get("input", "noise") == scheme.generator_input]
        raise GanbenchError(f"generator '{generator.name}' takes {takes}, scheme '{name}' feeds its generators "
                            f"{scheme.generator_input}; choose one of: {', '.join(fitting) or 'none installed'}")


def _counts(domains):
    return (domains,) if isinstance(domains, int) else tuple(domains)


def networks(scheme, components, cfg):
    """The scheme's networks built from the run's components of their kinds, then the
    modifiers applied in the order given, each to every network of its target kind."""
    chosen = {c.kind: c for c in components}
    nets = {name: chosen[kind].build(cfg) for name, kind in scheme.networks.items()}
    for modifier in (c for c in components if c.kind == "modifier"):
        for name, kind in scheme.networks.items():
            if kind == modifier.target:
                modifier.build(nets[name], cfg)
    return nets


def make_parts(scheme, nets, chosen, cfg, rng, draw):
    """Parts: one optimizer per network (g_lr for generators, d_lr for discriminators) and a
    moving average of each generator when g_ema asks."""
    optimizer = chosen["optimizer"].build
    lr = {"generator": cfg.g_lr, "discriminator": cfg.d_lr}
    for name, kind in scheme.networks.items():
        if not any(p.requires_grad for p in nets[name].parameters()):
            raise GanbenchError(f"network {name} ({kind} '{chosen[kind].name}') has no trainable parameters; "
                                f"check its component and options")
    opts = {name: optimizer(nets[name].parameters(), lr[kind], cfg) for name, kind in scheme.networks.items()}
    ema = {name: _ema(nets[name], cfg.g_ema) for name in scheme.generators() if cfg.g_ema}
    return Parts(nets, opts, chosen["loss"].build(cfg), rng, cfg.z_dim, cfg.noise,
                 draw=draw, ema=ema)


def _ema(g, decay):
    return AveragedModel(g, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


def parameter_counts(exp):
    """{network name: (kind, trainable parameters)}."""
    return {name: (kind, count_parameters(exp.parts.nets[name])) for name, kind in exp.scheme.networks.items()}


def run_record(exp, seed, name, registry, study=None):
    """The columns a new run starts with."""
    declared = declared_options(exp.config.components, registry)
    env = environment.describe(exp.device, exp.components)
    return dict(label=name or exp.config.label(declared), study=study, plugins=",".join(exp.config.plugins),
                config=exp.config.to_dict(), config_hash=exp.config.hash(), seed=seed,
                status="queued", target_steps=exp.config.options["steps"],
                g_params=_count(exp, "g"), d_params=_count(exp, "d"),
                device=str(exp.device), gpu=env["gpu"], torch_version=env["torch"],
                cuda_version=env["cuda"], ganbench_version=env["ganbench"], git_sha=env["git_sha"],
                plugin_versions=env["plugins"], environment=env,
                score_directions=exp.evaluator.directions() if exp.evaluator else {})


def _count(exp, name):
    """g_params and d_params, the columns of the noise-to-image family (None for other names)."""
    return count_parameters(exp.parts.nets[name]) if name in exp.parts.nets else None


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
        step = checkpoint.restore(exp.parts, exp.scheme, state)
        clock = Clock(state["train_s"], state["eval_s"])
    ckpt = checkpoint.checkpoint_path(store.results_dir, run_id)
    sampler = Sampler(ckpt.parent)
    best = Best(exp.evaluator.directions() if exp.evaluator else {}, sampler.recorded_best())
    if exp.evaluator:
        store.add_protocols(exp.evaluator.protocol_details())
    store.update_run(run_id, status="running", started_at=now(), ended_at=None, error=None,
                     steps_done=step, host=socket.gethostname(), pid=os.getpid())
    status, error, window, first = "completed", None, [], step
    try:
        with sigterm_as_interrupt(), progress:
            while step < o["steps"]:
                batch = exp.data.sample(o["batch"], exp.parts.rng)
                exp.parts.step = step
                window.append(exp.scheme.step(exp.parts, batch))
                for name, average in exp.parts.ema.items():
                    average.update_parameters(exp.parts.nets[name])
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
                        scores = exp.evaluator.evaluate(exp.parts)
                    store.add_metrics(run_id, [(step, *row) for row in scores])
                    store.update_run(run_id, eval_s=clock.eval_s)
                    progress.show({name: value for name, value, _ in scores}, None)
                    if best.improved(scores):
                        with clock.paused():
                            sampler.best(exp.scheme.best_panels(exp.parts), best_weights(exp), step, *best.current)
                if o["sample_every"] and (step % o["sample_every"] == 0 or last):
                    with clock.paused():
                        panel = exp.scheme.panel(exp.parts)
                        if panel is not None:
                            sampler.grid(panel, step)
                if step % o["ckpt_every"] == 0 or last:
                    with clock.paused():
                        checkpoint.save(ckpt, checkpoint.capture(exp.parts, exp.scheme, step, clock))
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


def best_weights(exp):
    """The generators' weights (their moving averages where kept) at a new best score."""
    return {name: exp.parts.for_evaluation(name).state_dict() for name in exp.scheme.generators()}


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
