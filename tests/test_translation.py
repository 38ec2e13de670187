"""Unpaired translation: a scheme that owns four networks (CycleGAN), two-domain data, scores
per direction, translation panels, bit-exact resume, and a plugin's own three-network scheme."""

import json
import math

import pytest
import torch
from conftest import interrupting, query, run_dir
from PIL import Image
from torch import nn

from ganbench import ImageSet, Option, Panel, Scheme, Track, TwoDomains, hookimpl
from ganbench.api.scheme import update
from ganbench.config.defaults import default_components
from ganbench.config.spec import resolve
from ganbench.engine.samples import tile
from ganbench.plugins.manager import registry
from ganbench_plugins.cyclegan import CycleGAN
from ganbench_plugins.inception import KID
from ganbench_plugins.pool import ImagePool
from ganbench_plugins.registrations.cyclegan import SCHEME_OPTIONS

TINY_CYCLE = [
    "plugins=cyclegan,digit_styles",
    "res=16",
    "ngf=4",
    "ndf=4",
    "n_blocks=1",
    "n_layers=2",
    "batch=2",
    "log_every=2",
    "ckpt_every=2",
    "sample_every=2",
]
QUIET = ["metrics="]
SCORED = ["metrics=mnist_fd,mnist_kept", "eval_real=30", "eval_fake=20", "eval_every=2"]
NETWORKS = ("g_ab", "g_ba", "d_a", "d_b")


def _checkpoint(db, run_id):
    return torch.load(run_dir(db, run_id) / "last.pt")


def test_a_cyclegan_run_scores_both_directions_and_records_four_networks(invoke, db, workdir):
    result = invoke("run", *TINY_CYCLE, *SCORED, "--steps", "4")
    assert result.exit_code == 0, result.output
    names = {n for (n,) in query(db, "select distinct name from metrics")}
    assert {"mnist_fd_ab", "mnist_fd_ba", "mnist_kept_ab", "mnist_kept_ba"} <= names
    assert {"g_loss", "d_a_loss", "d_b_loss", "cycle_loss", "identity_loss"} <= names
    counts = dict(query(db, "select name, params from networks where run_id = 1"))
    assert (
        set(counts) == set(NETWORKS)
        and counts["g_ab"] == counts["g_ba"]
        and counts["d_a"] == counts["d_b"]
    )
    assert query(db, "select g_params, d_params from runs") == [(None, None)]
    protocols = [json.loads(d) for (d,) in query(db, "select details from protocols")]
    assert sorted(p["direction"] for p in protocols) == ["A->B", "B->A"]
    assert {p["eval_real"] for p in protocols} == {30} and {p["eval_fake"] for p in protocols} == {
        20
    }
    table = invoke("report", "--format", "csv")
    header = table.output.splitlines()[0].split(",")
    assert {
        "d_a_params",
        "d_b_params",
        "g_ab_params",
        "g_ba_params",
        "min_mnist_fd_ab",
        "max_mnist_kept_ba",
    } <= set(header)
    assert f",{counts['g_ab']}," in table.output.splitlines()[1]


def test_kept_labels_are_the_source_images_labels(invoke, db):
    """mnist_kept reads the translated test digits: a G that returns its input unchanged keeps
    exactly the classifier's accuracy on the source test images."""
    assert invoke("run", *TINY_CYCLE, *SCORED, "lambda_cycle=0", "--steps", "2").exit_code == 0
    ((kept,),) = query(db, "select value from metrics where name = 'mnist_kept_ab'")
    assert 0 <= kept <= 1 and math.isfinite(kept)


def test_the_panel_shows_real_translated_and_back_for_fixed_test_images(db, invoke, workdir):
    assert invoke("run", *TINY_CYCLE, *SCORED, "--steps", "4", "--name", "cycle").exit_code == 0
    samples = run_dir(db, 1) / "samples"
    with Image.open(samples / "step-0000004.png") as grid:
        assert grid.size == (3 * (16 + 2) + 2, 8 * (16 + 2) + 2)  # 8 test images, 3 columns
    assert json.loads((samples / "layout.json").read_text())["focus"] == 1
    assert json.loads((samples / "best.json").read_text())["score"] == "mnist_fd_ab"
    best = torch.load(run_dir(db, 1) / "best.pt")
    assert set(best["nets"]) == {"g_ab", "g_ba"}
    assert invoke("report", "--plots", "plots", "--format", "csv").exit_code == 0
    with Image.open(workdir / "plots" / "cycle-progress.png") as strip:
        first = strip.crop((2, 2, 18, 18)).tobytes()
    assert (
        first == tile(samples / "step-0000002.png", 16, 1, 3).tobytes()
    )  # G_AB of the first test image
    assert (workdir / "plots" / "cycle-translation.png").exists()


class InterruptCycle(interrupting(CycleGAN)):
    @staticmethod
    @hookimpl
    def register_schemes(register):
        register(
            "interrupt_cycle",
            lambda cfg: InterruptCycle(),
            options=SCHEME_OPTIONS,
            defaults={"loss": "lsgan"},
        )


def test_a_resumed_cyclegan_run_is_bit_exact(invoke, db, workdir, register_plugin):
    register_plugin(InterruptCycle, name="interrupt_cycle")
    args = [
        *TINY_CYCLE,
        *SCORED,
        "plugins=cyclegan,interrupt_cycle,digit_styles",
        "pool_size=3",
        "--steps",
        "8",
        "--seed",
        "3",
    ]
    args.remove("plugins=cyclegan,digit_styles")
    assert invoke("run", *args).exit_code == 0
    InterruptCycle.arm(6)  # the pool is full and swapping by then
    assert invoke("run", *args).exit_code == 130
    resumed = invoke("run", "--resume", "2")
    assert resumed.exit_code == 0, resumed.output
    whole, split = _checkpoint(db, 1), _checkpoint(db, 2)
    for table in ("nets", "opts"):
        assert set(whole[table]) == set(NETWORKS)
    for net in NETWORKS:
        for key, tensor in whole["nets"][net].items():
            assert torch.equal(tensor, split["nets"][net][key]), (net, key)
        assert (
            whole["opts"][net]["param_groups"][0]["lr"]
            == split["opts"][net]["param_groups"][0]["lr"]
        )
    assert torch.equal(whole["scheme"]["a"]["images"], split["scheme"]["a"]["images"])
    metrics = "select step, name, value from metrics where run_id = ? order by step, name"
    assert query(db, metrics, 1) == query(db, metrics, 2)


def test_learning_rates_stay_then_fall_linearly(db, invoke, workdir, observe):
    rates = observe(CheckpointRates())
    assert (
        invoke(
            "run",
            *TINY_CYCLE,
            *QUIET,
            "decay_start=0.5",
            "g_lr=0.001",
            "--steps",
            "8",
            "trackers=observer",
        ).exit_code
        == 0
    )
    # each checkpoint holds the rate of the step after it: constant to step 4, then down to 0 at 8
    assert rates.seen == pytest.approx([0.001, 0.001, 0.0005, 0.0])


class CheckpointRates:
    """The first optimizer's rate in each checkpoint, as written."""

    def __init__(self):
        self.seen = []

    @hookimpl
    def on_checkpoint(self, path):
        self.seen.append(next(iter(torch.load(path)["opts"].values()))["param_groups"][0]["lr"])


def test_the_pool_returns_fakes_until_full_then_mixes_in_older_ones():
    pool, rng = ImagePool(4), torch.Generator().manual_seed(0)
    first = torch.arange(4.0).view(4, 1, 1, 1)
    assert torch.equal(pool.swap(first, rng), first)
    newer = torch.full((64, 1, 1, 1), 9.0)
    out = pool.swap(newer, rng)
    old = (out != 9).sum().item()
    assert 0 < old <= 4 + 0  # some earlier fakes come back, never more than the pool held
    assert set(out.flatten().tolist()) <= {0.0, 1.0, 2.0, 3.0, 9.0}
    assert torch.equal(ImagePool(0).swap(newer, rng), newer)


def test_cyclegan_picks_the_reference_networks_and_lsgan_and_a_named_part_wins():
    reg, defaults = registry(), default_components()
    plain = resolve(["plugins=cyclegan,digit_styles"], reg, defaults).components
    assert (plain["generator"], plain["discriminator"], plain["scheme"], plain["loss"]) == (
        "cyclegan",
        "cyclegan",
        "cyclegan",
        "lsgan",
    )
    for names in ("cyclegan,unet,digit_styles", "unet,cyclegan,digit_styles"):
        assert resolve([f"plugins={names}"], reg, defaults).components["generator"] == "unet"
    assert (
        resolve(["plugins=cyclegan,hinge,digit_styles"], reg, defaults).components["loss"]
        == "hinge"
    )


def test_the_dry_run_shows_the_reference_counts_without_data(invoke):
    result = invoke("run", "plugins=cyclegan,folder", "res=256", "n_blocks=9", "--dry-run")
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if "(one run)" in line)
    assert row.count("11,378,179") == 2 and row.count("2,764,737") == 2


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["plugins=cyclegan", "n_layers=2"],
            "scheme 'cyclegan' trains on 2 image domain(s), dataset 'mnist5k' has 1; choose a data set with 2: ",
        ),
        (
            ["plugins=digit_styles"],
            "scheme 'alternating' trains on 1 image domain(s), dataset 'digit_styles' has 2",
        ),
        (
            ["plugins=cyclegan,noise_g,digit_styles", "n_layers=2"],
            "generator 'noise_g' takes noise, scheme 'cyclegan' "
            "feeds its generators image; choose one of: cyclegan, unet",
        ),
        (
            ["plugins=cyclegan,no_weights,digit_styles", "n_layers=2"],
            "network g_ab (generator 'no_weights') has no trainable parameters",
        ),
        (
            ["plugins=cyclegan,wants_condition,digit_styles", "n_layers=2"],
            "generator g_ab cannot take images of shape (1, 16, 16)",
        ),
        (
            ["plugins=cyclegan,odd_sizes", "n_layers=2"],
            "domain B's test images are (1, 8, 8), domain A's train images (1, 16, 16)",
        ),
    ],
)
def test_bad_translation_input_stops_before_training_with_one_line(
    invoke, db, register_plugin, args, message
):
    register_plugin(BadParts, name="bad_parts")
    result = invoke("run", *args, "res=16", "metrics=", "--steps", "2")
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert message in line and "Traceback" not in result.output
    assert query(db, "select count(*) from runs") == [(0,)]


class NeedsCondition(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, x, cond):  # a conditional generator: it cannot translate an image alone
        return x * self.scale


def _small_domains(cfg):
    def images(n, side):
        return torch.randint(0, 255, (n, 1, side, side), dtype=torch.uint8)

    return TwoDomains(
        ImageSet(images(4, 16), test=ImageSet(images(2, 16))),
        ImageSet(images(4, 16), test=ImageSet(images(2, 8))),
    )


class BadParts:
    @staticmethod
    @hookimpl
    def register_generators(register):
        register("noise_g", lambda cfg: nn.Identity())
        register("wants_condition", lambda cfg: NeedsCondition(), input="image")
        register("no_weights", lambda cfg: nn.Identity(), input="image")

    @staticmethod
    @hookimpl
    def register_datasets(register):
        register("odd_sizes", _small_domains, domains=2)


def test_folders_give_two_domains_in_cyclegan_s_layout_or_as_two_folders(tmp_path):
    from types import SimpleNamespace

    from ganbench import GanbenchError
    from ganbench_plugins import folder

    def fill(path, n):
        path.mkdir(parents=True)
        for i in range(n):
            Image.new("RGB", (12, 10), (i * 20, 0, 0)).save(path / f"{i}.png")

    for split, n in (("trainA", 5), ("trainB", 4), ("testA", 2)):
        fill(tmp_path / "layout" / split, n)
    cfg = SimpleNamespace(
        res=8,
        data_dir=str(tmp_path / "layout"),
        data_dir_b="",
        skip_bad=False,
        cache_dir=str(tmp_path / "c"),
        tags_csv="",
    )
    with pytest.raises(GanbenchError, match="no testB/"):
        folder.folder(cfg)
    fill(tmp_path / "layout" / "testB", 3)
    found = folder.folder(cfg)
    assert (
        len(found.a.images),
        len(found.a.test.images),
        len(found.b.images),
        len(found.b.test.images),
    ) == (
        5,
        2,
        4,
        3,
    )
    fill(tmp_path / "plain_a", 20)
    fill(tmp_path / "plain_b", 10)
    cfg.data_dir, cfg.data_dir_b = str(tmp_path / "plain_a"), str(tmp_path / "plain_b")
    found = folder.folder(cfg)
    assert (
        len(found.a.images),
        len(found.a.test.images),
        len(found.b.images),
        len(found.b.test.images),
    ) == (
        18,
        2,
        9,
        1,
    )
    cfg.data_dir_b = str(tmp_path / "missing")
    with pytest.raises(GanbenchError, match="data_dir_b=.*missing: no such directory"):
        folder.folder(cfg)


def test_kid_s_subset_size_shrinks_to_small_test_sets_and_says_so():
    kid = KID(None, 10, 1000)
    assert kid.size(300, 500) == 300 and kid.fingerprint(300, 500) == {"kid_subset_size": 300}
    assert kid.fingerprint(5000, 5000) == {}  # the configured size: protocols as before


class Triple(Scheme):
    """A plugin's own scheme with three networks: G against two discriminators."""

    networks = {"g": "generator", "d": "discriminator", "d2": "discriminator"}

    def prepare(self, data, cfg, seed):
        self.cfg, self.reference = cfg, data.reference(8)
        self.z = torch.randn(8, cfg.z_dim, generator=torch.Generator().manual_seed(seed))

    def step(self, parts, batch):
        fake = parts.g(parts.noise(batch.real.shape[0]))
        d_loss = sum(
            parts.loss.d_loss(d(batch.real), d(fake.detach())) for d in (parts.d, parts.d2)
        )
        update(d_loss, parts.opts["d"], parts.opts["d2"])
        g_loss = sum(parts.loss.g_loss(d(fake)) for d in (parts.d, parts.d2))
        update(g_loss, parts.opts["g"])
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}

    def tracks(self):
        images, note = self.reference
        return [
            Track("", images, note, len(self.z), lambda parts: [parts.for_evaluation("g")(self.z)])
        ]

    def panel(self, parts):
        return Panel(parts.g(self.z), 4, "eight images")

    @staticmethod
    @hookimpl
    def register_schemes(register):
        register(
            "triple", lambda cfg: Triple(), options={"unused_triple": Option(int, 0, "nothing")}
        )


def test_a_plugin_scheme_with_three_networks_trains_checkpoints_and_reports(
    invoke, db, workdir, register_plugin
):
    register_plugin(Triple, name="triple")
    args = [
        "plugins=triple",
        "res=16",
        "batch=4",
        "filters=0.0625",
        "metrics=mnist_fd",
        "eval_real=8",
        "eval_every=2",
        "log_every=2",
        "ckpt_every=2",
        "sample_every=2",
        "--steps",
        "4",
    ]
    result = invoke("run", *args)
    assert result.exit_code == 0, result.output
    state = _checkpoint(db, 1)
    assert set(state["nets"]) == set(state["opts"]) == {"g", "d", "d2"}
    counts = dict(query(db, "select name, params from networks"))
    assert counts["d"] == counts["d2"] and query(db, "select d_params from runs") == [
        (counts["d"],)
    ]
    assert query(db, "select count(*) from metrics where name = 'mnist_fd'") == [(2,)]
    assert (run_dir(db, 1) / "samples" / "step-0000004.png").exists()
    header = invoke("report", "--format", "csv").output.splitlines()[0].split(",")
    assert {"d_params", "g_params", "d2_params"} <= set(header)
    dry = invoke("run", "plugins=triple", "res=16", "filters=0.0625", "--dry-run")
    assert dry.exit_code == 0 and "d2_" in dry.output and dry.output.count("13,825") == 2
