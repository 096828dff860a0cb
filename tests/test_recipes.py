"""Recipes keyed by data set: conf/recipe/<data>/<model>_<arch>.yaml applies to its data set
alone, data without one trains the textbook model and says so once, presets drop recipes."""

import logging
from pathlib import Path

import pytest
import yaml

import genlab
from genlab.config.build import to_dict
from genlab.config.recipes import RECIPES, check_recipe_folders, no_recipe_note
from genlab.errors import ConfigError
from tests.conftest import T, exit_status

ALL = sorted(RECIPES.glob("*/*.yaml"))


def _recipe(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


@pytest.mark.parametrize("path", ALL, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_each_data_set_and_pair_gets_its_own_recipe(compose_cfg, path):
    """The data set's recipe applies to the bare pair, names itself, and the command line wins."""
    data, (model, arch) = path.parent.name, path.stem.split("_")
    tuned = _recipe(path)
    assert tuned.pop("recipe") == f"{data}/{path.stem}"  # the run's config says which applied
    pair = (f"data={data}", f"model={model}", f"arch={arch}")
    c = to_dict(compose_cfg(*pair, tiny=False))
    assert c["recipe"] == f"{data}/{path.stem}"
    for group, values in tuned.items():
        assert {k: c[group][k] for k in values} == values, group
    assert no_recipe_note(c) is None
    c = to_dict(compose_cfg(*pair, "trainer.epochs=3", tiny=False))
    assert c["trainer"]["epochs"] == 3


def test_both_mnist_sets_have_a_recipe_for_every_pair():
    for data in ("mnist", "fashion_mnist"):
        have = {p.stem for p in (RECIPES / data).glob("*.yaml")}
        assert have == {f"{m}_{a}" for m in ("vae", "cvae", "gan", "cgan") for a in ("mlp", "cnn")}


def test_a_recipe_applies_to_its_data_set_only(compose_cfg):
    """MNIST's GAN recipe is not FashionMNIST's, and neither reaches data it was not tuned on."""
    pair = ("model=gan", "arch=mlp")
    mnist = to_dict(compose_cfg("data=mnist", *pair, tiny=False))
    fashion = to_dict(compose_cfg("data=fashion_mnist", *pair, tiny=False))
    bare = to_dict(compose_cfg("data=synthetic", *pair, tiny=False))
    textbook = to_dict(compose_cfg("data=synthetic", *pair, "~recipe", tiny=False))
    assert bare == textbook and bare["recipe"] == "none"
    assert bare["model"]["ema"] is None and bare["model"]["latent_dim"] == 64  # conf/model/gan.yaml
    assert (mnist["recipe"], fashion["recipe"]) == ("mnist/gan_mlp", "fashion_mnist/gan_mlp")


def test_data_without_a_recipe_says_so_once_and_how_to_use_another(in_tmp, caplog):
    with caplog.at_level(logging.INFO, logger="genlab.config.recipes"):
        run = genlab.train("model=gan", "arch.hidden=16", "eval.at_end=false", *T)
    notes = [r.getMessage() for r in caplog.records if r.name == "genlab.config.recipes"]
    assert len(notes) == 1
    assert "no recipe is tuned for model=gan arch=mlp on data=synthetic" in notes[0]
    assert "recipe=fashion_mnist/gan_mlp" in notes[0] or "recipe=mnist/gan_mlp" in notes[0]
    assert run.config["recipe"] == "none"
    saved = yaml.safe_load((run.dir / ".hydra" / "config.yaml").read_text())
    assert saved["recipe"] == "none"


def test_another_data_sets_recipe_on_purpose(compose_cfg, in_tmp, caplog):
    c = to_dict(compose_cfg("data=synthetic", "model=gan", "recipe=mnist/gan_mlp", tiny=False))
    assert c["recipe"] == "mnist/gan_mlp" and c["model"]["ema"] == 0.995
    assert no_recipe_note(c) is None


@pytest.mark.parametrize("preset", ["lsgan", "cs4243_lab1_vae", "snu_cgan"])
def test_presets_drop_the_recipe_without_a_note(compose_cfg, preset):
    c = to_dict(compose_cfg(f"experiment={preset}", tiny=False))
    assert c["data"]["name"] == "mnist" and c["recipe"] == "none"
    assert no_recipe_note(c) is None  # MNIST has one: the preset dropped it on purpose


def test_a_recipe_folder_named_after_no_data_set_is_one_line(tmp_path):
    (tmp_path / "mnist").mkdir()
    (tmp_path / "fashon_mnist").mkdir()
    (tmp_path / "fashon_mnist" / "gan_mlp.yaml").write_text("recipe: fashon_mnist/gan_mlp\n")
    with pytest.raises(ConfigError, match=r"conf/recipe/fashon_mnist/ is for data=fashon_mnist"):
        check_recipe_folders(tmp_path)
    check_recipe_folders(RECIPES)  # the shipped ones are all data sets


@pytest.mark.parametrize(
    "choice", ["recipe=cifar10/gan_mlp", "recipe=mnist/gan_mpl", "recipe=null", "recipe=none"]
)
def test_a_recipe_that_does_not_exist_is_one_line(in_tmp, capsys, choice):
    from genlab.train import cli

    assert exit_status(cli, [*T, choice]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{choice} is not known; choose one of" in err
    assert "mnist/gan_mlp" in err and "or ~recipe for none" in err
    assert not list(in_tmp.rglob("*.pt"))
