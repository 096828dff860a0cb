"""Seeds as an axis: a sweep of 2 configurations x 3 seeds reported as groups with n, intervals
and a --compare verdict, and a report.html whose every image decodes in a real headless
Chromium and whose table has one row per group."""

import json
import re
import shutil
import subprocess

import pytest

import genlab
from genlab import report
from genlab.reporting.stats import Group, compare, summarize

RUN = ["data=synthetic", "data.size=64", "data.batch_size=16", "device=cpu", "model=gan",
       "arch.hidden=16", "trainer.max_steps=4", "trainer.progress=false",
       "eval.n_samples=40"]  # fmt: skip
CHECK = """<script>
window.addEventListener("load", () => {
  const images = [...document.images];
  const decoded = images.filter((i) => i.complete && i.naturalWidth > 0).length;
  const rows = document.querySelectorAll("#groups tbody tr").length;
  document.body.setAttribute("data-check", JSON.stringify({images: images.length, decoded, rows}));
});
</script></body>"""


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """2 losses x 3 seeds, as `genlab train -m loss=hinge,lsgan seed=range(3)` lays them out."""
    where = tmp_path_factory.mktemp("sweep")
    for loss in ("hinge", "lsgan"):
        for seed in range(3):
            overrides = [f"loss={loss}", f"seed={seed}"]
            genlab.train(*RUN, *overrides, run_dir=where / ",".join(overrides))
    return where


def test_a_seed_sweep_is_grouped_with_intervals_and_a_verdict(sweep, capsys):
    assert report.main([str(sweep), "--compare", "loss", "--sort", "fid"]) == 0
    out = capsys.readouterr().out
    groups = re.findall(r"^\| (hinge|lsgan) \| (\d)/(\d) \| ([^|]+) \|", out, re.M)
    assert sorted((g[0], g[1], g[2]) for g in groups) == [("hinge", "3", "3"), ("lsgan", "3", "3")]
    assert all("±" in g[3] for g in groups)  # mean ± half-width of the 95% interval
    verdict = next(ln for ln in out.splitlines() if ln.startswith("- loss="))
    assert "Welch's t p = " in verdict and ("they differ" in verdict or "no difference" in verdict)
    import csv

    with open(sweep / "report.csv") as f:
        rows = list(csv.DictReader(f))
    assert {r["group"] for r in rows} == {  # the HParams row's key: the config but the seed
        f"arch.hidden=16,data.batch_size=16,data.size=64,data=synthetic,eval.n_samples=40,"
        f"loss={loss},model=gan,trainer.max_steps=4"
        for loss in ("hinge", "lsgan")
    }
    with open(sweep / "report_groups.csv") as f:
        assert f.readline().startswith("group,asked,fid_n,fid_mean,fid_std,fid_ci95")


def test_the_page_shows_every_image_and_a_row_per_group_in_a_real_browser(sweep, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("no chromium here (apt-get install chromium; CI installs it)")
    assert report.main([str(sweep), "--compare", "loss", "--out", str(tmp_path)]) == 0
    page = (tmp_path / "report.html").read_text()
    assert "http" not in page.split("<body>")[1]  # self-contained: nothing fetched
    (tmp_path / "checked.html").write_text(page.replace("</body>", CHECK))
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=10000"]  # fmt: skip
    done = subprocess.run(
        [browser, *flags, "--dump-dom", (tmp_path / "checked.html").as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    found = re.search(r'data-check="([^"]+)"', done.stdout)
    assert found, done.stderr[-2000:]
    check = json.loads(found.group(1).replace("&quot;", '"'))
    assert check["rows"] == 2  # one per group
    assert check["images"] >= 3 and check["decoded"] == check["images"]  # 2 grids, the curves


def test_one_seed_gets_no_interval_and_a_compare_over_nothing_is_one_line(sweep, tmp_path, capsys):
    assert summarize([3.0], asked=3).text() == "3 (n=1, no interval)"  # never a zero-width CI
    assert summarize([], asked=3).text() == "-"
    assert report.main([str(sweep), "--compare", "optimizer.lr"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no two groups differ in optimizer.lr alone" in err
    assert report.main([str(sweep), "--pareto", "fid"]) == 2  # a front of one metric: a sort
    assert "a front needs two metrics or more" in capsys.readouterr().err


def test_reading_runs_logs_nothing_through_the_callers_logging(sweep, capsys):
    """A notebook (or a test) whose logging went to a stream since closed: reading the event
    files back sends tensorboard's INFO lines nowhere, so no "Logging error" traceback."""
    import io
    import logging

    closed = io.StringIO()
    handler, root = logging.StreamHandler(closed), logging.getLogger()
    closed.close()
    level = root.level
    root.addHandler(handler), root.setLevel(logging.INFO)
    try:
        assert report.main([str(sweep), "--compare", "optimizer.lr"]) == 2
    finally:
        root.removeHandler(handler), root.setLevel(level)
    assert capsys.readouterr().err.count("\n") == 1


def test_welch_and_holm_on_numbers_worked_out_by_hand():
    from genlab.reporting.jobs import Job

    def group(name, values):
        jobs = [Job(None, {}, "finished", 1.0, None, {"fid": v}) for v in values]
        return Group((("loss", name),), jobs)

    a, b = group("a", [1.0, 2.0, 3.0]), group("b", [11.0, 12.0, 13.0])
    (v,) = compare([a, b], "loss", "fid")
    # t = -10 / sqrt(1/3 + 1/3) = -12.247, df = 4: two-sided p = 2.5e-4
    assert v.p == pytest.approx(2.5e-4, rel=0.05) and v.p_holm == v.p
    assert v.low == pytest.approx(-10 - 2.776 * (2 / 3) ** 0.5, rel=1e-3)
    assert "they differ: loss=a is better" in v.text("loss")  # FID: lower is better
    c = group("c", [1.5, 2.5, 3.5])
    ps = sorted(x.p for x in compare([a, b, c], "loss", "fid"))
    holm = sorted(x.p_holm for x in compare([a, b, c], "loss", "fid"))
    assert holm[0] == pytest.approx(3 * ps[0]) and holm[1] == pytest.approx(
        max(3 * ps[0], 2 * ps[1])
    )
    assert holm[2] == pytest.approx(max(holm[1], min(1, ps[2])))  # Holm's step-down


def _jobs(values: dict[str, list[float]], extra: dict[tuple[str, int], dict] | None = None):
    """Jobs of a loss x seed sweep with the given fid per seed, as genlab.reporting.jobs reads
    them; extra: more overrides of one (loss, seed) job (a requeue's resume_sweep=...)."""
    from pathlib import Path

    from genlab.logging.hparams import group_of
    from genlab.reporting.jobs import Job

    jobs = []
    for loss, fids in values.items():
        for seed, fid in enumerate(fids):
            overrides = {"model": "gan", "loss": loss, "seed": str(seed)}
            overrides |= (extra or {}).get((loss, seed), {})
            items = [f"{k}={v}" for k, v in overrides.items()]
            jobs.append(Job(Path(f"/sw/{loss},{seed}"), overrides, "finished", 1.0, None,
                            {"fid": fid}, group=group_of(items)))  # fmt: skip
    return jobs


def test_a_launch_only_key_never_splits_a_group():
    """lsgan's seed 2 requeued (SLURM adds resume_sweep=) stays in its group: 3/3 and p = 0.008
    (split, it read 14.5 +- 6.4 (2/2), a group of 1 and p = 0.021)."""
    from genlab.reporting.jobs import swept_keys
    from genlab.reporting.stats import group_jobs

    jobs = _jobs({"hinge": [10, 11, 12], "lsgan": [14, 15, 16]},
                 {("lsgan", 2): {"resume_sweep": "/sw", "threads": "1"}})  # fmt: skip
    groups = group_jobs(jobs, swept_keys(jobs))
    assert [(g.label, g.summary("fid").n) for g in groups] == [("loss=hinge", 3), ("loss=lsgan", 3)]
    lsgan = groups[1].summary("fid")
    assert lsgan.mean == pytest.approx(15) and lsgan.half == pytest.approx(2.484, abs=1e-3)
    (verdict,) = compare(groups, "loss", "fid")
    assert verdict.p == pytest.approx(0.0080, abs=2e-4)
    assert len({j.group for j in jobs if j.overrides["loss"] == "lsgan"}) == 1


def test_the_same_seeds_reported_twice_are_counted_once_and_named(tmp_path):
    from genlab.reporting.jobs import swept_keys
    from genlab.reporting.stats import group_jobs

    once = _jobs({"hinge": [10, 11, 12], "lsgan": [12, 13, 15]})
    twice = once + _jobs({"hinge": [10, 11, 12], "lsgan": [12, 13, 15]})
    for j in twice[len(once) :]:
        j.run_dir = tmp_path / "copy" / j.run_dir.name
    alone = compare(group_jobs(once, swept_keys(once)), "loss", "fid")[0]
    groups = group_jobs(twice, swept_keys(twice))
    (again,) = compare(groups, "loss", "fid")
    assert [g.summary("fid").n for g in groups] == [3, 3] and again.p == pytest.approx(alone.p)
    assert [(copy.run_dir.parent.name, kept.run_dir) for g in groups for copy, kept in g.copies] \
        == [("copy", j.run_dir) for j in once]  # fmt: skip


@pytest.mark.parametrize("name", ["javascript:alert(1)%2F%2F", "a#b", "a?b", "100%", "a b"])
def test_a_run_link_is_relative_and_names_the_folder_whatever_its_name(tmp_path, name):
    """The link resolves, in a browser's own URL parser's terms, to the folder and never to a
    script; urljoin is that parser's rule for a relative reference."""
    from urllib.parse import unquote, urljoin, urlsplit

    from genlab.reporting.page import run_link

    (tmp_path / name).mkdir()
    link = run_link(tmp_path / name, tmp_path)
    target = urljoin(tmp_path.as_uri() + "/report.html", link)
    assert urlsplit(link).scheme == "" and urlsplit(target).scheme == "file"
    assert unquote(urlsplit(target).path) == (tmp_path / name).as_posix() + "/"


def test_jobs_measured_with_other_settings_are_not_compared(sweep, tmp_path, capsys):
    copy = shutil.copytree(sweep, tmp_path / "sweep")
    one = next(p for p in copy.iterdir() if (p / "metrics.json").is_file())
    record = json.loads((one / "metrics.json").read_text())
    record["measured"]["settings"]["n_samples"] = 8  # as `genlab evaluate n_samples=8 force=true`
    (one / "metrics.json").write_text(json.dumps(record))
    assert report.main([str(copy), "--compare", "loss"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "measured with different n_samples (40, 8)" in err


def test_training_values_never_stand_under_a_quality_name(tmp_path):
    """A VAE whose final evaluation never ran (eval.at_end=false, or killed) has its last training
    minibatch's -ELBO as train/neg_elbo, not as the neg_elbo the evaluation measures."""
    from genlab.reporting.jobs import load_job

    run = tmp_path / "vae"
    genlab.train(*[o for o in RUN if o != "model=gan"], "model=vae", "eval.at_end=false",
                 run_dir=run)  # fmt: skip
    job = load_job(run)
    assert "neg_elbo" not in job.metrics and "train/neg_elbo" in job.metrics
