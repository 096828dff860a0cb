"""Every preset in conf/experiment composes, keeps its lab's settings and trains a few steps,
on synthetic data or, for the image presets, on a tiny folder of PNGs made here."""

from pathlib import Path

import pytest
import torch
from PIL import Image

from genlab.config.build import make_trainer, to_dict
from genlab.data import load_images
from genlab.errors import DataError

PRESETS = sorted(p.stem for p in (Path(__file__).parents[1] / "conf" / "experiment").glob("*.yaml"))
SHRINK = ["data=synthetic", "data.size=96", "data.batch_size=16", "trainer.epochs=1"]
RUN = ["device=cpu", "trainer.epochs=1", "trainer.progress=false"]


def test_every_preset_file_is_covered():
    assert set(PRESETS) == {
        "seanie12_vae", "seanie12_gan", "cs4243_lab1_vae", "cs4243_lab2_gan_mlp",
        "cs4243_lab3_gan_cnn", "snu_cgan", "wgan_gp", "lsgan", "celeba_vae",
    }  # fmt: skip


@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_trains_a_few_steps(compose_cfg, tmp_path, preset):
    cfg = compose_cfg(f"experiment={preset}", *SHRINK)
    if cfg.arch.name == "mlp":  # narrower nets: the step, not the size, is under test here
        cfg.arch.hidden = 32
    else:
        cfg.arch.channels = 8
    trainer = make_trainer(cfg, tmp_path)
    last = trainer.fit()
    trainer.close()
    assert (
        trainer.global_step == 6
    )  # 96 images / batch 16: wgan_gp's G takes its step after 5 critic steps
    assert "g_loss" in last or "kl" in last
    assert all(torch.isfinite(torch.tensor(v)) for v in last.values())


EXPECTED = {  # preset -> the values its source gives, as genlab keys
    "seanie12_vae": {"model.latent_dim": 2, "arch.hidden": 500, "data.batch_size": 200,
                     "trainer.epochs": 10, "optimizer.lr": 1e-3, "loss.name": "bernoulli"},
    "seanie12_gan": {"model.latent_dim": 10, "arch.hidden": 500, "data.batch_size": 200,
                     "trainer.epochs": 30, "optimizer.lr": 1e-3, "optimizer.betas": [0.5, 0.999]},
    "cs4243_lab1_vae": {"model.latent_dim": 20, "arch.hidden": 400, "loss.recon_weight": 10.0,
                        "loss.pixel_mean": True, "loss.beta": 1.0, "data.batch_size": 64,
                        "trainer.epochs": 10, "trainer.batches_per_epoch": 200},
    "cs4243_lab2_gan_mlp": {"model.latent_dim": 28, "arch.hidden": 1568, "prior.name": "uniform",
                            "prior.low": 0.0, "prior.high": 1.0, "trainer.epochs": 50,
                            "trainer.batches_per_epoch": 200, "data.batch_size": 64},
    "cs4243_lab3_gan_cnn": {"model.latent_dim": 28, "arch.name": "cnn", "arch.channels": 64,
                            "prior.low": 0.0, "trainer.epochs": 50, "data.batch_size": 64},
    "snu_cgan": {"model.name": "cgan", "trainer.epochs": 10, "trainer.image_every": 5},
    "wgan_gp": {"loss.name": "wgan_gp", "loss.gp_weight": 10.0, "model.d_steps": 5,
                "optimizer.lr": 1e-4, "optimizer.betas": [0.0, 0.9]},
    "lsgan": {"model.name": "gan", "loss.name": "lsgan"},
    "celeba_vae": {"data.name": "celeba", "data.image_size": 64, "loss.name": "gaussian",
                   "loss.beta": 0.00024, "loss.pixel_mean": True, "arch.name": "cnn"},
}  # fmt: skip


@pytest.mark.parametrize("preset", sorted(EXPECTED))
def test_presets_hold_their_sources_numbers(compose_cfg, preset):
    c = to_dict(compose_cfg(f"experiment={preset}", tiny=False))
    for key, value in EXPECTED[preset].items():
        group, name = key.split(".")
        assert c[group][name] == value, key


@pytest.mark.parametrize("preset", PRESETS)
def test_presets_drop_the_tuned_recipes(compose_cfg, preset):
    """A preset is its source: no EMA, spectral norm, minibatch std or class loss it did not ask
    for, and the model's own batch size and epochs where the source gives none."""
    c = to_dict(compose_cfg(f"experiment={preset}", tiny=False))
    m = c["model"]
    off = {"ema": None, "spectral_norm": False, "minibatch_std": 0, "aux_classifier": 0}
    assert {k: m[k] for k in off if k in m} == {k: v for k, v in off.items() if k in m}  # VAE: {}
    assert c["optimizer"]["schedule"] == "constant"


def test_command_line_overrides_a_preset(compose_cfg):
    c = to_dict(compose_cfg("experiment=wgan_gp", "model=cgan", "optimizer.lr=0.5"))
    assert (c["model"]["name"], c["loss"]["name"], c["optimizer"]["lr"]) == ("cgan", "wgan_gp", 0.5)


def test_batches_per_epoch_caps_each_shuffled_epoch(compose_cfg, tmp_path):
    cfg = compose_cfg("trainer.batches_per_epoch=2", "trainer.epochs=3", "arch.hidden=16")
    trainer = make_trainer(cfg, tmp_path)
    assert len(trainer.loader) == 2  # 64 images / batch 16 = 4, capped at 2
    first = [y for _, y in trainer.loader.epoch(0)]
    assert len(first) == 2 and not torch.equal(first[0], [y for _, y in trainer.loader.epoch(1)][0])
    trainer.fit()
    trainer.close()
    assert trainer.global_step == 6


def write_pngs(folder: Path, n: int, size=(24, 20), seed=0, levels=(0, 256)) -> None:
    """n noise images, pixel values drawn from [levels[0], levels[1])."""
    folder.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(seed)
    for i in range(n):
        shape = (size[1], size[0], 3)
        pixels = torch.randint(*levels, shape, generator=g, dtype=torch.uint8)
        Image.fromarray(pixels.numpy()).save(folder / f"img{i}.png")


def test_flat_image_folder_is_resized_and_center_cropped(tmp_path):
    write_pngs(tmp_path, 5)
    data = load_images("image_folder", path=str(tmp_path), image_size=16, channels=3)
    assert data.images.shape == (5, 3, 16, 16) and data.images.dtype == torch.uint8
    assert data.num_classes == 1 and data.labels.eq(0).all()
    grey = load_images("image_folder", path=str(tmp_path), image_size=8, channels=1)
    assert grey.images.shape == (5, 1, 8, 8)


def test_class_subfolders_give_labels(tmp_path):
    write_pngs(tmp_path / "cats", 2)
    write_pngs(tmp_path / "dogs", 3, seed=1)
    data = load_images("image_folder", path=str(tmp_path), image_size=8, channels=3)
    assert data.num_classes == 2 and data.labels.tolist() == [0, 0, 1, 1, 1]


def test_empty_folder_and_missing_celeba_fail_with_one_clear_line(tmp_path):
    with pytest.raises(DataError, match="no images in data.path="):
        load_images("image_folder", path=str(tmp_path), image_size=8, channels=3)
    with pytest.raises(DataError, match="CelebA files not found: put img_align_celeba, ") as e:
        load_images("celeba", root=str(tmp_path), image_size=64)
    assert "\n" not in str(e.value) and str(tmp_path / "celeba") in str(e.value)


def test_celeba_preset_trains_on_an_image_folder(compose_cfg, tmp_path):
    write_pngs(tmp_path / "faces", 8)
    cfg = compose_cfg(
        "experiment=celeba_vae", "data=image_folder", f"data.path={tmp_path / 'faces'}",
        "data.image_size=16", "data.batch_size=4", "arch.channels=8", *RUN, tiny=False,
    )  # fmt: skip
    trainer = make_trainer(cfg, tmp_path / "run")
    assert trainer.loader.images.shape == (8, 3, 16, 16)
    last = trainer.fit()
    trainer.close()
    assert trainer.global_step == 2 and all(torch.isfinite(torch.tensor(v)) for v in last.values())


def test_cgan_learns_the_classes_of_an_image_folder(compose_cfg, tmp_path):
    write_pngs(tmp_path / "pets" / "cats", 8, levels=(200, 256))  # bright
    write_pngs(tmp_path / "pets" / "dogs", 8, seed=1, levels=(0, 56))  # dark
    cfg = compose_cfg(
        "model=cgan", "arch=cnn", "arch.channels=8", "data=image_folder", "data.image_size=8",
        f"data.path={tmp_path / 'pets'}", "data.batch_size=8", "optimizer.lr=2e-3",
        "device=cpu", "trainer.epochs=100", "trainer.progress=false", "eval.at_end=false",
        tiny=False,
    )  # fmt: skip
    trainer = make_trainer(cfg, tmp_path / "run")
    assert trainer.step.num_classes == 2
    trainer.fit()
    trainer.close()
    labels = torch.arange(64) % 2  # 0: cats, 1: dogs (class folders in sorted order)
    images = trainer.step.sample(64, labels, torch.Generator().manual_seed(0))
    brightness = images.mean(dim=(1, 2, 3))
    cats, dogs = brightness[labels == 0].mean().item(), brightness[labels == 1].mean().item()
    assert cats - dogs > 0.1, (cats, dogs)  # each label draws its own class (real: 0.89, 0.11)


def test_celeba_preset_without_files_stops_with_a_data_error(compose_cfg, tmp_path):
    cfg = compose_cfg("experiment=celeba_vae", f"data.root={tmp_path}", "device=cpu", tiny=False)
    with pytest.raises(DataError, match="CelebA files not found"):
        make_trainer(cfg, tmp_path / "run")
