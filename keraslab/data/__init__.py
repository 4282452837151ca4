"""Datasets and input pipelines for the labs: TFDS loaders, offline stand-ins, augmentation."""

from keraslab.data.corruptions import CORRUPTIONS, corrupt, corrupted_sets
from keraslab.data.fashion_mnist import FashionMnistNotFoundError, load_fashion_mnist
from keraslab.data.mnist_5k import load_mnist_5k
from keraslab.data.offline import class_layout, load_digits, load_shapes, make_shapes
from keraslab.data.pipeline import (
    PRESETS,
    augment_image,
    channel_stats,
    make_pipeline,
    normalize,
    resolve_augment,
    rotate,
)
from keraslab.data.tfds import (
    DATASETS,
    DatasetUnavailableError,
    LoadedData,
    load,
    load_arrays,
    offline_requested,
)

__all__ = [
    "CORRUPTIONS",
    "DATASETS",
    "PRESETS",
    "DatasetUnavailableError",
    "FashionMnistNotFoundError",
    "LoadedData",
    "augment_image",
    "channel_stats",
    "class_layout",
    "corrupt",
    "corrupted_sets",
    "load",
    "load_arrays",
    "load_digits",
    "load_fashion_mnist",
    "load_mnist_5k",
    "load_shapes",
    "make_pipeline",
    "make_shapes",
    "normalize",
    "offline_requested",
    "resolve_augment",
    "rotate",
]
