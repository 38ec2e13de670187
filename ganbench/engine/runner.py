"""The training loop: build a run's parts from its config, then train fixed steps. What
happens is told as run events (ganbench.engine.events), which the store records."""

import math
import time
import traceback
import warnings
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from ganbench import environment
from ganbench.api import schedule
from ganbench.api.data import DeviceData, DomainData, ImageSet, TwoDomains
from ganbench.api.loss import as_loss
from ganbench.api.network import count_parameters
from ganbench.api.parts import Parts
from ganbench.api.scheme import Scheme
from ganbench.config.spec import RunConfig, active, declared_options
from ganbench.engine import checkpoint, costs, early_stop, events, fast_path
from ganbench.engine.evaluation import Evaluator
from ganbench.engine.samples import Sampler
from ganbench.errors import GanbenchError, GanbenchWarning
from ganbench.plugins.manager import pm, registry
from ganbench.plugins.registry import SINGLE_KINDS
from ganbench.stopping import STOP
from ganbench.store.liveness import Heart
from ganbench.store.sql import now


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
    evaluator: Evaluator | None = None
    seed: int = 0


def build(config, registry, device, seed, cache_dir, extras=None, stand_in=False):
    """Build data, scheme, its networks with modifiers and optimizers, loss and metrics from a
    config. `extras` are settings that are not part of the config (say, a weights file's path).
    `stand_in`: blank images of the data set's registered shape instead of its data, and no
    metrics, for a dry run that checks every arm as the run will."""
    components = active(config.components, registry)
    chosen = {c.kind: c for c in components if c.kind in SINGLE_KINDS}
    torch.manual_seed(seed)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed shapes every step: autotune once
    cfg = config.settings(cache_dir=str(cache_dir), channels=None, cond_dim=0, **(extras or {}))
    fast_path.check(cfg, device)
    data = device_data(
        blank_data(chosen, cfg) if stand_in else chosen["dataset"].build(cfg), device, cfg
    )
    if len(data) < cfg.batch and not stand_in:
        warnings.warn(
            f"dataset '{chosen['dataset'].name}' has {len(data)} images, fewer than batch={cfg.batch}: "
            f"every batch repeats images",
            GanbenchWarning,
            stacklevel=2,
        )
    cfg.channels, cfg.cond_dim = data.channels, data.cond_dim
    scheme = chosen["scheme"].build(cfg)
    check_fit(scheme, chosen, data.domains, registry)
    cfg.cond_dim = (
        data.cond_dim if scheme.conditional else 0
    )  # networks take conditions only when given them
    nets = {name: net.to(device) for name, net in networks(scheme, components, cfg).items()}
    rng = torch.Generator(device).manual_seed(seed)
    parts = Parts(
        nets,
        {},
        as_loss(chosen["loss"].build(cfg)),
        rng,
        cfg.z_dim,
        cfg.noise,
        draw=lambda: data.sample(cfg.batch, rng),
    )
    scheme.prepare(data, cfg, seed)
    scheme.check(parts)  # also gives lazy layers their shapes before optimizers see them
    add_optimizers(parts, scheme, chosen, cfg)
    fast_path.prepare(nets, cfg)  # after the moving averages copied them: evaluation runs eager
    metrics = {c.name: c.build(cfg) for c in components if c.kind == "metric" and not stand_in}
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
        fitting = [
            c.name
            for c in registry
            if c.kind == "dataset" and scheme.domains in _counts(c.meta.get("domains", 1))
        ]
        raise GanbenchError(
            f"scheme '{name}' trains on {scheme.domains} image domain(s), dataset '{dataset}' "
            f"has {domains}; choose a data set with {scheme.domains}: {', '.join(fitting) or 'none installed'}"
        )
    takes = generator.meta.get("input", "noise")
    if takes != scheme.generator_input:
        fitting = [
            c.name
            for c in registry
            if c.kind == "generator" and c.meta.get("input", "noise") == scheme.generator_input
        ]
        raise GanbenchError(
            f"generator '{generator.name}' takes {takes}, scheme '{name}' feeds its generators "
            f"{scheme.generator_input}; choose one of: {', '.join(fitting) or 'none installed'}"
        )


def _counts(domains):
    return (domains,) if isinstance(domains, int) else tuple(domains)


def networks(scheme, components, cfg):
    """The scheme's networks built from the run's components of their kinds, then the
    modifiers applied in the order given, each to every network of its target kind."""
    chosen = {c.kind: c for c in components}
    settings = {name: scheme.network_settings(name, cfg) for name in scheme.networks}
    nets = {name: chosen[kind].build(settings[name]) for name, kind in scheme.networks.items()}
    for modifier in (c for c in components if c.kind == "modifier"):
        for name, kind in scheme.networks.items():
            if kind == modifier.target:
                modifier.build(nets[name], settings[name])
    return nets


def add_optimizers(parts, scheme, chosen, cfg):
    """One optimizer per network (g_lr for generators, d_lr for discriminators) and a moving
    average of each generator when g_ema asks."""
    optimizer, nets = chosen["optimizer"].build, parts.nets
    lr = {"generator": cfg.g_lr, "discriminator": cfg.d_lr}
    for name, kind in scheme.networks.items():
        if not any(p.requires_grad for p in nets[name].parameters()):
            raise GanbenchError(
                f"network {name} ({kind} '{chosen[kind].name}') has no trainable parameters; "
                f"check its component and options"
            )
    parts.opts = {
        name: optimizer(nets[name].parameters(), lr[kind], cfg)
        for name, kind in scheme.networks.items()
    }
    parts.ema = {name: _ema(nets[name], cfg.g_ema) for name in scheme.generators() if cfg.g_ema}


def blank_data(chosen, cfg):
    """Blank images of the shape the data set registers (channels, classes, and the domains
    the scheme wants where it can give them), with labels and test images, so networks are
    built and checked without the data."""
    meta = chosen["dataset"].meta
    cfg.channels, cfg.cond_dim = meta.get("channels", 3), meta.get("classes", 0)
    wanted, offered = chosen["scheme"].build(cfg).domains, _counts(meta.get("domains", 1))

    def images(n):
        labels = torch.arange(n) % cfg.cond_dim if cfg.cond_dim else None
        return ImageSet(torch.zeros(n, cfg.channels, cfg.res, cfg.res, dtype=torch.uint8), labels)

    train = images(32)
    one = ImageSet(train.images, train.labels, "blank stand-in", test=images(8))
    return TwoDomains(one, one) if (wanted if wanted in offered else offered[0]) == 2 else one


def _ema(g, decay):
    return AveragedModel(g, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


def parameter_counts(exp):
    """{network name: (kind, trainable parameters)}."""
    return {
        name: (kind, count_parameters(exp.parts.nets[name]))
        for name, kind in exp.scheme.networks.items()
    }


def run_record(exp, seed, name, registry, counts, study=None):
    """The columns a new run starts with; `counts` are parameter_counts(exp)."""
    params = {net: n for net, (_, n) in counts.items()}
    declared = declared_options(exp.config.components, registry)
    env = {**environment.describe(exp.device, exp.components), "data": exp.data.description}
    return dict(
        label=name or exp.config.label(declared),
        study=study,
        plugins=",".join(exp.config.plugins),
        config=exp.config.to_dict(),
        config_hash=exp.config.hash(),
        seed=seed,
        status="queued",
        target_steps=exp.config.options["steps"],
        g_params=params.get("g"),
        d_params=params.get("d"),  # the noise-to-image family's columns
        device=str(exp.device),
        gpu=env["gpu"],
        torch_version=env["torch"],
        cuda_version=env["cuda"],
        ganbench_version=env["ganbench"],
        git_sha=env["git_sha"],
        plugin_versions=env["plugins"],
        environment=env,
        score_directions=exp.evaluator.directions() if exp.evaluator else {},
    )


def _read_losses(window):
    """Mean of each loss over the window: one device-to-host copy for the lot."""
    names = list(window[0])
    means = torch.stack([torch.stack([w[n].float() for n in names]) for w in window]).mean(0)
    return dict(zip(names, means.tolist()))


class Interrupted(KeyboardInterrupt):
    """A stop request taken at a step boundary: the state is whole and is checkpointed."""


def train(store, run_id, exp, progress, state=None):
    """Train from `state` (a checkpoint, or None for step 0) to the config's target steps.
    The store, the progress display and the run's trackers observe it through run events."""
    o, run = exp.config.options, _training(store, run_id, exp, state)
    status, error = "completed", None
    with events.observing(events.StoreRecorder(store), progress), ExitStack() as trackers:
        try:
            trackers.enter_context(events.observing(*run.trackers()))
            with STOP.deferred(), Heart(store, run_id), progress:
                run.start()
                while run.step < o["steps"] and not run.rule_fired():
                    if STOP.requested:
                        raise Interrupted
                    run.train_step()
                    progress.advance()
                    last = run.step == o["steps"]
                    if run.step % o["log_every"] == 0 or last:
                        run.log()
                    if exp.evaluator and (run.step % o["eval_every"] == 0 or last):
                        run.evaluate()
                    if run.rule_fired() and not last:  # the stop rule makes this the last step
                        last = True
                        run.wrap_up()
                    if o["sample_every"] and (run.step % o["sample_every"] == 0 or last):
                        run.sample()
                    if run.step % o["ckpt_every"] == 0 or last:
                        run.save()
        except Diverged as e:
            status, error = "diverged", str(e)
        except (
            Interrupted
        ):  # the status first: if the checkpoint fails, the run still ends interrupted
            status, error = "interrupted", run.resumes_from()
            error = run.save_on_interrupt()
        except (
            KeyboardInterrupt
        ):  # a second request, or one raised inside a step: the state is not whole
            status, error = "interrupted", run.resumes_from()
        except BaseException as e:
            status, error = (
                "failed",
                f"{type(e).__name__}: {e}\n" + "".join(traceback.format_exception(e)),
            )
            raise
        finally:
            run.finish(status, error)
    return status


def _training(store, run_id, exp, state):
    """The run's Training; a failure to make one (before any observer is there) is recorded."""
    try:
        return Training(store, run_id, exp, state)
    except BaseException as e:
        store.update_run(run_id, status="failed", error=f"{type(e).__name__}: {e}", ended_at=now())
        raise


class Training:
    """One run's state between steps and what happens at log, evaluation, sample and
    checkpoint steps; `train` above is the loop."""

    def __init__(self, store, run_id, exp, state=None):
        self.store, self.run_id, self.exp, self.options = store, run_id, exp, exp.config.options
        self.step, self.clock, self.window, self.since = 0, Clock(), [], state
        if state:  # already restored into exp's parts and scheme
            self.step = state["step"]
            self.window = checkpoint.window(
                state, exp.device
            )  # losses not yet logged when it was taken
            self.clock = Clock(state["train_s"], state["eval_s"])
        self.saved, self.first = self.step, self.step
        self.path = store.run_dir(run_id) / "last.pt"
        self.sampler = Sampler(self.path.parent)
        directions = exp.evaluator.directions() if exp.evaluator else {}
        self.best = Best(directions, self.sampler.recorded_best())
        self.rule = early_stop.plateau(self.options, directions)
        self.identity = checkpoint.identity(store.identity, run_id, exp.config.hash())
        self.schedulers = schedule.attach(exp.parts, exp.scheme, exp.config.settings(), self.step)
        earlier = store.costs().get(run_id)  # a resume adds to what its earlier stretches cost
        self.meter, self.cost_before = (
            costs.Meter(exp.device),
            costs.Cost(*earlier) if earlier else None,
        )
        self.info = self._info()

    def _info(self):
        row, exp = self.store.get_run(self.run_id), self.exp
        return events.RunInfo(
            self.run_id,
            f"{self.store.identity}/{self.run_id}",
            row["label"],
            row["study"],
            row["seed"],
            exp.config,
            self.path.parent,
            self.step,
            self.options["steps"],
            row["environment"] or {},
            exp.evaluator.protocol_details() if exp.evaluator else {},
        )

    def trackers(self):
        """An observer for each tracker the config names, built for this run."""
        return [
            tracker.build(self.info)
            for tracker in events.check_trackers(self.options.get("trackers", ""), registry())
        ]

    def start(self):
        """Metrics past the checkpoint are dropped as the run starts (a restart keeps none)."""
        pm.hook.on_run_started(run=self.info)
        if (
            self.rule
        ):  # a resume replays what the rule saw, and stops where the whole run would have
            early_stop.replay(self.rule, self.store.metrics(self.run_id))

    def train_step(self):
        parts = self.exp.parts
        batch = self.exp.data.sample(self.options["batch"], parts.rng)
        parts.step = self.step
        with fast_path.autocast(self.options, self.exp.device):
            self.window.append(self.exp.scheme.step(parts, batch))
        if self.rule and self.step == self.first:  # the first step names the losses
            self.rule.check(self.window[-1])
        for name, average in parts.ema.items():
            average.update_parameters(parts.nets[name])
        for scheduler in self.schedulers:
            scheduler.step()
        self.step += 1

    def log(self):
        """The window's mean losses, to every observer (recorded even when not finite)."""
        losses, self.window = _read_losses(self.window) if self.window else {}, []
        speed = (self.step - self.first) / self.clock.train_s(since=self.since)
        pm.hook.on_losses(
            run=self.info,
            step=self.step,
            losses=losses,
            train_s=self.clock.train_s(),
            steps_per_s=speed,
        )
        if not all(math.isfinite(v) for v in losses.values()):
            raise Diverged(f"non-finite loss at step {self.step}: {losses}")
        if self.rule:
            self.rule.watch(self.step, losses)

    def rule_fired(self):
        return self.rule is not None and self.rule.fired

    def wrap_up(self):
        """What the last step records that this one has not: unlogged losses and the scores."""
        if self.window:
            self.log()
        if self.exp.evaluator and self.step % self.options["eval_every"]:
            self.evaluate()

    def check_finite(self):
        """Losses not yet logged are checked before weights are scored or saved."""
        losses = _read_losses(self.window) if self.window else {}
        if not all(math.isfinite(v) for v in losses.values()):
            raise Diverged(f"non-finite loss by step {self.step}: {losses}")

    def evaluate(self):
        self.check_finite()
        exp = self.exp
        with self.clock.evaluating():
            scores = [events.Score(*row) for row in exp.evaluator.evaluate(exp.parts, self.step)]
        pm.hook.on_scores(run=self.info, step=self.step, scores=scores, eval_s=self.clock.eval_s)
        if self.best.improved(scores):
            with self.clock.paused():
                self.sampler.best(
                    exp.scheme.best_panels(exp.parts),
                    best_weights(exp),
                    self.step,
                    *self.best.current,
                )
        if self.rule:
            self.rule.watch(self.step, {score.name: score.value for score in scores})

    def sample(self):
        with self.clock.paused():
            panel = self.exp.scheme.panel(self.exp.parts)
            if panel is not None:
                path = self.sampler.grid(panel, self.step)
                pm.hook.on_samples(run=self.info, step=self.step, panel=panel, path=path)

    def save(self):
        self.check_finite()
        with self.clock.paused():
            state = checkpoint.capture(
                self.exp.parts, self.exp.scheme, self.step, self.clock, self.window, self.identity
            )
            checkpoint.save(self.path, state)
            self.saved = (
                self.step
            )  # before observers: one that raises still leaves the run resumable from here
            pm.hook.on_checkpoint(run=self.info, step=self.step, path=self.path)

    def resumes_from(self):
        return f"interrupted at step {self.step}; resumes from step {self.saved}"

    def save_on_interrupt(self):
        """A checkpoint at the interrupted step, so a resume loses nothing; the error text."""
        if self.step > self.saved:
            self.save()
        return f"interrupted at step {self.step}"

    def finish(self, status, error):
        """The final status, whatever stops the process meanwhile; steps_done is where a resume starts."""
        done = self.step if status in ("completed", "diverged") else self.saved
        early = status == "completed" and self.rule_fired() and self.rule.at < self.options["steps"]
        stop = (
            (self.rule.at, self.rule.reason) if early else None
        )  # firing at the last step stops nothing
        pm.hook.on_run_ended(
            run=self.info,
            status=status,
            steps_done=done,
            error=error,
            train_s=self.clock.train_s(),
            eval_s=self.clock.eval_s,
            stop=stop,
            cost=self.meter.read().plus(self.cost_before),
        )


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
        better = self.current is None or (
            value < self.current[1] if self.way == "min" else value > self.current[1]
        )
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
