"""Fashion-MNIST from its IDX files: the reader against files written here byte by byte, the
search order, the error when the files are nowhere, and the real files Debian installs."""

import gzip
import os
import struct

import numpy as np
import pytest

from keraslab.data import fashion_mnist as fm
from keraslab.data import tfds as loaders


def _write_idx(path, array, type_code=0x08):
    """An IDX file written with `struct`, independently of the reader under test."""
    header = struct.pack(">BBBB", 0, 0, type_code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(">u1" if type_code == 0x08 else ">i4").tobytes()
    with (gzip.open(path, "wb") if str(path).endswith(".gz") else open(path, "wb")) as f:
        f.write(data)


def _fake_folder(folder, n_train=30, n_test=20):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    arrays = {}
    for split, n in (("train", n_train), ("test", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        image_file, label_file = fm.FILES[split]
        _write_idx(folder / image_file, images)
        _write_idx(folder / label_file, labels)
        arrays[split] = (images, labels)
    return arrays


@pytest.fixture
def nowhere(monkeypatch, tmp_path):
    """No Debian folder, an empty Keras cache, the variable unset."""
    monkeypatch.setattr(fm, "DEBIAN_DIR", tmp_path / "no-debian")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.delenv(fm.ENV_VAR, raising=False)
    return tmp_path


def test_read_idx_returns_what_was_written(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    _write_idx(tmp_path / "x.gz", images)
    np.testing.assert_array_equal(fm.read_idx(tmp_path / "x.gz"), images)
    ints = np.array([[-5, 70000], [3, 0]])
    _write_idx(tmp_path / "i", ints, type_code=0x0C)
    np.testing.assert_array_equal(fm.read_idx(tmp_path / "i"), ints)


def test_read_idx_names_the_file_with_a_bad_header_or_size(tmp_path):
    (tmp_path / "bad").write_bytes(b"PK\x03\x04rest")
    with pytest.raises(ValueError, match="Received: path=.*bad.* starting 504b0304"):
        fm.read_idx(tmp_path / "bad")
    _write_idx(tmp_path / "short", np.zeros((2, 2), np.uint8))
    (tmp_path / "short").write_bytes((tmp_path / "short").read_bytes()[:-1])
    with pytest.raises(ValueError, match="short.* with 3"):
        fm.read_idx(tmp_path / "short")


def test_the_variable_names_the_folder_read(nowhere, monkeypatch):
    arrays = _fake_folder(nowhere / "mine")
    monkeypatch.setenv(fm.ENV_VAR, str(nowhere / "mine"))
    x, y, xt, yt, source = loaders.load_arrays("fashion_mnist")
    assert source == f"idx:{nowhere / 'mine'}"
    np.testing.assert_array_equal(x[..., 0], arrays["train"][0])
    np.testing.assert_array_equal(yt, arrays["test"][1])
    assert x.dtype == np.uint8 and y.dtype == np.int64 and x.shape == (30, 28, 28, 1)


def test_a_variable_naming_an_incomplete_folder_is_an_error(nowhere, monkeypatch):
    _fake_folder(nowhere / "keras-home" / "datasets" / "fashion-mnist")  # would be found next
    (nowhere / "half").mkdir()
    monkeypatch.setenv(fm.ENV_VAR, str(nowhere / "half"))
    with pytest.raises(fm.FashionMnistNotFoundError, match=f"Received: {fm.ENV_VAR}=.*half"):
        fm.find_folder()


def test_keras_cache_is_used_when_nothing_else_is_there(nowhere):
    _fake_folder(nowhere / "keras-home" / "datasets" / "fashion-mnist")
    assert fm.find_folder() == nowhere / "keras-home" / "datasets" / "fashion-mnist"


def test_subsets_are_seeded_draws(nowhere):
    _fake_folder(nowhere / "f", n_train=50)
    (x1, y1), _, _ = fm.load_fashion_mnist(train_size=20, seed=1, folder=nowhere / "f")
    (x2, _), _, _ = fm.load_fashion_mnist(train_size=20, seed=1, folder=nowhere / "f")
    (x3, _), _, _ = fm.load_fashion_mnist(train_size=20, seed=2, folder=nowhere / "f")
    assert len(x1) == 20 and np.array_equal(x1, x2) and not np.array_equal(x1, x3)
    (x, _), _, _ = fm.load_fashion_mnist(channels=3, folder=nowhere / "f")
    assert x.shape == (50, 28, 28, 3) and np.array_equal(x[..., 0], x[..., 2])


@pytest.mark.parametrize("kwargs, message", [
    ({"channels": 2}, "Received: channels=2"), ({"train_size": 0}, "Received: train_size=0"),
    ({"test_size": 10_001}, "Received: test_size=10001"), ({"train_size": True}, "Received: train_size=True")])
def test_bad_arguments_name_the_value(nowhere, kwargs, message):
    _fake_folder(nowhere / "f")
    with pytest.raises(ValueError, match=message):
        fm.load_fashion_mnist(folder=nowhere / "f", **kwargs)


@pytest.mark.parametrize("offline", [True, False])
def test_without_the_files_it_never_substitutes_another_dataset(nowhere, offline, capsys):
    with pytest.raises(loaders.DatasetUnavailableError) as raised:
        loaders.load_arrays("fashion_mnist", train_size=64, offline=offline, data_dir=str(nowhere / "tfds"))
    message = str(raised.value)
    assert fm.DEBIAN_PACKAGE in message and fm.ENV_VAR in message and "apt-get install" in message


# The real files: Debian's package (installed by ./dev.sh setup as root). Skipped elsewhere, but
# never under CI (CI=true), where a missing package must fail these tests.
needs_debian = pytest.mark.skipif(not (fm.DEBIAN_DIR / fm.FILES["train"][0]).is_file()
                                  and not os.environ.get("CI"),
                                  reason=f"apt-get install {fm.DEBIAN_PACKAGE} (CI installs it)")


def _first_label_and_pixels(path_images, path_labels):
    """The first image and label read with struct, independently of `read_idx`."""
    with gzip.open(path_images, "rb") as f:
        magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
        first = np.frombuffer(f.read(rows * cols), np.uint8).reshape(rows, cols)
    with gzip.open(path_labels, "rb") as f:
        _, n_labels = struct.unpack(">II", f.read(8))
        label = f.read(1)[0]
    return magic, n, n_labels, first, label


@needs_debian
def test_the_debian_files_are_the_whole_dataset(monkeypatch):
    monkeypatch.delenv(fm.ENV_VAR, raising=False)
    (x, y), (xt, yt), folder = fm.load_fashion_mnist()
    assert folder == fm.DEBIAN_DIR
    assert x.shape == (60_000, 28, 28, 1) and xt.shape == (10_000, 28, 28, 1)
    np.testing.assert_array_equal(np.bincount(y), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(yt), [1000] * 10)
    for split, (images, labels) in (("train", (x, y)), ("test", (xt, yt))):
        magic, n, n_labels, first, label = _first_label_and_pixels(*(folder / f for f in fm.FILES[split]))
        assert magic == 2051 and n == n_labels == len(images)
        np.testing.assert_array_equal(images[0, ..., 0], first)
        assert labels[0] == label


@needs_debian
def test_load_arrays_reads_the_debian_files(monkeypatch):
    monkeypatch.delenv(fm.ENV_VAR, raising=False)
    x, y, xt, yt, source = loaders.load_arrays("fashion_mnist", train_size=1000, test_size=500)
    assert source == f"idx:{fm.DEBIAN_DIR}" and x.shape == (1000, 28, 28, 1) and xt.shape == (500, 28, 28, 1)
