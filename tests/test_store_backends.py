"""The results store on each backend it supports: SQLite and PostgreSQL (a throwaway server,
see conftest.postgres_server). The same calls must give the same answers on both."""

import json
import math
import multiprocessing
import socket
import threading
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from ganbench import GanbenchError
from ganbench.cli import cli
from ganbench.store import liveness
from ganbench.store.sql import Store, now

WRITERS, ROWS = 8, 50


def _run(store, networks=None, **fields):
    record = dict(
        label="arm",
        plugins="dcgan",
        config={"options": {"res": 16}},
        config_hash="h",
        seed=0,
        target_steps=10,
    )
    return store.create_run(networks, **(record | fields))


def _invoke(url, *args):
    return CliRunner().invoke(cli, list(args), env={"GANBENCH_DB": url})


def test_a_run_and_its_networks_come_back_as_they_went_in(store_url):
    store = Store(store_url)
    label, params, seed = (
        "x" * 300,
        3 * 2**31,
        2**32 - 1,
    )  # longer than VARCHAR(200), wider than 32 bits
    started = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    run = _run(
        store,
        {"G": ("generator", params), "D": ("discriminator", 5)},
        label=label,
        seed=seed,
        g_params=params,
        started_at=started,
        environment={"python": "3.12", "cuda": None},
    )
    other = _run(store)
    row = store.get_run(run)
    assert (row["label"], row["seed"], row["g_params"], row["status"]) == (
        label,
        seed,
        params,
        "queued",
    )
    assert row["config"] == {"options": {"res": 16}} and row["environment"] == {
        "python": "3.12",
        "cuda": None,
    }
    assert (
        row["started_at"] == started.replace(tzinfo=None) and row["steps_done"] == 0
    )  # naive UTC, as on SQLite
    assert sorted(store.networks()) == [
        (run, "D", "discriminator", 5),
        (run, "G", "generator", params),
    ]
    assert [r["id"] for r in store.runs()] == [run, other] and other > run


def test_an_update_is_kept_and_of_two_claims_exactly_one_wins(store_url):
    store = Store(store_url)
    run = _run(store)
    store.update_run(run, status="interrupted", host="h1", pid=11, steps_done=4)
    seen = store.get_run(run)
    assert (seen["status"], seen["host"], seen["pid"], seen["steps_done"]) == (
        "interrupted",
        "h1",
        11,
        4,
    )
    start, won = threading.Barrier(2), []

    def claim(pid):
        start.wait(timeout=30)
        won.append((store.claim(run, seen, status="running", host="h2", pid=pid), pid))

    threads = [threading.Thread(target=claim, args=(pid,)) for pid in (21, 22)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(w for w, _ in won) == [False, True]
    winner = next(pid for w, pid in won if w)
    assert (store.get_run(run)["status"], store.get_run(run)["pid"]) == ("running", winner)
    assert not store.claim(run, seen, status="running", host="h3", pid=31)


def test_heartbeats_keep_the_latest_beat_of_each_run(store_url):
    store = Store(store_url)
    first, second = _run(store), _run(store)
    before = datetime.now(UTC) - timedelta(seconds=1)
    store.beat(first, "h1", 1)
    store.beat(first, "h2", 2)
    store.beat(second, "h3", 3)
    beats = store.heartbeats()
    assert {run: beat[:2] for run, beat in beats.items()} == {first: ("h2", 2), second: ("h3", 3)}
    assert beats[first][2].tzinfo is None  # UTC, as SQLite gives it
    when = beats[first][2].replace(tzinfo=UTC)
    assert before <= when <= datetime.now(UTC) + timedelta(seconds=1)
    row = dict(store.get_run(first), host="elsewhere", pid=2)
    assert liveness.alive(row, beats[first]) and not liveness.alive(
        row, beats[first], when + timedelta(hours=1)
    )


def test_metrics_in_order_and_dropped_past_a_step(store_url):
    store = Store(store_url)
    store.add_protocols({"p1": {"extractor": "test"}})
    run, other = _run(store), _run(store)
    store.add_metrics(
        run, [(step, "g_loss", step / 10) for step in (1, 2, 3, 4)] + [(4, "fid", 55.5, "p1")]
    )
    store.add_metrics(other, [(1, "g_loss", 0.5)])
    store.add_metrics(run, [])
    store.finish_run(run, stop=(4, "plateau"), status="completed")
    losses = [(run, s, "g_loss", s / 10, None) for s in (1, 2, 3, 4)]
    assert store.metrics(run) == losses + [(run, 4, "fid", 55.5, "p1")]
    store.drop_metrics_after(run, 2)
    assert store.metrics() == losses[:2] + [(other, 1, "g_loss", 0.5, None)]
    assert store.early_stops() == {}


def test_nan_and_inf_come_back_exactly(store_url):
    store = Store(store_url)
    run = _run(store)
    store.add_metrics(
        run,
        [
            (1, "a", math.nan),
            (2, "a", math.inf),
            (3, "a", -math.inf),
            (4, "a", 0.1),
            (5, "a", None),
        ],
    )
    values = [value for *_, value, _ in store.metrics(run)]
    assert math.isnan(values[0]) and values[1:] == [math.inf, -math.inf, 0.1, None]
    assert Store(store_url, create=False, write=False).metrics(run)[1:3] == store.metrics(run)[1:3]


def test_protocols_are_recorded_once_even_by_writers_at_once(store_url):
    store = Store(store_url)
    details = {"extractor": "inception", "n_fake": 10000, "resize": [299, 299]}
    start, failed = threading.Barrier(4), []

    def add():
        start.wait(timeout=30)
        try:
            store.add_protocols({"p1": details, "p2": {"extractor": "other"}})
        except Exception as e:  # noqa: BLE001 - the assertion below names it
            failed.append(e)

    threads = [threading.Thread(target=add) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    store.add_protocols({"p1": {"changed": True}, "p3": {}})
    assert failed == [] and store.protocols() == {
        "p1": details,
        "p2": {"extractor": "other"},
        "p3": {},
    }


def test_tags_are_given_and_taken_away(store_url):
    store = Store(store_url)
    first, second = _run(store), _run(store)
    store.tag([first, second], "keep")
    store.tag([first], "best")
    store.tag([first], "keep")  # twice is once
    assert store.tags() == {first: ["best", "keep"], second: ["keep"]}
    store.tag([first, second], "keep", remove=True)
    assert store.tags() == {first: ["best"]}


def test_finish_run_records_its_cost_and_early_stop_once(store_url):
    store = Store(store_url)
    run, plain = _run(store), _run(store)
    store.finish_run(run, stop=(3, "no gain"), cost=(1.5, 2.0), status="completed", steps_done=3)
    store.finish_run(
        run,
        stop=(5, "fid plateau"),
        cost=(12.5, None),
        status="completed",
        steps_done=5,
        ended_at=now(),
    )
    store.finish_run(plain, status="failed", error="boom")
    assert store.costs() == {run: (12.5, None)} and store.early_stops() == {run: (5, "fid plateau")}
    row = store.get_run(run)
    assert (row["status"], row["steps_done"], row["ended_at"] is not None) == ("completed", 5, True)
    assert (store.get_run(plain)["status"], store.get_run(plain)["error"]) == ("failed", "boom")


def test_delete_runs_removes_everything_of_them_only(store_url):
    store = Store(store_url)
    gone, kept = (_run(store, {"G": ("generator", 1)}) for _ in range(2))
    for run in (gone, kept):
        store.add_metrics(run, [(1, "g_loss", 1.0)])
        store.beat(run, "h", 1)
        store.tag([run], "t")
        store.finish_run(run, stop=(1, "r"), cost=(1.0, 1.0), status="completed")
    store.delete_runs([gone])
    assert [r["id"] for r in store.runs()] == [kept] and {r for r, *_ in store.metrics()} == {kept}
    recorded = (store.heartbeats(), store.tags(), store.costs(), store.early_stops())
    assert [set(found) for found in recorded] == [{kept}] * 4
    assert [n[0] for n in store.networks()] == [kept]


def test_a_report_shows_the_recorded_runs(store_url):
    store = Store(store_url)
    store.add_protocols({"p1": {"extractor": "test"}})
    for seed, (label, fid) in enumerate((("base", 50.0), ("base", 52.0), ("new", 30.0))):
        run = _run(
            store,
            label=label,
            config_hash=label,
            seed=seed,
            status="completed",
            steps_done=10,
            train_s=5.0,
            score_directions={"fid": "min"},
        )
        store.add_metrics(run, [(10, "fid", fid, "p1"), (10, "g_loss", math.nan)])
    result = _invoke(store_url, "report", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = {row["group"]: row for row in json.loads(result.output)}
    assert (rows["base"]["runs"], rows["base"]["run_ids"], rows["new"]["run_ids"]) == (
        2,
        "1,2",
        "3",
    )
    assert (rows["base"]["min_fid"], rows["new"]["min_fid"]) == (51.0, 30.0)
    listed = CliRunner().invoke(cli, ["runs", "list", "--db", store_url])
    assert listed.exit_code == 0 and "3 run(s)" in listed.output


def test_a_tiny_training_run_records_everything(store_url):
    from conftest import TINY

    result = _invoke(
        store_url, "run", *TINY, "--steps", "4", "--seed", "7", "--device", "cpu", "--db", store_url
    )
    assert result.exit_code == 0, result.output
    store = Store(store_url, create=False, write=False)
    [row] = store.runs()
    assert (row["status"], row["steps_done"], row["seed"], row["host"]) == (
        "completed",
        4,
        7,
        socket.gethostname(),
    )
    assert row["g_params"] > 0 and {n for _, n, _, _ in store.networks()} == {"g", "d"}
    assert sorted({(step, name) for _, step, name, _, _ in store.metrics()}) == [
        (step, name) for step in (2, 4) for name in ("d_loss", "g_loss")
    ]
    assert (store.run_dir(row["id"]) / "last.pt").exists()
    shown = _invoke(store_url, "runs", "show", str(row["id"]))
    assert shown.exit_code == 0 and json.loads(shown.output)["status"] == "completed"


def _write(url, writer, start):
    """One of several processes writing at once: a run, its rows one transaction each, a beat."""
    store = Store(url)
    start.wait(timeout=120)
    run = _run(store, label=f"writer{writer}", seed=writer)
    for step in range(ROWS):
        store.add_metrics(run, [(step, "g_loss", writer + step / ROWS)])
        store.update_run(run, steps_done=step + 1)
    store.beat(run, socket.gethostname(), writer)


def test_writers_in_many_processes_lose_nothing(store_url):
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(WRITERS)
    writers = [context.Process(target=_write, args=(store_url, i, start)) for i in range(WRITERS)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=300)
    assert [writer.exitcode for writer in writers] == [0] * WRITERS
    store = Store(store_url, create=False, write=False)
    runs = {row["label"]: row for row in store.runs()}
    assert sorted(runs) == sorted(f"writer{i}" for i in range(WRITERS))
    assert {row["steps_done"] for row in runs.values()} == {ROWS} and len(
        store.heartbeats()
    ) == WRITERS
    for i in range(WRITERS):
        rows = store.metrics(runs[f"writer{i}"]["id"])
        assert [(step, value) for _, step, _, value, _ in rows] == [
            (s, i + s / ROWS) for s in range(ROWS)
        ]


def test_an_unreachable_server_is_one_line_without_its_password():
    pytest.importorskip("psycopg2")
    with pytest.raises(GanbenchError) as error:
        Store("postgresql+psycopg2://me:s3cret@127.0.0.1:1/results")  # nothing listens on port 1
    message = str(error.value)
    assert message.startswith(
        "cannot use database postgresql+psycopg2://me:***@127.0.0.1:1/results: "
    )
    assert "\n" not in message and "s3cret" not in message and message.endswith("; check --db")
