"""Two groups with one label (a reused --name, a run extended to more steps) keep two names
everywhere: the table, the figures, the sample files, --group and the runs list."""

import json

import pandas as pd

from ganbench.results.frames import with_groups
from ganbench.results.plots import figures
from ganbench.results.report import load_frames
from ganbench.store.sql import Store

RUN = [
    "run",
    "res=16",
    "batch=4",
    "filters=0.0625",
    "metrics=mnist_fd",
    "eval_real=40",
    "eval_fake=40",
    "eval_every=2",
    "sample_every=2",
    "log_every=2",
    "--name",
    "base",
]


def _groups(invoke, *args):
    result = invoke("report", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return [(row["group"], row["run_ids"]) for row in json.loads(result.stdout)], result.stderr


def test_groups_sharing_a_label_are_named_apart_everywhere(invoke, db, workdir):
    for seed in ("0", "1"):
        assert invoke(*RUN, "--steps", "4", "--seed", seed).exit_code == 0
    assert invoke("run", "--resume", "1", "--steps", "6").exit_code == 0  # run 1: a new group
    groups, note = _groups(invoke)
    assert groups == [("base", "1"), ("base #2", "2")]  # the group seen first keeps the label
    assert "'base' (steps=6), 'base #2' (steps=4)" in note and len(note.splitlines()) == 1
    assert _groups(invoke, "--group", "base #2")[0] == [("base #2", "2")]
    assert _groups(invoke, "--group", "base")[0] == [("base", "1")]
    assert invoke("report", "--plots", "plots", "--format", "csv").exit_code == 0
    for stem in ("base", "base_2"):
        assert {f"{stem}-{kind}.png" for kind in ("grid", "progress", "diversity")} <= {
            p.name for p in (workdir / "plots").iterdir()
        }
    lines = figures(*load_frames(Store(db, write=False)))["mnist_fd"].axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["base", "base #2"]
    assert "base #2" in invoke("runs", "list").output


def _runs(*groups):
    """A frame of runs by hand: (id, config hash, label) each."""
    return pd.DataFrame(groups, columns=["id", "config_hash", "label"])


def test_a_later_run_never_renames_an_earlier_group():
    runs = _runs((1, "a", "x"), (2, "b", "x"), (3, "c", "x #2"))
    named = dict(zip(with_groups(runs)["id"], with_groups(runs)["group"]))
    assert named == {1: "x", 2: "x #2", 3: "x #2 #2"}  # a name is never given twice
    more = pd.concat([runs, _runs((4, "d", "x"), (5, "b", "x"))])
    again = dict(zip(with_groups(more)["id"], with_groups(more)["group"]))
    assert {i: again[i] for i in named} == named and again[4] == "x #3" and again[5] == "x #2"
