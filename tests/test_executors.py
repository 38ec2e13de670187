"""Executors are plugins: one a third party registers, with an option of its own, is chosen by
`--executor NAME --its-option V` with no change to ganbench, gets the option and trains the
units; an option given to an executor that does not take it is one line. What a unit
training elsewhere tells the driver crosses every way (a worker's queue, Ray's queue,
Slurm's files) as one JSON-safe dict and reads back as the message it was."""

import json
import multiprocessing
import os
import queue

import pytest
from conftest import TINY, query

from ganbench import Option, hookimpl
from ganbench.api.options import positive
from ganbench.executors.base import Executor, run_unit
from ganbench.executors.messages import Ended, Failed, Message, Started, Values
from ganbench.executors.slurm_jobs import Mailbox


class Inline(Executor):
    """A third party's executor: trains the units here and keeps what it was built with."""

    built: list["Inline"] = []
    summary = ", inline"

    def __init__(self, namespace, replicas):
        self.namespace, self.replicas, self.units = namespace, replicas, []
        Inline.built.append(self)

    def run(self, units, say):
        self.units = list(units)
        return [run_unit(unit)[1] for unit in units]


class InlinePlugin:
    @staticmethod
    @hookimpl
    def register_executors(register):
        register(
            "inline",
            lambda settings: Inline(**settings),
            help="each run here, as a cluster's job would",
            options={
                "namespace": Option(str, "default", "where its jobs go"),
                "replicas": Option(int, 1, "copies of each job", check=positive),
            },
        )


class Shadowing:
    """An executor whose option has the flag of one of `ganbench run`'s own (--device)."""

    @staticmethod
    @hookimpl
    def register_executors(register):
        register(
            "shadowing",
            lambda settings: Inline("x", 1),
            options={"device": Option(str, "", "a GPU model")},
        )


@pytest.fixture
def inline(register_plugin):
    Inline.built.clear()
    register_plugin(InlinePlugin(), name="inline-executor")


def test_a_third_party_executor_gets_its_option_and_trains_the_units(invoke, db, inline):
    sweep = [*TINY, "g_lr=choice(1e-4,2e-4)", "--steps", "2", "--workers", "1"]
    result = invoke("run", *sweep, "--executor", "inline", "--namespace", "team-a")
    assert result.exit_code == 0, result.output
    assert "sweep: 2 arm(s) x 1 seed(s), inline" in result.output
    (chosen,) = Inline.built
    assert (chosen.namespace, chosen.replicas) == ("team-a", 1)  # given, and the default
    assert [unit.spec.config.overrides["g_lr"] for unit in chosen.units] == [1e-4, 2e-4]
    assert query(db, "select label, status from runs order by id") == [
        ("g_lr=1e-4", "completed"),
        ("g_lr=2e-4", "completed"),
    ]


@pytest.mark.parametrize(
    "options, line",
    [
        (["--namespace", "team-a"], "--namespace goes with --executor inline"),
        (["--executor", "ray", "--replicas", "2"], "--replicas goes with --executor inline"),
        (["--executor", "inline", "--address", "h:1"], "--address goes with --executor ray"),
        (
            ["--executor", "inline", "--workers", "2"],
            "--workers goes with --executor local; inline places each run by what it asks for",
        ),
        (["--executor", "inline", "--replicas", "0"], "--replicas=0: must be greater than 0"),
        (["--executor", "inline", "--replicas", "two"], "--replicas=two: expected int"),
    ],
)
def test_an_option_its_executor_does_not_take_is_one_line(invoke, db, inline, options, line):
    result = invoke("run", *TINY, *options)
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"Error: {line}") and len(result.output.splitlines()) == 1
    assert not Inline.built and not os.path.exists(db.removeprefix("sqlite:///"))


def test_the_executors_options_are_in_run_help_and_plugins(invoke, inline):
    shown = invoke("run", "--help").output
    assert "--executor [local|ray|slurm|inline]" in shown.replace("\n", " ")
    assert "inline: where its jobs go" in shown and "--namespace TEXT" in shown
    listed = json.loads(invoke("plugins", "--json").output)
    (entry,) = [c for c in listed if c["kind"] == "executor" and c["name"] == "inline"]
    assert entry["options"]["replicas"] == {
        "type": "int",
        "default": 1,
        "help": "copies of each job",
        "choices": None,
    }


def test_an_executor_whose_option_shadows_a_run_flag_is_refused_when_chosen(
    invoke, db, register_plugin
):
    register_plugin(Shadowing(), name="shadowing-executor")
    result = invoke("run", *TINY, "--executor", "shadowing")
    assert result.exit_code == 2, result.output
    assert result.output == (
        "Error: executor 'shadowing' (plugin 'shadowing-executor') declares option 'device', "
        "which `ganbench run` has for its own; the plugin must rename it\n"
    )
    assert invoke("run", "--help").output.count("--device [auto|cpu|cuda]") == 1  # run's own


def test_an_executor_is_a_contract_its_subclass_implements():
    class Incomplete(Executor):
        pass

    with pytest.raises(TypeError, match="abstract"):
        Incomplete()


MESSAGES = [
    Started(3, 17, "g_lr=1e-4 seed 0", 40, 100),
    Values(3, 42, {"d_loss": 1.25, "g_loss": 0.5}, 12.5),
    Values(0, 50, {"fid": 61.0}),
    Ended(3, 17, "interrupted"),
    Failed(1, "ValueError: no such data"),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: m.kind)
def test_a_message_reads_back_as_it_was_sent_through_json(message):
    sent = message.to_dict()
    assert json.loads(json.dumps(sent)) == sent  # JSON's own types only
    assert Message.from_dict(json.loads(json.dumps(sent))) == message


def test_messages_cross_a_worker_queue_and_slurm_files_alike(tmp_path):
    spawned = multiprocessing.get_context("spawn").Queue()  # what --workers uses
    mailbox = Mailbox(tmp_path)  # what --executor slurm's jobs append to
    for way in (spawned, mailbox):
        for message in MESSAGES:
            way.put(message.to_dict())
        read = [Message.from_dict(way.get(timeout=5)) for _ in MESSAGES]
        assert sorted(read, key=MESSAGES.index) == MESSAGES  # the mailbox reads unit by unit
        with pytest.raises(queue.Empty):
            way.get(timeout=0.01)


class Recording:
    """A display that keeps each call."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, method):
        return lambda *args: self.calls.append((method, *args))


def test_a_message_shows_itself_on_the_display_method_of_its_kind():
    display = Recording()
    for message in MESSAGES:
        message.show(display)
    assert display.calls == [
        ("started", 3, 17, "g_lr=1e-4 seed 0", 40, 100),
        ("values", 3, 42, {"d_loss": 1.25, "g_loss": 0.5}, 12.5),
        ("values", 0, 50, {"fid": 61.0}, None),
        ("ended", 3, 17, "interrupted"),
        ("error", 1, "ValueError: no such data"),
    ]


def test_an_install_without_the_built_in_executors_is_told_to_reinstall(invoke):
    from ganbench.plugins import manager

    built_in = manager.pm.get_plugin("executors")  # the entry point's registration module
    manager.unregister(built_in)
    try:
        result = invoke("run", *TINY)
    finally:
        manager.register(built_in, name="executors")
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Error: no executor 'local' is registered: ganbench's entry")
