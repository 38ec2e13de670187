"""Failed, interrupted and diverged runs keep what was written and say what happened."""

import math
import signal

import torch
from conftest import TINY, SignalAt, query, run_dir, sign

from ganbench import hookimpl
from ganbench_plugins.alternating import Alternating
from ganbench_plugins.bce import NonSaturatingBCE


class Trouble:
    """A scheme that misbehaves at a chosen step, and a loss that turns NaN."""

    def __init__(self, at, error):
        self.at, self.error = at, error

    @hookimpl
    def register_schemes(self, register):
        register("trouble", lambda cfg: TroubleScheme(self.at, self.error))

    @hookimpl
    def register_losses(self, register):
        register("nan_loss", lambda cfg: NanAfter(self.at))


class TroubleScheme(Alternating):
    def __init__(self, at, error):
        self.at, self.error, self.calls = at, error, 0

    def step(self, parts, batch):
        self.calls += 1
        if self.calls == self.at:
            raise self.error
        return super().step(parts, batch)


class NanAfter(NonSaturatingBCE):
    def __init__(self, at):
        super().__init__()
        self.at, self.calls = at, 0

    def d_loss(self, real, fake):
        self.calls += 1
        loss = super().d_loss(real, fake)
        return loss * math.nan if self.calls >= self.at else loss


def _statuses(db, run_id):
    return query(db, "select status, steps_done, error from runs where id = ?", run_id)[0]


def test_a_run_that_raises_is_failed_with_its_error(invoke, db, register_plugin):
    register_plugin(Trouble(at=4, error=RuntimeError("boom in step 4")))
    result = invoke("run", "plugins=trouble", *TINY, "--steps", "6")
    assert result.exit_code == 1
    assert (
        result.output.strip().splitlines()[-1]
        == "Error: RuntimeError: boom in step 4 (--debug shows the traceback)"
    )
    status, done, error = _statuses(db, 1)
    assert (status, done) == ("failed", 2)  # where a resume starts: the checkpoint at step 2
    assert "RuntimeError: boom in step 4" in error and "Traceback" in error
    assert query(db, "select step from metrics where run_id = 1 and name = 'd_loss'") == [(2,)]


def test_ctrl_c_marks_the_run_interrupted_and_keeps_its_metrics(invoke, db, register_plugin):
    register_plugin(Trouble(at=6, error=KeyboardInterrupt()))
    result = invoke("run", "plugins=trouble", *TINY, "--steps", "10")
    assert result.exit_code == 130
    status, done, error = _statuses(db, 1)
    # raised inside step 6, so the state is not whole: the run resumes from its checkpoint at step 4
    assert (status, done, error) == ("interrupted", 4, "interrupted at step 5; resumes from step 4")
    # logged at 2 and 4; no partial window is written, so a resume logs what an uninterrupted run does
    assert query(db, "select step from metrics where run_id = 1 and name = 'g_loss'") == [
        (2,),
        (4,),
    ]


def test_sigterm_is_handled_like_ctrl_c(invoke, db, register_plugin):
    register_plugin(SignalAt, name="signal_at")
    sign(3, signal.SIGTERM)  # as a cluster's scheduler would, during the third step
    result = invoke("run", "plugins=signal_at", *TINY, "--steps", "10")
    assert result.exit_code == 130
    # the request waits for the step boundary: step 3 finishes and is checkpointed
    assert _statuses(db, 1) == ("interrupted", 3, "interrupted at step 3")
    assert torch.load(run_dir(db, 1) / "last.pt")["step"] == 3


def test_non_finite_losses_mark_the_run_diverged_and_stop_it(invoke, db, register_plugin):
    register_plugin(Trouble(at=3, error=None))
    result = invoke("run", "plugins=nan_loss", *TINY, "--steps", "10")
    assert result.exit_code == 3
    status, done, error = _statuses(db, 1)
    assert (status, done) == ("diverged", 4)
    assert "non-finite loss at step 4" in error
    rows = query(
        db, "select step, value from metrics where run_id = 1 and name = 'd_loss' order by step"
    )
    assert rows[0][0] == 2 and math.isfinite(rows[0][1])
    assert rows[1][0] == 4 and rows[1][1] == "NaN"  # stored faithfully, not as NULL


def test_a_run_whose_training_state_cannot_be_set_up_is_recorded_failed(invoke, db, monkeypatch):
    def broken(*args):
        raise RuntimeError("no room for the schedulers")

    monkeypatch.setattr("ganbench.engine.loop.schedule.attach", broken)
    result = invoke("run", *TINY, "--steps", "2")
    assert result.exit_code == 1 and "no room for the schedulers" in result.output
    assert query(db, "select status, error from runs") == [
        ("failed", "RuntimeError: no room for the schedulers")
    ]
