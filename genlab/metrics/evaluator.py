"""Which metrics for which model family, measured against the test split.

Every family: FID, KID, precision/recall and the classifier score of n generated images against n
test images, in the feature space of the data set's classifier (or Inception-v3's, as an option;
the two give numbers on different scales that must not be compared). A cGAN adds the class
accuracy of samples drawn with balanced labels; the VAE adds its test negative ELBO, the
importance-weighted NLL and the reconstruction PSNR; the cVAE both (its nats: -log p(x | y)).

Beside the numbers, what no single figure says: the memorisation check (each sample's nearest
training image against a test image's, metrics/memorization.py) and each headline metric's
standard error over the evaluation itself (`<metric>_se`, metrics/noise.py), so a report can
tell measurement noise from seed-to-seed spread.
"""

from __future__ import annotations

import torch

from genlab.data import ImageSet
from genlab.errors import first_line
from genlab.metrics.classifier_net import predict
from genlab.metrics.distances import (
    classifier_score,
    frechet_distance,
    kernel_distance,
    min_class_share,
)
from genlab.metrics.feature_networks import FeatureNetwork
from genlab.metrics.likelihood import vae_test_metrics
from genlab.metrics.memorization import memorization, nearest
from genlab.metrics.noise import fid_bootstrap_se, share_se
from genlab.metrics.precision_recall import precision_recall
from genlab.trainers.sampling import balanced_labels, sample
from genlab.trainers.step import LikelihoodStep, Step

BACKBONES = ("classifier", "inception")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("genlab")
    except PackageNotFoundError:  # a source tree that was never installed
        return "unknown"


class BackboneError(RuntimeError):
    """The requested feature network cannot be built here."""


def inception_features(device, batch_size: int = 100):
    """torchmetrics' Inception-v3 (FID's standard network); needs torch-fidelity and its weights."""
    try:
        from torchmetrics.image.fid import NoTrainInceptionV3

        net = NoTrainInceptionV3(name="inception-v3-compat", features_list=["2048"]).to(device)
    except Exception as e:  # no torch-fidelity, or no network for the weights
        raise BackboneError(
            "eval.fid_backbone=inception needs torch-fidelity, torchmetrics (pip install "
            "'genlab[inception]') and the Inception-v3 weights (downloaded on first use): "
            f"{first_line(e)}; use eval.fid_backbone=classifier"
        ) from None

    @torch.no_grad()
    def features(images: torch.Tensor) -> torch.Tensor:  # uint8 (N, C, H, W) -> (N, 2048)
        out = []
        for i in range(0, len(images), batch_size):
            x = images[i : i + batch_size].to(device)
            out.append(net(x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x))  # grey -> RGB
        return torch.cat(out)

    return features


REFERENCE_SEED = 0  # every run is measured against the same test images, whatever its seed


class Evaluator:
    """network: the data set's feature network (metrics/feature_networks.py), or None for data
    with one class (a classifier learns nothing from it): then the distances need the Inception
    backbone, and a VAE without it gets its likelihood only.

    The reference set is n_samples test images drawn at random with a fixed seed (a test split
    stored class by class would otherwise give the first classes only); `measured` says what
    measured the numbers: the network's id and floor, and the reference set."""

    def __init__(
        self,
        network: FeatureNetwork | None,
        test: ImageSet,
        device: torch.device,
        *,
        n_samples: int,
        iw_samples: int,
        fid_backbone: str,
        pr_k: int,
        batch_size: int,
        kid_subset_size: int,
        seed: int,
        train: ImageSet | None = None,  # searched for each sample's nearest training image
        train_images: int = 0,  # how many of them (0: no memorisation check)
        bootstrap: int = 0,  # resamples for FID's standard error (0: none)
        likelihood: str | None = None,  # what a VAE's nats bound (metrics/likelihood.PROTOCOL)
        data: str = "",  # the data set's name, for the record
    ):  # conf/eval/default.yaml says what each one means
        self.classifier = network.model if network is not None else None
        self.num_classes = test.num_classes
        g = torch.Generator().manual_seed(REFERENCE_SEED)
        picked = torch.randperm(len(test), generator=g)[:n_samples]
        self.real = test.images[picked]  # uint8 (N, C, H, W)
        self.real_labels = test.labels[picked]  # a cVAE's likelihood is of p(x | y)
        self.n_samples = len(self.real)  # n generated vs n real: capped at the test split
        self.train = None
        measures = network is not None or fid_backbone == "inception"  # a feature space
        bootstrap = bootstrap if measures else 0  # nothing to resample, nor to search in
        if train is not None and train_images > 0 and measures:  # a fixed subset when capped
            order = torch.randperm(len(train), generator=g)[:train_images]
            self.train = train.images[order.sort().values]
        net = network.id if network is not None else None
        in_classifier = fid_backbone == "classifier"
        self.measured = {  # what measured the numbers: metrics.json and the HParams row keep it
            "network": net if in_classifier else "inception-v3",  # FID, KID, precision, recall
            "classifier": net,  # class accuracy, classifier score, rarest class
            "floor_fid": network.floor_fid if network is not None and in_classifier else None,
            "reference": f"{self.n_samples} of {len(test)} test images (seed {REFERENCE_SEED})",
            # every setting that moves a number: runs measured otherwise are not compared
            "settings": {
                "n_samples": self.n_samples,
                "iw_samples": iw_samples,
                "pr_k": pr_k,
                "kid_subset_size": kid_subset_size,
                "fid_backbone": fid_backbone,
                "sampling_seed": seed,
                "train_images": len(self.train) if self.train is not None else 0,
                "bootstrap": bootstrap,
                "likelihood": likelihood,
            },  # fmt: skip
            "data": data,
            "genlab": _version(),
        }
        self.iw_samples, self.pr_k = iw_samples, pr_k
        self.batch_size, self.kid_subset_size = batch_size, kid_subset_size
        self.seed, self.bootstrap = seed, bootstrap
        self.closest: tuple[torch.Tensor, torch.Tensor] | None = None  # (samples, their nearest)
        self.inception = inception_features(device) if fid_backbone == "inception" else None
        self.device_type = torch.device(device).type
        self._real_features = self._train_features = None  # computed once, on first use

    def features(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(features for the distances, classifier logits or None) of uint8 images."""
        feats, logits = None, None
        if self.classifier is not None:
            feats, logits = predict(self.classifier, images, self.batch_size)
        if self.inception is not None:
            feats = self.inception(images)
        return feats, logits

    def __call__(self, step: Step) -> dict[str, float]:
        """The metrics of a step's networks as they are now; leaves every RNG and network mode
        as it was."""
        modes = {k: m.training for k, m in step.networks.items()}
        if self.device_type == "mps":  # one device, whose generator fork_rng keeps as CUDA's
            kind, devices = "mps", [0]
        else:
            kind = "cuda"
            devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
        with torch.random.fork_rng(devices=devices, device_type=kind):
            torch.manual_seed(self.seed)
            for m in step.networks.values():
                m.eval()
            try:
                return self._measure(step)
            finally:
                for k, m in step.networks.items():
                    m.train(modes[k])

    def _measure(self, step: Step) -> dict[str, float]:
        out = self._likelihood(step)
        if self.classifier is None and self.inception is None:
            return out  # one class, classifier backbone: no feature space worth measuring in
        if self._real_features is None:
            self._real_features = self.features(self.real)[0]
        real = self._real_features
        conditional = step.num_classes > 0
        labels = balanced_labels(self.n_samples, self.num_classes) if conditional else None
        images = sample(step, self.n_samples, labels, self.seed, 500)
        fake, logits = self.features(images)
        kid, kid_std = kernel_distance(real, fake, self.kid_subset_size)
        precision, recall = precision_recall(real, fake, self.pr_k)
        n = self.n_samples
        out |= {
            "fid": frechet_distance(real, fake),
            "kid": kid,
            "kid_std": kid_std,
            "precision": precision,
            "recall": recall,
            "precision_se": share_se(precision, n),
            "recall_se": share_se(recall, n),
        }
        if self.bootstrap:
            out["fid_se"] = fid_bootstrap_se(real, fake, self.bootstrap, self.seed)
        if logits is not None:  # the classifier's view: confidence and mode coverage
            out["classifier_score"] = classifier_score(logits)
            out["min_class_share"] = min_class_share(logits)
        if conditional and logits is not None:
            out["class_accuracy"] = (logits.argmax(1).cpu() == labels).float().mean().item()
            out["class_accuracy_se"] = share_se(out["class_accuracy"], n)
        if self.train is not None:
            out |= self._memorization(images, fake, real)
        return out

    def _memorization(self, images, fake, real) -> dict[str, float]:
        """The memorisation check; keeps the closest pairs (sample, training image) in
        self.closest for the logs."""
        if self._train_features is None:  # and the test images' distances: once per run
            self._train_features = self.features(self.train)[0]
            self._test_distances = nearest(real, self._train_features)[0]
        metrics, pairs = memorization(fake, self._test_distances, self._train_features)
        self.closest = (images[[i for i, _ in pairs]], self.train[[j for _, j in pairs]])
        return metrics

    def grids(self) -> dict[str, tuple[torch.Tensor, int]]:
        """The closest pairs of the last measurement, for the logs: the samples nearest to a
        training image on the top row, those training images below (none: {})."""
        if self.closest is None:
            return {}
        samples, nearest = self.closest
        return {"closest_to_train": (torch.cat([samples, nearest]).float() / 255, len(samples))}

    def _likelihood(self, step: Step) -> dict[str, float]:
        """A VAE step's test likelihood (nats) and PSNR; {} for the GANs."""
        if not isinstance(step, LikelihoodStep):
            return {}
        return vae_test_metrics(
            step.vae, self.real, step.loss, self.iw_samples, self.batch_size, self.real_labels
        )
