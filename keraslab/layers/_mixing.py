"""Input handling shared by MixUp and CutMix."""

from __future__ import annotations

import keras
from keras import ops

from keraslab.layers._checks import check_positive_float

# Keys of a dict batch that Keras core's mixing layers transform and these layers do not.
# Passing them through unchanged would leave them describing the original sample while the
# images and labels describe a mixture, so they are refused. Other keys (ids, weights...) are
# passed through: they still belong to the sample at that position, whose image it mostly is.
UNSUPPORTED_KEYS = ("bounding_boxes",)


def split_batch(data, layer_name):
    """Returns (images, labels, masks, rebuild) for an `(images, labels)` pair or a dict.

    `masks` is the dict's "segmentation_masks" entry, or None.
    """
    masks = None
    if isinstance(data, dict):
        missing = {"images", "labels"} - set(data)
        if missing:
            raise ValueError(
                f"{layer_name} expects a dict with keys 'images' and 'labels'. "
                f"Received: a dict with keys {sorted(data)}"
            )
        unsupported = sorted(set(data) & set(UNSUPPORTED_KEYS))
        if unsupported:
            raise ValueError(
                f"{layer_name} does not transform {unsupported[0]}; passed through unchanged, "
                "they would no longer match the mixed images. Remove the key or transform "
                f"them yourself. Received: a dict with keys {sorted(data)}"
            )
        images, labels = data["images"], data["labels"]
        masks = data.get("segmentation_masks")

        def rebuild(new_images, new_labels, new_masks):
            out = {**data, "images": new_images, "labels": new_labels}
            if new_masks is not None:
                out["segmentation_masks"] = new_masks
            return out

    elif isinstance(data, (tuple, list)) and len(data) == 2:
        images, labels = data

        def rebuild(new_images, new_labels, new_masks):
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
    if masks is not None and len(masks.shape) not in (3, 4):
        raise ValueError(
            f"{layer_name} expects segmentation_masks of rank 3 (batch, height, width) or 4 "
            f"(laid out like the images). Received: segmentation_masks with shape "
            f"{tuple(masks.shape)}"
        )
    return images, labels, masks, rebuild


def random_partner(batch, seed):
    """A random permutation of range(batch): sample i is mixed with sample partner[i].

    Sorting uniform keys is used instead of `keras.random.shuffle` because it compiles
    under XLA on every backend.
    """
    keys = keras.random.uniform((batch,), seed=seed)
    return ops.cast(ops.argsort(keys), "int32")


class BatchMixingLayer(keras.layers.Layer):
    """Shared call protocol of MixUp and CutMix.

    Subclasses implement `mix(images, labels, masks)`, returning the three mixed (masks may be
    None when none were given).
    """

    def __init__(self, alpha, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.alpha = check_positive_float(alpha, "alpha")
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def mix(self, images, labels, masks):
        raise NotImplementedError

    def call(self, data, labels=None, training=True):
        if labels is not None:  # called as layer(images, labels), e.g. by Dataset.map
            data = (data, labels)
        images, labels, masks, rebuild = split_batch(data, type(self).__name__)
        images = ops.cast(images, self.compute_dtype)
        labels = ops.cast(labels, "float32")
        if not training:
            return rebuild(images, labels, masks)
        return rebuild(*self.mix(images, labels, masks))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"alpha": self.alpha, "seed": self.seed})
        return config
