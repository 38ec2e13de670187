"""Bad input found once the run is built and before it is recorded: a stop rule naming
neither a score of the run nor a loss its scheme declares leaves no `failed` row (issue 22,
item 8)."""

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
    assert named in line and ("add it to metrics=" in line or "choose one of those" in line)
    assert query(db, "select count(*) from runs") == [(0,)]


def test_a_scheme_whose_step_returns_other_losses_than_it_declares_stops_the_run(
    invoke, register_plugin
):
    from conftest import SignalAt

    from ganbench import hookimpl

    class Declares:
        @hookimpl
        def register_schemes(self, register):
            register("declares", lambda cfg: SignalAt(), losses=("d_loss", "g_loss", "extra"))

    register_plugin(Declares(), name="declares")
    result = invoke("run", *TINY, "plugins=declares", "--steps", "2")
    assert result.exit_code == 2
    assert "registered with losses=('d_loss', 'g_loss', 'extra')" in result.output
