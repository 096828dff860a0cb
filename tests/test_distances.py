"""The distances written out (metrics/distances.py) give torchmetrics' numbers, from the same
random subsets; and a training run imports neither torchmetrics nor scipy nor matplotlib."""

import subprocess
import sys

import pytest
import torch

from genlab.metrics.distances import (
    classifier_score,
    frechet_distance,
    frechet_from_stats,
    kernel_distance,
)

tm_fid = pytest.importorskip("torchmetrics.image.fid")


class Identity(torch.nn.Module):
    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features

    def forward(self, x):
        return x


def features(seed: int, n: int = 600, d: int = 16):
    g = torch.Generator().manual_seed(seed)
    real = torch.randn(n, d, generator=g)
    return real, 1.3 * torch.randn(n, d, generator=g) + 0.2 * real.mean(0)


def test_fid_is_torchmetrics_fid():
    real, fake = features(0)
    fid = tm_fid.FrechetInceptionDistance(feature=Identity(16), sync_on_compute=False)
    fid.update(real, real=True)
    fid.update(fake, real=False)
    assert frechet_distance(real, fake) == pytest.approx(fid.compute().item(), rel=1e-6)
    r, f = real.double(), fake.double()
    mine = frechet_from_stats(r.mean(0), torch.cov(r.T), f.mean(0), torch.cov(f.T)).item()
    assert mine == pytest.approx(fid.compute().item(), rel=1e-5)


@pytest.mark.filterwarnings("ignore:Metric .* will save all extracted features")
def test_kid_and_the_classifier_score_are_torchmetrics_from_the_same_subsets():
    from torchmetrics.image.inception import InceptionScore
    from torchmetrics.image.kid import KernelInceptionDistance

    real, fake = features(1)
    kid = KernelInceptionDistance(feature=Identity(16), subsets=20, subset_size=200,
                                  sync_on_compute=False)  # fmt: skip
    kid.update(real, real=True)
    kid.update(fake, real=False)
    torch.manual_seed(7)
    want = [v.item() for v in kid.compute()]
    torch.manual_seed(7)
    assert kernel_distance(real, fake, 200, 20) == pytest.approx(want, rel=1e-5)
    score = InceptionScore(feature=Identity(16), splits=10, sync_on_compute=False)
    score.update(fake)
    torch.manual_seed(3)
    want = score.compute()[0].item()
    torch.manual_seed(3)
    assert classifier_score(fake) == pytest.approx(want, rel=1e-6)


def test_psnr_is_torchmetrics_psnr():
    from torchmetrics.functional.image import peak_signal_noise_ratio

    from genlab.metrics.likelihood import vae_test_metrics  # noqa: F401  (the formula's home)

    g = torch.Generator().manual_seed(2)
    a, b = torch.rand(4, 1, 8, 8, generator=g), torch.rand(4, 1, 8, 8, generator=g)
    want = peak_signal_noise_ratio(a, b, data_range=1.0, reduction="none", dim=(1, 2, 3))
    assert (-10 * (a - b).square().mean(dim=(1, 2, 3)).log10()) == pytest.approx(want, rel=1e-5)


def test_a_training_run_imports_only_what_it_uses(tmp_path):
    code = (
        "import sys, genlab\n"
        "genlab.train('data=synthetic', 'data.size=64', 'data.batch_size=16', 'model=vae',"
        " 'arch.hidden=16', 'trainer.max_steps=2', 'trainer.progress=false',"
        f" 'eval.n_samples=40', run_dir={str(tmp_path / 'run')!r})\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} &"
        " {'torchmetrics', 'scipy', 'matplotlib', 'pandas', 'optuna'}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, cwd=tmp_path, check=True)  # fmt: skip
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout + out.stderr
