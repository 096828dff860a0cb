"""Every device used as it can be, on any machine: device=auto's order (cuda, mps, cpu), a GPU's
fast paths by its compute capability, a CPU's by its instructions, the refusal of a fast path the
device lacks, float64 metrics on the CPU under MPS, and a resume on another number of GPUs. The
device's properties are faked (torch.cuda.*, torch.backends.mps.*, the CPU's instructions), so
these run on any CPU."""

from __future__ import annotations

import logging

import pytest
import torch

from genlab.config import devices
from genlab.config.build import device_config, make_device, make_step, make_trainer, to_dict
from genlab.config.data import make_data
from genlab.errors import ConfigError
from genlab.runs.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state

T4, P100, A100 = (7, 5), (6, 0), (8, 0)


@pytest.fixture
def machine(monkeypatch):
    """machine(gpu=capability or None, mps=bool, gpus=n): what torch says this process sees."""

    def fake(gpu: tuple[int, int] | None = None, mps: bool = False, gpus: int = 1) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: gpu is not None)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: gpus if gpu else 0)
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: gpu)
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)

    return fake


# --- the rules, as pure functions ---------------------------------------------------------
@pytest.mark.parametrize(
    "capability, precision, tensor_cores",
    [
        ((6, 0), 32, False),  # P100: no tensor cores, and Triton refuses it
        ((6, 1), 32, False),  # GTX 10xx
        ((7, 0), "fp16", True),  # V100
        ((7, 5), "fp16", True),  # T4, RTX 20xx
        ((8, 0), "bf16", True),  # A100
        ((8, 6), "bf16", True),  # RTX 30xx
        ((9, 0), "bf16", True),  # H100
        (None, "bf16", True),  # no GPU to ask (a login node composing): the newest GPUs' paths
    ],
)
def test_a_gpu_gets_the_fast_paths_of_its_compute_capability(capability, precision, tensor_cores):
    fast = devices.cuda_fast_paths(capability)
    assert fast == {
        "precision": precision,
        "compile": tensor_cores,
        "channels_last": tensor_cores,
        "optimizer_impl": "fused",
    }


@pytest.mark.parametrize("fused", [True, False])
def test_mps_runs_float32_eager_with_the_adam_this_torch_has(fused):
    fast = devices.mps_fast_paths(fused)
    assert fast == {
        "precision": 32,
        "compile": False,
        "channels_last": False,
        "optimizer_impl": "fused" if fused else "plain",
    }


@pytest.mark.parametrize(
    "setting, device, capability, fused, message",
    [
        ({"precision": "bf16"}, "cuda", T4, True, "device.precision=bf16 needs a GPU of compute "
         "capability 8.0 or newer (this one has 7.5); choose device.precision=fp16, or device=auto "
         "for this GPU's own fast paths"),
        ({"precision": "bf16"}, "cuda", P100, True, "(this one has 6.0); choose device.precis"
         "ion=32"),
        ({"compile": True}, "cuda", (6, 1), True, "device.compile=true needs a GPU of compute "
         "capability 7.0 or newer (Triton's minimum; this one has 6.1); choose device.compile="
         "false"),
        ({"optimizer_impl": "fused"}, "mps", None, False, "device.optimizer_impl=fused: this "
         "torch has no fused Adam for mps; choose device.optimizer_impl=plain or foreach"),
    ],
)  # fmt: skip
def test_a_fast_path_the_device_lacks_is_refused_in_one_line(
    setting, device, capability, fused, message
):
    plain = {"precision": 32, "compile": False, "channels_last": False, "optimizer_impl": "plain"}
    with pytest.raises(ConfigError) as e:
        devices.refuse_missing({**plain, **setting}, device, capability, fused)
    assert message in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("capability", [(6, 0), (6, 1), (7, 0), (7, 5), (8, 0), (9, 0)])
def test_what_a_gpu_is_given_and_what_it_has_are_never_refused(capability):
    devices.refuse_missing(devices.cuda_fast_paths(capability), "cuda", capability, True)
    fp16 = {**devices.cuda_fast_paths(capability), "precision": "fp16"}  # slow below 7.0, not wrong
    devices.refuse_missing(fp16, "cuda", capability, True)
    devices.refuse_missing(devices.mps_fast_paths(False), "mps", None, False)


# --- what the configs compose to -----------------------------------------------------------
@pytest.mark.parametrize(
    "gpu, mps, chosen", [(A100, True, "cuda"), (None, True, "mps"), (None, False, "cpu")]
)
def test_auto_picks_cuda_then_mps_then_cpu(compose_cfg, machine, gpu, mps, chosen):
    machine(gpu=gpu, mps=mps)
    auto = to_dict(compose_cfg("device=auto"))["device"]
    assert auto == to_dict(compose_cfg(f"device={chosen}"))["device"]
    assert auto["name"] == chosen
    assert make_device("auto") == torch.device(chosen)


@pytest.mark.parametrize("capability", [P100, T4, A100])
def test_device_cuda_composes_the_fast_paths_of_the_gpu_it_sees(compose_cfg, machine, capability):
    machine(gpu=capability)
    expected = {"name": "cuda", **devices.cuda_fast_paths(capability)}
    assert to_dict(compose_cfg("device=cuda"))["device"] == expected
    assert to_dict(compose_cfg("device=auto"))["device"] == expected
    assert device_config("cuda") == expected  # what a finished run samples with (load_run)


@pytest.mark.parametrize("fused", [True, False])
def test_device_mps_composes_float32_eager_and_the_adam_this_torch_has(
    compose_cfg, machine, monkeypatch, fused
):
    machine(mps=True)
    monkeypatch.setattr(devices, "fused_adam", lambda device_type: fused)
    expected = {"name": "mps", **devices.mps_fast_paths(fused)}
    assert to_dict(compose_cfg("device=mps"))["device"] == expected
    assert to_dict(compose_cfg("device=auto"))["device"] == expected


def test_cfg_job_prints_what_the_gpu_was_given(machine, tmp_path, monkeypatch, capsys):
    from genlab.train import cli

    monkeypatch.chdir(tmp_path)
    machine(gpu=T4)
    try:
        cli(["device=auto", "data=synthetic", "--cfg", "job"])
    except SystemExit as e:
        assert e.code in (0, None)
    printed = capsys.readouterr().out.split("device:\n", 1)[1]
    assert printed.startswith("  name: cuda\n  precision: fp16\n  compile: true\n")


def test_device_mps_without_mps_fails_in_one_line(machine):
    machine(gpu=None, mps=False)
    with pytest.raises(ConfigError, match=r"^device=mps but no Apple silicon GPU \(MPS\) is "):
        make_device("mps")
    machine(gpu=None, mps=True)
    assert make_device("mps") == torch.device("mps")


def test_a_run_on_mps_passes_the_checks(compose_cfg, machine):
    from genlab.config.checks import validate

    machine(mps=True)
    validate(to_dict(compose_cfg("device=mps")))


def test_a_run_asking_a_gpu_for_what_it_lacks_stops_before_building(compose_cfg, machine):
    """bf16 set on the command line (or saved by a run resumed here) on a T4: refused before a
    network reaches the GPU."""
    machine(gpu=T4)
    c = to_dict(compose_cfg("device=cuda", "device.precision=bf16"))
    with pytest.raises(ConfigError, match="^device.precision=bf16 needs a GPU of compute capab"):
        make_step(c, make_data(c), torch.device("cuda"))


def test_a_run_resumed_on_an_older_gpu_takes_its_fast_paths_with_device_auto(
    compose_cfg, machine, tmp_path
):
    """What the refusal offers: `resume=R device=auto` swaps an A100's saved paths for a T4's."""
    from genlab.config.resume import resumed_config

    machine(gpu=A100)
    saved = to_dict(compose_cfg("device=auto"))
    machine(gpu=T4)
    c, changed = resumed_config(compose_cfg("device=auto"), ["device=auto"], saved, tmp_path)
    assert saved["device"]["precision"] == "bf16" and c["device"]["precision"] == "fp16"
    devices.refuse_missing(c["device"], "cuda", T4, True)
    assert changed and changed[0].startswith("device ")


# --- float64 metrics under MPS ---------------------------------------------------------------
class OnMps(torch.Tensor):
    """A CPU tensor that says it lives on MPS: what a metric decides by a tensor's device."""

    @property
    def device(self):
        return torch.device("mps")

    def cpu(self):
        return self.as_subclass(torch.Tensor)


def test_frechet_distance_of_mps_features_is_computed_on_the_cpu():
    """torchmetrics sums FID's statistics in float64; on this machine any tensor sent to MPS
    fails, as a float64 one does on a Mac."""
    from genlab.metrics.distances import frechet_distance

    real, fake = torch.randn(64, 4), torch.randn(64, 4) + 0.5
    expected = frechet_distance(real, fake)
    assert frechet_distance(real.as_subclass(OnMps), fake.as_subclass(OnMps)) == expected


def test_vae_likelihood_of_an_mps_model_sums_on_the_cpu(monkeypatch):
    from genlab.losses.elbo import VAELoss
    from genlab.metrics.likelihood import vae_test_metrics
    from genlab.models import make_vae

    vae = make_vae("mlp", (1, 8, 8), 4, hidden=16, layers=1)
    loss = VAELoss("bernoulli", 1.0, 1.0, False, False, None)
    images = torch.randint(0, 256, (10, 1, 8, 8), dtype=torch.uint8)
    torch.manual_seed(0)
    expected = vae_test_metrics(vae, images, loss, k=2, batch_size=4)
    to = torch.Tensor.to

    def stays(t, *args, **kwargs):  # a move to MPS stays on the CPU; float64 made there fails
        args = tuple(a for a in args if not (isinstance(a, torch.device) and a.type == "mps"))
        return to(t, *args, **kwargs) if args or kwargs else t

    monkeypatch.setattr(torch.Tensor, "to", stays)
    monkeypatch.setattr(vae, "parameters", lambda: iter([torch.zeros(1).as_subclass(OnMps)]))
    torch.manual_seed(0)
    got = vae_test_metrics(vae, images, loss, k=2, batch_size=4)
    assert got == pytest.approx(expected)


# --- a resume on another number of GPUs ----------------------------------------------------
def saved(gpus: int) -> dict:
    """This CPU's RNG state with the CUDA states of a checkpoint saved on `gpus` GPUs."""
    return {**rng_state(), "cuda": [torch.full((16,), i, dtype=torch.uint8) for i in range(gpus)]}


@pytest.mark.parametrize(
    "saved_on, visible, restored, line",
    [
        (4, 1, 1, "checkpoint saved CUDA RNG states for 4 GPUs, 1 visible: restored 1"),
        (1, 2, 1, "checkpoint saved CUDA RNG states for 1 GPU, 2 visible: restored 1"),
        (2, 0, 0, "checkpoint saved CUDA RNG states for 2 GPUs, 0 visible: restored 0"),
        (2, 2, 2, None),  # the same GPUs: every state, silently
        (0, 2, 0, None),  # saved on a CPU: nothing to restore, nothing to say
    ],
)
def test_the_cuda_rng_states_that_fit_are_restored_and_said_in_one_line(
    machine, monkeypatch, caplog, saved_on, visible, restored, line
):
    machine(gpu=A100 if visible else None, gpus=visible)
    calls = []
    monkeypatch.setattr(torch.cuda, "set_rng_state_all", calls.append)
    with caplog.at_level(logging.WARNING, logger="genlab.runs.checkpoint"):
        set_rng_state(saved(saved_on))
    assert [r.getMessage() for r in caplog.records] == ([line] if line else [])
    states = calls[0] if calls else []
    assert [int(s[0]) for s in states] == list(range(restored))  # the first `restored` GPUs'


def test_the_mps_rng_is_saved_and_restored_on_a_mac(machine, monkeypatch):
    machine(mps=True)
    state = torch.arange(8, dtype=torch.uint8)
    monkeypatch.setattr(torch.mps, "get_rng_state", lambda: state)
    restored = []
    monkeypatch.setattr(torch.mps, "set_rng_state", restored.append)
    saved_state = rng_state()
    assert saved_state["mps"] is state
    set_rng_state(saved_state)
    assert restored == [state]
    machine(mps=False)  # the same checkpoint resumed off a Mac: the MPS state is not wanted
    set_rng_state(saved_state)
    assert restored == [state]


def test_a_gpu_run_resumes_on_a_cpu_only_machine(compose_cfg, tmp_path, caplog):
    """A checkpoint whose RNG states include two GPUs' trains on, here, with one line said."""
    run = ["model=vae", "arch.hidden=16", "trainer.epochs=2"]
    first = make_trainer(compose_cfg(*run, "trainer.max_steps=3"), tmp_path)
    first.fit()
    first.close()
    state = load_checkpoint(first.checkpoint_path)
    for rng in [state["rng"], *state["rng_by_rank"]]:
        rng["cuda"] = [torch.zeros(16, dtype=torch.uint8)] * 2
    save_checkpoint(first.checkpoint_path, state, rng=False)
    again = make_trainer(compose_cfg(*run), tmp_path)
    with caplog.at_level(logging.WARNING, logger="genlab.runs.checkpoint"):
        again.resume()
    again.fit()
    again.close()
    assert again.global_step == again.total_steps > 3
    said = [r.getMessage() for r in caplog.records if r.name == "genlab.runs.checkpoint"]
    assert said == ["checkpoint saved CUDA RNG states for 2 GPUs, 0 visible: restored 0"]
