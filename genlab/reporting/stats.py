"""Seeds as an axis: a sweep's jobs grouped by their configuration without the seed; per group
and metric the mean, the standard deviation, a 95% confidence interval and n; and tests between
the groups that differ in one key alone.

The interval is Student's t on the seeds' values (mean +- t(0.975, n-1) * s / sqrt(n)); a group
of one seed gets none, never one of zero width. Two groups are compared with Welch's t-test,
which does not assume equal spread (one GAN loss may vary far more from seed to seed than
another) and, unlike rank tests, can reach p < 0.05 with three seeds a side (Mann-Whitney's
smallest two-sided p for 3 against 3 is 0.1); it assumes each group's values roughly normal. When
a key has more than two values, the pairwise p-values are adjusted with Holm's method, so the
chance of any false "differ" stays at 5%. scipy computes the distributions.

Beside Welch's t, each verdict says what few seeds still say (reporting/robust.py: the
interquartile mean, the probability of improvement with its stratified-bootstrap interval, the
seeds a difference of this size would need) and, where the runs recorded it, how much of the
spread is the evaluation's own noise (`<metric>_se`) against the seeds' standard deviation.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

from genlab.logging.hparams import is_experiment_key
from genlab.metrics.names import direction
from genlab.reporting.jobs import Job

LEVEL = 0.95  # the intervals'; the tests' threshold is 1 - LEVEL


@dataclass
class Summary:
    n: int  # seeds measured
    asked: int  # seeds in the group (a failed or missing one counts here, not in n)
    mean: float | None
    std: float | None
    half: float | None  # the 95% interval's half-width; None below two seeds

    def text(self) -> str:
        if self.mean is None:
            return "-"
        if self.half is None:
            return f"{self.mean:.4g} (n=1, no interval)"
        return f"{self.mean:.4g} ± {self.half:.2g}"


def summarize(values: list[float], asked: int) -> Summary:
    from scipy import stats

    n = len(values)
    if n == 0:
        return Summary(0, asked, None, None, None)
    mean = sum(values) / n
    if n == 1:
        return Summary(1, asked, mean, None, None)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = stats.t.ppf((1 + LEVEL) / 2, n - 1) * std / math.sqrt(n)
    return Summary(n, asked, mean, std, float(half))


@dataclass
class Group:
    key: tuple[tuple[str, str], ...]  # (swept key, value), the seed left out
    jobs: list[Job]  # one per seed
    copies: list[tuple[Job, Job]] = field(default_factory=list)  # (a job again, the one kept)

    @property
    def label(self) -> str:
        return ",".join(f"{k}={v}" for k, v in self.key) or "every job"

    def values(self, metric: str) -> list[float]:
        return [j.metrics[metric] for j in self.jobs if metric in j.metrics and j.status in
                ("finished", "unknown") and not math.isnan(j.metrics[metric])]  # fmt: skip

    def summary(self, metric: str) -> Summary:
        return summarize(self.values(metric), len(self.jobs))

    def noise(self, metric: str) -> float | None:
        """The mean evaluation standard error of metric over the group's runs (metrics/noise.py:
        `<metric>_se`), None when they did not record one."""
        errors = self.values(f"{metric}_se")
        return sum(errors) / len(errors) if errors else None


def group_jobs(jobs: list[Job], keys: list[str]) -> list[Group]:
    """Jobs with the same values of keys that make the experiment (logging/hparams: the seed and
    how a job was launched left out), in first-seen order. A job with the configuration and seed
    of one already in its group (a sweep copied, or reported twice) is counted once: the first,
    and the copy named in `copies`."""
    groups: dict[tuple, Group] = {}
    for job in jobs:
        key = tuple((k, job.overrides.get(k, "")) for k in keys if is_experiment_key(k))
        group = groups.setdefault(key, Group(key, []))
        seed = job.overrides.get("seed", "0")
        kept = next((j for j in group.jobs if j.overrides.get("seed", "0") == seed
                     and j.group == job.group), None)  # fmt: skip
        if kept is None:
            group.jobs.append(job)
        else:
            group.copies.append((job, kept))
    return list(groups.values())


@dataclass
class Verdict:
    a: Group
    b: Group
    metric: str
    p: float | None  # Welch's two-sided p; None when a side has fewer than two seeds
    p_holm: float | None
    low: float | None  # the 95% interval of mean(a) - mean(b)
    high: float | None

    def text(self, key: str) -> str:
        sa, sb = self.a.summary(self.metric), self.b.summary(self.metric)
        others = ",".join(f"{k}={v}" for k, v in self.a.key if k != key)
        head = f"{self.side(self.a, key)} vs {self.side(self.b, key)}"
        head += f" ({others})" if others else ""
        means = f"{self.metric} {sa.text()} vs {sb.text()} (n={sa.n}, {sb.n})"
        if self.p is None and min(sa.n, sb.n) == 0:
            return f"{head}: {means}: cannot test, no run of a side recorded {self.metric}"
        if self.p is None:
            return f"{head}: {means}: cannot test, a side has fewer than 2 seeds; run more"
        diff = f"difference {sa.mean - sb.mean:+.3g} (95% CI {self.low:.3g} to {self.high:.3g})"
        test = f"Welch's t p = {self.p:.2g}" + (
            f", Holm-adjusted {self.p_holm:.2g}" if self.p_holm != self.p else ""
        )
        if self.p_holm < 1 - LEVEL:
            way = direction(self.metric)
            a_wins = sa.mean < sb.mean if way is False else sa.mean > sb.mean
            word = "higher" if way is None else "better"
            verdict = f"they differ: {self.side(self.a if a_wins else self.b, key)} is {word}"
        else:
            verdict = f"no difference shown at {1 - LEVEL:.2g}"
        return f"{head}: {means}; {diff}; {test}: {verdict}; {self.robust(key)}"

    @staticmethod
    def side(g: Group, key: str) -> str:
        """key=value as typed; an empty value as ''."""
        return f"{key}={dict(g.key)[key] or repr('')}"

    def robust(self, key: str) -> str:
        """What few seeds still say (reporting/robust.py), and how much is measurement."""
        from genlab.reporting.robust import bootstrap_interval, improvement, iqm, seeds_needed

        va, vb = self.a.values(self.metric), self.b.values(self.metric)
        higher = direction(self.metric) is not False
        chance = improvement(va, vb, higher)
        low, high = bootstrap_interval(va, vb, lambda x, y: improvement(x, y, higher))
        sa, sb = self.a.summary(self.metric), self.b.summary(self.metric)
        need = seeds_needed(sa.mean - sb.mean, sa.std, sb.std)
        beats = "is above" if direction(self.metric) is None else "beats"
        parts = [
            f"IQM {iqm(va):.4g} vs {iqm(vb):.4g}",
            f"P(a seed of {self.side(self.a, key)} {beats} one of {self.side(self.b, key)}) = "
            f"{chance:.2f} (95% stratified-bootstrap CI {low:.2f} to {high:.2f})",
            "seeds a side for 80% power at this difference: "
            + (str(need) if need else "over 1000"),
        ]
        noise = [self.a.noise(self.metric), self.b.noise(self.metric)]
        if None not in noise:
            parts.append(
                f"evaluation se {noise[0]:.2g}, {noise[1]:.2g} against seed sd "
                f"{sa.std:.2g}, {sb.std:.2g}"
            )
        return "; ".join(parts)


def compare(groups: list[Group], key: str, metric: str) -> list[Verdict]:
    """Every pair of groups that differ in key alone, tested on metric (Holm over all pairs).
    ValueError (one line) when no two groups differ in key alone."""
    from scipy import stats

    contexts: dict[tuple, list[Group]] = {}
    for g in groups:
        if key in dict(g.key):
            contexts.setdefault(tuple(kv for kv in g.key if kv[0] != key), []).append(g)
    pairs = [(a, b) for gs in contexts.values() for i, a in enumerate(gs) for b in gs[i + 1 :]]
    if not pairs:
        swept = sorted({k for g in groups for k, _ in g.key})
        raise ValueError(
            f"--compare {key}: no two groups differ in {key} alone; the swept keys (seed aside) "
            f"are {', '.join(swept) or 'none'}"
        )
    verdicts = []
    for a, b in pairs:
        va, vb = a.values(metric), b.values(metric)
        if len(va) < 2 or len(vb) < 2:
            verdicts.append(Verdict(a, b, metric, None, None, None, None))
            continue
        with warnings.catch_warnings():  # seeds that agree exactly: scipy warns, p is nan
            warnings.simplefilter("ignore", RuntimeWarning)
            test = stats.ttest_ind(va, vb, equal_var=False)
        ci = test.confidence_interval(LEVEL)
        p = float(test.pvalue)
        if math.isnan(p):  # no spread on either side: equal, or different for certain
            p = 1.0 if sum(va) / len(va) == sum(vb) / len(vb) else 0.0
        verdicts.append(Verdict(a, b, metric, p, None, ci.low, ci.high))
    _holm([v for v in verdicts if v.p is not None])
    return verdicts


def _holm(verdicts: list[Verdict]) -> None:
    """Holm's step-down adjustment of the p-values, in place (monotone, capped at 1)."""
    running = 0.0
    ordered = sorted(verdicts, key=lambda v: v.p)
    for i, v in enumerate(ordered):
        running = max(running, min(1.0, (len(ordered) - i) * v.p))
        v.p_holm = running
