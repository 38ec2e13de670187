"""The hooks a ganbench plugin can implement; see docs/plugins.md.

Registration hooks add components: every `register` callable takes
`register(name, build, *, options=None, help="")`. Event hooks observe a run: the store,
the progress display and trackers are all observers of one stream of events, called in
this order: on_run_started, then on_losses, on_scores, on_samples and on_checkpoint as they
happen, then on_run_ended whatever the outcome. An installed plugin's event hooks are called
for every run; they never change what a run trains, so they are not part of its config.
An observer that raises ends the run `failed` (in on_run_ended: the command fails, the
status stays). The store records each event first."""

from pluggy import HookimplMarker, HookspecMarker

hookspec = HookspecMarker("ganbench")
hookimpl = HookimplMarker("ganbench")


@hookspec
def register_generators(register):
    """Register generators: `build(cfg)` returns an `nn.Module` mapping noise (N, z_dim)
    to images (N, cfg.channels, cfg.res, cfg.res) in [-1, 1] (registered with `input="image"`:
    images to images of the same shape), preferably a `ganbench.Staged` so modifiers can
    replace its named stages."""


@hookspec
def register_discriminators(register):
    """Register discriminators: `build(cfg)` returns an `nn.Module` mapping images to one
    logit per image, shape (N,) (or a map of logits, for schemes that average one)."""


@hookspec
def register_modifiers(register):
    """Register modifiers: `build(net, cfg)` changes an already built network in place
    (say, replaces a stage). `register` also takes `target="generator"|"discriminator"`.
    Modifiers apply in the order the run's `plugins=` lists them."""


@hookspec
def register_losses(register):
    """Register adversarial losses: `build(cfg)` returns a `ganbench.Loss` with
    `d_loss(real_logits, fake_logits)` and `g_loss(fake_logits, real=None)`, each a scalar
    tensor; its attributes say what else it needs (`sees_real`: D's real logits in G's step)."""


@hookspec
def register_optimizers(register):
    """Register optimizers: `build(params, lr, cfg)` returns a `torch.optim.Optimizer`;
    the core calls it once per network of the scheme, with `g_lr` for generators and `d_lr`
    for discriminators."""


@hookspec
def register_datasets(register):
    """Register data sets: `build(cfg)` returns a `ganbench.ImageSet` of uint8 images
    already brought to `cfg.res`, or `ganbench.TwoDomains` (A and B, each with test images)
    for translation; the core moves them to the device once."""


@hookspec
def register_schemes(register):
    """Register training schemes: `build(cfg)` returns a `ganbench.Scheme`, which declares
    the networks it trains, does one step's work in `step(parts, batch)` (a dict of detached
    scalar loss tensors, read back only every `log_every` steps) and says how its images are
    made: the tracks the metrics score and the sample panels."""


@hookspec
def register_metrics(register):
    """Register metrics: `build(cfg)` returns an object with `space` (a feature space:
    `key`, `name`, `resize`, `prepare(device)`, `weights_sha256()`, `extract(uint8_images)`),
    `needs_real`, `report` ({name: "min" | "max"}) and `score(real, fake)`, which maps the
    feature dicts of the reference and the generated images to {name: float}."""


@hookspec
def register_trackers(register):
    """Register trackers, chosen per run with `trackers=NAME,...`: `build(run)` gets the run's
    `ganbench.RunInfo` when it starts and returns an observer (an object whose methods are event
    hooks marked `@hookimpl`), called for that run alone. `register` also takes `needs=` (a
    Python package the tracker imports), so a missing package is named before the run starts."""


@hookspec
def register_executors(register):
    """Register executors, chosen per command with `ganbench run --executor NAME`: `build()`
    returns a `ganbench.executors.base.Executor`, which trains a study's runs where it places
    them (here, worker processes, a cluster's tasks or jobs)."""


@hookspec
def on_run_started(run):
    """A run starts (or resumes) training at step `run.first_step`. `run` is a
    `ganbench.RunInfo`: id, label, study, seed, resolved config, folder, environment."""


@hookspec
def on_losses(run, step, losses, train_s, steps_per_s):
    """The mean of each loss ({name: float}) over the steps since the last call, read back
    every `log_every` steps; `train_s` is the run's training time so far."""


@hookspec
def on_scores(run, step, scores, eval_s):
    """The metrics' scores at `step`: a list of `ganbench.Score` (name, value, protocol id);
    `eval_s` is the run's evaluation time so far."""


@hookspec
def on_samples(run, step, panel, path):
    """A sample panel (`ganbench.Panel`: images in [-1, 1], nrow, caption), written as the PNG
    at `path`."""


@hookspec
def on_checkpoint(run, step, path):
    """A checkpoint of the whole training state was written to `path`."""


@hookspec
def on_run_ended(run, status, steps_done, error, train_s, eval_s, stop, cost):
    """The run ended: `status` is completed, diverged, interrupted or failed; `steps_done` is
    where a resume would start; `error` the error text or None; `stop` (step, reason) when
    the stop rule ended it early, else None; `cost` a `ganbench.engine.costs.Cost` (peak_mem_mb,
    energy_j: None where not measured, as on a CPU), over every stretch of the run."""
