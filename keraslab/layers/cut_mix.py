"""CutMix: paste a rectangle from another image and mix the labels by area."""

from __future__ import annotations

import keras
from keras import ops

from keraslab.layers._boxes import box_mask, image_size
from keraslab.layers._checks import check_data_format
from keraslab.layers._mixing import BatchMixingLayer, random_partner
from keraslab.random import beta_sample


def cut_mix(images, labels, box, partner):
    """Pastes `box` of each sample's partner into it; labels are weighted by the pasted area.

    Args:
        images: Float tensor (batch, height, width, channels), or channels first.
        labels: Float tensor (batch, classes).
        box: (batch, height, width, 1) float mask, 1 where the partner's pixels go, or
            (batch, 1, height, width) for channels-first images.
        partner: Int tensor (batch,): the index of the sample pasted in.

    Returns:
        `(mixed_images, mixed_labels)`; the partner's label weight is exactly the fraction of
        the image it covers.
    """
    partner_images = ops.take(images, partner, axis=0)
    partner_labels = ops.take(labels, partner, axis=0)
    box_images = ops.cast(box, images.dtype)
    mixed_images = images * (1 - box_images) + partner_images * box_images
    pasted_fraction = ops.cast(ops.mean(box, axis=(1, 2, 3)), labels.dtype)[:, None]
    mixed_labels = (1 - pasted_fraction) * labels + pasted_fraction * partner_labels
    return mixed_images, mixed_labels


def paste_masks(masks, box, partner, data_format="channels_last"):
    """Pastes the partner's segmentation mask into the same box; the dtype is kept.

    Args:
        masks: (batch, height, width) or a rank-4 tensor laid out like the images.
        box: The box mask `cut_mix` used, laid out like the images.
        partner: Int tensor (batch,).
        data_format: The layout of `box` (and of rank-4 masks).
    """
    inside = ops.cast(box, "bool")
    if len(masks.shape) == 3:
        inside = ops.squeeze(inside, axis=1 if data_format == "channels_first" else -1)
    return ops.where(inside, ops.take(masks, partner, axis=0), masks)


def random_boxes(batch, height, width, weights, seed, data_format="channels_last"):
    """Boxes of area about `(1 - weights)` of the image, centred uniformly, then clipped."""
    cut_ratio = ops.sqrt(1.0 - weights)
    box_height = ops.cast(ops.floor(cut_ratio * ops.cast(height, "float32")), "int32")
    box_width = ops.cast(ops.floor(cut_ratio * ops.cast(width, "float32")), "int32")
    center_y = ops.cast(keras.random.randint((batch,), 0, height, seed=seed), "int32")
    center_x = ops.cast(keras.random.randint((batch,), 0, width, seed=seed), "int32")
    return box_mask(
        height,
        width,
        center_y - box_height // 2,
        center_x - box_width // 2,
        box_height,
        box_width,
        data_format,
    )


@keras.saving.register_keras_serializable(package="keraslab")
class CutMix(BatchMixingLayer):
    """CutMix augmentation for a batch of images and one-hot labels (Yun et al., 2019).

    For each sample, `lam ~ Beta(alpha, alpha)` sets a rectangle of about `1 - lam` of the
    image, centred uniformly at random; that rectangle is clipped to the image and filled
    with the pixels of a randomly chosen partner from the same batch. The labels are mixed
    by the area actually pasted, after clipping: a box that hangs over the border pastes
    less, and the label says so. (The authors' code does the same; keras-cv uses the
    unclipped area, which overstates the partner's share near borders.) Mixed labels sum
    to 1.

    Args:
        alpha: Positive float, both parameters of the Beta distribution. Defaults to 1.0.
        data_format: "channels_last", "channels_first", or None (the default) for Keras's
            global `image_data_format`.
        seed: Optional integer seed for the layer's random generator.
        **kwargs: Base layer keyword arguments.

    Call arguments:
        data: `(images, labels)`, or images with `labels` as the second argument (so that
            `dataset.map(layer)` works on a dataset of pairs), or a dict with keys "images"
            and "labels" and optionally "segmentation_masks": the partner's mask is pasted
            into the same box, keeping its dtype (as Keras core's CutMix does). Other keys are
            passed through, except "bounding_boxes", which is refused.
        labels: The labels, when `data` holds only the images.
        training: Python bool; mix only when True. Defaults to True.

    Returns:
        The same structure with mixed images (in the layer's compute dtype) and labels
        (float32).

    Example:

    >>> images = keras.random.uniform((8, 32, 32, 3))
    >>> labels = keras.ops.one_hot(keras.ops.arange(8) % 10, 10)
    >>> mixed_images, mixed_labels = CutMix(alpha=1.0)((images, labels))
    """

    def __init__(self, alpha=1.0, data_format=None, seed=None, **kwargs):
        super().__init__(alpha, seed=seed, **kwargs)
        self.data_format = check_data_format(data_format)

    def mix(self, images, labels, masks):
        batch = ops.shape(images)[0]
        height, width = image_size(images, self.data_format)
        weights = beta_sample((batch,), self.alpha, seed=self.seed_generator)
        box = random_boxes(batch, height, width, weights, self.seed_generator, self.data_format)
        partner = random_partner(batch, self.seed_generator)
        mixed_images, mixed_labels = cut_mix(images, labels, box, partner)
        if masks is not None:
            masks = paste_masks(masks, box, partner, self.data_format)
        return mixed_images, mixed_labels, masks

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        return config
