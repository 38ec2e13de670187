"""What a run costs beyond wall time: the GPU's peak memory and the energy it drew, from
NVML's energy counter (nvidia-ml-py). Neither is measured on a CPU."""

from collections.abc import Callable
from dataclasses import dataclass

import torch

# millijoules since some fixed point, or None where not measured
EnergyCounter = Callable[[], float | None]


@dataclass
class Cost:
    peak_mem_mb: float | None = None
    energy_j: float | None = None

    def measured(self) -> bool:
        return self.peak_mem_mb is not None or self.energy_j is not None

    def plus(self, earlier: "Cost | None") -> "Cost":
        """This stretch of a run added to what its earlier stretches recorded (a resume)."""
        if earlier is None:
            return self
        return Cost(
            _max(self.peak_mem_mb, earlier.peak_mem_mb), _sum(self.energy_j, earlier.energy_j)
        )


def _max(a: float | None, b: float | None) -> float | None:
    return max(v for v in (a, b) if v is not None) if a is not None or b is not None else None


def _sum(a: float | None, b: float | None) -> float | None:
    return (a or 0.0) + (b or 0.0) if a is not None or b is not None else None


class Meter:
    """Peak memory and energy from here on, on one device. `energy_counter()` gives
    millijoules since some fixed point, or None."""

    def __init__(self, device: torch.device, energy_counter: EnergyCounter | None = None) -> None:
        self.device = device
        self.counter = energy_counter or (
            nvml_energy(device) if device.type == "cuda" else lambda: None
        )
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        self.start = self.counter()

    def read(self) -> Cost:
        peak = (
            torch.cuda.max_memory_allocated(self.device) / 2**20
            if self.device.type == "cuda"
            else None
        )
        now = self.counter()
        energy = (now - self.start) / 1000 if now is not None and self.start is not None else None
        return Cost(peak, energy)


def nvml_energy(device: torch.device) -> EnergyCounter:
    """NVML's total-energy counter of the GPU behind `device` (Volta and later), or a reader
    that gives None where NVML, the binding or the counter is missing."""
    try:
        import pynvml

        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(torch.cuda._get_nvml_device_index(device))
        pynvml.nvmlDeviceGetTotalEnergyConsumption(handle)
    except Exception:  # noqa: BLE001 - no NVML, an old GPU, a driver without the counter: no energy figure
        return lambda: None
    return lambda: pynvml.nvmlDeviceGetTotalEnergyConsumption(handle)
