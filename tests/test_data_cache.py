"""Image folders decoded once per machine (data/cache.py): the second run maps the first run's
decoded copy; a changed, added or removed file makes a new one; two processes building at once
decode once; a corrupt cache is one line and built again."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from genlab.data import folders
from genlab.data.cache import FOLDER
from genlab.data.datasets import load_images

REPO = Path(__file__).resolve().parents[1]


def make_folder(path: Path, n: int = 6, classes: int = 0) -> Path:
    for i in range(n):
        where = path / f"c{i % classes}" if classes else path
        where.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (12, 10), (20 * i, 255 - 20 * i, 7)).save(where / f"im{i}.png")
    return path


def load(folder: Path, root: Path):
    return load_images("image_folder", root=str(root), path=str(folder), image_size=8, channels=3)


def caches(root: Path) -> list[Path]:
    return sorted(p for p in (root / FOLDER).iterdir() if p.is_dir())


def test_the_second_run_maps_the_first_runs_decoded_images(tmp_path, monkeypatch, capsys):
    folder, root = make_folder(tmp_path / "faces", classes=2), tmp_path / "root"
    first = load(folder, root)
    assert "decoded 6 images once into" in capsys.readouterr().err
    monkeypatch.setattr(folders, "decode_all", lambda *a: pytest.fail("decoded again"))
    second = load(folder, root)
    assert torch.equal(first.images, second.images) and torch.equal(first.labels, second.labels)
    assert second.num_classes == 2 and second.labels.tolist() == [
        0,
        0,
        0,
        1,
        1,
        1,
    ]  # c0/im0, im2, im4; c1/...
    if Path("/proc/self/maps").exists():  # mapped from the file: its pages are shared
        (cache,) = caches(root)
        assert str(cache / "images.u8") in Path("/proc/self/maps").read_text()


@pytest.mark.parametrize("change", ["changed", "added", "removed"])
def test_a_changed_added_or_removed_file_makes_a_new_cache(tmp_path, change):
    folder, root = make_folder(tmp_path / "set[1] of faces"), tmp_path / "root"  # glob, spaces
    before = load(folder, root)
    (old,) = caches(root)
    if change == "changed":
        Image.new("RGB", (12, 10), (1, 2, 3)).save(folder / "im0.png")
        os.utime(folder / "im0.png", ns=(1, 10**18))  # a new time, whatever the clock's grain
    elif change == "added":
        Image.new("RGB", (12, 10), (9, 9, 9)).save(folder / "im9.png")
    else:
        (folder / "im5.png").unlink()
    after = load(folder, root)
    (new,) = caches(root)  # the old one is gone
    assert new != old
    fresh = folders.load_image_folder(folder, 8, 3)  # decoded now, no cache
    assert torch.equal(after.images, fresh[0])
    assert len(after) == {"changed": 6, "added": 7, "removed": 5}[change]
    assert change != "changed" or not torch.equal(after.images[0], before.images[0])


BUILD = """
import sys, time
from genlab.data import folders
decode = folders.decode_all
def slow(images):
    time.sleep(1.5)  # long enough that the other process arrives while this one decodes
    return decode(images)
folders.decode_all = slow
from genlab.data.datasets import load_images
s = load_images("image_folder", root=sys.argv[1], path=sys.argv[2], image_size=8, channels=3)
print(int(s.images.sum()))
"""


def test_two_processes_at_once_decode_once_and_read_the_same_images(tmp_path):
    folder, root = make_folder(tmp_path / "faces"), tmp_path / "root"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-c", BUILD, str(root), str(folder)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]  # fmt: skip
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    said = "".join(err for _, err in outs)
    assert said.count("decoded 6 images once") == 1, said
    assert outs[0][0] == outs[1][0]


@pytest.mark.parametrize(
    "damage", ["truncated", "foreign meta", "empty meta", "other shape", "huge number"]
)
def test_a_corrupt_cache_is_one_line_and_built_again(tmp_path, capsys, damage):
    folder, root = make_folder(tmp_path / "faces"), tmp_path / "root"
    good = load(folder, root).images.clone()
    (cache,) = caches(root)
    if damage == "truncated":
        data = (cache / "images.u8").read_bytes()
        (cache / "images.u8").write_bytes(data[: len(data) // 2])
    else:
        meta = {
            "empty meta": "",
            "foreign meta": '{"rows": [1]}',
            "other shape": '{"format": 1, "shape": [6, 1, 24, 8], "classes": 1}',
            "huge number": '{"format": 1, "shape": [6, 3, 8, 8], "classes": 1e999}',
        }
        (cache / "meta.json").write_text(meta[damage])  # fmt: skip
    capsys.readouterr()
    again = load(folder, root)
    err = capsys.readouterr().err.splitlines()
    assert len([ln for ln in err if "cannot be read" in ln]) == 1, err
    assert torch.equal(again.images, good)
    assert load(folder, root) is not None and "cannot be read" not in capsys.readouterr().err


def test_one_folder_however_it_is_reached_has_one_cache(tmp_path, monkeypatch, capsys):
    folder, root = make_folder(tmp_path / "faces"), tmp_path / "root"
    (tmp_path / "link").symlink_to(folder, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    for spelling in ("faces", str(folder), "./faces/", "link"):
        load(Path(spelling), root)
    assert capsys.readouterr().err.count("decoded 6 images once") == 1
    assert len(caches(root)) == 1


def test_a_data_root_that_cannot_be_written_decodes_for_the_run_alone(tmp_path, capsys):
    folder, blocked = make_folder(tmp_path / "faces"), tmp_path / "file"
    blocked.write_text("a file where the data root's folder would go")
    images = load(folder, blocked / "root").images
    assert len(images) == 6
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "decoded for this run alone (data.root=" in err[0], err


STOPPED_WHILE_DECODING = """
import sys, time
from genlab.data import folders
def slow(images):
    print("decoding", flush=True)
    time.sleep(60)
folders.decode_all = slow
from genlab.__main__ import main
main(sys.argv[1:])
"""


def test_a_run_stopped_while_it_decodes_is_recorded_as_interrupted(tmp_path):
    import json
    import signal

    folder = make_folder(tmp_path / "faces")
    args = ["train", "data=image_folder", f"data.path={folder}", "data.image_size=8",
            "model=vae", "arch.hidden=16", "trainer.max_steps=1", "trainer.progress=false",
            "eval.at_end=false", f"hydra.run.dir={tmp_path / 'run'}"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO), "GENLAB_DATA": str(tmp_path / "root")}
    run = subprocess.Popen([sys.executable, "-c", STOPPED_WHILE_DECODING, *args], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    while run.stdout.readline().strip() != "decoding":  # after the lines before it
        assert run.poll() is None, run.stderr.read()
    run.send_signal(signal.SIGINT)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 130, err
    status = json.loads((tmp_path / "run" / "status.json").read_text())
    assert status["status"] == "interrupted", status
