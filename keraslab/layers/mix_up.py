"""MixUp: train on convex combinations of pairs of examples and of their labels."""

from __future__ import annotations

import keras
from keras import ops

from keraslab.layers._mixing import BatchMixingLayer, random_partner
from keraslab.random import beta_sample


def mix_up(images, labels, weights, partner):
    """Mixes each sample with a partner: `w * x[i] + (1 - w) * x[partner[i]]`, same for labels.

    Args:
        images: Float tensor (batch, height, width, channels).
        labels: Float tensor (batch, classes).
        weights: Float tensor (batch,): the weight of each sample's own image and label.
        partner: Int tensor (batch,): the index of the sample mixed in.

    Returns:
        `(mixed_images, mixed_labels)`.
    """
    partner_images = ops.take(images, partner, axis=0)
    partner_labels = ops.take(labels, partner, axis=0)
    w_images = ops.cast(ops.reshape(weights, (-1, 1, 1, 1)), images.dtype)
    w_labels = ops.cast(ops.reshape(weights, (-1, 1)), labels.dtype)
    mixed_images = w_images * images + (1 - w_images) * partner_images
    mixed_labels = w_labels * labels + (1 - w_labels) * partner_labels
    return mixed_images, mixed_labels


def mix_masks(masks, weights, partner):
    """Mixes float segmentation masks like images: `w * m[i] + (1 - w) * m[partner[i]]`."""
    if not keras.backend.is_float_dtype(masks.dtype):
        raise ValueError(
            "MixUp blends segmentation_masks with the same weights as the images, so they "
            "must be float (one-hot or soft masks); integer class masks cannot be blended. "
            f"Received: segmentation_masks of dtype {keras.backend.standardize_dtype(masks.dtype)}"
        )
    shape = (-1,) + (1,) * (len(masks.shape) - 1)
    w = ops.cast(ops.reshape(weights, shape), masks.dtype)
    return w * masks + (1 - w) * ops.take(masks, partner, axis=0)


@keras.saving.register_keras_serializable(package="keraslab")
class MixUp(BatchMixingLayer):
    """MixUp augmentation for a batch of images and one-hot labels (Zhang et al., 2018).

    Each sample `i` is mixed with a randomly chosen sample `j` of the same batch:
    `x = lam * x_i + (1 - lam) * x_j` and `y = lam * y_i + (1 - lam) * y_j`, with one
    `lam ~ Beta(alpha, alpha)` per sample. Mixed labels sum to 1 when the input labels do.
    The Beta draw uses only normal and uniform samples (see `keraslab.random`), so the
    layer compiles under XLA, unlike samplers built on TensorFlow's random gamma op.

    Use it on batches in a `tf.data` pipeline (after `batch`), or in a custom train step.

    Args:
        alpha: Positive float, both parameters of the Beta distribution. Defaults to 0.2.
        seed: Optional integer seed for the layer's random generator.
        **kwargs: Base layer keyword arguments.

    Call arguments:
        data: `(images, labels)`, or images with `labels` as the second argument (so that
            `dataset.map(layer)` works on a dataset of pairs), or a dict with keys "images"
            and "labels" and optionally "segmentation_masks" (float masks, one-hot or soft,
            mixed with the same weights as the images, as Keras core's MixUp does). Other
            keys are passed through, except "bounding_boxes", which is refused. Images (batch, height, width, channels) or channels first: the
            mixing does not depend on the layout; labels (batch, classes).
        labels: The labels, when `data` holds only the images.
        training: Python bool; mix only when True. Defaults to True.

    Returns:
        The same structure with mixed images (in the layer's compute dtype) and labels
        (float32).

    Example:

    >>> images = keras.random.uniform((8, 32, 32, 3))
    >>> labels = keras.ops.one_hot(keras.ops.arange(8) % 10, 10)
    >>> mixed_images, mixed_labels = MixUp(alpha=0.2)((images, labels))
    """

    def __init__(self, alpha=0.2, seed=None, **kwargs):
        super().__init__(alpha, seed=seed, **kwargs)

    def mix(self, images, labels, masks):
        batch = ops.shape(images)[0]
        weights = beta_sample((batch,), self.alpha, seed=self.seed_generator)
        partner = random_partner(batch, self.seed_generator)
        mixed_images, mixed_labels = mix_up(images, labels, weights, partner)
        if masks is not None:
            masks = mix_masks(masks, weights, partner)
        return mixed_images, mixed_labels, masks
