"""Run events: a plugin's tracker observes the life of the runs that name it, in order; the store is
one observer among others; trackers (TensorBoard, MLflow) log through their real libraries
to a temporary folder; the trackers a run names never split its group."""

import os

import pytest
from conftest import SMALL, TINY, TINY_MODEL, query, query_when_made, run_dir

from ganbench import hookimpl
from ganbench.plugins.manager import EVENTS

SCORED = [
    *SMALL,
    "metrics=mnist_fd",
    "eval_every=2",
    "eval_real=40",
    "eval_fake=40",
    "sample_every=2",
]


class Recorder:
    """A throwaway observer implementing every run event."""

    def __init__(self):
        self.seen = []

    @hookimpl
    def on_run_started(self, run):
        self.seen.append(("started", run.first_step, run.label, run.config.options["steps"]))

    @hookimpl
    def on_losses(self, run, step, losses, train_s, steps_per_s):
        assert train_s > 0 and steps_per_s > 0
        self.seen.append(("losses", step, sorted(losses)))

    @hookimpl
    def on_scores(self, run, step, scores, eval_s):
        self.seen.append(
            ("scores", step, [s.name for s in scores], all(s.protocol for s in scores))
        )

    @hookimpl
    def on_samples(self, run, step, panel, path):
        self.seen.append(("samples", step, path.exists(), tuple(panel.images.shape[1:])))

    @hookimpl
    def on_checkpoint(self, run, step, path):
        self.seen.append(("checkpoint", step, path.name))

    @hookimpl
    def on_run_ended(self, run, status, steps_done, error, train_s, eval_s, stop):
        self.seen.append(("ended", status, steps_done, error, stop))


def test_a_plugin_sees_every_event_of_a_run_in_order(invoke, db, observe):
    recorder = observe(Recorder())
    assert invoke("run", *SCORED, "--steps", "4", "trackers=observer").exit_code == 0
    kinds = [event[0] for event in recorder.seen]
    assert kinds == ["started"] + ["losses", "scores", "samples", "checkpoint"] * 2 + ["ended"]
    assert recorder.seen[0] == ("started", 0, "defaults res=16 batch=4 filters=0.0625", 4)
    assert recorder.seen[1] == ("losses", 2, ["d_loss", "g_loss"])
    assert recorder.seen[2] == ("scores", 2, ["mnist_fd"], True)
    assert recorder.seen[3] == ("samples", 2, True, (1, 16, 16))
    assert recorder.seen[8] == ("checkpoint", 4, "last.pt")
    assert recorder.seen[-1] == ("ended", "completed", 4, None, None)
    recorded = query(db, "select step, name from metrics order by step, name")
    assert recorded == [
        (2, "d_loss"),
        (2, "g_loss"),
        (2, "mnist_fd"),
        (4, "d_loss"),
        (4, "g_loss"),
        (4, "mnist_fd"),
    ]


def test_an_observer_sees_only_the_runs_that_name_it(invoke, db, observe, register_plugin):
    recorder = observe(Recorder())
    assert invoke("run", *TINY, "--steps", "2").exit_code == 0
    assert recorder.seen == []
    assert invoke("run", *TINY, "--steps", "2", "trackers=observer").exit_code == 0
    assert [event[0] for event in recorder.seen] == [
        "started",
        "losses",
        "samples",
        "checkpoint",
        "ended",
    ]

    class TopLevel:  # event hooks on the plugin itself, not on a tracker: told nothing, and said
        @hookimpl
        def on_losses(self, run, step):
            raise AssertionError("a plugin's own event hook was called")

    register_plugin(TopLevel(), name="top_level")
    with pytest.warns(UserWarning, match="'top_level'.*event hook 'on_losses'.*register_trackers"):
        assert invoke("run", *TINY, "--steps", "2").exit_code == 0


def test_a_checkpoint_that_fails_on_interrupt_still_ends_the_run_interrupted(
    invoke, db, register_plugin, observe
):
    from conftest import SignalAt, sign

    class Broken:
        @hookimpl
        def on_checkpoint(self, step):
            if step == 3:
                raise OSError("disk full")

    register_plugin(SignalAt, name="signal_at")
    observe(Broken())
    sign(3)
    result = invoke("run", *TINY, "plugins=signal_at", "--steps", "6", "trackers=observer")
    assert result.exit_code == 1 and "disk full" in result.output
    assert query(db, "select status, steps_done from runs") == [
        ("interrupted", 3)
    ]  # last.pt was written first


def test_an_extension_that_fails_before_its_first_checkpoint_still_resumes(invoke, db, observe):
    assert invoke("run", *TINY, "--steps", "2", "trackers=observer").exit_code == 0

    class FailsOnce:
        armed = True

        @hookimpl
        def on_run_started(self, run):
            if FailsOnce.armed:
                FailsOnce.armed = False
                raise RuntimeError("tracker down")

    observe(FailsOnce())
    assert invoke("run", "--resume", "1", "--steps", "4").exit_code == 1
    assert query(db, "select status, target_steps from runs") == [("failed", 4)]
    resumed = invoke("run", "--resume", "1")
    assert resumed.exit_code == 0, resumed.output
    assert query(db, "select status, steps_done from runs") == [("completed", 4)]


def test_a_resumed_run_starts_its_events_at_its_checkpoint(invoke, db, observe):
    assert invoke("run", *TINY, "--steps", "2", "trackers=observer").exit_code == 0
    recorder = observe(Recorder())
    assert invoke("run", "--resume", "1", "--steps", "4").exit_code == 0
    assert recorder.seen == [
        ("started", 2, "defaults res=16 batch=4 filters=0.0625", 4),
        ("losses", 4, ["d_loss", "g_loss"]),
        ("samples", 4, True, (1, 16, 16)),
        ("checkpoint", 4, "last.pt"),
        ("ended", "completed", 4, None, None),
    ]


def test_every_event_is_a_spec_and_the_store_records_before_observers_see(invoke, db, observe):
    assert set(EVENTS) <= {name for name in dir(Recorder) if name.startswith("on_")}

    class Peeker:
        @hookimpl(
            tryfirst=True
        )  # registered after the store, and asking to go first: the store still does
        def on_losses(self, run, step):
            Peeker.found = query(
                db, "select count(*), max(steps_done) from runs join metrics on runs.id = run_id"
            )

    observe(Peeker())
    assert invoke("run", *TINY, "--steps", "2", "trackers=observer").exit_code == 0
    assert Peeker.found == [(2, 2)]  # both losses and steps_done were written before the plugin ran


def test_an_observer_that_raises_ends_the_run_failed_and_its_record_stays(invoke, db, observe):
    class Broken:
        @hookimpl
        def on_checkpoint(self, step):
            raise RuntimeError(f"tracker server down at step {step}")

    observe(Broken())
    result = invoke("run", *TINY, "--steps", "4", "trackers=observer")
    assert result.exit_code == 1 and "tracker server down at step 2" in result.output
    status, steps, error = query(db, "select status, steps_done, error from runs")[0]
    assert status == "failed" and steps == 2 and "tracker server down" in error
    assert query(db, "select count(*) from metrics where step = 2") == [(2,)]


def test_trackers_never_split_a_group_and_unknown_ones_are_refused(invoke, db):
    assert invoke("run", *TINY, "--steps", "2").exit_code == 0
    assert invoke("run", *TINY, "--steps", "2", "trackers=tensorboard").exit_code == 0
    assert len({h for (h,) in query(db, "select config_hash from runs")}) == 1
    unknown = invoke("run", *TINY, "--steps", "2", "trackers=wandb")
    assert unknown.exit_code == 2
    assert "unknown tracker 'wandb'" in unknown.output and "mlflow, tensorboard" in unknown.output
    misplaced = invoke("run", *TINY, "plugins=tensorboard")
    assert (
        misplaced.exit_code == 2
        and "is a tracker; choose trackers with trackers=tensorboard" in misplaced.output
    )
    assert query(db, "select count(*) from runs") == [(2,)]


def test_a_tracker_whose_package_is_missing_is_named_before_anything_is_recorded(
    invoke, db, register_plugin
):
    class Needy:
        @staticmethod
        @hookimpl
        def register_trackers(register):
            register("needy", lambda run: None, needs="no_such_package_xyz", extra="needy")

    register_plugin(Needy())
    result = invoke("run", *TINY, "trackers=needy")
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert "tracker 'needy' needs the Python package 'no_such_package_xyz'" in result.output
    assert "pip install 'ganbench[needy]'" in result.output
    assert not os.path.exists(db.removeprefix("sqlite:///"))  # nothing made, nothing recorded


def test_tensorboard_writes_scalars_sample_grids_and_hparams(invoke, db):
    from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer

    assert invoke("run", *SCORED, "--steps", "4", "trackers=tensorboard").exit_code == 0
    logs = EventMultiplexer().AddRunsFromDirectory(str(run_dir(db, 1) / "tensorboard")).Reload()
    tags = {tag for run in logs.Runs() for tag in logs.Runs()[run]["scalars"]}
    assert {"loss/d_loss", "loss/g_loss", "score/mnist_fd", "speed/steps_per_s"} <= tags
    run = next(r for r in logs.Runs() if logs.Runs()[r]["images"])
    assert [e.step for e in logs.Scalars(run, "loss/g_loss")] == [2, 4]
    recorded = query(db, "select value from metrics where name = 'g_loss' order by step")
    assert [e.value for e in logs.Scalars(run, "loss/g_loss")] == pytest.approx(
        [v for (v,) in recorded], rel=1e-6
    )
    assert [e.step for e in logs.Images(run, "samples")] == [2, 4]
    assert _hparams(logs) == {
        "g_lr": 0.0002,
        "res": 16.0,
        "component.scheme": "alternating",
        "status": "completed",
    }


def test_a_resumed_tensorboard_run_keeps_its_checkpoint_steps_points(invoke, db):
    from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer

    args = [*TINY_MODEL, "log_every=3", "ckpt_every=3", "trackers=tensorboard"]
    assert invoke("run", *args, "--steps", "6").exit_code == 0
    assert invoke("run", "--resume", "1", "--steps", "9").exit_code == 0
    logs = EventMultiplexer().AddRunsFromDirectory(str(run_dir(db, 1) / "tensorboard")).Reload()
    run = next(r for r in logs.Runs() if "loss/g_loss" in logs.Runs()[r]["scalars"])
    assert [e.step for e in logs.Scalars(run, "loss/g_loss")] == [3, 6, 9]  # as MLflow has


def _hparams(logs):
    """Some of the hparams the run's config was written with, read back from the hparams plugin's data."""
    from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData

    found = {}
    for tags in logs.PluginRunToTagToContent("hparams").values():
        for content in tags.values():
            start = HParamsPluginData.FromString(content).session_start_info
            for key, value in start.hparams.items():
                found[key] = value.string_value or value.number_value
    return {key: found.get(key) for key in ("g_lr", "res", "component.scheme", "status")}


def test_a_tracker_that_cannot_start_is_refused_before_the_run_is_recorded(
    invoke, db, workdir, monkeypatch
):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", (workdir / "mlruns").as_uri())
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)  # MLflow 3 refuses its file store
    result = invoke("run", *TINY, "--steps", "2", "trackers=mlflow")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert (
        "tracker 'mlflow' cannot start" in result.output and "MLFLOW_TRACKING_URI" in result.output
    )
    assert query_when_made(db, "select count(*) from runs") in (None, [(0,)])  # none recorded


def test_mlflow_logs_params_metrics_and_samples_to_a_file_store(invoke, db, workdir, monkeypatch):
    from mlflow.tracking import MlflowClient

    uri = (workdir / "mlruns").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv(
        "MLFLOW_ALLOW_FILE_STORE", "true"
    )  # MLflow 3 keeps its file store behind this switch
    assert (
        invoke("run", *SCORED, "--steps", "2", "trackers=mlflow", "--name", "tracked").exit_code
        == 0
    )
    assert (
        invoke("run", "--resume", "1", "--steps", "4").exit_code == 0
    )  # goes on in the same MLflow run
    client = MlflowClient(uri)
    (found,) = client.search_runs([client.get_experiment_by_name("ganbench").experiment_id])
    assert found.info.status == "FINISHED" and found.info.run_name == "1 tracked"
    assert found.data.params["g_lr"] == "0.0002" and found.data.params["seed"] == "0"
    assert (
        found.data.params["steps"] == "2" and found.data.tags["ganbench.steps"] == "4"
    )  # extended
    history = client.get_metric_history(found.info.run_id, "g_loss")
    recorded = query(db, "select step, value from metrics where name = 'g_loss' order by step")
    assert [(m.step, m.value) for m in history] == [(s, pytest.approx(v)) for s, v in recorded]
    assert [m.step for m in client.get_metric_history(found.info.run_id, "mnist_fd")] == [2, 4]
    samples = [a.path for a in client.list_artifacts(found.info.run_id, "samples")]
    assert samples == ["samples/step-0000002.png", "samples/step-0000004.png"]
