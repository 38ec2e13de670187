"""The stop rule (report 001's wish): which values count as improving, the run it ends
(completed, at the step it says, with the reason recorded and reported), the same stop after
a resume, a name that is not recorded, and configs without the rule keeping their groups."""

import pytest
import torch
from conftest import TINY, interrupting, query, run_dir

from ganbench import hookimpl
from ganbench.config.spec import RunConfig
from ganbench.engine.early_stop import Plateau, replay
from ganbench_plugins.alternating import Alternating


def _fed(rule, values):
    """Feed (step, value) pairs; the step the rule first says stop at, or None."""
    for step, value in values:
        if rule.see(step, value):
            return step
    return None


def test_a_lower_loss_within_the_tolerance_is_no_improvement():
    rule = Plateau("g_loss", patience=300, tolerance=0.1)
    assert _fed(rule, [(100, 5.0), (200, 4.95), (300, 4.91), (400, 4.92)]) == 400
    assert rule.best == 5.0 and rule.best_step == 100 and rule.at == 400
    assert (
        "g_loss did not beat its best (5 at step 100) by more than 0.1 in 300 steps" in rule.reason
    )


def test_each_real_improvement_restarts_the_patience():
    rule = Plateau("g_loss", patience=200, tolerance=0.0)
    assert (
        _fed(rule, [(100, 5.0), (200, 4.0), (300, 4.5), (400, 3.0), (500, 3.0), (600, 3.5)]) == 600
    )
    assert rule.best_step == 400


def test_a_score_that_should_rise_uses_its_direction():
    rule = Plateau("is", patience=2, tolerance=0.0, way="max")
    assert _fed(rule, [(1, 2.0), (2, 1.0), (3, 2.5), (4, 2.4)]) is None
    assert rule.best == 2.5
    assert _fed(rule, [(5, 2.5)]) == 5


def test_non_finite_values_never_improve_but_count_towards_the_patience():
    rule = Plateau("fid", patience=2, tolerance=0.0)
    assert _fed(rule, [(1, float("nan")), (2, 10.0), (3, float("inf")), (4, 9.0)]) is None
    assert rule.best == 9.0 and rule.best_step == 4
    assert (
        _fed(rule, [(5, float("nan")), (6, float("nan"))]) == 6
    )  # a collapsed run's NaN FID ends it


def test_replay_takes_recorded_rows_in_step_order():
    rows = [
        (1, 4, "g_loss", 1.0, None),
        (1, 2, "g_loss", 1.0, None),
        (1, 5, "d_loss", 0.0, None),
        (1, 6, "g_loss", 1.5, None),
    ]
    rule = replay(Plateau("g_loss", patience=4, tolerance=0.0), rows)
    assert rule.best == 1.0 and rule.best_step == 2 and rule.at == 6


class Flat(interrupting(Alternating)):
    """Alternating that also reports a loss that never changes, and can be interrupted."""

    def step(self, parts, batch):
        return {**super().step(parts, batch), "flat": torch.ones(())}

    @staticmethod
    @hookimpl
    def register_schemes(register):
        register("flat", lambda cfg: Flat())


RULE = ["plugins=flat", *TINY, "stop_on=flat", "stop_patience=4", "--steps", "20", "--seed", "3"]


def test_the_rule_ends_the_run_completed_at_its_step_with_the_reason(invoke, db, register_plugin):
    register_plugin(Flat, name="flat")
    result = invoke("run", *RULE)
    assert result.exit_code == 0, result.output
    # the flat loss is logged at 2, 4, 6: its best stays the first, and 6 - 2 reaches the patience
    assert query(db, "select status, steps_done, target_steps from runs") == [("completed", 6, 20)]
    [(step, reason)] = query(db, "select step, reason from early_stops")
    assert step == 6 and "flat did not beat its best (1 at step 2)" in reason
    assert (
        torch.load(run_dir(db, 1) / "last.pt", weights_only=False)["step"] == 6
    )  # the last step's checkpoint
    assert max(s for (s,) in query(db, "select step from metrics")) == 6
    table = invoke("report", "--format", "csv").output.splitlines()
    header, row = table[0].split(","), table[1].split(",")
    assert row[header.index("stopped_at")] == "6"
    report = invoke("report").output
    assert "stopped early, flat" in report and "run 1: flat did not beat its best" in report


def test_a_resumed_run_stops_where_the_whole_run_would(invoke, db, register_plugin):
    register_plugin(Flat, name="flat")
    Flat.arm(5)  # interrupted inside step 5: the checkpoint at step 4 is where it resumes
    assert invoke("run", *RULE).exit_code == 130
    assert query(db, "select status, steps_done from runs") == [("interrupted", 4)]
    assert query(db, "select count(*) from early_stops") == [(0,)]
    result = invoke("run", "--resume", "1")
    assert result.exit_code == 0, result.output
    assert query(db, "select status, steps_done from runs") == [("completed", 6)]
    assert query(db, "select step from early_stops") == [(6,)]


def test_a_stop_on_that_the_run_does_not_record_lists_what_it_does(invoke, register_plugin):
    register_plugin(Flat, name="flat")
    result = invoke("run", "plugins=flat", *TINY, "stop_on=flatt", "--steps", "4")
    assert result.exit_code == 2
    assert "stop_on=flatt is neither a loss this run records (" in result.output
    assert "flat" in result.output and "Traceback" not in result.output


def test_configs_without_the_rule_keep_the_hash_they_had_before_it_existed():
    before = RunConfig(
        ("dcgan",),
        {"generator": "dcgan", "modifier": []},
        {"res": 32, "steps": 10},
        training_keys=("res", "steps"),
    )
    now = RunConfig(
        ("dcgan",),
        {"generator": "dcgan", "modifier": []},
        {"res": 32, "steps": 10, "stop_on": "", "stop_patience": 5000, "stop_tolerance": 0.0},
        training_keys=("res", "steps", "stop_on", "stop_patience", "stop_tolerance"),
    )
    assert now.hash() == before.hash()
    ruled = RunConfig(
        now.plugins,
        now.components,
        {**now.options, "stop_on": "g_loss"},
        training_keys=now.training_keys,
    )
    assert ruled.hash() != before.hash()


def _config(**options):
    keys = ("res", "log_every", "stop_on", "stop_patience", "stop_tolerance")
    base = {
        "res": 32,
        "log_every": 100,
        "stop_on": "",
        "stop_patience": 5000,
        "stop_tolerance": 0.0,
    }
    return RunConfig(
        ("dcgan",), {"generator": "dcgan", "modifier": []}, {**base, **options}, training_keys=keys
    )


def test_with_the_rule_on_when_it_looks_shapes_the_group_and_without_it_nothing_of_it_does():
    assert (
        _config(stop_patience=10).hash() == _config().hash()
    )  # no stop_on: the patience does nothing
    assert _config(log_every=10).hash() == _config().hash()
    ruled = _config(stop_on="g_loss")
    assert (
        _config(stop_on="g_loss", log_every=10).hash() != ruled.hash()
    )  # the rule sees other values
    assert _config(stop_on="g_loss", stop_patience=10).hash() != ruled.hash()


@pytest.mark.parametrize(
    "bad, words", [("stop_patience=0", "stop_patience"), ("stop_tolerance=-1", "stop_tolerance")]
)
def test_bad_rule_settings_are_refused_before_anything_runs(invoke, db, bad, words):
    result = invoke("run", *TINY, "stop_on=g_loss", bad, "--steps", "2")
    assert result.exit_code == 2 and words in result.output
    assert "Traceback" not in result.output


def test_a_rule_that_fires_at_the_last_step_stopped_nothing(invoke, db, register_plugin):
    register_plugin(Flat, name="flat")
    steps = RULE.index("--steps") + 1
    result = invoke("run", *RULE[:steps], "6", *RULE[steps + 1 :])
    assert result.exit_code == 0, result.output
    assert query(db, "select status, steps_done from runs") == [("completed", 6)]
    assert query(db, "select count(*) from early_stops") == [(0,)]


def test_a_run_its_rule_ended_is_not_extended_even_when_it_fired_at_the_last_step(
    invoke, db, register_plugin
):
    register_plugin(Flat, name="flat")
    early = [a if a != "20" else "10" for a in RULE]  # fires at 6, before the target
    at_last = [
        a if a != "20" else "6" for a in RULE
    ]  # fires at 6, the last step: no early stop is recorded
    assert invoke("run", *early).exit_code == 0 and invoke("run", *at_last).exit_code == 0
    assert query(db, "select run_id from early_stops") == [(1,)]
    for run_id in (1, 2):
        refused = invoke("run", "--resume", str(run_id), "--steps", "30")
        assert (
            refused.exit_code == 2 and "was ended by its stop rule (stop_on=flat)" in refused.output
        )
    assert query(db, "select target_steps from runs order by id") == [(10,), (6,)]
