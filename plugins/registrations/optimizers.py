"""Registers adam, adamw, rmsprop and sgd (ganbench_plugins.optimizers)."""

from ganbench import Option, hookimpl
from ganbench.api.lazy import implemented_in
from ganbench.api.options import non_negative

impl = implemented_in("ganbench_plugins.optimizers")


def _unit(value):
    return None if 0 <= value < 1 else "must be in [0, 1)"


ADAM_OPTIONS = {
    "beta1": Option(float, 0.5, "Adam's first-moment decay (DCGAN uses 0.5)", check=_unit),
    "beta2": Option(float, 0.999, "Adam's second-moment decay", check=_unit),
    "weight_decay": Option(float, 0.0, "L2 penalty (adamw: decoupled decay)", check=non_negative),
}


@hookimpl
def register_optimizers(register):
    register(
        "adam",
        lambda params, lr, cfg: impl().adam(params, lr, cfg),
        help="Adam (Kingma & Ba 2015)",
        options=ADAM_OPTIONS,
    )
    register(
        "adamw",
        lambda params, lr, cfg: impl().adamw(params, lr, cfg),
        help="AdamW, decoupled weight decay (Loshchilov & Hutter 2019)",
        options={
            "beta1": ADAM_OPTIONS["beta1"],
            "beta2": ADAM_OPTIONS["beta2"],
            "weight_decay": Option(float, 0.01, "decoupled weight decay", check=non_negative),
        },
    )
    register(
        "rmsprop",
        lambda params, lr, cfg: impl().rmsprop(params, lr, cfg),
        help="RMSprop",
        options={
            "rms_alpha": Option(
                float, 0.9, "squared-gradient decay (Keras' rho, 0.9)", check=_unit
            ),
        },
    )
    register(
        "sgd",
        lambda params, lr, cfg: impl().sgd(params, lr, cfg),
        help="stochastic gradient descent",
        options={
            "momentum": Option(float, 0.0, "momentum", check=_unit),
        },
    )
