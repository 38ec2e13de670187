"""`trackers=tensorboard`: each run's losses and scores as scalars, its sample panels as
images and its resolved config as hparams, in event files in the run's folder
(`tensorboard --logdir results/runs`). Needs the `tensorboard` extra."""

from ganbench import hookimpl
from ganbench.api.tracking import flat_config, last_values


class TensorBoard:
    """One run's event files, under <run folder>/tensorboard."""

    def __init__(self, run):
        from torch.utils.tensorboard import SummaryWriter  # only when a run asks for it

        # A resume purges the points past its checkpoint, which it logs again, as the store does;
        # TensorBoard purges from purge_step on, and the checkpoint's own step stays.
        purge = run.first_step + 1 if run.first_step else None
        writer = SummaryWriter(str(run.dir / "tensorboard"), purge_step=purge)
        self.run, self.writer, self.latest = run, writer, {}

    @hookimpl
    def on_losses(self, step, losses, steps_per_s):
        for name, value in losses.items():
            self.writer.add_scalar(f"loss/{name}", value, step)
        self.writer.add_scalar("speed/steps_per_s", steps_per_s, step)
        self.latest.update(last_values(losses, "loss/"))

    @hookimpl
    def on_scores(self, step, scores):
        for score in scores:
            self.writer.add_scalar(f"score/{score.name}", score.value, step)
        self.latest.update(last_values({score.name: score.value for score in scores}, "score/"))

    @hookimpl
    def on_samples(self, step, panel):
        from torchvision.utils import make_grid

        grid = make_grid(
            panel.images.float().cpu(), nrow=panel.nrow, normalize=True, value_range=(-1, 1)
        )
        self.writer.add_image("samples", grid, step)

    @hookimpl
    def on_run_ended(self, status):
        # Last, so the dashboard pairs the config with the final values; in a folder of its own,
        # as those values are written again as scalars at step 0.
        hparams = {**flat_config(self.run), "status": status}
        self.writer.add_hparams(hparams, self.latest or {"loss/none": 0.0}, run_name="hparams")
        self.writer.close()


@hookimpl
def register_trackers(register):
    register(
        "tensorboard",
        TensorBoard,
        needs="tensorboard",
        extra="tensorboard",
        help="TensorBoard event files in the run's folder: scalars, sample grids, hparams",
    )
