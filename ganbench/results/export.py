"""`ganbench export`: one generator of a run as a `torch.export` program that loads with
`torch.export.load(path).module()` alone (no ganbench, no plugins), any batch size, with the
run's config inside it."""

import io
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganbench.api.network import eval_mode
from ganbench.engine import checkpoint
from ganbench.engine.build import Experiment
from ganbench.errors import GanbenchError

META = "ganbench.json"  # the extra file holding what the generator takes and the run's config


class Images(nn.Module):
    """The generator with the scheme's reading of its output: images in [-1, 1]."""

    def __init__(self, net: nn.Module, image_of: Callable[[Any], torch.Tensor]) -> None:
        super().__init__()
        self.net, self.image_of = net, image_of

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.image_of(self.net(x))


class ConditionalImages(Images):
    # torch.export traces a forward of fixed arity, so the conditional one takes two inputs
    def forward(self, z: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return self.image_of(self.net(z, cond))


def example_inputs(exp: Experiment) -> tuple[torch.Tensor, ...]:
    """What the generator is traced with: noise (and conditions), or images of the data's shape."""
    cfg, scheme = exp.config.settings(), exp.scheme
    data: Any = exp.data  # DeviceData, or DomainData for translation (the image input)
    if scheme.generator_input == "image":
        return (torch.zeros(2, data.channels, cfg.res, cfg.res, device=exp.device),)
    noise = torch.randn(2, cfg.z_dim, device=exp.device)
    conditional = {c.kind: c for c in exp.components}["scheme"].conditional  # as registered
    return (noise, data.fixed_labels(2, 0).float()) if conditional else (noise,)


def chosen_generator(exp: Experiment, name: str | None) -> str:
    names = exp.scheme.generators()
    name = name or names[0]
    if name not in names:
        raise GanbenchError(
            f"run has no generator '{name}'; --net takes one of: {', '.join(names)}"
        )
    return name


def export(
    exp: Experiment,
    run: Mapping[str, Any],
    step: int,
    which: str,
    name: str | None,
    out: str | Path,
) -> dict[str, Any]:
    """Trace generator `name` (the scheme's first by default) and save it; the meta. `exp` is
    built on the CPU, so the file loads on any machine."""
    name = chosen_generator(exp, name)
    net = exp.parts.for_evaluation(name)
    inputs = example_inputs(exp)
    meta = _meta(exp, run, step, which, name, inputs)
    wrapper = (ConditionalImages if len(inputs) > 1 else Images)(net, exp.scheme.image_of)
    batch = [{0: torch.export.Dim.AUTO} for _ in inputs]  # any batch size
    with eval_mode(net):
        program = torch.export.export(wrapper.eval(), inputs, dynamic_shapes=batch)
    # in memory first: torch 2.14's exporter aborts the whole process when a write to its
    # file fails (a full disk), where a plain write raises OSError
    program_bytes = io.BytesIO()
    torch.export.save(program, program_bytes, extra_files={META: json.dumps(meta)})
    checkpoint.write_whole(Path(out), lambda file: file.write(program_bytes.getbuffer()), OUT_FIX)
    return meta


OUT_FIX = "give --out a file in a writable folder on a disk with room for it"


def check_out(out: str | Path) -> None:
    """An --out whose folder is missing or cannot be written is refused before any work."""
    folder = Path(out).absolute().parent
    if not folder.is_dir():
        raise GanbenchError(
            f"cannot write {out}: folder {folder} does not exist; create it or {OUT_FIX}"
        )
    why = checkpoint.unwritable(folder)
    if why:
        raise GanbenchError(f"cannot write {out} in {folder}: {why}; {OUT_FIX}")


def _meta(
    exp: Experiment,
    run: Mapping[str, Any],
    step: int,
    which: str,
    name: str,
    inputs: tuple[torch.Tensor, ...],
) -> dict[str, Any]:
    cfg = exp.config.settings()
    data: Any = exp.data
    takes = {"image": f"images (N, {data.channels}, {cfg.res}, {cfg.res}) in [-1, 1]"}.get(
        exp.scheme.generator_input,
        f"noise (N, {cfg.z_dim}) from '{cfg.noise}'"
        + (f" and conditions (N, {inputs[1].shape[1]})" if len(inputs) > 1 else ""),
    )
    return {
        "run": run["id"],
        "label": run["label"],
        "seed": run["seed"],
        "network": name,
        "checkpoint": which,
        "step": step,
        "input": takes,
        "outputs": "images in [-1, 1]",
        "config": exp.config.to_dict(),
        "versions": {"ganbench": run["ganbench_version"], "torch": torch.__version__},
    }


def load(path: str | Path) -> tuple[nn.Module, dict[str, Any]]:
    """(module, meta) from an exported file, with torch alone: what a user's script does."""
    extra = {META: ""}
    program = torch.export.load(str(path), extra_files=extra)
    return program.module(), json.loads(extra[META])
