"""Metrics: distances, precision/recall, class accuracy and likelihood bounds, checked on
constructed inputs and tiny synthetic runs."""

import json

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData

from genlab.build import ConfigError, make_classifier, make_data, make_trainer, to_dict
from genlab.checkpoint import CheckpointError
from genlab.metrics.classifier import accuracy, load_classifier
from genlab.metrics.distances import frechet_distance, kernel_distance, min_class_share
from genlab.metrics.evaluate import Evaluator
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


class RealImagesTask:
    """A 'perfect' cGAN: sample(n, labels) returns test images of the requested classes."""

    def __init__(self, test):
        self.test, self.num_classes, self.modules = test, test.num_classes, {}
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
    classifier = make_classifier(c, torch.device("cpu"))
    test = make_data(c, "test")
    task = RealImagesTask(test)
    metrics = Evaluator(classifier, test, n_samples=60, kid_subset_size=30)(task)
    idx = torch.tensor([i for i, _ in task.taken])
    chosen = type(test)(test.images[idx], test.labels[idx], test.num_classes)
    assert metrics["class_accuracy"] == pytest.approx(accuracy(classifier, chosen), abs=1e-6)
    assert metrics["class_accuracy"] > 0.5  # the synthetic classes are easy


def test_iw_nll_is_at_most_the_negative_elbo_on_a_trained_vae(compose_cfg, tmp_path):
    cfg = compose_cfg("model=vae", "arch.hidden=32", "trainer.epochs=5", "eval.at_end=false")
    trainer = make_trainer(cfg, tmp_path)
    trainer.fit()
    trainer.close()
    vae, test = trainer.task.vae.eval(), make_data(to_dict(cfg), "test")
    torch.manual_seed(0)
    m1 = vae_test_metrics(vae, test.images, "bernoulli", k=1)
    m64 = vae_test_metrics(vae, test.images, "bernoulli", k=64)
    assert m64["iw_nll"] <= m64["neg_elbo"]
    assert m64["iw_nll"] < m1["iw_nll"]  # more samples, tighter bound
    assert m1["iw_nll"] == pytest.approx(m1["neg_elbo"], rel=0.05)  # K = 1 is the ELBO
    assert m64["psnr"] > 0


def events(run_dir):
    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    return acc


@pytest.mark.parametrize("model", ["vae", "gan", "cgan"])
def test_runs_end_with_metrics_in_tensorboard_hparams_and_json(compose_cfg, tmp_path, model):
    cfg = compose_cfg(
        f"model={model}", "arch.hidden=32", "trainer.epochs=2", "trainer.eval_every=1"
    )
    trainer = make_trainer(cfg, tmp_path)
    rng = torch.get_rng_state()
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
    expected = {"fid", "kid", "precision", "recall", "classifier_score", "min_class_share"}
    expected |= {"vae": {"neg_elbo", "iw_nll", "psnr"}, "gan": set(), "cgan": {"class_accuracy"}}[
        model
    ]
    assert expected <= set(saved["metrics"])
    assert not torch.equal(rng, torch.get_rng_state())  # training drew from the RNG ...


def test_evaluation_leaves_the_rng_and_module_modes_alone(compose_cfg, tmp_path):
    trainer = make_trainer(compose_cfg("model=gan", "arch.hidden=16"), tmp_path)
    rng = torch.get_rng_state()
    trainer.evaluator(trainer.task)
    assert torch.equal(rng, torch.get_rng_state())
    assert all(m.training for m in trainer.task.modules.values())


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
        load_classifier(path, (1, 28, 28), 10, "cpu")
