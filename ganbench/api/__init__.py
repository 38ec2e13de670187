"""What a plugin implements and uses: the contracts (hooks, Protocols and base classes),
options, losses, schemes, networks, data sets, schedules.

The contracts (`ganbench.api.contracts`) are exported here, imported on first use: they
import torch, which `ganbench plugins` and the commands that only read the store never do."""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what mypy sees; at run time __getattr__ imports them
    from ganbench.api.contracts import (
        CostView,
        DatasetBuild,
        DiscriminatorBuild,
        Features,
        FeatureSpace,
        GeneratorBuild,
        Loss,
        LossBuild,
        Metric,
        MetricBuild,
        ModifierBuild,
        OptimizerBuild,
        Options,
        RegisterDataset,
        RegisterDiscriminator,
        RegisterExecutor,
        RegisterGenerator,
        RegisterLoss,
        RegisterMetric,
        RegisterModifier,
        RegisterOptimizer,
        RegisterScheme,
        RegisterTracker,
        RunConfigView,
        RunView,
        Scheme,
        SchemeBuild,
        ScoreView,
        Settings,
        TrackerBuild,
        as_metric,
    )

__all__ = [
    "CostView",
    "DatasetBuild",
    "DiscriminatorBuild",
    "FeatureSpace",
    "Features",
    "GeneratorBuild",
    "Loss",
    "LossBuild",
    "Metric",
    "MetricBuild",
    "ModifierBuild",
    "OptimizerBuild",
    "Options",
    "RegisterDataset",
    "RegisterDiscriminator",
    "RegisterExecutor",
    "RegisterGenerator",
    "RegisterLoss",
    "RegisterMetric",
    "RegisterModifier",
    "RegisterOptimizer",
    "RegisterScheme",
    "RegisterTracker",
    "RunConfigView",
    "RunView",
    "Scheme",
    "SchemeBuild",
    "ScoreView",
    "Settings",
    "TrackerBuild",
    "as_metric",
]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'ganbench.api' has no attribute '{name}'")
    return getattr(importlib.import_module("ganbench.api.contracts"), name)
