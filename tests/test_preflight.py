"""Bad input found once the run is built and before it is recorded: a stop rule that names
neither a score nor a loss of the run leaves no `failed` row (issue 22, item 8)."""

import pytest
from conftest import SMALL, TINY, query

SCORED = ["metrics=mnist_fd", "eval_real=20", "eval_fake=20"]
CYCLE = ["plugins=cyclegan,digit_styles", "res=16", "ngf=4", "ndf=4", "n_blocks=1", "n_layers=2"]


@pytest.mark.parametrize(
    "given, named",
    [
        ([*TINY, "stop_on=nosuch"], "stop_on=nosuch"),
        ([*SMALL, *SCORED, "stop_on=fid"], "stop_on=fid"),
        (
            [
                *CYCLE,
                "batch=2",
                "metrics=mnist_fd",
                "eval_real=20",
                "eval_fake=20",
                "stop_on=mnist_fd",
            ],
            "stop_on=mnist_fd",
        ),
    ],
    ids=["unknown", "metric-off", "cyclegan-direction"],
)
def test_a_stop_rule_naming_nothing_of_the_run_is_refused_before_it_is_recorded(
    invoke, db, given, named
):
    result = invoke("run", *given, "--steps", "4")
    assert result.exit_code == 2 and "Traceback" not in result.output
    (line,) = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert named in line and "choose one of those" in line
    assert query(db, "select count(*) from runs") == [(0,)]


def test_the_probe_of_a_stop_rule_on_a_loss_leaves_the_run_as_it_would_train(invoke, db):
    """The losses are found by a step on copies, with the random states put back: a run
    whose rule names a loss trains exactly as one without a rule."""
    assert invoke("run", *TINY, "--steps", "6").exit_code == 0
    ruled = invoke("run", *TINY, "--steps", "6", "stop_on=d_loss", "stop_patience=1000")
    assert ruled.exit_code == 0, ruled.output
    losses = "select step, name, value from metrics where run_id = ? order by step, name"
    assert query(db, losses, 1) == query(db, losses, 2) and len(query(db, losses, 1)) == 6
