"""A third party's package written against the documented contracts (docs/plugins.md,
ganbench.api.contracts): a scheme training one generator against two discriminators, the
networks and data it trains on, a tracker and an executor. mypy checks the package strictly,
then it is installed through the `ganbench` entry-point group and trains on the CPU."""

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import query

from ganbench import plugins

ROOT = Path(__file__).resolve().parents[1]

PACKAGE = '''
"""acme-typed: a scheme whose generator faces two critics of different widths, with the
networks, data, tracker and executor it needs, each typed against ganbench's contracts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from ganbench import Option, hookimpl
from ganbench.api.contracts import (
    RegisterDataset,
    RegisterDiscriminator,
    RegisterExecutor,
    RegisterGenerator,
    RegisterScheme,
    RegisterTracker,
    RunView,
    Scheme,
    ScoreView,
    Settings,
)
from ganbench.api.data import Batch, DeviceData, DomainData, ImageSet
from ganbench.api.parts import Parts
from ganbench.api.scheme import frozen, update
from ganbench.executors.base import Executor, Unit, run_unit

SEEN: list[str] = []  # what the tracker and the executor were told, in order


class Maker(nn.Module):
    """Noise to images in [-1, 1] through one linear layer."""

    def __init__(self, cfg: Settings) -> None:
        super().__init__()
        self.shape = (cfg.channels, cfg.res, cfg.res)
        self.net = nn.Linear(cfg.z_dim, cfg.channels * cfg.res * cfg.res)

    def forward(self, z: Tensor, cond: Tensor | None = None) -> Tensor:
        return torch.tanh(self.net(z)).view(-1, *self.shape)


class Critic(nn.Module):
    """One logit per image from `critic_width` hidden units."""

    def __init__(self, cfg: Settings) -> None:
        super().__init__()
        size, width = cfg.channels * cfg.res * cfg.res, cfg.critic_width
        self.net = nn.Sequential(
            nn.Flatten(), nn.Linear(size, width), nn.ReLU(), nn.Linear(width, 1), nn.Flatten(0)
        )

    def forward(self, x: Tensor, cond: Tensor | None = None) -> Tensor:
        logits: Tensor = self.net(x)
        return logits


def stripes(cfg: Settings) -> ImageSet:
    images = torch.zeros(16, 1, cfg.res, cfg.res, dtype=torch.uint8)
    images[:, :, ::2] = 255
    return ImageSet(images, description="stripes")


class TwoCritics(Scheme):
    """G against a critic and one twice as wide, both from the run's discriminator."""

    networks = {"g": "generator", "d": "discriminator", "d_wide": "discriminator"}

    def network_settings(self, name: str, cfg: Settings) -> Settings:
        if name != "d_wide":
            return cfg
        return Settings(**{**vars(cfg), "critic_width": 2 * cfg.critic_width})

    def prepare(self, data: DeviceData | DomainData, cfg: Settings, seed: int) -> None:
        self.batch = cfg.batch

    def step(self, parts: Parts, batch: Batch) -> dict[str, Tensor]:
        loss, critics = parts.loss, (parts.d, parts.d_wide)
        fake: Tensor = parts.g(parts.noise(self.batch))
        d_loss = loss.d_loss(critics[0](batch.real), critics[0](fake.detach()))
        d_loss = d_loss + loss.d_loss(critics[1](batch.real), critics[1](fake.detach()))
        update(d_loss, parts.opts["d"], parts.opts["d_wide"])
        with frozen(*critics):
            g_loss = loss.g_loss(critics[0](fake)) + loss.g_loss(critics[1](fake))
        update(g_loss, parts.opts["g"])
        return {"d": d_loss.detach(), "g": g_loss.detach()}


class Recorder:
    """A tracker: the events of the run it was built for, as words in SEEN."""

    def __init__(self, run: RunView) -> None:
        SEEN.append(f"built for {run.config.components['scheme']} seed {run.seed}")

    @hookimpl
    def on_losses(self, step: int, losses: dict[str, float]) -> None:
        SEEN.append(f"losses {step} {','.join(sorted(losses))}")

    @hookimpl
    def on_scores(self, step: int, scores: list[ScoreView]) -> None:
        SEEN.append(f"scores {step} {len(scores)}")

    @hookimpl
    def on_checkpoint(self, step: int, path: Path) -> None:
        SEEN.append(f"checkpoint {step} {path.name}")

    @hookimpl
    def on_run_ended(self, status: str, steps_done: int) -> None:
        SEEN.append(f"ended {status} {steps_done}")


class OneByOne(Executor):
    """Each unit in turn in this process, saying so."""

    summary = ", one by one (acme)"

    def __init__(self, acme_greeting: str) -> None:
        self.greeting = acme_greeting

    def run(self, units: Sequence[Unit], say: Callable[[str], None]) -> list[str]:
        statuses = []
        for unit in units:
            SEEN.append(f"{self.greeting} seed {unit.seed}")
            run_id, status = run_unit(unit)
            say(f"run {run_id}: {status}")
            statuses.append(status)
        return statuses


@hookimpl
def register_generators(register: RegisterGenerator) -> None:
    register("acme_maker", Maker, help="noise to images through one linear layer")


@hookimpl
def register_discriminators(register: RegisterDiscriminator) -> None:
    width = Option(int, 8, "the critic's hidden units (the wide one has twice as many)")
    register("acme_critic", Critic, help="a two-layer critic", options={"critic_width": width})


@hookimpl
def register_datasets(register: RegisterDataset) -> None:
    register("acme_stripes", stripes, help="16 striped images", channels=1, classes=None)


@hookimpl
def register_schemes(register: RegisterScheme) -> None:
    register(
        "acme_two_critics",
        lambda cfg: TwoCritics(),
        help="G against two critics",
        defaults={"generator": "acme_maker", "discriminator": "acme_critic"},
    )


@hookimpl
def register_trackers(register: RegisterTracker) -> None:
    register("acme_recorder", Recorder, help="keeps the events it sees")


@hookimpl
def register_executors(register: RegisterExecutor) -> None:
    register(
        "acme_one_by_one",
        lambda settings: OneByOne(**settings),
        help="each run in turn here",
        options={"acme_greeting": Option(str, "hello", "what it says before each run")},
    )
'''


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    """acme-typed's source in a site folder, with the metadata pip would write."""
    site = tmp_path_factory.mktemp("site")
    (site / "acme_typed").mkdir()
    (site / "acme_typed" / "__init__.py").write_text(textwrap.dedent(PACKAGE).lstrip())
    (site / "acme_typed" / "py.typed").write_text("")
    info = site / "acme_typed-0.2.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-typed\nVersion: 0.2.0\n")
    (info / "entry_points.txt").write_text("[ganbench]\nacme_typed = acme_typed\n")
    return site


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is a test extra")
def test_the_package_type_checks_strictly_against_the_contracts(package):
    # ganbench is installed editable (an import hook mypy cannot follow): its source is given
    # on MYPYPATH, its own errors left to `make check`; the cache keeps later runs fast
    cache = ROOT / ".mypy_cache" / "third_party_typed"
    found = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent"]
        + ["--cache-dir", str(cache), "--no-error-summary", str(package / "acme_typed")],
        cwd=package,
        env={**os.environ, "MYPYPATH": str(ROOT)},
        capture_output=True,
        text=True,
    )
    assert found.returncode == 0, found.stdout + found.stderr


@pytest.fixture
def installed(package, monkeypatch):
    monkeypatch.syspath_prepend(str(package))
    plugins.rescan()
    yield sys.modules["acme_typed"]
    plugins.unregister(plugins.pm.get_plugin("acme_typed"))
    del sys.modules["acme_typed"]


def test_it_trains_three_networks_observed_by_its_tracker_through_its_executor(
    installed, invoke, db
):
    result = invoke(
        "run",
        "plugins=acme_two_critics,acme_stripes",
        "trackers=acme_recorder",
        "res=8",
        "batch=4",
        "z_dim=4",
        "metrics=",
        "log_every=2",
        "ckpt_every=2",
        "--steps",
        "4",
        "--executor",
        "acme_one_by_one",
        "--acme-greeting",
        "hi",
    )
    assert result.exit_code == 0, result.output
    pixels = 1 * 8 * 8
    assert dict(query(db, "select name, params from networks order by name")) == {
        "g": 4 * pixels + pixels,
        "d": pixels * 8 + 8 + 8 + 1,
        "d_wide": pixels * 16 + 16 + 16 + 1,
    }
    ((config, env),) = query(db, "select config, environment from runs")
    assert json.loads(config)["components"]["generator"] == "acme_maker"
    assert json.loads(env)["plugins"]["scheme:acme_two_critics"]["package"] == "acme-typed"
    assert installed.SEEN == [
        "hi seed 0",
        "built for acme_two_critics seed 0",
        "losses 2 d,g",
        "checkpoint 2 last.pt",
        "losses 4 d,g",
        "checkpoint 4 last.pt",
        "ended completed 4",
    ]
