"""Metrics: the real loading path with Inception weights the tests make, torch-fidelity's own
numbers, the reference cache, protocol fingerprints, and the offline digit metrics."""

import json
from types import SimpleNamespace

import pytest
import torch
import torch_fidelity
from conftest import SMALL, MeanPixels, query, random_inception
from torch_fidelity import feature_extractor_inceptionv3 as fe

from ganbench import ImageSet, hookimpl
from ganbench.api.data import DeviceData
from ganbench.api.parts import Parts
from ganbench.engine.evaluation import Evaluator
from ganbench.results.report import group_table, load_frames, render
from ganbench.store.sql import Store
from ganbench_plugins import digit_classifier
from ganbench_plugins.alternating import Alternating
from ganbench_plugins.digits import DigitFD, DigitModes
from ganbench_plugins.inception import FID, IS, InceptionSpace, sha256
from ganbench_plugins.mnist5k import mnist5k


@pytest.fixture(scope="session")
def inception_weights(tmp_path_factory):
    """A randomly initialised InceptionV3 saved where --inception-weights can point."""
    return random_inception(tmp_path_factory.mktemp("weights") / "random-inception.pth")


@pytest.fixture(scope="session")
def digits():
    """32 real digits and 32 others, as 3-channel uint8 at 32 px (Inception is slow on a CPU)."""
    images = mnist5k(SimpleNamespace(res=32)).images
    return images[:32].expand(-1, 3, -1, -1).contiguous(), images[2000:2032].expand(
        -1, 3, -1, -1
    ).contiguous()


@pytest.fixture(scope="session")
def space(inception_weights):
    space = InceptionSpace(str(inception_weights))
    space.prepare(torch.device("cpu"))
    return space


@pytest.fixture(scope="session")
def features(space, digits):
    return [space.extract(images) for images in digits]


def _fid(space, a, b):
    return FID(space).score(a, b)["fid"]


def test_fid_of_a_set_with_itself_is_about_zero(space, features):
    real, other = features
    assert abs(_fid(space, real, real)) < 1e-3 * _fid(space, real, other)


def test_fid_grows_with_added_noise(space, digits, features):
    noise = torch.randn(digits[0].shape, generator=torch.Generator().manual_seed(1))
    noisy = [(digits[0] + sigma * noise).clamp(0, 255).to(torch.uint8) for sigma in (15, 50, 120)]
    scores = [_fid(space, features[0], space.extract(images)) for images in noisy]
    assert scores == sorted(scores) and scores[0] < scores[-1] / 2


class Images(torch.utils.data.Dataset):
    def __init__(self, images):
        self.images = images

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.images[i]


def test_fid_and_is_equal_torch_fidelitys_own(space, digits, features, inception_weights):
    real, fake = digits
    theirs = torch_fidelity.calculate_metrics(
        input1=Images(fake),
        input2=Images(real),
        fid=True,
        isc=True,
        cuda=False,
        cache=False,
        verbose=False,
        batch_size=16,
        save_cpu_ram=True,
        feature_extractor_weights_path=str(inception_weights),
    )
    ours_fid = _fid(space, features[0], features[1])
    ours_is = IS(space, splits=10).score(None, features[1])["is"]
    assert ours_fid == pytest.approx(theirs["frechet_inception_distance"], rel=1e-4)
    assert ours_is == pytest.approx(theirs["inception_score_mean"], rel=1e-4)


class Counting:
    """Wraps a feature space and counts the images it extracts."""

    def __init__(self, space):
        self.space, self.images = space, 0
        self.key, self.name, self.resize = space.key, space.name, space.resize

    def prepare(self, device):
        self.space.prepare(device)

    def weights_sha256(self):
        return self.space.weights_sha256()

    def extract(self, images):
        self.images += len(images)
        return self.space.extract(images)


def _evaluator(space, digits, tmp_path, eval_fake=8, eval_real=16):
    real, _ = digits
    metric = FID(Counting(space))
    cfg = SimpleNamespace(
        eval_real=eval_real, eval_fake=eval_fake, z_dim=4, eval_batch=8, noise="normal"
    )
    scheme = Alternating()
    scheme.prepare(DeviceData(ImageSet(real), torch.device("cpu")), cfg, 0)
    return Evaluator(
        {"fid": metric}, scheme.tracks(), cfg, torch.device("cpu"), tmp_path
    ), metric.space


def _generator():
    g = torch.nn.Sequential(
        torch.nn.Linear(4, 3 * 32 * 32), torch.nn.Tanh(), torch.nn.Unflatten(1, (3, 32, 32))
    )
    return Parts({"g": g}, {}, None, torch.Generator())


def test_reference_features_are_cached_and_reused(space, digits, tmp_path):
    first, counted = _evaluator(space, digits, tmp_path)
    ((name, value, protocol),) = first.evaluate(_generator())
    assert counted.images == 16 + 8  # reference and generated
    assert len(list(tmp_path.glob("reference-*.pt"))) == 1
    second, counted = _evaluator(space, digits, tmp_path, eval_fake=16)
    second.evaluate(_generator())
    assert counted.images == 16  # generated only: the reference came from the cache
    third, counted = _evaluator(space, digits, tmp_path, eval_real=8)
    third.evaluate(_generator())
    assert counted.images == 8 + 8 and len(list(tmp_path.glob("reference-*.pt"))) == 2


def test_evaluation_noise_is_fixed_so_evaluations_compare(space, digits, tmp_path):
    evaluator, _ = _evaluator(space, digits, tmp_path)
    g = _generator()
    assert evaluator.evaluate(g) == evaluator.evaluate(g)


def test_fingerprints_differ_when_eval_fake_changes(space, digits, tmp_path):
    a, _ = _evaluator(space, digits, tmp_path, eval_fake=8)
    b, _ = _evaluator(space, digits, tmp_path, eval_fake=16)
    c, _ = _evaluator(space, digits, tmp_path, eval_fake=8)
    key = ("", space.key)  # the noise schemes' one unnamed track
    assert a.protocols[key][0] != b.protocols[key][0]
    assert a.protocols[key] == c.protocols[key]
    details = a.protocols[key][1]
    assert details["eval_fake"] == 8 and details["eval_real"] == 16
    assert details["extractor"] == "inception-v3-compat" and details["weights_sha256"] == sha256(
        space.weights_path
    )


def test_missing_weights_stop_the_run_before_training(invoke, db):
    result = invoke("run", *SMALL, "metrics=fid", "--steps", "2")
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert "weights-inception-2015-12-05-6726825d.pth" in line and fe.URL_INCEPTION_V3 in line
    assert "--inception-weights PATH" in line
    assert query(db, "select count(*) from runs") == [(0,)]
    result = invoke("run", *SMALL, "metrics=fid", "--inception-weights", "/no/such.pth")
    assert result.exit_code == 2 and "no such file" in result.output


def test_a_run_records_every_inception_metric_with_its_protocol(invoke, db, inception_weights):
    args = [
        *SMALL,
        "metrics=fid,is,kid,prc",
        "eval_every=2",
        "eval_real=12",
        "eval_fake=12",
        "eval_batch=6",
        "--steps",
        "3",
        "--inception-weights",
        str(inception_weights),
    ]
    result = invoke("run", *args)
    assert result.exit_code == 0, result.output
    rows = query(
        db, "select step, name from metrics where protocol is not null order by step, name"
    )
    names = ["f_score", "fid", "is", "is_std", "kid", "kid_std", "precision", "recall"]
    assert rows == [(2, n) for n in names] + [(3, n) for n in names]
    ((details,),) = query(db, "select details from protocols")
    assert json.loads(details)["weights_sha256"] == sha256(inception_weights)
    ((train_s, eval_s, directions),) = query(
        db, "select train_s, eval_s, score_directions from runs"
    )
    assert eval_s > 0 and train_s > 0
    assert json.loads(directions) == {
        "fid": "min",
        "is": "max",
        "kid": "min",
        "precision": "max",
        "recall": "max",
    }
    table = json.loads(invoke("report", "--format", "json").output)[0]
    fids = [v for (v,) in query(db, "select value from metrics where name = 'fid'")]
    assert table["min_fid"] == pytest.approx(min(fids)) and table["min_fid_step"] in (2, 3)
    assert table["max_is"] > 0 and table["fid_protocol"]


def test_the_report_marks_scores_of_different_protocols(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'r.db'}")
    store.add_protocols({"aaa": {"eval_fake": 1000}, "bbb": {"eval_fake": 10000}})
    for label, protocol, fid in [("one", "aaa", 40.0), ("two", "bbb", 30.0)]:
        run = store.create_run(
            label=label,
            plugins="",
            config={},
            config_hash=label,
            seed=0,
            status="completed",
            target_steps=10,
            steps_done=10,
            train_s=1.0,
            score_directions={"fid": "min"},
        )
        store.add_metrics(run, [(5, "fid", fid + 5, protocol), (10, "fid", fid, protocol)])
    table = group_table(*load_frames(store))
    assert list(table["min_fid"]) == [40.0, 30.0] and list(table["min_fid_step"]) == [10, 10]
    markdown = render(table, "md", store.protocols())
    assert "40 [aaa]" in markdown and "30 * [bbb]" in markdown  # * marks the best
    assert (
        "fid was scored under 2 protocols" in markdown and "[bbb] {'eval_fake': 10000}" in markdown
    )
    same = group_table(*load_frames(store)).assign(fid_protocol="aaa")
    assert "[aaa]" not in render(same, "md")


class Brightness:
    """A throwaway metric: the mean pixel value of the generated images."""

    needs_real, report, space = False, {"brightness": "max"}, MeanPixels()

    def score(self, real, fake):
        return {"brightness": fake["mean"].mean().item()}

    @staticmethod
    @hookimpl
    def register_metrics(register):
        register("brightness", lambda cfg: Brightness())


def test_a_plugin_metric_is_evaluated_on_schedule_and_reported(invoke, db, register_plugin):
    register_plugin(Brightness, name="brightness")
    result = invoke(
        "run", *SMALL, "metrics=brightness", "eval_every=2", "eval_fake=5", "--steps", "5"
    )
    assert result.exit_code == 0, result.output
    steps = query(db, "select step from metrics where name = 'brightness'")
    assert steps == [(2,), (4,), (5,)]  # every eval_every steps and at the last
    assert all(
        0 <= v <= 255 for (v,) in query(db, "select value from metrics where name = 'brightness'")
    )
    assert "max_brightness" in invoke("report", "--format", "csv").output.splitlines()[0]


def _digit_scores(real, fake):
    fd, modes = DigitFD(), DigitModes()
    fd.space.prepare(torch.device("cpu"))
    r, f = fd.space.extract(real), fd.space.extract(fake)
    return {**fd.score(r, f), **modes.score(r, f)}


def test_the_digit_metric_ranks_held_out_digits_above_noise_and_collapse():
    data = mnist5k(SimpleNamespace(res=28))
    train, test = digit_classifier.split(data.labels)
    reference, held_out = data.images[train], data.images[test]
    noise = torch.randint(
        0, 256, held_out.shape, dtype=torch.uint8, generator=torch.Generator().manual_seed(0)
    )
    collapsed = held_out[:1].expand(len(held_out), -1, -1, -1)
    real, fuzz, one = (_digit_scores(reference, x) for x in (held_out, noise, collapsed))
    assert real["mnist_fd"] < fuzz["mnist_fd"] and real["mnist_fd"] < one["mnist_fd"]
    assert real["mnist_coverage"] == 1.0 and one["mnist_coverage"] == 0.1
    assert real["mnist_kl"] < 0.05 < one["mnist_kl"]


def test_the_shipped_classifier_reads_held_out_digits():
    saved = torch.load(digit_classifier.WEIGHTS)
    data = mnist5k(SimpleNamespace(res=28))
    _, test = digit_classifier.split(data.labels)
    net = digit_classifier.DigitClassifier()
    net.load_state_dict(saved["state_dict"])
    with torch.no_grad():
        accuracy = (
            (net(digit_classifier.prepare(data.images[test])).argmax(1) == data.labels[test])
            .float()
            .mean()
        )
    assert accuracy.item() == pytest.approx(saved["test_accuracy"]) and accuracy > 0.95


def test_digit_metrics_refuse_colour_data(invoke, tmp_path):
    from PIL import Image

    (tmp_path / "img").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "img" / "a.png")
    result = invoke(
        "run", "plugins=folder", f"data_dir={tmp_path / 'img'}", "res=8", "metrics=mnist_fd"
    )
    assert result.exit_code == 2 and "score grey digits" in result.output


def test_fid_with_the_reference_summarised_once_matches_torch_fidelity():
    from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric

    from ganbench_plugins.inception import FID

    torch.manual_seed(0)
    real = {"2048": torch.randn(400, 128) @ torch.randn(128, 128) * 0.2}
    fakes = [
        {"2048": torch.randn(300, 128) @ torch.randn(128, 128) * 0.2 + shift}
        for shift in (0.0, 0.3)
    ]
    fid = FID(space=None)
    ours = [fid.score(real, fake)["fid"] for fake in fakes]
    summary = fid.reference[1]
    assert (
        fid.score(real, fakes[0])["fid"] == ours[0] and fid.reference[1] is summary
    )  # summarised once
    reference = [
        fid_statistics_to_metric(
            fid_features_to_statistics(real["2048"]),
            fid_features_to_statistics(f["2048"]),
            verbose=False,
        )["frechet_inception_distance"]
        for f in fakes
    ]
    assert ours == pytest.approx(reference, rel=1e-8) and ours[1] > ours[0]
