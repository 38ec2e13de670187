"""The hooks a ganbench plugin can implement; see docs/plugins.md.

Registration hooks add components: each gets a `register` callable, typed for its kind in
`ganbench.api.contracts` (`register(name, build, *, options=None, help="", ...)`, the
keywords its kind takes). Event hooks observe a run: the store, the progress display and
trackers are all observers of one stream of events, called in this order: on_run_started,
then on_losses, on_scores, on_samples and on_checkpoint as they happen, then on_run_ended
whatever the outcome. Event hooks are called on trackers (`register_trackers`), each built
for one run that names it in `trackers=` and attached to that run alone; a plugin's own
top-level event hooks are called for no run (ganbench warns). Trackers never change what a
run trains, so they are not part of its group. An observer that raises ends
the run `failed` (in on_run_ended: the command fails, the status stays). The store records
each event first.

No hook is `firstresult`: every registration hook adds to one registry, and every observer
sees every event, so no single answer wins. Every hook returns None."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pluggy import HookimplMarker, HookspecMarker

if TYPE_CHECKING:
    from pathlib import Path

    from ganbench.api.contracts import (
        CostView,
        RegisterDataset,
        RegisterDiscriminator,
        RegisterExecutor,
        RegisterGenerator,
        RegisterLoss,
        RegisterMetric,
        RegisterModifier,
        RegisterOptimizer,
        RegisterScheme,
        RegisterTracker,
        RunView,
        ScoreView,
    )
    from ganbench.api.scheme import Panel

hookspec = HookspecMarker("ganbench")
hookimpl = HookimplMarker("ganbench")


@hookspec
def register_generators(register: RegisterGenerator) -> None:
    """Register generators: `build(cfg)` returns an `nn.Module` mapping noise (N, z_dim)
    to images (N, cfg.channels, cfg.res, cfg.res) in [-1, 1] (registered with `input="image"`:
    images to images of the same shape), preferably a `ganbench.Staged` so modifiers can
    replace its named stages."""


@hookspec
def register_discriminators(register: RegisterDiscriminator) -> None:
    """Register discriminators: `build(cfg)` returns an `nn.Module` mapping images to one
    logit per image, shape (N,) (or a map of logits, for schemes that average one)."""


@hookspec
def register_modifiers(register: RegisterModifier) -> None:
    """Register modifiers: `build(net, cfg)` changes an already built network in place
    (say, replaces a stage). `register` also takes `target="generator"|"discriminator"`.
    Modifiers apply in the order the run's `plugins=` lists them."""


@hookspec
def register_losses(register: RegisterLoss) -> None:
    """Register adversarial losses: `build(cfg)` returns a `ganbench.Loss` with
    `d_loss(real_logits, fake_logits)` and `g_loss(fake_logits, real=None)`, each a scalar
    tensor; its attributes say what else it needs (`sees_real`: D's real logits in G's step)."""


@hookspec
def register_optimizers(register: RegisterOptimizer) -> None:
    """Register optimizers: `build(params, lr, cfg)` returns a `torch.optim.Optimizer`;
    the core calls it once per network of the scheme, with `g_lr` for generators and `d_lr`
    for discriminators."""


@hookspec
def register_datasets(register: RegisterDataset) -> None:
    """Register data sets: `build(cfg)` returns a `ganbench.ImageSet` of uint8 images
    already brought to `cfg.res`, or `ganbench.TwoDomains` (A and B, each with test images)
    for translation; the core moves them to the device once. `register` also takes
    `channels`, `classes` and `domains`, the shape `--dry-run` stands in for the data."""


@hookspec
def register_schemes(register: RegisterScheme) -> None:
    """Register training schemes: `build(cfg)` returns a `ganbench.Scheme`, which declares
    the networks it trains, does one step's work in `step(parts, batch)` (a dict of detached
    scalar loss tensors, read back only every `log_every` steps) and says how its images are
    made: the tracks the metrics score and the sample panels. `register` also takes
    `conditional=True` for a scheme whose networks get the data's conditions."""


@hookspec
def register_metrics(register: RegisterMetric) -> None:
    """Register metrics: `build(cfg)` returns a `ganbench.api.contracts.Metric`: `space` (a
    `FeatureSpace`: `key`, `name`, `resize`, `prepare(device)`, `weights_sha256()`,
    `extract(uint8_images)`), `needs_real`, `report` ({name: "min" | "max"}) and
    `score(real, fake)`, which maps the feature dicts of the reference and the generated
    images to {name: float}."""


@hookspec
def register_trackers(register: RegisterTracker) -> None:
    """Register trackers, chosen per run with `trackers=NAME,...`: `build(run)` gets the run's
    `ganbench.RunInfo` when it starts and returns an observer (an object whose methods are event
    hooks marked `@hookimpl`), called for that run alone. `register` also takes `needs=` (a
    Python package the tracker imports), so a missing package is named before the run starts."""


@hookspec
def register_executors(register: RegisterExecutor) -> None:
    """Register executors, chosen per command with `ganbench run --executor NAME`:
    `build(settings)` returns a `ganbench.executors.base.Executor`, which trains a study's
    runs where it places them (here, worker processes, a cluster's tasks or jobs)."""


@hookspec
def on_run_started(run: RunView) -> None:
    """A run starts (or resumes) training at step `run.first_step`. `run` is a
    `ganbench.RunInfo`: id, label, study, seed, resolved config, folder, environment."""


@hookspec
def on_losses(
    run: RunView, step: int, losses: dict[str, float], train_s: float, steps_per_s: float
) -> None:
    """The mean of each loss ({name: float}) over the steps since the last call, read back
    every `log_every` steps; `train_s` is the run's training time so far."""


@hookspec
def on_scores(run: RunView, step: int, scores: list[ScoreView], eval_s: float) -> None:
    """The metrics' scores at `step`: a list of `ganbench.Score` (name, value, protocol id);
    `eval_s` is the run's evaluation time so far."""


@hookspec
def on_samples(run: RunView, step: int, panel: Panel, path: Path) -> None:
    """A sample panel (`ganbench.Panel`: images in [-1, 1], nrow, caption), written as the PNG
    at `path`."""


@hookspec
def on_checkpoint(run: RunView, step: int, path: Path) -> None:
    """A checkpoint of the whole training state was written to `path`."""


@hookspec
def on_run_ended(
    run: RunView,
    status: str,
    steps_done: int,
    error: str | None,
    train_s: float,
    eval_s: float,
    stop: tuple[int, str] | None,
    cost: CostView,
) -> None:
    """The run ended: `status` is completed, diverged, interrupted or failed; `steps_done` is
    where a resume would start; `error` the error text or None; `stop` (step, reason) when
    the stop rule ended it early, else None; `cost` a `ganbench.engine.costs.Cost` (peak_mem_mb,
    energy_j: None where not measured, as on a CPU), over every stretch of the run."""
