"""A CPU's fast paths by its instructions: bf16 autocast only where it has bf16 units, channels_last
on AVX-512, compile never; what device=cpu and device=auto compose to, with the CPU faked."""

import pytest
import torch

from genlab.config import devices
from genlab.config.build import to_dict


@pytest.fixture
def machine(monkeypatch):
    """No GPU and no MPS: device=auto picks the CPU."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


@pytest.mark.parametrize(
    "instructions, precision, channels_last",
    [
        ({"avx512_f": True, "avx512_bf16": True}, "bf16", True),  # Cooper Lake, Zen 4
        ({"avx512_f": True, "amx_bf16": True, "avx512_bf16": True}, "bf16", True),  # Sapphire R.
        ({"avx512_f": True, "avx512_bf16": False}, 32, True),  # Skylake-SP: bf16 emulated, slow
        ({"avx2": True}, 32, False),  # most laptops: unmeasured, so the plain paths
        ({}, 32, False),  # Apple silicon's or ARM's CPU, or a torch that cannot say
    ],
)
def test_a_cpu_runs_bf16_only_where_it_has_bf16_instructions(
    instructions, precision, channels_last
):
    assert devices.cpu_fast_paths(instructions) == {
        "precision": precision,
        "compile": False,  # never paid back its compile time inside a CPU run
        "channels_last": channels_last,
        "optimizer_impl": "fused",
    }


@pytest.mark.parametrize("bf16", [True, False])
def test_device_cpu_composes_the_fast_paths_of_the_cpu_it_runs_on(
    compose_cfg, machine, monkeypatch, bf16
):
    monkeypatch.setattr(devices, "cpu_capabilities", lambda: {"avx512_f": True, "amx_bf16": bf16})
    expected = {"name": "cpu", **devices.cpu_fast_paths({"avx512_f": True, "amx_bf16": bf16})}
    assert expected["precision"] == ("bf16" if bf16 else 32)
    assert to_dict(compose_cfg("device=cpu"))["device"] == expected
    assert to_dict(compose_cfg("device=auto"))["device"] == expected
    pinned = to_dict(compose_cfg("device=cpu", "device.precision=32"))["device"]
    assert pinned["precision"] == 32


def test_a_torch_that_cannot_name_the_cpus_instructions_runs_float32(monkeypatch):
    monkeypatch.delattr(torch.cpu, "get_capabilities", raising=False)
    assert devices.cpu_capabilities() == {}
    assert devices.fast_path("cpu", "precision") == 32
