"""Quality metrics: a per-data-set classifier, its feature-space distances, likelihoods."""
