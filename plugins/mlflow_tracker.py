"""`trackers=mlflow`: each run as an MLflow run (the experiment is the study's name, or
`ganbench`) with its resolved config as params, losses and scores as metrics and sample
panels as artifacts, at any tracking URI: MLflow's own `MLFLOW_TRACKING_URI`. A resumed run
goes on in the MLflow run it started. Needs the `mlflow` extra."""

import time

from ganbench import hookimpl
from ganbench.api.tracking import flat_config

STATUS = {
    "completed": "FINISHED",
    "diverged": "FAILED",
    "failed": "FAILED",
    "interrupted": "KILLED",
}
KEY = "ganbench.run"  # the tag that finds a run's MLflow run again


class MLflow:
    """One ganbench run's MLflow run."""

    def __init__(self, run):
        from mlflow.tracking import MlflowClient  # only when a run asks for it

        self.client = MlflowClient()
        self.id = self._mlflow_run(run)

    def _mlflow_run(self, run):
        name = run.study or "ganbench"
        experiment = self.client.get_experiment_by_name(name)
        experiment_id = (
            experiment.experiment_id if experiment else self.client.create_experiment(name)
        )
        found = self.client.search_runs(
            [experiment_id], filter_string=f"tags.`{KEY}` = '{run.uid}'"
        )
        if found:
            return found[0].info.run_id
        tags = {KEY: run.uid, "ganbench.label": run.label, "ganbench.seed": str(run.seed)}
        return self.client.create_run(
            experiment_id, run_name=f"{run.id} {run.label}", tags=tags
        ).info.run_id

    @hookimpl
    def on_run_started(self, run):
        from mlflow.entities import Param

        self.client.update_run(self.id, status="RUNNING")
        logged = self.client.get_run(self.id).data.params
        values = {key: str(value)[:6000] for key, value in flat_config(run).items()}
        self.client.log_batch(
            self.id, params=[Param(k, v) for k, v in values.items() if k not in logged]
        )
        for (
            key,
            value,
        ) in values.items():  # MLflow's params never change: an extended run's new target is a tag
            if key in logged and logged[key] != value:
                self.client.set_tag(self.id, f"ganbench.{key}", value)

    def _log(self, step, values):
        from mlflow.entities import Metric

        stamp = int(time.time() * 1000)
        self.client.log_batch(
            self.id, metrics=[Metric(name, value, stamp, step) for name, value in values.items()]
        )

    @hookimpl
    def on_losses(self, step, losses, steps_per_s):
        self._log(step, {**losses, "steps_per_s": steps_per_s})

    @hookimpl
    def on_scores(self, step, scores):
        self._log(step, {score.name: score.value for score in scores})

    @hookimpl
    def on_samples(self, path):
        self.client.log_artifact(self.id, str(path), "samples")

    @hookimpl
    def on_run_ended(self, status, error):
        if error:
            self.client.set_tag(self.id, "ganbench.error", error.splitlines()[0][:5000])
        self.client.set_terminated(self.id, STATUS.get(status, "FAILED"))


def check():
    """Before a run is recorded: MLflow answers at its tracking URI."""
    from mlflow.tracking import MlflowClient

    from ganbench.errors import GanbenchError

    try:
        MlflowClient().search_experiments(max_results=1)
    except Exception as e:  # noqa: BLE001 - whatever MLflow raises for its store
        said = " ".join(str(e).split())[:300]
        raise GanbenchError(
            f"tracker 'mlflow' cannot start ({type(e).__name__}: {said}); point "
            f"MLFLOW_TRACKING_URI at a server or database it can use, or drop trackers=mlflow"
        ) from None


@hookimpl
def register_trackers(register):
    register(
        "mlflow",
        MLflow,
        needs="mlflow",
        extra="mlflow",
        check=check,
        help="MLflow params, metrics and sample artifacts at $MLFLOW_TRACKING_URI",
    )
