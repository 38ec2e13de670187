"""Adam, RMSprop and SGD; G and D each get their own, with g_lr and d_lr."""

import torch


def _fused(params):
    # The fused CUDA kernels update all tensors in one launch; CPU tensors take the default path.
    return {"fused": True} if params and params[0].is_cuda else {}


def adam(params, lr, cfg):
    params = list(params)
    return torch.optim.Adam(
        params, lr, betas=(cfg.beta1, cfg.beta2), weight_decay=cfg.weight_decay, **_fused(params)
    )


def adamw(params, lr, cfg):
    params = list(params)
    return torch.optim.AdamW(
        params, lr, betas=(cfg.beta1, cfg.beta2), weight_decay=cfg.weight_decay, **_fused(params)
    )


def rmsprop(params, lr, cfg):
    return torch.optim.RMSprop(params, lr, alpha=cfg.rms_alpha)


def sgd(params, lr, cfg):
    return torch.optim.SGD(params, lr, momentum=cfg.momentum)
