"""schedule=, decay_from=, warmup=: learning-rate schedules for every network, which CycleGAN
and U-GAT-IT use for their own decay; and a loss whose G step sees D's real logits (ragan)."""

import math

import pytest
import torch
from conftest import SMALL, TINY, query
from test_translation import TINY_CYCLE, CheckpointRates

from ganbench import Loss, hookimpl
from ganbench.api.schedule import Schedule
from ganbench_plugins.losses import RelativisticAverage


def test_schedule_factors_by_hand():
    assert [Schedule(8).factor(s) for s in (0, 7)] == [1.0, 1.0]
    assert [Schedule(8, decay_from=4).factor(s) for s in (3, 4, 6, 8)] == [1.0, 1.0, 0.5, 0.0]
    assert [Schedule(8, warmup=4).factor(s) for s in (0, 1, 3, 5)] == [0.25, 0.5, 1.0, 1.0]
    assert Schedule(8, decay_from=0, warmup=2).factor(0) == pytest.approx(0.5 * 1.0)


def test_a_linear_schedule_with_warm_up_sets_both_rates(invoke, db, observe):
    rates = observe(CheckpointRates())
    args = [
        *TINY,
        "trackers=observer",
        "g_lr=0.001",
        "schedule=linear",
        "decay_from=4",
        "warmup=2",
        "--steps",
        "8",
    ]
    assert invoke("run", *args).exit_code == 0
    assert rates.seen == pytest.approx([0.001, 0.001, 0.0005, 0.0])  # checkpoints at 2, 4, 6, 8
    opts = torch.load(next((db_dir(db)).glob("**/last.pt")))["opts"]
    assert (
        opts["d"]["param_groups"][0]["initial_lr"] == 0.0002
        and opts["d"]["param_groups"][0]["lr"] == 0.0
    )


def db_dir(db):
    from pathlib import Path

    return Path(db.removeprefix("sqlite:///")).parent


def test_a_schedule_at_its_defaults_keeps_a_config_in_its_group(invoke, db):
    assert invoke("run", *TINY, "--steps", "2").exit_code == 0
    assert invoke("run", *TINY, "--steps", "2", "schedule=constant", "warmup=0").exit_code == 0
    assert invoke("run", *TINY, "--steps", "2", "warmup=1").exit_code == 0
    hashes = [h for (h,) in query(db, "select config_hash from runs order by id")]
    assert hashes[0] == hashes[1] != hashes[2]


def test_cyclegan_takes_the_core_schedule_when_one_is_named(invoke, db, observe):
    rates = observe(CheckpointRates())
    args = [
        *TINY_CYCLE,
        "metrics=",
        "trackers=observer",
        "g_lr=0.001",
        "schedule=linear",
        "decay_from=6",
        "--steps",
        "8",
    ]
    assert invoke("run", *args).exit_code == 0
    assert rates.seen == pytest.approx([0.001, 0.001, 0.001, 0.0])


def test_a_plain_loss_object_is_wrapped_with_the_defaults_and_keeps_its_own_attributes():
    from ganbench.api.loss import as_loss

    class Plain:
        margin = 2.0

        def d_loss(self, real, fake):
            return real.mean()

        def g_loss(self, fake):
            return fake.mean()

    loss = as_loss(Plain())
    assert (loss.sees_real, loss.uses_step, loss.critic_steps, loss.mismatch_loss) == (
        False,
        False,
        1,
        None,
    )
    assert loss.penalty(None, None, None) is None and loss.margin == 2.0
    assert loss.g_loss(torch.tensor([1.0, 3.0])).item() == 2.0


def test_ragan_by_hand():
    real, fake = torch.tensor([2.0, 0.0]), torch.tensor([-1.0, 1.0])  # means 1 and 0

    def sp(x):
        return math.log1p(math.exp(x))

    loss = RelativisticAverage()
    d = ((sp(-2) + sp(0)) / 2 + (sp(-1 - 1) + sp(1 - 1)) / 2) / 2
    g = ((sp(-(-1 - 1)) + sp(-(1 - 1))) / 2 + (sp(2) + sp(0)) / 2) / 2
    assert loss.d_loss(real, fake).item() == pytest.approx(d)
    assert loss.g_loss(fake, real=real).item() == pytest.approx(g)


class Watching(Loss):
    """Records what G's step hands a loss that declares sees_real."""

    sees_real, seen = True, []

    def d_loss(self, real, fake):
        return RelativisticAverage().d_loss(real, fake)

    def g_loss(self, fake, real=None):
        Watching.seen.append((real.shape, real.requires_grad))
        return RelativisticAverage().g_loss(fake, real)

    @staticmethod
    @hookimpl
    def register_losses(register):
        register("watching", lambda cfg: Watching())


def test_g_step_hands_a_relativistic_loss_the_real_batch_logits(invoke, register_plugin):
    register_plugin(Watching, name="watching")
    Watching.seen = []
    assert invoke("run", *TINY, "plugins=watching", "--steps", "2").exit_code == 0
    assert (
        Watching.seen == [(torch.Size([4]), False)] * 2
    )  # batch 4, one logit each, no gradient into D


def test_ragan_trains_noise_schemes_and_is_refused_by_translation(invoke, db):
    assert invoke("run", *SMALL, "metrics=", "plugins=ragan", "--steps", "4").exit_code == 0
    losses = query(db, "select name, value from metrics where step = 4 order by name")
    assert [name for name, _ in losses] == ["d_loss", "g_loss"] and all(
        math.isfinite(v) for _, v in losses
    )
    cycle = [a if a.startswith("plugins=") is False else a + ",ragan" for a in TINY_CYCLE]
    refused = invoke("run", *cycle, "metrics=", "--steps", "2")
    assert (
        refused.exit_code == 2 and "does not fit it: choose lsgan, bce or hinge" in refused.output
    )


def test_extending_a_run_whose_rates_decay_towards_its_target_warns(invoke, db):
    from ganbench.errors import GanbenchWarning

    assert invoke("run", *TINY_CYCLE, "metrics=", "--steps", "2").exit_code == 0
    with pytest.warns(
        GanbenchWarning, match="decay towards its target: from here they follow the 4-step schedule"
    ):
        assert invoke("run", "--resume", "1", "--steps", "4").exit_code == 0
