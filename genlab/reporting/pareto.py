"""The Pareto front of a sweep's jobs over several metrics (`genlab report --pareto fid,train_s`,
or the objectives of a multi-objective search): the jobs no other job beats on every metric."""

from __future__ import annotations

from genlab.metrics.names import higher_is_better


def pareto_front(jobs, metrics: list[str]) -> list:
    """The finished jobs with every metric that no other such job dominates (at least as good on
    all, better on one), in the order given."""
    sign = {m: -1.0 if higher_is_better(m) else 1.0 for m in metrics}  # lower is better below
    points = [
        (job, [sign[m] * job.metrics[m] for m in metrics])
        for job in jobs
        if job.status == "finished" and all(m in job.metrics for m in metrics)
    ]

    def dominates(a, b) -> bool:
        return all(x <= y for x, y in zip(a, b, strict=True)) and a != b

    return [job for job, p in points if not any(dominates(q, p) for _, q in points)]
