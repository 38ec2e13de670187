"""The `ganbench` command: thin click commands over importable functions."""

import json
import os
import shutil
import sys
from dataclasses import replace
from typing import TYPE_CHECKING, Any, NoReturn

import click

from ganbench import __version__
from ganbench.api.options import Option
from ganbench.config.defaults import DEFAULT_DB
from ganbench.errors import GanbenchError
from ganbench.executors import DEFAULT, flag, installed, owners
from ganbench.store import environ
from ganbench.store.liveness import FINISHED, STATUSES

if TYPE_CHECKING:
    import pandas as pd
    from rich.table import Table as RichTable

    from ganbench.config.spec import RunSpec
    from ganbench.config.studies import Arm
    from ganbench.executors.base import Executor
    from ganbench.plugins.registry import Component, Registry

# Commands import what they use when they run: `--help` and the store-only commands start
# without torch (benchmarks/startup.py measures it).
FORMATS = ("table", "md", "csv", "json", "latex")
CHECKPOINTS = ("last", "best")
EXIT_CODES = {"completed": 0, "failed": 1, "diverged": 3, "interrupted": 130}


class Cli(click.Group):
    """Turns GanbenchError into one line and exit 2, other errors into one line and exit 1;
    `--debug` shows the traceback instead."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except GanbenchError as e:
            self._fail(ctx, e, f"Error: {e}", 2)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Exception as e:
            self._fail(ctx, e, f"Error: {type(e).__name__}: {e} (--debug shows the traceback)", 1)

    @staticmethod
    def _fail(ctx, error, line, code):
        if ctx.params.get("debug"):
            raise error
        click.echo(line, err=True)
        ctx.exit(code)


def wide_console():
    """A terminal's own width; piped output is not cut at 80 columns."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=250)


def fitted_console():
    """The terminal's width, or $COLUMNS (else 120) when piped: a table that fits it."""
    from rich.console import Console

    return Console(width=shutil.get_terminal_size((120, 24)).columns)


def _runs_dir(ctx, param, value):
    """Passed on through the environment, so workers, Ray tasks and Slurm jobs find it too."""
    if value:
        os.environ["GANBENCH_RUNS_DIR"] = os.path.abspath(value)


runs_dir_option = click.option(
    "--runs-dir",
    envvar="GANBENCH_RUNS_DIR",
    expose_value=False,
    callback=_runs_dir,
    type=click.Path(file_okay=False),
    help="where run folders (checkpoints, samples) go: shared disk on a cluster (default: runs/ beside a SQLite "
    "database, else ./results/runs; env GANBENCH_RUNS_DIR)",
)


def db_option(command):
    """--db and --runs-dir: where runs are recorded and where their files are."""
    return click.option(
        "--db",
        envvar="GANBENCH_DB",
        default=DEFAULT_DB,
        show_default=True,
        help="SQLAlchemy URL of the results database (env GANBENCH_DB)",
    )(runs_dir_option(command))


@click.group(cls=Cli)
@click.version_option(__version__, prog_name="ganbench")
@click.option("--debug", is_flag=True, help="show tracebacks instead of one-line errors")
def cli(debug):
    """ganbench: run GAN ablations from plugins and compare them in tables."""
    environ.check_all()  # a bad GANBENCH_* number is said before any command starts


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of a table")
def plugins(as_json):
    """List the core options and every installed component with its options (type, default,
    help) and the package it comes from."""
    from ganbench.config.spec import core_description
    from ganbench.plugins.manager import registry

    components = [core_description(__version__)] + [c.describe() for c in registry()]
    if as_json:
        click.echo(json.dumps(components, indent=2))
        return
    wide_console().print(components_table(components))


def components_table(components: list[dict[str, Any]]) -> "RichTable":
    """A row with each component's help, under it a row per option; a line between
    components."""
    from rich.table import Table
    from rich.text import Text  # plain text: '[...]' in a help is shown, not read as a style

    table = Table(title="ganbench components and their options")
    widest = {"type = default": 32}  # long choices wrap; the help gets the room
    for column in ("kind", "name", "option", "type = default", "help", "package"):
        # a narrow terminal wraps every column, cutting nothing
        table.add_column(column, overflow="fold", max_width=widest.get(column))
    for c in components:
        package = f"{c['package']} {c['version']}"
        last = not c["options"]
        table.add_row(c["kind"], c["name"], "", "", Text(c["help"]), package, end_section=last)
        for i, (key, o) in enumerate(c["options"].items(), 1):
            last = i == len(c["options"])
            table.add_row("", "", key, Text(typed_default(o)), Text(o["help"]), end_section=last)
    return table


def typed_default(option: dict[str, Any]) -> str:
    """'int = 64', or the choices for a type: 'fp32|bf16 = fp32'."""
    choices = option["choices"]
    kind = "|".join(map(str, choices)) if choices else option["type"]
    return f"{kind} = {shown_value(option['default'])}"


def shown_value(value: Any) -> str:
    """A value as a config shows it: an empty text as '', so that it is seen."""
    return "''" if value == "" else str(value)


class Setting(click.ParamType):
    """An executor option's flag: its value parsed as the option declares (type, choices,
    check); bad input is one line, as in a config's key=value."""

    def __init__(self, key: str, option: Option) -> None:
        self.key, self.option = key, option
        self.name = {int: "integer", float: "float", bool: "boolean"}.get(option.type, "text")

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str | None:
        return f"[{'|'.join(map(str, self.option.choices))}]" if self.option.choices else None

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        return self.option.parse(flag(self.key), value)


class RunCommand(click.Command):
    """`ganbench run`, whose `--executor` and executor flags come from the installed
    executors: each option an executor declares is a flag, its help after the executor's name
    (but the default executor's, which read as the command's own). They are made when the
    command parses or shows its help, so `ganbench --help` loads no plugin. An option whose
    flag the command has already is left out, and its executor refused when chosen."""

    made_for: object = None  # the registry the flags were made from; a newer one remakes them
    made: list[click.Parameter]
    shadowed: dict[str, list["Component"]]  # option name -> the executors declaring it

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        own = super().get_params(ctx)
        return own[:-1] + self._executor_params(own) + own[-1:]  # --help stays last

    def _executor_params(self, own: list[click.Parameter]) -> list[click.Parameter]:
        from ganbench.plugins.manager import registry

        reg = registry()
        if self.made_for is not reg:
            taken = {o for p in own for o in p.opts} | {p.name for p in own} | {"kind"}
            declared = owners(reg)
            self.shadowed = {k: v for k, v in declared.items() if {flag(k), k} & taken}
            self.made = [_executor_option(reg)]
            self.made += [
                _setting_option(k, v[0]) for k, v in declared.items() if k not in self.shadowed
            ]
            self.made_for = reg
        return self.made


def _executor_option(reg: "Registry") -> click.Option:
    """--executor, a choice of the installed executors."""
    names = [c.name for c in installed(reg)]
    if DEFAULT not in names:  # ganbench's own entry points are older than its code
        raise GanbenchError(
            f"no executor '{DEFAULT}' is registered: ganbench's entry points are out of date; "
            "install it again (pip install -e . in a source tree)"
        )
    return click.Option(
        ["--executor", "kind"],
        type=click.Choice(names),
        default=DEFAULT,
        show_default=True,
        help="where a study's runs train: this machine (--workers), Ray tasks or Slurm jobs",
    )


def _setting_option(key: str, executor: "Component") -> click.Option:
    """The flag of an executor's option, described as `executor` declares it."""
    option = executor.options[key]
    return click.Option(
        [flag(key), key],
        type=Setting(key, option),
        default=option.default,
        show_default=option.default is not None,
        help=option.help if executor.name == DEFAULT else f"{executor.name}: {option.help}",
    )


def executor_settings(ctx: click.Context, kind: str, flags: dict[str, Any]) -> dict[str, Any]:
    """The executor options given on the command line, {option name: value}; an executor
    with an option the command takes for its own is refused."""
    for key, declaring in getattr(ctx.command, "shadowed", {}).items():
        for chosen in (c for c in declaring if c.name == kind):
            raise GanbenchError(
                f"executor '{kind}' (plugin '{chosen.source.plugin}') declares option '{key}', "
                f"which `ganbench run` has for its own; the plugin must rename it"
            )
    given = click.core.ParameterSource.COMMANDLINE
    return {k: v for k, v in flags.items() if ctx.get_parameter_source(k) == given}


@cli.command(cls=RunCommand)
@click.argument("overrides", nargs=-1)
@click.option("--steps", type=int, help="training steps (overrides steps=)")
@db_option
@click.option(
    "--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True
)
@click.option(
    "--seed",
    type=click.IntRange(0, 2**32 - 1),
    default=0,
    show_default=True,
    help="the (first) seed",
)
@click.option(
    "--seeds",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="runs per arm, seeds --seed, --seed+1, ...",
)
@click.option("--name", help="group label for the table (default: derived from the config)")
@click.option(
    "--resume",
    "resume_id",
    type=int,
    help="continue this run id to its target steps (with --steps: to a larger one, completed runs too)",
)
@click.option(
    "--inception-weights",
    envvar="GANBENCH_INCEPTION_WEIGHTS",
    type=click.Path(dir_okay=False),
    default=None,
    help="local InceptionV3 weights for fid/is/kid/prc (env GANBENCH_INCEPTION_WEIGHTS)",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="build and check every arm, print each network's parameters, train nothing",
)
@click.option(
    "--cfg",
    "show_cfg",
    is_flag=True,
    help="print each arm's resolved config (components, every option's value, the given ones "
    "marked) and exit: nothing is built, trained or recorded",
)
@click.option(
    "--restart",
    is_flag=True,
    help="with --resume: train a run that has no checkpoint again from step 0",
)
@click.pass_context
def run(
    ctx: click.Context,
    overrides: tuple[str, ...],
    steps: int | None,
    db: str,
    device: str,
    seed: int,
    seeds: int,
    name: str | None,
    resume_id: int | None,
    inception_weights: str | None,
    dry_run: bool,
    show_cfg: bool,
    restart: bool,
    kind: str,
    **flags: Any,
) -> None:
    """Train runs. OVERRIDES are key=value, e.g. plugins=dcgan,resnet_tail g_lr=0.0005;
    study=NAME runs a study's arms; key=choice(a,b) and key=range(0,10,2) sweep."""
    from ganbench.executors import asked, choose
    from ganbench.stopping import STOP
    from ganbench.store.liveness import beat_s

    extras = {"inception_weights": inception_weights}
    given = executor_settings(ctx, kind, flags)
    beat_s()  # a bad heartbeat setting is said before any run is recorded
    with STOP.installed():
        if resume_id is not None:
            changed = any((overrides, name, dry_run, show_cfg, seeds > 1, kind != DEFAULT))
            if changed or asked(given):
                raise GanbenchError(
                    "--resume keeps the run's recorded config (only --steps may extend it); drop "
                    "the overrides, --seeds, --name, --workers, --executor, --dry-run and --cfg "
                    "(`ganbench runs show RUN_ID` prints the recorded config)"
                )
            resume(db, resume_id, device, extras, restart, steps)
        if restart:
            raise GanbenchError("--restart goes with --resume RUN_ID")
        # they show an arm whose data is not there yet; a run is refused it
        arms, specs = planned(overrides, name, steps, with_data=not (dry_run or show_cfg))
        if show_cfg:
            show_config(arms, specs, steps)
            return
        if dry_run:
            from ganbench.engine.launch import dry_run as dry_run_counts

            show_dry_run(dry_run_counts(arms), arms)
            return
        # a bad combination of options, or a missing extra, is said before anything is recorded
        chosen = choose(kind, given)
        check_before_recording(specs, device, kind)
        statuses = run_arms(db, specs, range(seed, seed + seeds), device, extras, chosen)
        sys.exit(max(EXIT_CODES[s] for s in statuses or ["interrupted"]))


def resume(
    db: str,
    run_id: int,
    device: str,
    extras: dict[str, Any],
    restart: bool,
    steps: int | None,
) -> NoReturn:
    """Train a recorded run on from its checkpoint; the command exits with its status."""
    from ganbench.engine.launch import resume_run
    from ganbench.store.sql import Store

    status = resume_run(
        Store(db, create=False), run_id, device, extras=extras, restart=restart, steps=steps
    )
    say(f"run {run_id}: {status}")
    sys.exit(EXIT_CODES[status])


def planned(
    overrides: tuple[str, ...], name: str | None, steps: int | None, with_data: bool
) -> tuple[list["Arm"], list["RunSpec"]]:
    """The command's arms and each one's spec, resolved once by the config layer alone: a
    typo costs no torch, no database and no data. `with_data`: an arm whose data folder is
    an unset $NAME is refused."""
    from ganbench.config.studies import check_data, plan, resolve_arms

    arms = plan(list(overrides))
    for arm in arms if with_data else []:
        check_data(arm)
    return arms, resolve_arms(arms, steps, [group_label(name, arm, arms) for arm in arms])


def check_before_recording(specs: list["RunSpec"], device: str, kind: str) -> None:
    """What a started run would refuse, said before the database is made: a tracker whose
    package is missing, and a device this machine lacks where the runs train here (Ray's
    and Slurm's runs find their devices where they train)."""
    from ganbench.engine.events import check_trackers
    from ganbench.environment import pick_device
    from ganbench.plugins.manager import registry

    for spec in specs:
        check_trackers(spec.config.options["trackers"], registry())
    if kind == DEFAULT:
        pick_device(device)


def show_config(arms: list["Arm"], specs: list["RunSpec"], steps: int | None) -> None:
    """`run --cfg`: each arm's resolved config, a table each."""
    console = wide_console()
    for arm, spec in zip(arms, specs, strict=True):
        given = set(arm.overrides) | ({"steps"} if steps is not None else set())
        console.print(config_table(spec, given))


def config_table(spec: "RunSpec", given: set[str]) -> "RichTable":
    """The components, then every option with its value and who declares it; those the
    command line or the study gave (`given`: their keys) are marked."""
    from rich.table import Table
    from rich.text import Text  # plain text: a value's '[...]' is not a style

    from ganbench.config.spec import option_owners
    from ganbench.plugins.manager import registry

    config = spec.config
    study = f"study {spec.study}: " if spec.study else ""
    table = Table(title=f"{study}{spec.label} (group hash {spec.hash})")
    for column in ("component / option", "value", "given", "declared by"):
        table.add_column(column, overflow="fold")
    for kind, names in config.components.items():
        chosen = names if isinstance(names, list) else [names]  # modifiers and metrics: lists
        mark = "metrics" in given if kind == "metric" else bool(set(chosen) & set(config.plugins))
        shown = Text(", ".join(chosen) or "(none)")
        table.add_row(kind, shown, "given" if mark else "", end_section=kind == "metric")
    for key, owner in option_owners(config.components, registry()).items():
        shown = Text(shown_value(config.options[key]))
        table.add_row(key, shown, "given" if key in given else "", owner)
    return table


def show_dry_run(table: "pd.DataFrame", arms: list["Arm"]) -> None:
    """Each arm's parameters, and the notes on how they were counted."""
    wide_console().print(dry_run_table(table))
    for note in dict.fromkeys(arm.params_note for arm in arms if arm.params_note):
        say(note)


def run_arms(
    db: str,
    specs: list["RunSpec"],
    seeds: range,
    device: str,
    extras: dict[str, Any],
    chosen: "Executor | None" = None,
) -> list[str]:
    """Every arm's spec with every seed, trained by the `chosen` executor (default: one after
    another here) until a stop request ends the whole command. Returns the statuses of the
    runs that started."""
    from ganbench.executors.base import InProcess, Unit

    chosen = chosen or InProcess()
    if len(specs) * len(seeds) > 1:
        runs = f"{len(specs)} arm(s) x {len(seeds)} seed(s){chosen.summary}"
        say(f"{specs[0].study or 'sweep'}: {runs}")
        for i, spec in enumerate(specs, 1):
            say(f"  {i}. {spec.name}")
    units = [Unit(replace(spec, seed=s), db, device, extras) for spec in specs for s in seeds]
    return chosen.run(units, say)


def group_label(name: str | None, arm: "Arm", arms: list["Arm"]) -> str | None:
    """--name for one arm; with several, the name and the arm's own label, so groups stay apart."""
    if name and arm.label and len(arms) > 1:
        return f"{name} {arm.label}"
    return name or arm.label


def say(line: str) -> None:
    """A line on stdout; a closed stdout (`| head`) never ends a run."""
    try:
        click.echo(line)
    except BrokenPipeError:
        from ganbench.engine.progress import silence_stdout

        silence_stdout()


def dry_run_table(table: "pd.DataFrame") -> "RichTable":
    from ganbench.results.report import as_rich

    table = table.dropna(axis=1, how="all")  # no published counts: no columns for them
    shown = table.apply(
        lambda column: [
            ""
            if v is None or v != v
            else f"{v:+.2f}"
            if isinstance(v, float)
            else f"{v:,}"
            if isinstance(v, int)
            else str(v)
            for v in column
        ]
    )
    return as_rich(shown, "dry run: parameters per arm")


def _steps(ctx, param, value):
    try:
        return value and [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(
            f"'{value}': give training steps separated by commas, e.g. 1000,5000,10000"
        ) from None


@cli.command()
@db_option
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option(
    "--study",
    "studies",
    multiple=True,
    metavar="NAME",
    help="only this study's runs; repeat to compare studies side by side",
)
@click.option(
    "--group",
    "groups",
    multiple=True,
    metavar="LABEL",
    help="only this group, named as the table names it; repeat for several, the first is the baseline",
)
@click.option("--baseline", help="the group to compare against (default: the first)")
@click.option(
    "--plots", type=click.Path(file_okay=False), help="also write figures (PNG) to this folder"
)
@click.option(
    "--html",
    type=click.Path(file_okay=False),
    help="also write one self-contained web page per study to this folder",
)
@click.option(
    "--strip-steps",
    "strip",
    callback=_steps,
    metavar="STEPS",
    help="the progress strip's steps, e.g. 1000,5000,10000 (default: the fair's)",
)
@click.option(
    "--wide",
    is_flag=True,
    help="the terminal table with every column (csv and json always have them)",
)
@click.option("--tag", help="only runs with this tag (`ganbench runs tag`)")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice(STATUSES + ("all",)),
    help="only runs with this status; repeat for several (default: completed and diverged)",
)
def report(db, fmt, studies, groups, baseline, plots, html, strip, wide, tag, statuses):
    """One row per group of runs with the same config except the seed."""
    from ganbench.results.report import (
        fitted_table,
        footnote,
        group_table,
        left_out_note,
        load_frames,
        render,
        shared_labels_note,
    )
    from ganbench.store.sql import Store

    store = Store(db, create=False, write=False)
    chosen = None if "all" in statuses else (statuses or FINISHED)
    runs, metrics = load_frames(store, list(studies) or None, groups, tag, chosen)
    notes = [n for n in (shared_labels_note(runs), left_out_note(runs)) if n]
    table = group_table(
        runs, metrics, baseline
    )  # first: a bad --baseline stops before any file is written
    if plots:
        from ganbench.results.plots import write_plots

        for path in write_plots(runs, metrics, plots, store.run_dir, strip):
            click.echo(f"wrote {path}", err=True)
    if html:
        from ganbench.results.webpage import write_pages

        for path in write_pages(store, runs, metrics, html, baseline, strip):
            click.echo(f"wrote {path}", err=True)
    protocols = store.protocols()
    output = render(table, fmt, protocols, baseline)
    if fmt == "table":
        console = wide_console() if wide else fitted_console()
        console.print(output if wide else fitted_table(table, baseline, console))
        if not wide and len(table):
            console.print(
                "@N: the step of the best value; --wide shows every column", highlight=False
            )
        if footnote(table, protocols, baseline):
            console.print(footnote(table, protocols, baseline), highlight=False, markup=False)
    else:
        click.echo(output)
    for note in notes:
        click.echo(note, err=fmt != "table")  # csv and json stay machine-readable


@cli.command()
@db_option
@click.argument("run_id", type=int)
@click.option(
    "--n",
    "count",
    type=click.IntRange(min=1),
    default=10000,
    show_default=True,
    help="images to write (translation: per direction, at most the test images)",
)
@click.option(
    "--out", type=click.Path(file_okay=False), required=True, help="a new or empty folder"
)
@click.option(
    "--checkpoint",
    "which",
    type=click.Choice(CHECKPOINTS),
    default="last",
    show_default=True,
    help="last.pt, or best.pt (the generators at the best score)",
)
@click.option(
    "--seed",
    type=click.IntRange(0, 2**32 - 1),
    default=0,
    show_default=True,
    help="the noise's seed",
)
@click.option(
    "--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True
)
def sample(db, run_id, count, out, which, seed, device):
    """Write images from a run's checkpoint, one PNG each: a folder torch-fidelity and clean-fid read."""
    from ganbench.results import trained
    from ganbench.results.sample_folder import empty_folder, write_samples
    from ganbench.store.sql import Store

    out = empty_folder(out)
    exp, step = trained.load(Store(db, create=False, write=False), run_id, which, device)
    for folder, n in write_samples(exp, count, seed, out).items():
        say(f"wrote {n} images of run {run_id} at step {step} ({which} checkpoint) to {folder}")


@cli.command("export")
@db_option
@click.argument("run_id", type=int)
@click.option(
    "--out", type=click.Path(dir_okay=False), required=True, help="the file to write, e.g. G.pt2"
)
@click.option(
    "--checkpoint", "which", type=click.Choice(CHECKPOINTS), default="last", show_default=True
)
@click.option("--net", help="which generator (translation: g_ab or g_ba; default: the first)")
def export_generator(db, run_id, out, which, net):
    """Write a run's generator with its config: `torch.export.load(path).module()` runs it without ganbench."""
    from ganbench.results import export, trained
    from ganbench.store.sql import Store

    export.check_out(out)  # before the run is rebuilt and traced: that work would be lost
    store = Store(db, create=False, write=False)
    exp, step = trained.load(store, run_id, which, "cpu", stand_in=True)
    meta = export.export(exp, store.get_run(run_id), step, which, net, out)
    say(
        f"wrote {meta['network']} of run {run_id} at step {meta['step']} to {out}; it takes {meta['input']}"
    )


@cli.group()
def runs():
    """List, show, tag and delete recorded runs."""


@runs.command("list")
@db_option
@click.option("--study", help="only this study's runs")
@click.option("--status", type=click.Choice(STATUSES), help="only runs with this status")
@click.option("--tag", help="only runs with this tag")
def runs_list(db, study, status, tag):
    """One line per run: id, study, group, seed, status, steps, host, start, tags, error."""
    from ganbench.results import run_records
    from ganbench.results.report import as_rich, printable
    from ganbench.store.sql import Store

    found = run_records.listing(Store(db, create=False, write=False), study, status, tag)
    wide_console().print(as_rich(found.astype(str).map(printable), f"{len(found)} run(s)"))


@runs.command("show")
@db_option
@click.argument("run_id", type=int)
def runs_show(db, run_id):
    """A run's whole record: resolved config, versions, environment, error, early stop, files."""
    from ganbench.results import run_records
    from ganbench.store.sql import Store

    click.echo(
        json.dumps(
            run_records.record(Store(db, create=False, write=False), run_id), indent=2, default=str
        )
    )


@runs.command("delete")
@db_option
@click.argument("run_ids", type=int, nargs=-1, required=True)
@click.option("--yes", is_flag=True, help="delete without asking")
def runs_delete(db, run_ids, yes):
    """Delete runs with their metrics and files."""
    from ganbench.results import run_records
    from ganbench.store.sql import Store

    store = Store(db, create=False)
    run_ids = run_records.existing(store, run_ids)
    if not yes:
        click.confirm(
            f"delete run {', '.join(map(str, run_ids))} with its metrics and files?", abort=True
        )
    say(f"deleted run {', '.join(map(str, run_records.delete(store, run_ids)))}")


@runs.command("tag")
@db_option
@click.argument("run_ids", type=int, nargs=-1, required=True)
@click.argument("tag")
@click.option("--remove", is_flag=True, help="take the tag away instead")
def runs_tag(db, run_ids, tag, remove):
    """Tag runs (RUN_ID... TAG), so `report --tag TAG` picks them out."""
    from ganbench.results import run_records
    from ganbench.store.sql import Store

    run_ids = run_records.tag(Store(db, create=False), run_ids, tag, remove)
    say(f"{'untagged' if remove else 'tagged'} run {', '.join(map(str, run_ids))}: {tag}")


@cli.command()
@click.argument("sources", nargs=-1, required=True)
@click.option(
    "--into",
    envvar="GANBENCH_DB",
    default=DEFAULT_DB,
    show_default=True,
    help="the database to fold them into (a SQLAlchemy URL); env GANBENCH_DB",
)
@runs_dir_option
def merge(sources, into):
    """Fold results databases (files or URLs) into one, each run once however often merged."""
    from ganbench.store.merge import merge as fold

    done = fold(sources, into)
    say(
        f"merged {len(sources)} database(s): {done['copied']} run(s) copied, {done['updated']} updated, "
        f"{done['unchanged']} already there"
        + (
            f", {done['repaired']} repaired (their files here were not whole)"
            if done["repaired"]
            else ""
        )
        + (
            f"; {done['without files']} run(s) had no folder at the source (was --runs-dir set where they trained?)"
            if done["without files"]
            else ""
        )
    )


def main():
    cli()
