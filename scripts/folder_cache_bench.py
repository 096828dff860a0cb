"""What decoding an image folder costs a run, and what the decoded-image cache saves
(genlab/data/cache.py), timed as whole processes on this machine, alone:

1. makes a folder of 30,000 CelebA-sized colour JPEGs (178 x 218: FashionMNIST images tinted,
   upscaled and with a little noise), once;
2. times a 2-step GAN CNN run at 64 x 64 (one thread, no evaluation) on 256 synthetic images
   of the same shape (no files to read), the first run on the folder (decodes and writes the
   cache), then the second (maps it), `--repeats` times interleaved; with `--before SRC` (a
   genlab source tree from before the cache) also that tree's run on the folder, which decodes
   every time;
3. runs two jobs on the folder at once and reads each one's peak resident and proportional
   memory (Linux's /proc/<pid>/smaps_rollup: Pss splits a page two processes share).

    python scripts/folder_cache_bench.py [--out outputs/folder_bench] [--before /path/to/old/genlab]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FILES, WIDTH, HEIGHT = 30_000, 178, 218
RUN = ["model=gan", "arch=cnn", "trainer.max_steps=2", "threads=1",
       "eval.at_end=false", "trainer.progress=false", "device=cpu"]  # fmt: skip


def make_folder(where: Path) -> Path:
    import numpy as np
    from PIL import Image

    from genlab.data.datasets import load_images

    if where.is_dir() and len(list(where.iterdir())) == FILES:
        return where
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir(parents=True)
    source = load_images("fashion_mnist", "train").images[:FILES, 0].numpy()
    rng = np.random.default_rng(0)
    for i, image in enumerate(source):
        tint = rng.uniform(0.4, 1.0, size=3)
        rgb = (image[..., None] * tint).astype(np.uint8)
        big = np.asarray(Image.fromarray(rgb).resize((WIDTH, HEIGHT), Image.BILINEAR), np.int16)
        noisy = np.clip(big + rng.integers(-8, 9, size=big.shape), 0, 255).astype(np.uint8)
        Image.fromarray(noisy).save(where / f"{i:06d}.jpg", quality=90)
    return where


def timed(args: list[str], root: Path, src: Path = REPO) -> float:
    env = {**os.environ, "PYTHONPATH": str(src), "GENLAB_DATA": str(root)}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "genlab.train", *RUN, *args], check=True, env=env,
                   capture_output=True, cwd=root)  # fmt: skip
    return time.perf_counter() - start


def memory_of_two(folder: Path, root: Path, src: Path, name: str) -> dict[str, float]:
    """Two 200-step jobs on the folder, started together: the peak of their anonymous memory
    (RssAnon: what each holds privately, a decoded copy included) and of their file-backed
    memory (RssFile: the mapped cache, whose pages the two share), and the peak of their summed
    proportional memory (Pss, a shared page counted once across them), in MiB."""
    env = {**os.environ, "PYTHONPATH": str(src), "GENLAB_DATA": str(root)}
    args = [*RUN, "data=image_folder", f"data.path={folder}", "data.image_size=64",
            "trainer.max_steps=200"]  # fmt: skip
    procs = [subprocess.Popen([sys.executable, "-m", "genlab.train", *args,
                               f"hydra.run.dir={root}/two/{name}/{i}"], env=env, cwd=root,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for i in range(2)]  # fmt: skip
    peak = {"RssAnon": 0.0, "RssFile": 0.0, "Pss, both": 0.0}
    while any(p.poll() is None for p in procs):
        pss = 0.0
        for p in procs:
            try:
                status = Path(f"/proc/{p.pid}/status").read_text()
                rollup = Path(f"/proc/{p.pid}/smaps_rollup").read_text()
            except OSError:
                continue
            for key in ("RssAnon", "RssFile"):
                kib = next(ln.split()[1] for ln in status.splitlines() if ln.startswith(key))
                peak[key] = max(peak[key], int(kib) / 1024)
            pss += int(next(ln.split()[1] for ln in rollup.splitlines() if ln.startswith("Pss:")))
        peak["Pss, both"] = max(peak["Pss, both"], pss / 1024)
        time.sleep(0.2)
    return peak


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, default=Path("outputs/folder_bench"))
    p.add_argument("--before", type=Path, help="a genlab source tree from before the cache")
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    out = a.out.resolve()
    folder = make_folder(out / "faces")
    root = out / "root"
    root.mkdir(parents=True, exist_ok=True)
    synthetic = ["data=synthetic", "data.image_shape=[3,64,64]", "data.size=256"]  # no files
    on_folder = ["data=image_folder", f"data.path={folder}", "data.image_size=64"]
    timed(synthetic, root)  # warm-up: the synthetic set and imports
    shutil.rmtree(root / "decoded", ignore_errors=True)
    first = timed(on_folder, root)
    rows = {"synthetic": [], "folder, cache mapped": [], "folder, before the cache": []}
    for _ in range(a.repeats):
        rows["synthetic"].append(timed(synthetic, root))
        rows["folder, cache mapped"].append(timed(on_folder, root))
        if a.before:
            rows["folder, before the cache"].append(timed(on_folder, root, a.before))
    print(f"| run (2 steps, whole process, {a.repeats} runs) | median s | runs |")
    print("|---|---|---|")
    print(f"| folder, first run (decodes, writes the cache) | {first:.1f} | 1 |")
    for name, times in rows.items():
        if times:
            shown = ", ".join(f"{t:.1f}" for t in times)
            print(f"| {name} | {statistics.median(times):.1f} | {shown} |")
    print("\n| two jobs at once (200 steps) | peak RssAnon a job | peak RssFile a job "
          "| peak Pss of both |\n|---|---|---|---|")  # fmt: skip
    for name, src in (("cache mapped", REPO), ("before the cache", a.before)):
        if src is None:
            continue
        shutil.rmtree(root / "two" / name.replace(" ", "-"), ignore_errors=True)
        m = memory_of_two(folder, root, src, name.replace(" ", "-"))
        print(
            f"| {name} | {m['RssAnon']:.0f} MiB | {m['RssFile']:.0f} MiB | "
            f"{m['Pss, both']:.0f} MiB |"
        )


if __name__ == "__main__":
    main()
