"""docs/quality.md's two figures, from the loss study (scripts/loss_study.sh):

- docs/images/memorization.png: the distance to the nearest MNIST training image, in the
  evaluation's feature space, for the 10,000 test images of the reference set, for 10,000
  samples of a trained GAN (the study's MLP non-saturating seed 0), and for 10,000 training
  images with a little pixel noise (what a generator that copies would give); each with its
  memorized_share.
- docs/images/evaluation_noise.png: each loss's FIDs, a point per seed with its bootstrap error
  bar (fid_se), for both halves of the study.

    python scripts/evidence_figures.py [--study outputs/studies/gan_losses] [--out docs/images]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

import genlab  # noqa: E402
from genlab.config.evaluation import make_evaluator  # noqa: E402
from genlab.metrics.memorization import SHARE_QUANTILE, memorization, nearest  # noqa: E402

LOSSES = ("minimax", "non_saturating", "lsgan", "wgan_gp", "hinge")


def memorization_figure(run_dir: Path, out: Path) -> None:
    run = genlab.load(run_dir)
    evaluator = make_evaluator(run.config, torch.device("cpu"))
    fake = torch.from_numpy(run.sample(evaluator.n_samples, uint8=True))[:, None]
    g = torch.Generator().manual_seed(0)
    train = evaluator.train
    picked = train[torch.randperm(len(train), generator=g)[: evaluator.n_samples]].float()
    noise = torch.randn(picked.shape, generator=g) * 8  # about 3% of the grey range
    copies = (picked + noise).clamp(0, 255).to(torch.uint8)
    features = {name: evaluator.features(x)[0] for name, x in
                (("test images", evaluator.real), ("GAN samples", fake),
                 ("noisy training images", copies))}  # fmt: skip
    train_features = evaluator.features(train)[0]
    test_distance = nearest(features["test images"], train_features)[0]
    threshold = torch.quantile(test_distance.double(), SHARE_QUANTILE).item()
    fig, ax = plt.subplots(figsize=(7, 3.4))
    for name, f in features.items():
        distance = nearest(f, train_features)[0]
        share = memorization(f, test_distance, train_features)[0]["memorized_share"]
        ax.hist(distance.numpy(), bins=80, alpha=0.55, label=f"{name}: memorized_share {share:.3f}")
        print(f"{name}: memorized_share {share:.4f}")
    ax.axvline(threshold, color="k", linestyle="--", linewidth=1)
    ax.set(xlabel="distance to the nearest training image (classifier features)",
           ylabel="images", title="memorisation check, MNIST")  # fmt: skip
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "memorization.png", dpi=110)


def noise_figure(study: Path, out: Path) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for ax, half in zip(axes, ("mlp", "cnn"), strict=True):
        for x, loss in enumerate(LOSSES):
            runs = sorted((study / half).glob(f"*loss={loss},*"))
            metrics = [json.loads((r / "metrics.json").read_text())["metrics"] for r in runs
                       if (r / "metrics.json").is_file()]  # fmt: skip
            for i, m in enumerate(metrics):
                ax.errorbar(x + (i - 2) * 0.08, m["fid"], yerr=2 * m.get("fid_se", 0), fmt="o",
                            markersize=3, capsize=2, color=f"C{x}")  # fmt: skip
        ax.set_yscale("log")
        ax.set_xticks(range(len(LOSSES)), LOSSES, rotation=20, fontsize=8)
        ax.set(title=f"GAN {half.upper()}: FID per seed, bars ±2 se", ylabel="FID")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "evaluation_noise.png", dpi=110)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--study", type=Path, default=Path("outputs/studies/gan_losses"))
    p.add_argument("--out", type=Path, default=Path("docs/images"))
    a = p.parse_args()
    torch.set_num_threads(2)
    (run,) = (a.study / "mlp").glob("*loss=non_saturating,*seed=0")
    memorization_figure(run, a.out)
    noise_figure(a.study, a.out)


if __name__ == "__main__":
    main()
