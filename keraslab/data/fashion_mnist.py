"""The whole Fashion-MNIST (60,000 training and 10,000 test images of clothing, 28x28 grey),
read from its four original IDX files: real images without a network.

Where the files are looked for, in order:

1. the folder named by the environment variable `KERASLAB_FASHION_MNIST_DIR` (when it is set,
   only there: a wrong setting is an error, never silently skipped);
2. `/usr/share/datasets/fashion-mnist/`, where Debian's package `dataset-fashion-mnist`
   installs them (`apt-get install dataset-fashion-mnist`);
3. Keras's download cache, `$KERAS_HOME/datasets/fashion-mnist/` (default
   `~/.keras/datasets/fashion-mnist/`), where `keras.datasets.fashion_mnist.load_data()`
   leaves the same four files.

Nothing here downloads; `keraslab.data.tfds.load_arrays` falls back to TFDS (on disk, or a
download when online) when no folder has the files, and otherwise fails with
`FashionMnistNotFoundError`, which names the package and the variable.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

ENV_VAR = "KERASLAB_FASHION_MNIST_DIR"
DEBIAN_PACKAGE = "dataset-fashion-mnist"
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
# IDX type codes (the third byte of the magic number) and the NumPy types they stand for.
_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class FashionMnistNotFoundError(FileNotFoundError):
    """Raised when no folder holds the four Fashion-MNIST IDX files."""


def keras_cache_dir():
    """Where Keras's own download of Fashion-MNIST lives (`$KERAS_HOME` or `~/.keras`)."""
    home = os.environ.get("KERAS_HOME") or Path.home() / ".keras"
    return Path(home) / "datasets" / "fashion-mnist"


def _has_files(folder):
    return all((Path(folder) / name).is_file() for pair in FILES.values() for name in pair)


def find_folder():
    """The folder holding the four IDX files (see the module docstring for the order), or
    `None` when no place has them.

    Raises:
        FashionMnistNotFoundError: when `KERASLAB_FASHION_MNIST_DIR` is set to a folder that
            lacks any of the four files.
    """
    named = os.environ.get(ENV_VAR)
    if named:
        if not _has_files(named):
            missing = [n for pair in FILES.values() for n in pair if not (Path(named) / n).is_file()]
            raise FashionMnistNotFoundError(
                f"`{ENV_VAR}` must name a folder holding the Fashion-MNIST IDX files; {missing} are "
                f"missing there. Received: {ENV_VAR}={named!r}")
        return Path(named)
    for folder in (DEBIAN_DIR, keras_cache_dir()):
        if _has_files(folder):
            return folder
    return None


def not_found_message():
    """What to do when the files are nowhere: the apt package, the variable, the cache."""
    return (f"Fashion-MNIST's IDX files were not found in {DEBIAN_DIR} (Debian/Ubuntu: "
            f"`apt-get install {DEBIAN_PACKAGE}`), in the folder named by {ENV_VAR} (unset), or in "
            f"Keras's cache {keras_cache_dir()}.")


def read_idx(path):
    """One IDX file (gzipped or not) as a NumPy array, its shape and type from the file's header.

    The header is two zero bytes, a type code, the number of dimensions, then each dimension
    as a big-endian 32-bit integer; the values follow.

    Raises:
        ValueError: naming the file when the header is not an IDX header or the data does not
            match the shape it declares.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] not in _IDX_TYPES:
        raise ValueError(f"`path` must be an IDX file (magic 00 00 <type> <ndim>). "
                         f"Received: path={str(path)!r} starting {raw[:4].hex()}")
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int(d) for d in np.frombuffer(raw[4:header], ">u4"))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(f"`path` must hold {expected} bytes of data for its shape {shape}. "
                         f"Received: path={str(path)!r} with {len(raw) - header}")
    return np.frombuffer(raw, dtype, offset=header).reshape(shape)


def _check_size(value, name, available):
    if value is not None and (not isinstance(value, (int, np.integer)) or isinstance(value, bool)
                              or not 1 <= value <= available):
        raise ValueError(f"`{name}` must be None or an integer in [1, {available}]. Received: {name}={value!r}")


def _subset(x, y, size, seed):
    """`size` images drawn without replacement in a seeded order (all of them, in file order,
    for `size=None`)."""
    if size is None:
        return x, y
    keep = np.sort(np.random.default_rng(seed).permutation(len(x))[:size])
    return x[keep], y[keep]


def load_fashion_mnist(train_size=None, test_size=None, channels=1, seed=0, folder=None):
    """Loads Fashion-MNIST from its IDX files.

    Args:
        train_size: keep this many training images, drawn at random under `seed` and kept in
            file order (`None`: all 60,000).
        test_size: likewise for the 10,000 test images.
        channels: 1, or 3 to repeat the grey channel (for RGB models).
        seed: seed of the subsets.
        folder: read from this folder (`None`: `find_folder()`).

    Returns:
        `((x_train, y_train), (x_test, y_test), folder)`: `uint8` images `(n, 28, 28,
        channels)`, `int64` labels in `[0, 10)` (names in `CLASS_NAMES`), and the folder read.

    Raises:
        FashionMnistNotFoundError: when no folder holds the files.
        ValueError: for bad arguments, naming the value received.

    Example:
    >>> (x, y), (xt, yt), folder = load_fashion_mnist(train_size=1000)  # doctest: +SKIP
    >>> x.shape, xt.shape  # doctest: +SKIP
    ((1000, 28, 28, 1), (10000, 28, 28, 1))
    """
    if channels not in (1, 3):
        raise ValueError(f"`channels` must be 1 or 3. Received: channels={channels!r}")
    _check_size(train_size, "train_size", 60_000)
    _check_size(test_size, "test_size", 10_000)
    folder = Path(folder) if folder is not None else find_folder()
    if folder is None:
        raise FashionMnistNotFoundError(not_found_message())
    splits = []
    for split, size in (("train", train_size), ("test", test_size)):
        images, labels = (read_idx(folder / name) for name in FILES[split])
        if len(images) != len(labels) or images.shape[1:] != (28, 28):
            raise ValueError(f"`folder` must hold 28x28 images with one label each. Received: folder="
                             f"{str(folder)!r} with {split} images {images.shape} and labels {labels.shape}")
        x = images.reshape(-1, 28, 28, 1)
        if channels == 3:
            x = np.repeat(x, 3, axis=-1)
        splits.append(_subset(x, labels.astype(np.int64), size, seed))
    return splits[0], splits[1], folder
