"""Does the generator copy its training images? Each sample's distance to its nearest training
image, against the same distance for real test images, in the evaluation's feature space.

A test image is new data the model never saw, so its distance to the nearest training image is
what "new" looks like. Two numbers compare the samples with it:

- memorized_share: the share of samples closer to a training image than 95% of test images are
  (the 5th percentile of the test images' distances). About 0.05 when samples are as new as test
  images; towards 1 when the generator reproduces training images. A blurry or broken generator
  sits below 0.05: the check flags copies, it is no quality score.
- train_distance_ratio: the median sample-to-training distance over the median
  test-to-training distance. About 1 for new data, below 1 for copies, above 1 for samples
  unlike any digit.

FID, precision and recall cannot see copying (Stein et al. 2023): a generator that returns its
training set scores as well as the data itself. The closest pairs (sample, training image) are
kept so a reader can look.
"""

from __future__ import annotations

import torch

SHARE_QUANTILE = 0.05  # "closer than 95% of test images are"


def nearest(points: torch.Tensor, references: torch.Tensor, chunk: int = 1000):
    """For each row of points its nearest row of references: (distances (N,), indices (N,))."""
    dist, index = [], []
    for i in range(0, len(points), chunk):
        d = torch.cdist(points[i : i + chunk].float(), references.float())
        best = d.min(dim=1)
        dist.append(best.values)
        index.append(best.indices)
    return torch.cat(dist).cpu(), torch.cat(index).cpu()


def memorization(fake: torch.Tensor, test_distances: torch.Tensor, train: torch.Tensor, pairs=8):
    """(metrics, closest) for features of samples and of training images ((N, D) each), given
    the test images' distances to their nearest training image (nearest(test, train)[0], the
    same for every evaluation of a run); closest: (sample index, training index) of the `pairs`
    samples nearest to a training image, closest first."""
    d_fake, index = nearest(fake, train)
    d_test = test_distances.double()
    threshold = torch.quantile(d_test, SHARE_QUANTILE)
    new = d_test.median().item()  # 0: the test images are training images
    metrics = {
        "memorized_share": (d_fake.double() < threshold).double().mean().item(),
        "train_distance_ratio": d_fake.double().median().item() / new if new else float("nan"),
    }
    closest = d_fake.argsort()[:pairs]
    return metrics, [(int(i), int(index[i])) for i in closest]
