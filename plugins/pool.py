"""A history of generated images for D (Shrivastava et al. 2017, as CycleGAN uses it): until
the pool is full each fake goes in and out as it is; after that each fake, with probability
½, swaps places with a random stored one, so D also sees fakes of earlier generators.
Draws come from the run's RNG on the device, and the stored images go into checkpoints."""

import torch


class ImagePool:
    def __init__(self, size):
        self.size, self.count, self.images = size, 0, None

    def swap(self, fakes, rng):
        """The images D sees in place of `fakes` (detached)."""
        if self.size == 0:
            return fakes
        if self.images is None:
            self.images = torch.empty(
                (self.size, *fakes.shape[1:]), dtype=fakes.dtype, device=fakes.device
            )
        return torch.stack([self._one(fake, rng) for fake in fakes])

    def _one(self, fake, rng):
        if self.count < self.size:
            self.images[self.count] = fake
            self.count += 1
            return fake
        # Decided on the device, so a step never waits for the host.
        use_old = torch.rand((), device=fake.device, generator=rng) < 0.5
        slot = torch.randint(self.size, (1,), device=fake.device, generator=rng)
        old = self.images[slot][0]
        self.images[slot] = torch.where(use_old, fake, old).unsqueeze(0)
        return torch.where(use_old, old, fake)

    def state_dict(self):
        return {"count": self.count, "images": self.images}

    def load_state_dict(self, state, device):
        """Checkpoints load on the CPU; the pool lives where the fakes are made."""
        images = state["images"]
        self.count, self.images = state["count"], images if images is None else images.to(device)
