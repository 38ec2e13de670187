"""The fast path on a CPU: bf16 autocast and compiled runs train, resume and record their
settings (which split groups); the gradient penalty under autocast matches fp32; a compiler
that is missing is one clear line."""

import json

import pytest
import torch
from conftest import TINY, query, run_dir

from ganbench_plugins import dcgan
from ganbench_plugins.losses import WassersteinGP


def _weights(db, run_id):
    return torch.load(run_dir(db, run_id) / "last.pt")["nets"]


def _same_weights(db, one, other):
    a, b = _weights(db, one), _weights(db, other)
    return all(torch.equal(t, b[net][k]) for net in a for k, t in a[net].items())


def test_a_bf16_run_trains_records_its_precision_and_extends_exactly(invoke, db):
    assert invoke("run", *TINY, "precision=bf16", "--steps", "4").exit_code == 0
    assert invoke("run", *TINY, "precision=bf16", "--steps", "2").exit_code == 0
    assert invoke("run", "--resume", "2", "--steps", "4").exit_code == 0
    assert invoke("run", *TINY, "--steps", "4").exit_code == 0
    assert _same_weights(db, 1, 2) and not _same_weights(db, 1, 3)  # bf16 changes the numbers
    configs = [json.loads(c) for (c,) in query(db, "select config from runs order by id")]
    assert [c["options"]["precision"] for c in configs] == ["bf16", "bf16", "fp32"]
    hashes = [h for (h,) in query(db, "select config_hash from runs order by id")]
    assert hashes[0] == hashes[1] != hashes[2]
    labels = [label for (label,) in query(db, "select label from runs order by id")]
    assert "precision=bf16" in labels[0] and "precision" not in labels[2]


def test_the_gradient_penalty_under_bf16_autocast_matches_fp32():
    from types import SimpleNamespace

    cfg = SimpleNamespace(
        res=16,
        z_dim=8,
        channels=1,
        filters=0.25,
        d_filters=None,
        d_kernel=5,
        d_min_width=0,
        cond_dim=0,
    )
    torch.manual_seed(0)
    d, real, fake = (
        dcgan.discriminator(cfg),
        torch.rand(8, 1, 16, 16) * 2 - 1,
        torch.rand(8, 1, 16, 16) * 2 - 1,
    )
    loss = WassersteinGP(10.0, 1)
    exact = loss.penalty(d, real, fake, torch.Generator().manual_seed(1))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = loss.penalty(d, real, fake, torch.Generator().manual_seed(1))
    assert mixed.dtype == torch.float32 and exact.item() > 0.1
    assert mixed.item() == pytest.approx(exact.item(), rel=0.03)
    grads = [torch.autograd.grad(p, next(d.parameters()))[0] for p in (exact, mixed)]
    assert (
        torch.nn.functional.cosine_similarity(grads[0].flatten(), grads[1].flatten(), dim=0) > 0.99
    )


def test_wgan_gp_trains_under_bf16(invoke, db):
    assert (
        invoke(
            "run", *TINY, "plugins=wgan_gp", "critic_steps=1", "precision=bf16", "--steps", "2"
        ).exit_code
        == 0
    )
    assert query(db, "select status from runs") == [("completed",)]


def test_a_compiled_channels_last_run_trains_and_resumes_into_the_same_weights(invoke, db):
    fast = [*TINY, "compile=true", "channels_last=true"]
    assert invoke("run", *fast, "--steps", "4").exit_code == 0
    assert invoke("run", *fast, "--steps", "2").exit_code == 0
    assert invoke("run", "--resume", "2", "--steps", "4").exit_code == 0
    assert query(db, "select status, steps_done from runs") == [("completed", 4), ("completed", 4)]
    a, b = _weights(db, 1), _weights(db, 2)
    assert all(torch.allclose(t, b[net][k], atol=1e-6) for net in a for k, t in a[net].items())
    assert not any(k.startswith("_orig_mod") for k in a["g"])  # checkpoints keep the plain keys


def test_compile_without_a_compiler_is_one_line(invoke, db, monkeypatch):
    monkeypatch.setattr("ganbench.engine.fast_path.shutil.which", lambda name: None)
    result = invoke("run", *TINY, "compile=true", "--steps", "2")
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert "compile=true on a CPU needs a C++ compiler" in result.output
    assert query(db, "select count(*) from runs") == [(0,)]  # refused before anything was recorded
