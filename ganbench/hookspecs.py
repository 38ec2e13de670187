"""The hooks a ganbench plugin can implement. Every `register` callable takes
`register(name, build, *, options=None, help="")`; see docs/plugins.md."""
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
    """Register adversarial losses: `build(cfg)` returns an object with
    `d_loss(real_logits, fake_logits)` and `g_loss(fake_logits)`, each a scalar tensor."""


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
