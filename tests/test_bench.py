"""The benchmark times genlab and the tutorial recipe side by side and writes a markdown table."""

import torch

from genlab.bench import ablations, main
from genlab.benchmark.measure import PeakMemory, StepClock
from genlab.config.build import to_dict


def test_bench_compares_both_sides_and_writes_the_table(tmp_path):
    out = tmp_path / "speed.md"
    args = ["--models", "gan-mlp,vae-cnn", "--data", "synthetic", "--device", "cpu"]
    args += ["--steps", "2", "--warmup", "1", "--repeats", "1", "--out", str(out)]
    rows = main([*args, "--set", "++arch.hidden=32", "++arch.channels=8", "data.size=64"])
    assert [r["model"] for r in rows] == ["gan-mlp (seanie12)", "vae-cnn"]
    assert rows[0]["batch"] == 64  # the seanie12 batch of 200, capped by the 64 images
    for r in rows:
        assert r["genlab img/s"] > 0 and r["tutorial img/s"] > 0
        assert r["genlab / tutorial"] == r["genlab img/s"] / r["tutorial img/s"]
    table = out.read_text()
    assert "| gan-mlp (seanie12) | 64 | 32, fused (default) |" in table
    assert table.startswith("cpu: ") and "| genlab / tutorial |" in table


def test_ablation_flips_each_fast_path_once(compose_cfg):
    cnn = ablations(to_dict(compose_cfg("arch=cnn", "device=cpu")))
    assert cnn == [
        ["device.precision=bf16"],
        ["device.compile=true"],
        ["device.channels_last=true"],
        ["device.optimizer_impl=plain"],
        ["device.optimizer_impl=foreach"],
    ]
    mlp = ablations(to_dict(compose_cfg("arch=mlp", "device=cpu")))
    assert ["device.channels_last=true"] not in mlp and len(mlp) == 4


def test_step_clock_times_the_steps_between_start_and_stop():
    clock = StepClock(torch.device("cpu"), start=1, stop=3)
    assert [clock.tick(s) for s in range(4)] == [False, False, False, True]
    assert clock.seconds >= 0


def test_peak_memory_sees_a_large_allocation():
    with PeakMemory(torch.device("cpu")) as mem:
        x = torch.ones(64, 2**18)  # 64 MiB of float32, written, so resident
        del x
    assert mem.mib > 48
