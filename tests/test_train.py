"""Every model x arch trains a few steps on synthetic data and logs what TensorBoard shows."""

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from genlab.config.build import make_trainer

EXPECTED = {
    "vae": {"train/recon", "train/kl", "train/neg_elbo", "train/loss"},
    "cvae": {"train/recon", "train/kl", "train/neg_elbo", "train/loss"},
    "gan": {"train/d_loss", "train/g_loss", "train/d_real", "train/d_fake"},
    "cgan": {"train/d_loss", "train/g_loss", "train/d_real", "train/d_fake"},
}


def events(run_dir):
    acc = EventAccumulator(str(run_dir), size_guidance={"images": 0, "scalars": 0})
    acc.Reload()
    return acc


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
@pytest.mark.parametrize("model", ["vae", "cvae", "gan", "cgan"])
def test_every_model_and_arch_trains_and_logs(compose_cfg, tmp_path, model, arch):
    cfg = compose_cfg(
        f"model={model}", f"arch={arch}", "arch.hidden=32" if arch == "mlp" else "arch.channels=8"
    )
    trainer = make_trainer(cfg, tmp_path)
    last = trainer.fit()
    trainer.close()
    assert trainer.global_step == 4  # 64 images / batch 16
    assert all(torch.isfinite(torch.tensor(v)) for v in last.values())
    acc = events(tmp_path)
    tags = acc.Tags()
    assert EXPECTED[model] <= set(tags["scalars"])
    assert [e.step for e in acc.Scalars(sorted(EXPECTED[model])[0])] == [1, 2, 3, 4]
    assert "images/samples" in tags["images"]
    assert (tmp_path / "checkpoints" / "last.pt").is_file()
    pngs = sorted(p.name for p in (tmp_path / "images").glob("samples_step*.png"))
    assert pngs == ["samples_step0000000.png", "samples_step0000004.png"]  # start and end


def test_cgan_grid_has_one_row_per_class(compose_cfg, tmp_path):
    trainer = make_trainer(compose_cfg("model=cgan", "arch.hidden=16"), tmp_path)
    images, nrow = trainer.step.grids()["samples"]
    assert images.shape[0] == 100 and nrow == 10
    assert trainer.step.fixed_y.view(10, 10).T.eq(torch.arange(10)).all()  # row k is class k


def test_vae_logs_reconstructions_and_2d_manifold(compose_cfg, tmp_path):
    trainer = make_trainer(
        compose_cfg("model=vae", "model.latent_dim=2", "arch.hidden=16"), tmp_path
    )
    trainer.fit()
    trainer.close()
    tags = set(events(tmp_path).Tags()["images"])
    assert {"images/samples", "images/reconstructions", "images/manifold"} <= tags


def test_max_steps_caps_training(compose_cfg, tmp_path):
    trainer = make_trainer(
        compose_cfg("trainer.epochs=5", "trainer.max_steps=3", "arch.hidden=16"), tmp_path
    )
    trainer.fit()
    trainer.close()
    assert trainer.global_step == 3


def test_config_text_is_logged(compose_cfg, tmp_path):
    trainer = make_trainer(compose_cfg("arch.hidden=16"), tmp_path)
    trainer.fit()
    trainer.close()
    assert "config/text_summary" in events(tmp_path).Tags()["tensors"]


def test_seed_seeds_torch_numpy_and_python(compose_cfg, tmp_path):
    import random

    import numpy as np

    draws = []
    for run in ("a", "b"):
        np.random.seed(123)  # whatever the process drew before: the seed decides
        random.seed(123)
        torch.manual_seed(123)
        make_trainer(compose_cfg("model=gan", "arch.hidden=16", "seed=7"), tmp_path / run)
        draws.append((np.random.rand(), random.random(), torch.rand(1).item()))
        np.random.seed(456)
        random.seed(456)
    assert draws[0] == draws[1]
    other = make_trainer(compose_cfg("model=gan", "arch.hidden=16", "seed=8"), tmp_path / "c")
    assert other is not None and (np.random.rand(), random.random()) != draws[0][:2]
