"""Cutout: erase a random square of each image."""

from __future__ import annotations

import numbers

import keras
from keras import ops

from keraslab.layers._boxes import box_mask, image_size
from keraslab.layers._checks import check_data_format, check_size_pair


@keras.saving.register_keras_serializable(package="keraslab")
class Cutout(keras.layers.Layer):
    """Fills a randomly placed rectangle of each image with a constant (DeVries and Taylor, 2017).

    The rectangle's centre is uniform over the image, so near the borders part of it falls
    outside and less area is erased, as in the paper. Each image gets its own rectangle.
    Like Keras's augmentation layers it acts when `training=True`, which is the default
    when called directly (for example in `tf.data.Dataset.map`); inside a model, `fit`
    applies it and `predict`/`evaluate` do not.

    Args:
        size: Side of the erased square, or (height, width) of the rectangle, in pixels.
        fill_value: Value written into the rectangle. Defaults to 0.0.
        probability: Probability that an image is erased at all. Defaults to 1.0.
        data_format: "channels_last", "channels_first", or None (the default) for Keras's
            global `image_data_format`, as Keras's own image layers do.
        seed: Optional integer seed for the layer's random generator.
        **kwargs: Base layer keyword arguments.

    Call arguments:
        inputs: Images of shape (batch, height, width, channels) or (height, width, channels)
            for "channels_last"; (batch, channels, height, width) or (channels, height,
            width) for "channels_first".
        training: Python bool; erase only when True. Defaults to True.

    Returns:
        Images of the same shape, in the layer's compute dtype.

    Example:

    >>> images = keras.random.uniform((4, 32, 32, 3))
    >>> erased = Cutout(16)(images)
    """

    def __init__(
        self, size, fill_value=0.0, probability=1.0, data_format=None, seed=None, **kwargs
    ):
        super().__init__(**kwargs)
        self.size = check_size_pair(size, "size")
        if isinstance(fill_value, bool) or not isinstance(fill_value, numbers.Real):
            raise ValueError(f"fill_value must be a number. Received: fill_value={fill_value!r}")
        if not 0.0 <= probability <= 1.0:
            raise ValueError(
                f"probability must be in the range [0, 1]. Received: probability={probability!r}"
            )
        self.data_format = check_data_format(data_format)
        self.fill_value = float(fill_value)
        self.probability = float(probability)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        if len(input_shape) not in (3, 4):
            raise ValueError(
                "Cutout expects images of rank 3 or 4. "
                f"Received: inputs with shape {tuple(input_shape)}"
            )

    def call(self, inputs, training=True):
        images = ops.cast(inputs, self.compute_dtype)
        if not training:
            return images
        unbatched = len(images.shape) == 3
        if unbatched:
            images = images[None]
        batch = ops.shape(images)[0]
        height, width = image_size(images, self.data_format)
        center_y = keras.random.randint((batch,), 0, height, seed=self.seed_generator)
        center_x = keras.random.randint((batch,), 0, width, seed=self.seed_generator)
        box_height = ops.full((batch,), self.size[0], dtype="int32")
        box_width = ops.full((batch,), self.size[1], dtype="int32")
        mask = box_mask(
            height,
            width,
            ops.cast(center_y, "int32") - self.size[0] // 2,
            ops.cast(center_x, "int32") - self.size[1] // 2,
            box_height,
            box_width,
            self.data_format,
        )
        if self.probability < 1.0:
            apply = keras.random.uniform((batch, 1, 1, 1), seed=self.seed_generator) < (
                self.probability
            )
            mask = mask * ops.cast(apply, "float32")
        mask = ops.cast(mask, images.dtype)
        outputs = images * (1 - mask) + ops.cast(self.fill_value, images.dtype) * mask
        return outputs[0] if unbatched else outputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "size": self.size,
                "fill_value": self.fill_value,
                "probability": self.probability,
                "data_format": self.data_format,
                "seed": self.seed,
            }
        )
        return config
