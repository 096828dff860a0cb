"""docs/results.md's loss-study table, from the study's runs (scripts/loss_study.sh): per loss
and half, the mean ± 95% interval over the seeds, the interquartile mean, the mean evaluation
error beside the seeds' standard deviation, and the memorisation check.

    python scripts/loss_study_table.py [outputs/studies/gan_losses]
"""

from __future__ import annotations

import sys
from pathlib import Path

from genlab.reporting.jobs import find_jobs
from genlab.reporting.robust import iqm
from genlab.reporting.stats import group_jobs

LOSSES = ("minimax", "non_saturating", "lsgan", "wgan_gp", "hinge")


def main() -> None:
    study = Path(sys.argv[1] if len(sys.argv) > 1 else "outputs/studies/gan_losses")
    print("| half | loss | n | FID | FID IQM | FID se / seed sd | recall | rarest class "
          "| memorized_share |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for half in ("mlp", "cnn"):
        jobs = find_jobs(study / half)
        if not jobs:
            continue
        groups = {dict(g.key)["loss"]: g for g in group_jobs(jobs, ["loss"])}
        for loss in LOSSES:
            g = groups.get(loss)
            if g is None:
                continue
            fid = g.summary("fid")
            noise = g.noise("fid")
            spread = f"{noise:.2g} / {fid.std:.2g}" if noise is not None and fid.std else "-"
            shown = ("recall", "min_class_share", "memorized_share")
            cells = [half.upper(), f"`{loss}`", str(fid.n), fid.text(),
                     f"{iqm(g.values('fid')):.4g}", spread,
                     *(g.summary(m).text() for m in shown)]  # fmt: skip
            print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
