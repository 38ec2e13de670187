"""Wall-clock timing that waits for the GPU, shared by the benchmarks."""
import time

import torch


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device):
    """(seconds, result) of fn(), with the device's queued work finished on both ends."""
    sync(device)
    start = time.perf_counter()
    value = fn()
    sync(device)
    return time.perf_counter() - start, value


def device_name(device):
    return torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
