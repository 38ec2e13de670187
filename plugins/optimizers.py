"""Adam, RMSprop and SGD; G and D each get their own, with g_lr and d_lr."""
import torch

from ganbench import Option, hookimpl
from ganbench.options import non_negative


def _fused(params):
    # The fused CUDA kernels update all tensors in one launch; CPU tensors take the default path.
    return {"fused": True} if params and params[0].is_cuda else {}


def adam(params, lr, cfg):
    params = list(params)
    return torch.optim.Adam(params, lr, betas=(cfg.beta1, cfg.beta2),
                            weight_decay=cfg.weight_decay, **_fused(params))


def adamw(params, lr, cfg):
    params = list(params)
    return torch.optim.AdamW(params, lr, betas=(cfg.beta1, cfg.beta2),
                             weight_decay=cfg.weight_decay, **_fused(params))


def rmsprop(params, lr, cfg):
    return torch.optim.RMSprop(params, lr, alpha=cfg.rms_alpha)


def sgd(params, lr, cfg):
    return torch.optim.SGD(params, lr, momentum=cfg.momentum)


def _unit(value):
    return None if 0 <= value < 1 else "must be in [0, 1)"


ADAM_OPTIONS = {
    "beta1": Option(float, 0.5, "Adam's first-moment decay (DCGAN uses 0.5)", check=_unit),
    "beta2": Option(float, 0.999, "Adam's second-moment decay", check=_unit),
    "weight_decay": Option(float, 0.0, "L2 penalty (adamw: decoupled decay)", check=non_negative),
}


@hookimpl
def register_optimizers(register):
    register("adam", adam, help="Adam (Kingma & Ba 2015)", options=ADAM_OPTIONS)
    register("adamw", adamw, help="AdamW, decoupled weight decay (Loshchilov & Hutter 2019)", options={
        "beta1": ADAM_OPTIONS["beta1"], "beta2": ADAM_OPTIONS["beta2"],
        "weight_decay": Option(float, 0.01, "decoupled weight decay", check=non_negative),
    })
    register("rmsprop", rmsprop, help="RMSprop", options={
        "rms_alpha": Option(float, 0.9, "squared-gradient decay (Keras' rho, 0.9)", check=_unit),
    })
    register("sgd", sgd, help="stochastic gradient descent", options={
        "momentum": Option(float, 0.0, "momentum", check=_unit),
    })
