"""Adversarial losses beyond bce, each on D's logits (or critic values for wgan_gp).

minimax: the original zero-sum game, G minimises log(1 - D(G(z))) (Goodfellow et al. 2014).
lsgan: least squares to targets 1 and 0 (Mao et al. 2017), as report 001's MSE adversarial loss.
hinge: max(0, 1 - D(x)) + max(0, 1 + D(G(z))) for D, -D(G(z)) for G (Lim & Ye 2017).
wgan_gp: Wasserstein critic with gradient penalty lambda * (|grad D(x_hat)| - 1)^2 on random
interpolates (Gulrajani et al. 2017), and `critic_steps` D steps per G step.
ragan: relativistic average GAN (RaSGAN, Jolicoeur-Martineau 2019): D judges whether a real
image is more realistic than the average fake and a fake less than the average real; G the
reverse, so its step also needs D's logits on the real batch.
"""

import torch
import torch.nn.functional as F

from ganbench import Loss

from .bce import NonSaturatingBCE


class Minimax(NonSaturatingBCE):
    """bce's D loss; G minimises log(1 - D(G(z))) instead."""

    def g_loss(self, fake):
        return -F.softplus(fake).mean()  # log(1 - sigmoid(x)) = -softplus(x)


class LeastSquares(Loss):
    def d_loss(self, real, fake):
        return 0.5 * ((real - 1).pow(2).mean() + fake.pow(2).mean())

    def g_loss(self, fake):
        return 0.5 * (fake - 1).pow(2).mean()


class Hinge(Loss):
    def d_loss(self, real, fake):
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()

    def g_loss(self, fake):
        return -fake.mean()


class RelativisticAverage(Loss):
    """Each half is halved, as in the paper's RaSGAN code, so the scale matches bce's."""

    sees_real = True

    def d_loss(self, real, fake):
        return (
            F.softplus(-(real - fake.mean())).mean() + F.softplus(fake - real.mean()).mean()
        ) / 2

    def g_loss(self, fake, real=None):
        return (
            F.softplus(-(fake - real.mean())).mean() + F.softplus(real - fake.mean()).mean()
        ) / 2


class WassersteinGP(Loss):
    def __init__(self, gp_lambda, critic_steps):
        self.gp_lambda, self.critic_steps = gp_lambda, critic_steps

    def d_loss(self, real, fake):
        return fake.mean() - real.mean()

    def g_loss(self, fake):
        return -fake.mean()

    def penalty(self, d, real, fake, rng=None, conditions=None):
        """lambda * E[(|grad_x D(x_hat)|_2 - 1)^2] at random points between real and fake.
        With conditions (real's, fake's), D(x, c) is scored at the same point between them,
        so each end of the line is a pair D was trained on."""
        eps = torch.rand(real.shape[0], 1, 1, 1, device=real.device, generator=rng)
        between = (eps * real + (1 - eps) * fake).requires_grad_(True)
        at = (
            ()
            if conditions is None
            else (eps.flatten(1) * conditions[0] + (1 - eps.flatten(1)) * conditions[1],)
        )
        # Under bf16 autocast D's logits are bf16: the sum, the gradient's norm and the penalty
        # are taken in fp32, as PyTorch's AMP notes do for gradient penalties.
        (grad,) = torch.autograd.grad(d(between, *at).float().sum(), between, create_graph=True)
        return self.gp_lambda * (grad.float().flatten(1).norm(dim=1) - 1).pow(2).mean()
