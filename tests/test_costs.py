"""What a run costs: the GPU's peak memory and energy (NVML's counter) are recorded at its end,
added up over a resume, shown in the report and summed on a study's page; a CPU run records none."""

import json

import pandas as pd
import pytest
import torch
from conftest import TINY, query

from ganbench.engine import costs
from ganbench.results.webpage import totals


class FakeMeter(costs.Meter):
    """A GPU's meter on the CPU: 2.5 J and 300 MB a stretch."""

    def __init__(self, device):
        readings = iter([1000, 3500])
        super().__init__(device, energy_counter=lambda: next(readings))

    def read(self):
        return costs.Cost(300.0, super().read().energy_j)


def test_the_meter_reads_energy_from_its_counter_and_a_cpu_has_no_peak_memory():
    readings = iter([10_000, 12_500])
    cost = costs.Meter(torch.device("cpu"), energy_counter=lambda: next(readings)).read()
    assert cost == costs.Cost(None, 2.5)
    assert costs.Meter(torch.device("cpu")).read() == costs.Cost(None, None)
    assert costs.Cost(200.0, 1.0).plus(costs.Cost(300.0, 2.0)) == costs.Cost(300.0, 3.0)
    assert costs.Cost(None, None).plus(None) == costs.Cost(None, None)


def test_a_measured_run_records_its_cost_and_a_resume_adds_to_it(invoke, db, monkeypatch):
    monkeypatch.setattr("ganbench.engine.loop.costs.Meter", FakeMeter)
    assert invoke("run", *TINY, "--steps", "2").exit_code == 0
    assert query(db, "select peak_mem_mb, energy_j from costs") == [(300.0, 2.5)]
    assert invoke("run", "--resume", "1", "--steps", "4").exit_code == 0
    assert query(db, "select peak_mem_mb, energy_j from costs") == [(300.0, 5.0)]
    (row,) = json.loads(invoke("report", "--format", "json").output)
    assert (row["peak_mem_mb"], row["energy_j"]) == (300.0, 5.0)
    assert "energy_j" in invoke("report", "--wide").output


def test_a_cpu_run_records_no_cost_and_the_report_leaves_the_columns_out(invoke, db):
    assert invoke("run", *TINY, "--steps", "2").exit_code == 0
    assert query(db, "select count(*) from costs") == [(0,)]
    (row,) = json.loads(invoke("report", "--format", "json").output)
    assert row["energy_j"] is None and "energy_j" not in invoke("report", "--wide").output


def test_a_study_page_sums_time_and_energy():
    runs = pd.DataFrame(
        {
            "train_s": [100.0, 50.0],
            "eval_s": [10.0, 5.0],
            "energy_j": [3000.0, float("nan")],
            "peak_mem_mb": [2048.0, float("nan")],
        }
    )
    assert totals(runs) == (
        "in all: 150 s training, 15 s evaluation, 3.0 kJ on the GPU (1 of 2 runs measured); peak GPU memory 2,048 MB"
    )
    assert (
        totals(runs.drop(columns=["energy_j", "peak_mem_mb"]))
        == "in all: 150 s training, 15 s evaluation"
    )


@pytest.mark.parametrize("missing", ["pynvml", "counter"])
def test_without_nvml_or_its_counter_energy_is_none(monkeypatch, missing):
    import sys
    import types

    fake = types.ModuleType("pynvml")
    fake.nvmlInit = lambda: None
    fake.nvmlDeviceGetHandleByIndex = lambda i: "gpu"

    def counter(handle):
        raise RuntimeError("not supported")

    fake.nvmlDeviceGetTotalEnergyConsumption = counter
    monkeypatch.setitem(sys.modules, "pynvml", None if missing == "pynvml" else fake)
    monkeypatch.setattr(torch.cuda, "_get_nvml_device_index", lambda device: 0)
    assert costs.nvml_energy(torch.device("cuda", 0))() is None


def test_nvml_energy_reads_the_gpu_behind_the_device(monkeypatch):
    import sys
    import types

    fake, asked = types.ModuleType("pynvml"), []
    fake.nvmlInit = lambda: None
    fake.nvmlDeviceGetHandleByIndex = lambda i: asked.append(i) or f"gpu{i}"
    fake.nvmlDeviceGetTotalEnergyConsumption = lambda handle: {"gpu3": 7_000}[handle]
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    monkeypatch.setattr(
        torch.cuda, "_get_nvml_device_index", lambda device: 3
    )  # CUDA_VISIBLE_DEVICES=3
    assert costs.nvml_energy(torch.device("cuda", 0))() == 7_000 and asked == [3]
