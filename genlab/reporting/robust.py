"""Few-seed statistics that still speak when Welch's t cannot (Agarwal et al. 2021, "Deep RL at
the edge of the statistical precipice"): the interquartile mean, the probability of improvement
with stratified-bootstrap intervals, and the seeds a difference would need.

- The interquartile mean (IQM): the mean of the middle 50% of the seeds (scipy's trim_mean at
  25%), robust to one collapsed seed where the mean is not. With fewer than four seeds nothing is
  trimmed and it equals the mean.
- The probability of improvement P(a > b): the chance that a seed of a beats a seed of b, over
  every pair (ties count a half; the Mann-Whitney U over n_a n_b). 0.5: no difference; it is not
  moved by how far a collapsed seed falls, only by which side it falls on.
- Stratified bootstrap: each group's seeds resampled with replacement on their own (the groups
  are the strata), 2,000 times; the 95% interval is the percentiles. Seeded, so a report is the
  same every time it is written.
- Seeds needed: the seeds per side a two-sided t-test at 0.05 needs to detect a difference of
  the observed size with 80% power, taking the groups' pooled standard deviation as true
  (noncentral t). A rough guide for planning the next run, not a test.

rliable computes the first three over many tasks' score matrices and brings arch and seaborn
with it; for one task and two groups they are a few lines of numpy and scipy.
"""

from __future__ import annotations

import math

import numpy as np

ROUNDS = 2000
POWER = 0.8
ALPHA = 0.05
MOST_SEEDS = 1000  # beyond this, "more than 1000": the difference is as good as none


def iqm(values) -> float:
    from scipy import stats

    return float(stats.trim_mean(np.asarray(values, dtype=float), 0.25))


def improvement(a, b, higher: bool = True) -> float:
    """P(a seed of a beats a seed of b): the share of pairs a wins, ties counting a half."""
    a, b = np.asarray(a, dtype=float)[:, None], np.asarray(b, dtype=float)[None, :]
    wins = (a > b) if higher else (a < b)
    return float((wins + 0.5 * (a == b)).mean())


def bootstrap_interval(a, b, statistic, level: float = 0.95, seed: int = 0):
    """The stratified-bootstrap percentile interval of statistic(a, b): a and b resampled apart."""
    rng = np.random.default_rng(seed)
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    draws = [
        statistic(rng.choice(a, len(a)), rng.choice(b, len(b))) for _ in range(ROUNDS)
    ]  # fmt: skip
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return float(low), float(high)


def power(n: int, difference: float, sd: float) -> float:
    """The chance that a two-sided t-test at ALPHA with n seeds a side finds the difference."""
    from scipy import stats

    df, shift = 2 * n - 2, abs(difference) / (sd * math.sqrt(2 / n))
    critical = stats.t.ppf(1 - ALPHA / 2, df)
    found = stats.nct.sf(critical, df, shift) + stats.nct.cdf(-critical, df, shift)
    if not math.isfinite(found):  # the noncentral t fails far out: the normal is exact enough
        found = stats.norm.sf(critical - shift) + stats.norm.cdf(-critical - shift)
    return float(found)


def seeds_needed(difference: float, sd_a: float, sd_b: float) -> int | None:
    """Seeds per side for 80% power at 0.05 (two-sided, equal seeds a side); None when it
    would take more than MOST_SEEDS, or the difference is zero. Power grows with n: found by
    bisection."""
    sd = math.sqrt((sd_a**2 + sd_b**2) / 2)
    if difference == 0 or math.isnan(difference):
        return None
    if math.isinf(difference):
        return 2
    if sd == 0 or power(2, difference, sd) >= POWER:
        return 2
    if power(MOST_SEEDS, difference, sd) < POWER:
        return None
    low, high = 2, MOST_SEEDS  # power(low) < POWER <= power(high)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if power(middle, difference, sd) >= POWER else (middle, high)
    return high
