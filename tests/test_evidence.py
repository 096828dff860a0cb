"""Evidence beyond one number: the memorisation check, each metric's evaluation noise, and the
few-seed statistics of --compare (IQM, probability of improvement, stratified bootstrap, seeds
needed), each against a case whose answer is known."""

import dataclasses
import json
import re

import pytest
import torch
from PIL import Image

import genlab
from genlab import report
from genlab.config.build import make_trainer, to_dict
from genlab.config.data import make_data
from genlab.errors import ConfigError
from genlab.metrics.distances import frechet_distance
from genlab.metrics.likelihood import PROTOCOL, vae_bounds, vae_test_metrics
from genlab.metrics.memorization import memorization, nearest
from genlab.metrics.names import headline
from genlab.metrics.noise import fid_bootstrap_se, share_se
from genlab.reporting.jobs import Job
from genlab.reporting.robust import bootstrap_interval, improvement, iqm, seeds_needed
from genlab.reporting.stats import Group, compare

RUN = ["data=synthetic", "data.size=64", "data.batch_size=16", "device=cpu", "model=gan",
       "arch.hidden=16", "trainer.max_steps=4", "trainer.progress=false",
       "eval.n_samples=40"]  # fmt: skip


def test_a_generator_that_copies_its_training_set_is_flagged_and_fresh_data_is_not():
    g = torch.Generator().manual_seed(0)
    train, test = torch.randn(3000, 8, generator=g), torch.randn(600, 8, generator=g)
    fresh = torch.randn(600, 8, generator=g)  # new draws, as a test set is
    copies = train[:600] + 0.01 * torch.randn(600, 8, generator=g)
    new, _ = memorization(fresh, nearest(test, train)[0], train)
    copied, pairs = memorization(copies, nearest(test, train)[0], train)
    assert 0.02 <= new["memorized_share"] <= 0.09  # about 5% by construction
    assert 0.9 <= new["train_distance_ratio"] <= 1.1
    assert copied["memorized_share"] > 0.95 and copied["train_distance_ratio"] < 0.1
    assert all(i == j for i, j in pairs)  # each copy's nearest training image is its source
    assert len(pairs) == 8


def test_fid_bootstrap_error_matches_the_spread_over_fresh_generated_sets():
    """The ground truth of evaluation noise: FID over 40 independent generated sets."""
    g = torch.Generator().manual_seed(2)
    real = torch.randn(2000, 4, generator=g)
    draw = lambda: 1.2 * torch.randn(2000, 4, generator=g) + 0.3  # noqa: E731
    spread = torch.tensor([frechet_distance(real, draw()) for _ in range(40)]).std().item()
    se = fid_bootstrap_se(real, draw(), rounds=100)
    assert 0.6 * spread <= se <= 1.6 * spread
    fake = draw()  # seeded: a report written twice says the same
    assert fid_bootstrap_se(real, fake, 20, seed=5) == fid_bootstrap_se(real, fake, 20, seed=5)


def test_share_error_is_binomial():
    assert share_se(0.5, 100) == pytest.approx(0.05)
    assert share_se(0.0, 100) == 0.0


def test_iqm_probability_of_improvement_and_seeds_needed_on_known_answers():
    assert iqm([0, 1, 2, 3, 4, 5, 6, 7]) == pytest.approx(3.5)  # mean of 2, 3, 4, 5
    assert iqm([1, 2, 100]) == pytest.approx(103 / 3)  # under four seeds: the mean
    # pairs (1,1) (1,3) (2,1) (2,3): a tie, a loss, a win, a loss when higher is better
    assert improvement([1, 2], [1, 3], higher=True) == pytest.approx((0.5 + 0 + 1 + 0) / 4)
    assert improvement([1, 2], [1, 3], higher=False) == pytest.approx((0.5 + 1 + 0 + 1) / 4)
    # statsmodels' TTestIndPower: effect size 1 at 0.05, power 0.8 -> 16.71 seeds a side
    assert seeds_needed(1.0, 1.0, 1.0) == 17
    assert seeds_needed(0.0, 1.0, 1.0) is None and seeds_needed(1e-6, 1.0, 1.0) is None
    for sd in (0.3, 0.2, 0.1, 0.05, 1e-12):  # far out, where scipy's noncentral t gives NaN
        assert seeds_needed(5.0, sd, sd) == 2
    low, high = bootstrap_interval([1, 2, 3], [2, 3, 4], lambda a, b: improvement(a, b, False))
    assert 0 <= low < improvement([1, 2, 3], [2, 3, 4], False) < high <= 1


def job(fid, fid_se=None, seed=0):
    metrics = {"fid": fid} | ({"fid_se": fid_se} if fid_se is not None else {})
    return Job(None, {"seed": str(seed)}, "finished", 1.0, None, metrics)


def test_one_collapsed_seed_silences_welch_but_not_the_probability_of_improvement():
    a = Group((("loss", "hinge"),), [job(v, 0.05, s) for s, v in enumerate([3.4, 3.5, 3.6])])
    b = Group((("loss", "lsgan"),), [job(v, 0.06, s) for s, v in enumerate([5.0, 5.1, 130.0])])
    (v,) = compare([a, b], "loss", "fid")
    text = v.text("loss")
    assert v.p > 0.05 and "no difference shown" in text  # the collapsed seed's spread
    assert "P(a seed of loss=hinge beats one of loss=lsgan) = 1.00" in text
    assert "CI 1.00 to 1.00" in text
    assert re.search(r"evaluation se 0\.05, 0\.06 against seed sd 0\.1, 72", text), text
    assert "IQM 3.5 vs 46.7" in text


def test_values_are_named_as_typed_and_a_check_has_no_better_side():
    a = Group((("recipe", ""),), [job(1.0, seed=s) for s in range(3)])
    b = Group((("recipe", "null"),), [job(9.0 + s / 10, seed=s) for s in range(3)])
    for j in a.jobs:
        j.metrics["memorized_share"] = j.metrics["fid"]
    for j in b.jobs:
        j.metrics["memorized_share"] = j.metrics["fid"]
    (fid,) = compare([a, b], "recipe", "fid")
    assert fid.text("recipe").startswith("recipe='' vs recipe=null: ")
    assert "they differ: recipe='' is better" in fid.text("recipe")
    (check,) = compare([a, b], "recipe", "memorized_share")
    assert "they differ: recipe=null is higher" in check.text("recipe")


def test_every_run_records_the_memorisation_check_and_fid_noise_and_the_page_shows_pairs(
    tmp_path, capsys
):
    for seed in range(2):
        genlab.train(*RUN, f"seed={seed}", run_dir=tmp_path / f"seed={seed}")
    record = json.loads((tmp_path / "seed=0" / "metrics.json").read_text())
    for name in ("memorized_share", "train_distance_ratio", "fid_se", "precision_se"):
        assert name in record["metrics"], name
    assert record["measured"]["settings"]["train_images"] == 64  # the synthetic split's size
    assert record["measured"]["settings"]["bootstrap"] == 20
    (pairs,) = (tmp_path / "seed=0" / "images").glob("closest_to_train_step*.png")
    assert Image.open(pairs).size[1] > 2 * 28  # two rows: samples above, training images below
    assert report.main([str(tmp_path)]) == 0
    assert "memorized_share" in capsys.readouterr().out.split("\n\n")[1]  # a default column
    page = (tmp_path / "report.html").read_text()
    assert "<h2>Closest to a training image</h2>" in page


def test_a_bernoulli_vae_names_what_its_nats_bound(tmp_path):
    genlab.train(*RUN[:4], "model=vae", "arch.hidden=16", "trainer.max_steps=2",
                 "trainer.progress=false", "eval.n_samples=40", run_dir=tmp_path)  # fmt: skip
    record = json.loads((tmp_path / "metrics.json").read_text())
    assert record["measured"]["settings"]["likelihood"] == "binarized test set (seed 0)"
    assert {"neg_elbo_se", "iw_nll_se"} <= set(record["metrics"])
    line = headline(record["metrics"], "vae", record["measured"])
    assert re.match(r"neg_elbo [\d.]+ \(se [\d.]+\), iw_nll .*; nats of the binarized test set "
                    r"\(seed 0\)\)$", line), line  # fmt: skip


def test_a_bernoulli_vae_is_measured_on_binary_pixels_however_it_trained(compose_cfg, tmp_path):
    """Grey levels under a Bernoulli bound no likelihood: both training protocols are measured on
    the same fixed binarisation of the test set, and their PSNR on the grey-level images."""
    cfg = compose_cfg("model=vae", "arch.hidden=16")
    vae, loss = make_trainer(cfg, tmp_path).step.vae.eval(), make_trainer(cfg, tmp_path).step.loss
    x = make_data(to_dict(cfg), "test").images[:16]
    assert 0 < ((x > 0) & (x < 255)).float().mean()  # grey levels to binarise
    dynamic = dataclasses.replace(loss, binarize=True)
    runs = []
    for trained in (loss, dynamic):
        torch.manual_seed(0)
        runs.append(vae_test_metrics(vae, x, trained, k=4, batch_size=16))
    assert runs[0] == runs[1]
    torch.manual_seed(3)
    one = vae_test_metrics(vae, x, loss, k=1, batch_size=16)  # one batch: the same eps again
    torch.manual_seed(3)
    seen = torch.bernoulli(x.float() / 255, generator=torch.Generator().manual_seed(0))
    per_image = vae_bounds(vae, seen, loss, 1)["neg_elbo"].double()
    assert one["neg_elbo"] == pytest.approx(per_image.mean().item(), rel=1e-6)
    assert one["neg_elbo_se"] == pytest.approx(per_image.std().item() / 16**0.5, rel=1e-4)
    grey = x.float() / 255
    with torch.no_grad():
        mean = torch.sigmoid(vae.decode(vae.encode(grey)[0]))
    mse = (mean - grey).square().mean(dim=(1, 2, 3))
    assert runs[0]["psnr"] == pytest.approx((-10 * mse.log10()).mean().item(), rel=1e-5)
    assert PROTOCOL["bernoulli"].startswith("binarized")


def test_nats_that_bound_different_things_are_not_compared(tmp_path, capsys):
    """A VAE measured before genlab 0.3 (grey-level nats, no `likelihood` recorded) beside one
    measured on the binarised test set: their nats are never compared (one line when asked)."""
    vae = [o for o in RUN if o not in ("model=gan", "trainer.max_steps=4")] + ["model=vae"]
    for seed in range(2):
        genlab.train(*vae, "trainer.max_steps=2", f"seed={seed}", run_dir=tmp_path / f"s{seed}")
    assert report.main([str(tmp_path)]) == 0
    old = json.loads((tmp_path / "s1" / "metrics.json").read_text())
    del old["measured"]["settings"]["likelihood"]
    (tmp_path / "s1" / "metrics.json").write_text(json.dumps(old))
    capsys.readouterr()
    assert report.main([str(tmp_path), "--metrics", "neg_elbo"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "measured with different likelihood (binarized test set (seed 0), unrecorded)" in err


def test_a_bootstrap_of_one_resample_is_refused(compose_cfg, tmp_path):
    with pytest.raises(ConfigError, match=r"^eval.bootstrap=1 is not allowed: a spread needs 2"):
        make_trainer(compose_cfg("eval.bootstrap=1"), tmp_path)


def test_a_decoder_sweep_reports_what_compares_and_leaves_the_nats_out(tmp_path, capsys):
    vae = [o for o in RUN if o not in ("model=gan", "trainer.max_steps=4")] + ["model=vae"]
    for loss in ("bernoulli", "continuous_bernoulli"):
        for seed in range(2):
            genlab.train(*vae, "trainer.max_steps=2", f"loss={loss}", f"seed={seed}",
                         run_dir=tmp_path / f"{loss},{seed}")  # fmt: skip
    capsys.readouterr()
    assert report.main([str(tmp_path), "--compare", "loss", "--sort", "fid"]) == 0
    out = capsys.readouterr().out
    assert "left out, measured with different likelihood (" in out
    assert "neg_elbo" not in out.split("\n\n")[1]  # not a column: the nats bound other things
    assert report.main([str(tmp_path), "--sort", "neg_elbo"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "neg_elbo does not compare across these jobs" in err
    assert report.main([str(tmp_path), "--pareto", "fid,memorized_share"]) == 2
    assert "memorized_share has no better direction" in capsys.readouterr().err


def test_a_check_turned_off_leaves_no_picture_and_no_setting_it_did_not_use(tmp_path):
    run = genlab.train(*RUN, run_dir=tmp_path / "run")
    assert list((tmp_path / "run" / "images").glob("closest_to_train_step*.png"))
    run.evaluate(train_images=0, bootstrap=0, force=True)
    assert not list((tmp_path / "run" / "images").glob("closest_to_train_step*.png"))
    record = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert "memorized_share" not in record["metrics"] and "fid_se" not in record["metrics"]
    flat = tmp_path / "faces"  # one class, no feature space: nothing to search or resample
    flat.mkdir()
    for i in range(8):
        Image.new("RGB", (10, 10), (30 * i, 0, 0)).save(flat / f"{i}.png")
    genlab.train("data=image_folder", f"data.path={flat}", "data.image_size=8", "model=vae",
                 "arch.hidden=16", "trainer.max_steps=1", "trainer.progress=false",
                 "data.batch_size=4", "eval.n_samples=8", run_dir=tmp_path / "vae")  # fmt: skip
    settings = json.loads((tmp_path / "vae" / "metrics.json").read_text())["measured"]["settings"]
    assert settings["train_images"] == 0 and settings["bootstrap"] == 0
