"""Wall-clock timing that waits for the GPU, and the side-by-side table, shared by the benchmarks."""

import time

import torch
from rich.console import Console
from rich.table import Table


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
    return (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"CPU ({torch.get_num_threads()} threads)"
    )


def print_comparison(setting, columns, rows):
    """What was measured, then our path and the reference, one row each, as a table."""
    print(setting)
    table = Table()
    for i, column in enumerate(columns):
        table.add_column(column, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*row)
    Console().print(table)
