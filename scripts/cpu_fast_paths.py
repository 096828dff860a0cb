"""Each CPU fast path measured alone: training images per second of each MNIST default (its
recipe, one thread, no evaluation) with the plain paths (float32, NCHW, eager), with each fast
path switched on by itself, and with the device's defaults; whole processes, --rounds interleaved
rounds, the median kept, and each process's peak resident memory. A compile row counts its compile
time, as a run pays it.

    python scripts/cpu_fast_paths.py [--pairs gan-mlp,gan-cnn] [--rounds 2] [--docs docs/results.md]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

PAIRS = ("vae-mlp", "cvae-mlp", "gan-mlp", "cgan-mlp", "vae-cnn", "cvae-cnn", "gan-cnn", "cgan-cnn")
STEPS = {"mlp": 800, "cnn": 250}  # about 15 s a process
PLAIN = ["device.precision=32", "device.channels_last=false", "device.compile=false"]
SETTINGS = {  # each row: the plain paths, then what it switches on
    "float32 (plain)": [],
    "bf16 autocast": ["device.precision=bf16"],
    "channels_last": ["device.channels_last=true"],
    "torch.compile": ["device.compile=true"],
    "the defaults (device=cpu)": None,  # what this CPU resolves to, nothing pinned
}


def measure(pair: str, setting: list[str] | None, scratch: Path) -> tuple[float, float]:
    """(training images per second, the process's peak resident MiB) of one run."""
    model, arch = pair.split("-")
    run_dir = Path(tempfile.mkdtemp(dir=scratch))
    pins = PLAIN + setting if setting is not None else []
    cmd = [sys.executable, "-m", "genlab.train", f"model={model}", f"arch={arch}", "device=cpu",
           *pins, f"trainer.max_steps={STEPS[arch]}", "threads=1", "eval.at_end=false",
           "trainer.progress=false", "trainer.image_every=1000", f"hydra.run.dir={run_dir}",
           "trainer.checkpoint_every=1000000", "--cfg", "job"]  # fmt: skip
    batch = int(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
                .split("batch_size:")[1].split()[0])  # fmt: skip
    child = subprocess.Popen(cmd[:-2], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)  # this child's own peak memory
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(cmd[2:-2])}")
    train_s = json.loads((run_dir / "status.json").read_text())["result"]["train_s"]
    return STEPS[arch] * batch / train_s, usage.ru_maxrss / 1024


def resolved_defaults() -> str:
    from genlab.config import devices

    fast = devices.cpu_fast_paths(devices.cpu_capabilities())
    on = [f"precision {fast['precision']}"] + [k for k in ("channels_last", "compile") if fast[k]]
    return ", ".join(on)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pairs", default=",".join(PAIRS))
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument(
        "--docs",
        type=Path,
        help="also put the table into this page, between its <!-- bench cpu_fast_paths --> markers",
    )
    args = p.parse_args()
    if args.docs:
        from genlab.benchmark.results_page import docs_block

        docs_block(args.docs, "bench cpu_fast_paths")  # before any training
    pairs = args.pairs.split(",")
    rows = {(pair, name): [] for pair in pairs for name in SETTINGS}
    peaks = {(pair, name): [] for pair in pairs for name in SETTINGS}
    with tempfile.TemporaryDirectory() as scratch:
        for r in range(args.rounds):
            for pair in pairs:
                for name, setting in SETTINGS.items():
                    if name == "channels_last" and pair.endswith("mlp"):
                        continue  # no convolutions: nothing to lay out
                    speed, peak = measure(pair, setting, Path(scratch))
                    rows[pair, name].append(speed)
                    peaks[pair, name].append(peak)
                    print(f"round {r}: {pair} {name}: {speed:.0f} images/s", file=sys.stderr)
    cols = [n for n in SETTINGS]
    head = [*cols, "peak MiB (plain, defaults)"]
    lines = [f"Training images per second, one thread, median of {args.rounds} interleaved rounds; "
             f"the defaults here: {resolved_defaults()}.", "",
             "| run | " + " | ".join(head) + " |", "|---|" + "---|" * len(head)]  # fmt: skip
    for pair in pairs:
        base = statistics.median(rows[pair, "float32 (plain)"])
        cells = []
        for name in cols:
            if not rows[pair, name]:
                cells.append("-")
                continue
            speed = statistics.median(rows[pair, name])
            cells.append(f"{speed:.0f}" + ("" if name.startswith("float32") else
                                           f" ({speed / base:.2f}x)"))  # fmt: skip
        plain, defaults = (statistics.median(peaks[pair, n]) for n in (cols[0], cols[-1]))
        cells.append(f"{plain:.0f}, {defaults:.0f}")
        model, arch = pair.split("-")
        lines.append(f"| `model={model} arch={arch}` | " + " | ".join(cells) + " |")
    table = "\n".join(lines) + "\n"
    print(table)
    if args.docs:
        from genlab.benchmark.results_page import update_docs

        update_docs(args.docs, "bench cpu_fast_paths", table)


if __name__ == "__main__":
    main()
