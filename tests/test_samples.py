"""Sample grids from fixed noise during training, the best checkpoint's diversity grid and
interpolation, and the progress strip a report makes of them."""

import json

from conftest import query, run_dir
from PIL import Image

from ganbench.engine.samples import strip_steps, tile

RUN = [
    "res=16",
    "batch=4",
    "filters=0.0625",
    "metrics=mnist_fd",
    "eval_real=40",
    "eval_fake=40",
    "eval_every=2",
    "sample_every=2",
    "log_every=2",
    "--steps",
    "6",
]


def test_a_run_writes_grids_and_its_best_samples(invoke, db, workdir):
    assert invoke("run", *RUN).exit_code == 0
    samples = run_dir(db, 1) / "samples"
    assert sorted(p.name for p in samples.glob("step-*.png")) == [
        f"step-000000{s}.png" for s in (2, 4, 6)
    ]
    with Image.open(samples / "step-0000002.png") as grid:
        assert grid.size == (5 * (16 + 2) + 2,) * 2  # 5x5 tiles with torchvision's 2-pixel padding
    with Image.open(samples / "best-interpolation.png") as strip:
        assert strip.size == (10 * (16 + 2) + 2, 16 + 4)
    best = json.loads((samples / "best.json").read_text())
    ((step, value),) = query(
        db, "select step, value from metrics where name = 'mnist_fd' order by value limit 1"
    )
    assert (best["score"], best["step"], best["value"]) == ("mnist_fd", step, value)


def test_grids_come_from_fixed_noise(db, invoke, workdir):
    for seed in ("5", "5"):
        assert invoke("run", *RUN, "--seed", seed).exit_code == 0
    first, second = (run_dir(db, r) / "samples" / "step-0000002.png" for r in (1, 2))
    assert first.read_bytes() == second.read_bytes()  # same seed, same noise, same images


def test_report_places_the_samples_by_arm(invoke, workdir):
    assert invoke("run", *RUN, "--name", "arm one").exit_code == 0
    assert invoke("report", "--plots", str(workdir / "plots"), "--format", "csv").exit_code == 0
    written = sorted(p.name for p in (workdir / "plots").iterdir())
    assert {"arm_one-progress.png", "arm_one-diversity.png", "arm_one-interpolation.png"} <= set(
        written
    )
    with Image.open(workdir / "plots" / "arm_one-progress.png") as strip:
        assert strip.size == (3 * (16 + 2) + 2, 16 + 4)  # one tile per grid: steps 2, 4, 6


def test_strip_steps_follow_the_fair_then_spread():
    assert strip_steps({s: None for s in range(1000, 50001, 1000)}) == [
        1000,
        2000,
        3000,
        4000,
        5000,
        10000,
        20000,
        30000,
        40000,
        50000,
    ]
    assert strip_steps({s: None for s in range(100, 2001, 100)}) == [
        100,
        300,
        500,
        700,
        900,
        1200,
        1400,
        1600,
        1800,
        2000,
    ]
    assert strip_steps({2: None, 4: None}) == [2, 4]


def test_chosen_strip_steps_are_kept_even_one_and_spread_when_none_is_there():
    available = {s: None for s in range(100, 2001, 100)}
    assert strip_steps(available, [2000, 100, 150]) == [2000, 100]  # in the order asked
    assert strip_steps(available, [500]) == [500]
    assert strip_steps(available, [7]) == strip_steps(available)


def test_report_strip_steps_choose_the_tiles(db, invoke, workdir):
    assert invoke("run", *RUN, "--name", "arm").exit_code == 0
    assert (
        invoke("report", "--plots", "plots", "--strip-steps", "6,2", "--format", "csv").exit_code
        == 0
    )
    with Image.open(workdir / "plots" / "arm-progress.png") as strip:
        assert strip.size == (2 * (16 + 2) + 2, 16 + 4)
        grid = run_dir(db, 1) / "samples" / "step-0000006.png"
        assert strip.crop((2, 2, 18, 18)).tobytes() == tile(grid, 16).tobytes()  # step 6 first
    result = invoke("report", "--plots", "plots", "--strip-steps", "2,x")
    assert result.exit_code == 2 and "give training steps separated by commas" in result.output


def test_conditional_grids_show_many_classes_not_the_first_rows_of_sorted_labels(tmp_path):
    import torch

    from ganbench.config.defaults import default_components
    from ganbench.config.spec import resolve
    from ganbench.engine.build import build
    from ganbench.plugins.manager import registry

    config = resolve(
        ["plugins=cdcgan002,conditional", "res=16", "metrics="], registry(), default_components()
    )
    exp = build(config, registry(), torch.device("cpu"), 0, tmp_path)
    assert exp.data.labels[:25].argmax(1).unique().tolist() == [0]  # mnist5k's labels are sorted
    shown = exp.scheme.conditions["grid"]
    assert len(shown.argmax(1).unique()) >= 5
    assert torch.equal(shown, exp.data.fixed_labels(25, 0))


def test_a_best_json_of_0_1_0_without_panels_reads_back_its_two_panels(tmp_path):
    from ganbench.engine.samples import read_samples

    samples = tmp_path / "samples"
    samples.mkdir()
    (samples / "best.json").write_text(json.dumps({"score": "fid", "step": 4, "value": 9.5}))
    Image.new("RGB", (8, 8)).save(samples / "best-diversity.png")
    found = read_samples(tmp_path, res=16)
    assert found.best["step"] == 4 and list(found.best_panels) == ["diversity"]
    assert found.best_panels["diversity"][1].startswith("diversity: ten noise vectors")
    (samples / "best.json").write_text(json.dumps({"score": "fid", "panels": {}}))
    assert read_samples(tmp_path, res=16).best_panels == {}  # today's record says what it has
