"""Every fast path trains like the plain float32 step, within float tolerance, on tiny data."""

import math
import shutil

import pytest
import torch

from genlab.config.build import make_trainer, to_dict
from genlab.errors import ConfigError

SMALL = ["data.size=32", "optimizer.lr=1e-3", "~recipe"]  # the textbook models' numerics
PLAIN = ["device.precision=32", "device.compile=false", "device.channels_last=false"]


def two_steps(compose_cfg, tmp_path, *overrides, joint_d=True):
    """Losses of two steps on the same batches and noise, and (parameter, last gradient) after."""
    width = "arch.channels=8" if "arch=cnn" in overrides else "arch.hidden=32"
    trainer = make_trainer(compose_cfg(*SMALL, width, *PLAIN, *overrides), tmp_path)
    model = trainer.step
    if not joint_d:  # D on the real and the fake batch in two passes, as the textbook step does
        model._d_both = lambda x, fake, y: (
            model.D(x, y).float(),
            model.D(fake, y).float(),
            None,
        )
    losses = []
    for step, (x, y) in zip(range(2), trainer.loader.epoch(0), strict=False):
        torch.manual_seed(step)  # the same z / reparameterisation noise on both sides
        losses.append({k: v.item() for k, v in model.train_step(x, y, step).items()})
    params = {
        f"{name}.{k}": (p.detach().clone(), p.grad.clone())
        for name, m in model.networks.items()
        for k, p in m.named_parameters()
        if p.requires_grad  # not G's EMA copy: it follows G and has no gradient
    }
    return model, losses, params


def assert_close(a, b, rtol, atol):
    (la, pa), (lb, pb) = a, b
    for sa, sb in zip(la, lb, strict=True):
        for k in sa:
            assert sa[k] == pytest.approx(sb[k], rel=rtol, abs=atol), k
    for k, (pa_k, ga) in pa.items():
        pb_k, gb = pb[k]
        torch.testing.assert_close(ga, gb, rtol=rtol * 10, atol=atol, msg=f"grad of {k}")
        # Adam turns a gradient that is zero up to rounding (a bias right before BatchNorm)
        # into a step of ~lr either way: such weights are checked by their gradient only
        signal = ga.abs() > 1e-6
        torch.testing.assert_close(pa_k[signal], pb_k[signal], rtol=rtol, atol=atol, msg=k)


@pytest.mark.parametrize("impl", ["foreach", "fused"])
@pytest.mark.parametrize("model", ["vae", "gan"])
def test_batched_adam_matches_the_plain_loop(compose_cfg, tmp_path, model, impl):
    base = two_steps(compose_cfg, tmp_path / "a", f"model={model}", "device.optimizer_impl=plain")
    fast = two_steps(compose_cfg, tmp_path / "b", f"model={model}", f"device.optimizer_impl={impl}")
    assert fast[0].optimizers[next(iter(fast[0].optimizers))].defaults[impl] is True
    assert_close(base[1:], fast[1:], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("model", ["gan", "cgan"])
def test_joint_discriminator_pass_matches_two_passes(compose_cfg, tmp_path, model):
    gan, *joint = two_steps(compose_cfg, tmp_path / "a", f"model={model}", joint_d=True)
    _, *apart = two_steps(compose_cfg, tmp_path / "b", f"model={model}", joint_d=False)
    assert_close(joint, apart, rtol=1e-5, atol=1e-6)
    assert all(p.requires_grad for p in gan.D.parameters())  # restored after the G step


@pytest.mark.parametrize("model", ["vae", "gan"])
def test_channels_last_matches_contiguous(compose_cfg, tmp_path, model):
    nchw = two_steps(compose_cfg, tmp_path / "a", f"model={model}", "arch=cnn")
    model, *nhwc = two_steps(
        compose_cfg, tmp_path / "b", f"model={model}", "arch=cnn", "device.channels_last=true"
    )
    kernels = [p for m in model.networks.values() for p in m.parameters() if p.dim() == 4]
    assert kernels and all(w.is_contiguous(memory_format=torch.channels_last) for w in kernels)
    assert not all(w.is_contiguous() for w in kernels)  # NHWC, not the NCHW default
    assert_close(nchw[1:], nhwc, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
@pytest.mark.parametrize("model", ["vae", "gan"])
def test_mixed_precision_stays_near_float32(compose_cfg, tmp_path, model, precision):
    _, l32, p32 = two_steps(compose_cfg, tmp_path / "a", f"model={model}")
    model, lmp, pmp = two_steps(
        compose_cfg, tmp_path / "b", f"model={model}", f"device.precision={precision}"
    )
    assert (model.precision.scaler is not None) == (precision == "fp16")
    # same weights at step 0: the losses differ only by rounding in the forward pass
    for k in l32[0]:
        assert lmp[0][k] == pytest.approx(l32[0][k], rel=3e-2, abs=1e-2), k
    # each Adam step moves a weight by at most ~lr, whatever the gradient's rounding
    for k in p32:
        torch.testing.assert_close(pmp[k][0], p32[k][0], rtol=0, atol=2 * 2e-3, msg=k)
    assert any(not torch.equal(pmp[k][0], p32[k][0]) for k in p32)  # autocast ran in low precision


@pytest.mark.slow
@pytest.mark.parametrize("model", ["vae", "gan"])
def test_compiled_step_matches_eager(compose_cfg, tmp_path, model):
    import torch._inductor.config as inductor

    eager = two_steps(compose_cfg, tmp_path / "a", f"model={model}")
    with inductor.patch(fallback_random=True):  # eager's random numbers in the compiled graph
        model, *compiled = two_steps(
            compose_cfg, tmp_path / "b", f"model={model}", "device.compile=true"
        )
    assert_close(eager[1:], compiled, rtol=1e-4, atol=1e-5)
    # compile wraps forward in place: checkpoints keep the plain parameter names
    assert not any("_orig_mod" in k for m in model.networks.values() for k in m.state_dict())


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("g++") is None, reason="torch.compile needs a C++ compiler")
def test_gradient_penalty_trains_with_compile_on(compose_cfg, tmp_path):
    """WGAN-GP differentiates D twice, which a compiled module cannot: D runs eager, G compiled."""
    gan, losses, _ = two_steps(
        compose_cfg, tmp_path, "model=gan", "loss=wgan_gp", "device.compile=true"
    )
    assert all(math.isfinite(v) for step in losses for v in step.values())
    assert gan.G._compiled_call_impl is not None and gan.D._compiled_call_impl is None


def test_auto_resolves_to_the_visible_device_and_its_written_defaults(compose_cfg, monkeypatch):
    """device=auto is resolved as the config composes: `--cfg job` shows what a run will use."""
    for visible, name in ((False, "cpu"), (True, "cuda")):
        monkeypatch.setattr(torch.cuda, "is_available", lambda v=visible: v)
        auto = to_dict(compose_cfg("device=auto"))["device"]
        assert auto == to_dict(compose_cfg(f"device={name}"))["device"]
        assert auto["name"] == name and "auto" not in auto.values()
    assert to_dict(compose_cfg("device=cpu")) != to_dict(compose_cfg("device=cuda"))


@pytest.mark.parametrize(
    "override, message",
    [
        ("device.precision=fp8", "device.precision=fp8 is not known; choose one of 32, bf16"),
        ("device.optimizer_impl=apex", "device.optimizer_impl=apex is not known"),
        ("device.compile=maybe", "device.compile=maybe is not allowed; choose true or false"),
    ],
)
def test_bad_fast_path_values_fail_early(compose_cfg, tmp_path, override, message):
    with pytest.raises(ConfigError, match=message):
        make_trainer(compose_cfg(override), tmp_path)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
@pytest.mark.parametrize("model", ["vae", "gan", "cgan"])
def test_no_host_sync_in_the_hot_loop_on_gpu(compose_cfg, tmp_path, model):
    recipe = [] if model == "vae" else ["model.ema=0.999", "model.minibatch_std=4"]  # G's EMA too
    trainer = make_trainer(
        compose_cfg(f"model={model}", "device=cuda", "arch.hidden=32", *SMALL, *recipe), tmp_path
    )
    batches = list(trainer.loader.epoch(0))
    torch.cuda.set_sync_debug_mode("error")  # any device -> host wait raises
    try:
        for step, (x, y) in enumerate(batches):
            trainer.step.train_step(x, y, step)
    finally:
        torch.cuda.set_sync_debug_mode("default")
