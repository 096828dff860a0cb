"""Metrics: distances, precision/recall, class accuracy and likelihood bounds, checked on
constructed inputs and tiny synthetic runs."""

import json
import time

import pytest
import torch
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData

from genlab.config.build import make_trainer, to_dict
from genlab.config.data import make_data
from genlab.config.evaluation import make_network
from genlab.errors import CheckpointError, ConfigError
from genlab.metrics.classifier_net import accuracy
from genlab.metrics.distances import frechet_distance, kernel_distance, min_class_share
from genlab.metrics.evaluator import Evaluator
from genlab.metrics.feature_networks import load_network
from genlab.metrics.likelihood import vae_test_metrics
from genlab.metrics.precision_recall import precision_recall


def gaussian(n, mean, std, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, len(mean), generator=g) * torch.tensor(std) + torch.tensor(mean)


def test_frechet_distance_is_zero_on_itself_and_matches_the_gaussian_closed_form():
    x = gaussian(4000, [0.0] * 4, [1.0] * 4, seed=0)
    assert abs(frechet_distance(x, x)) < 1e-3
    shifts = [frechet_distance(x, x + s) for s in (0.5, 1.0, 2.0)]
    assert shifts == pytest.approx([4 * 0.25, 4 * 1.0, 4 * 4.0], rel=1e-3)  # ||shift||^2
    # N(m1, diag s1^2) vs N(m2, diag s2^2): ||m1 - m2||^2 + sum (s1 - s2)^2
    y = gaussian(4000, [1.0, 0.0, -1.0, 0.5], [2.0, 1.0, 0.5, 1.0], seed=1)
    closed = 1 + 1 + 0.25 + (1 + 0 + 0.25 + 0)
    assert frechet_distance(x, y) == pytest.approx(closed, rel=0.1)


def test_kid_is_near_zero_on_itself_and_grows_with_a_shift():
    torch.manual_seed(0)  # KID draws random subsets
    x = gaussian(500, [0.0] * 4, [1.0] * 4, seed=0)
    same, _ = kernel_distance(x, x, subset_size=200, subsets=50)
    near, _ = kernel_distance(x, x + 0.5, subset_size=200, subsets=50)
    far, _ = kernel_distance(x, x + 2.0, subset_size=200, subsets=50)
    assert abs(same) < 0.1 * near and near < far  # same set: ~0 (slightly negative, unbiased)


def test_precision_recall_on_constructed_point_sets():
    real = gaussian(300, [0.0, 0.0], [1.0, 1.0], seed=0)
    assert precision_recall(real, real.clone()) == (1.0, 1.0)
    assert precision_recall(real, real + 100.0) == (0.0, 0.0)
    # half the samples are real points, half lie far away: precision exactly 1/2
    fake = torch.cat([real[:150], gaussian(150, [50.0, 50.0], [1.0, 1.0], seed=1)])
    precision, recall = precision_recall(real, fake)
    assert precision == 0.5 and 0.5 <= recall < 1.0
    # mode collapse: every sample near one real point: faithful, but covers almost nothing
    collapsed = real[:1] + 1e-4 * gaussian(300, [0.0, 0.0], [1.0, 1.0], seed=2)
    precision, recall = precision_recall(real, collapsed)
    assert precision == 1.0 and recall < 0.05


class RealImagesModel:
    """A 'perfect' cGAN: sample(n, labels) returns test images of the requested classes."""

    def __init__(self, test):
        self.test, self.num_classes, self.networks = test, test.num_classes, {}
        self.taken = []

    def sample(self, n, labels, generator=None):
        out = []
        for y in labels.tolist():
            pool = (self.test.labels == y).nonzero().flatten()
            i = pool[sum(1 for t in self.taken if t[1] == y) % len(pool)].item()
            self.taken.append((i, y))
            out.append(self.test.images[i])
        return torch.stack(out).float() / 255


def test_min_class_share_is_the_rarest_predicted_class():
    logits = torch.nn.functional.one_hot(torch.tensor([0, 0, 1, 2, 2, 2, 1, 0]), 4).float()
    assert min_class_share(logits) == 0.0  # class 3 never predicted
    assert min_class_share(logits[:, :3]) == pytest.approx(2 / 8)


def test_class_accuracy_of_real_test_images_is_the_classifiers_accuracy(compose_cfg, tmp_path):
    c = to_dict(compose_cfg("eval.n_samples=60", f"data.root={tmp_path}"))  # its own classifier
    network = make_network(c, torch.device("cpu"))
    test = make_data(c, "test")
    model = RealImagesModel(test)
    e = to_dict(compose_cfg())["eval"]  # conf/eval/default.yaml's settings, then the test's
    settings = {k: e[k] for k in ("iw_samples", "fid_backbone", "pr_k", "batch_size")}
    evaluator = Evaluator(
        network, test, torch.device("cpu"), **settings, n_samples=60, kid_subset_size=30, seed=0
    )
    metrics = evaluator(model)
    idx = torch.tensor([i for i, _ in model.taken])
    chosen = type(test)(test.images[idx], test.labels[idx], test.num_classes)
    assert metrics["class_accuracy"] == pytest.approx(accuracy(network.model, chosen), abs=1e-6)
    assert metrics["class_accuracy"] > 0.5  # the synthetic classes are easy


def test_iw_nll_is_at_most_the_negative_elbo_on_a_trained_vae(compose_cfg, tmp_path):
    cfg = compose_cfg("model=vae", "arch.hidden=32", "trainer.epochs=5", "eval.at_end=false")
    trainer = make_trainer(cfg, tmp_path)
    trainer.fit()
    trainer.close()
    vae, test = trainer.step.vae.eval(), make_data(to_dict(cfg), "test")
    torch.manual_seed(0)
    loss = trainer.step.loss
    m1 = vae_test_metrics(vae, test.images, loss, k=1, batch_size=500)
    m64 = vae_test_metrics(vae, test.images, loss, k=64, batch_size=500)
    assert m64["iw_nll"] <= m64["neg_elbo"]
    assert m64["iw_nll"] < m1["iw_nll"]  # more samples, tighter bound
    assert m1["iw_nll"] == pytest.approx(m1["neg_elbo"], rel=0.05)  # K = 1 is the ELBO
    assert m64["psnr"] > 0


@pytest.mark.parametrize("loss", ["bernoulli", "continuous_bernoulli", "gaussian"])
def test_test_metrics_use_the_likelihood_the_vae_trained_with(compose_cfg, tmp_path, loss):
    """With K = 1 the metric's negative ELBO draws the same eps as a training forward pass, so
    the two must agree exactly: same decoder likelihood, same constants."""
    trainer = make_trainer(compose_cfg("model=vae", f"loss={loss}", "arch.hidden=16"), tmp_path)
    vae, x = trainer.step.vae.eval(), make_data(trainer.config, "test").images[:8]
    torch.manual_seed(3)
    metric = vae_test_metrics(vae, x, trainer.step.loss, k=1, batch_size=8)
    g, seen = torch.Generator().manual_seed(0), x.float() / 255  # a Bernoulli's: binary pixels
    seen = torch.bernoulli(seen, generator=g) if loss == "bernoulli" else seen
    torch.manual_seed(3)
    with torch.no_grad():
        logits, mu, logvar = vae(seen)
        terms = trainer.step.loss(logits, seen, mu, logvar)
    assert metric["neg_elbo"] == pytest.approx(terms["neg_elbo"].item(), rel=1e-5)


def events(run_dir):
    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    return acc


@pytest.mark.parametrize("model", ["vae", "cvae", "gan", "cgan"])
def test_runs_end_with_metrics_in_tensorboard_hparams_and_json(compose_cfg, tmp_path, model):
    cfg = compose_cfg(
        f"model={model}", "arch.hidden=32", "trainer.epochs=2", "trainer.eval_every=1"
    )
    trainer = make_trainer(cfg, tmp_path)
    trainer.fit()
    trainer.close()
    acc = events(tmp_path)
    assert [e.step for e in acc.Scalars("eval/fid")] == [4, 8]  # after epoch 1, and at the end
    hp = acc.PluginTagToContent("hparams")  # one HParams row, in the run's own event file
    start = HParamsPluginData.FromString(hp["_hparams_/session_start_info"]).session_start_info
    assert start.hparams["model.name"].string_value == model
    lr = trainer.config["optimizer"]["lr"]
    assert start.hparams["optimizer.lr"].number_value == pytest.approx(lr)
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["step"] == 8 and saved["metrics"] == pytest.approx(trainer.metrics)
    vae, classes = {"neg_elbo", "iw_nll", "psnr"}, {"class_accuracy"}
    extra = {"vae": vae, "cvae": vae | classes, "gan": set(), "cgan": classes}[model]
    every = {"fid", "kid", "precision", "recall", "classifier_score", "min_class_share"}
    assert every | extra <= set(saved["metrics"])


def test_the_training_clock_stops_while_the_model_is_measured(compose_cfg, tmp_path):
    """time/train_s (time to quality) leaves out the evaluations; the checkpoint keeps it."""
    cfg = compose_cfg("model=gan", "arch.hidden=16", "trainer.epochs=3", "trainer.eval_every=1")
    trainer = make_trainer(cfg, tmp_path)
    measure = trainer.evaluator

    def slow(model):
        time.sleep(1.5)
        return measure(model)

    slow.measured, slow.grids = measure.measured, measure.grids  # as the real evaluator says
    trainer.evaluator = slow
    trainer.fit()
    trainer.close()
    seconds = [e.value for e in events(tmp_path).Scalars("time/train_s")]
    assert len(seconds) == 3 and seconds == sorted(seconds)
    assert seconds[-1] < 1.5  # three epochs of 4 tiny batches; each evaluation slept 1.5 s
    saved = torch.load(trainer.checkpoint_path, weights_only=False)["train_seconds"]
    assert seconds[-2] < saved <= seconds[-1]


def test_a_classifier_trained_on_first_use_does_not_change_the_run(compose_cfg, tmp_path):
    """Training the metrics' classifier draws random numbers; the run must not feel them."""

    def final_weights(root, run):
        cfg = compose_cfg("model=gan", "arch.hidden=16", f"data.root={root}", "eval.at_end=true")
        trainer = make_trainer(cfg, run)
        trainer.fit()
        trainer.close()
        return [p.detach().clone() for p in trainer.step.G.parameters()]

    ready = tmp_path / "ready"  # its classifier exists before the run starts
    make_network(to_dict(compose_cfg(f"data.root={ready}")), torch.device("cpu"))
    fresh = final_weights(tmp_path / "fresh", tmp_path / "a")  # trains one while building
    assert (tmp_path / "fresh" / "classifiers").is_dir()
    for a, b in zip(fresh, final_weights(ready, tmp_path / "b"), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_evaluation_leaves_the_rng_and_module_modes_alone(compose_cfg, tmp_path):
    trainer = make_trainer(compose_cfg("model=gan", "arch.hidden=16"), tmp_path)
    rng = torch.get_rng_state()
    trainer.evaluator(trainer.step)
    assert torch.equal(rng, torch.get_rng_state())
    assert all(m.training for m in trainer.step.networks.values())


@pytest.mark.parametrize(
    "override, message",
    [
        ("eval.fid_backbone=vgg", "eval.fid_backbone=vgg is not known; choose one of classifier"),
        ("eval.fid_backbone=inception", "eval.fid_backbone=inception needs torch-fidelity"),
        ("objective=sharpness", "objective=sharpness is not known"),
        ("eval.n_samples=0", "eval.n_samples=0 is not allowed"),
        ("trainer.eval_every=0", "trainer.eval_every=0 is not allowed"),
    ],
)
def test_bad_eval_settings_fail_in_one_line(compose_cfg, tmp_path, override, message):
    with pytest.raises(ConfigError, match=message):
        make_trainer(compose_cfg(override), tmp_path)


def test_a_corrupt_classifier_file_is_a_clear_error(tmp_path):
    path = tmp_path / "classifiers" / "mnist.pt"
    path.parent.mkdir()
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="classifier .* cannot be loaded.*delete it"):
        load_network(path, "cpu")


def write_flat_folder(folder, n=12):
    folder.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(0)
    for i in range(n):
        pixels = torch.randint(0, 256, (8, 8, 3), generator=g, dtype=torch.uint8)
        Image.fromarray(pixels.numpy()).save(folder / f"{i}.png")


ONE_CLASS = [
    "data=image_folder",
    "data.image_size=8",
    "data.batch_size=4",
    "arch.hidden=16",
    "device=cpu",
    "trainer.epochs=1",
    "trainer.progress=false",
    "eval.iw_samples=4",
]


def test_one_class_data_gets_no_classifier_space_metrics(compose_cfg, tmp_path):
    write_flat_folder(tmp_path / "faces")
    folder = [*ONE_CLASS, f"data.path={tmp_path / 'faces'}"]
    with pytest.raises(ConfigError, match="data=image_folder has a single class: .* choose eval"):
        make_trainer(
            compose_cfg("model=gan", *folder, tiny=False), tmp_path / "gan"
        )  # before any work
    trainer = make_trainer(compose_cfg("model=vae", *folder, tiny=False), tmp_path / "vae")
    trainer.fit()
    trainer.close()
    assert set(trainer.metrics) == {"neg_elbo", "iw_nll", "psnr", "neg_elbo_se", "iw_nll_se"}
    assert not (tmp_path / "faces" / "classifiers").exists()
    with pytest.raises(ConfigError, match="has a single class: a classifier learns no features"):
        make_network(to_dict(compose_cfg("model=vae", *folder, tiny=False)), torch.device("cpu"))


def test_each_split_is_decoded_once_and_sampling_decodes_none(compose_cfg, tmp_path, monkeypatch):
    import genlab.config.build as build
    import genlab.config.data as data_cache

    data_cache._load_once.cache_clear()
    loads = []
    real = data_cache.load_images
    monkeypatch.setattr(
        data_cache, "load_images", lambda *a, **k: loads.append(a[:2]) or real(*a, **k)
    )
    cfg = compose_cfg("model=vae", "arch.hidden=16", "data.size=72", "trainer.eval_every=1")
    trainer = make_trainer(cfg, tmp_path)  # classifier, evaluator and training all need data
    trainer.fit()
    trainer.close()
    assert sorted(loads) == [("synthetic", "test"), ("synthetic", "train")]
    data_cache._load_once.cache_clear()
    loads.clear()
    _, model, _ = build.load_run(tmp_path, "cpu")  # what genlab.sample and genlab.evaluate do
    assert loads == [] and model.sample(4).shape == (4, 1, 28, 28)


def test_vae_test_metrics_sync_with_the_host_once(compose_cfg, tmp_path, monkeypatch):
    trainer = make_trainer(compose_cfg("model=vae", "arch.hidden=16"), tmp_path)
    images = make_data(trainer.config, "test").images[:40]
    reads = []
    item = torch.Tensor.item
    monkeypatch.setattr(torch.Tensor, "item", lambda t: reads.append(1) or item(t))
    vae_test_metrics(trainer.step.vae, images, trainer.step.loss, k=4, batch_size=20)  # 8 batches
    assert reads == []  # the sums stay on the device; one .tolist() at the end
