"""Input handling shared by MixUp and CutMix."""

from __future__ import annotations

import keras
from keras import ops

from keraslab.layers._checks import check_positive_float


def split_batch(data, layer_name):
    """Returns (images, labels, rebuild) for an `(images, labels)` tuple or a dict."""
    if isinstance(data, dict):
        missing = {"images", "labels"} - set(data)
        if missing:
            raise ValueError(
                f"{layer_name} expects a dict with keys 'images' and 'labels'. "
                f"Received: a dict with keys {sorted(data)}"
            )
        images, labels = data["images"], data["labels"]

        def rebuild(new_images, new_labels):
            return {**data, "images": new_images, "labels": new_labels}

    elif isinstance(data, (tuple, list)) and len(data) == 2:
        images, labels = data

        def rebuild(new_images, new_labels):
            return (new_images, new_labels)

    else:
        raise ValueError(
            f"{layer_name} expects a batch (images, labels) or a dict "
            f"{{'images': ..., 'labels': ...}}. Received: {type(data).__name__}"
        )
    if len(images.shape) != 4:
        raise ValueError(
            f"{layer_name} expects a batch of images of rank 4 (batch, height, width, "
            f"channels). Received: images with shape {tuple(images.shape)}"
        )
    if len(labels.shape) != 2:
        raise ValueError(
            f"{layer_name} expects one-hot (or soft) labels of rank 2 (batch, classes). "
            f"Received: labels with shape {tuple(labels.shape)}"
        )
    return images, labels, rebuild


def random_partner(batch, seed):
    """A random permutation of range(batch): sample i is mixed with sample partner[i].

    Sorting uniform keys is used instead of `keras.random.shuffle` because it compiles
    under XLA on every backend.
    """
    keys = keras.random.uniform((batch,), seed=seed)
    return ops.cast(ops.argsort(keys), "int32")


class BatchMixingLayer(keras.layers.Layer):
    """Shared call protocol of MixUp and CutMix; subclasses implement `mix(images, labels)`."""

    def __init__(self, alpha, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.alpha = check_positive_float(alpha, "alpha")
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def mix(self, images, labels):
        raise NotImplementedError

    def call(self, data, labels=None, training=True):
        if labels is not None:  # called as layer(images, labels), e.g. by Dataset.map
            data = (data, labels)
        images, labels, rebuild = split_batch(data, type(self).__name__)
        images = ops.cast(images, self.compute_dtype)
        labels = ops.cast(labels, "float32")
        if not training:
            return rebuild(images, labels)
        return rebuild(*self.mix(images, labels))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"alpha": self.alpha, "seed": self.seed})
        return config
