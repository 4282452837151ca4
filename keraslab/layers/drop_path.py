"""DropPath: drop a whole residual branch per sample."""

from __future__ import annotations

import keras
from keras import ops

from keraslab.layers._checks import check_rate
from keraslab.random import bernoulli_keep_mask


def drop_path(inputs, rate, seed=None, training=False):
    """Zeroes whole samples of a branch's output with probability `rate`, scaling the rest.

    Each sample of the batch keeps its entire tensor with probability `1 - rate` and is
    divided by `1 - rate`, so the expected output equals the input. At inference (or when
    `rate == 0`) the input is returned unchanged.

    Args:
        inputs: A tensor with the batch on axis 0.
        rate: Drop probability in [0, 1).
        seed: A `keras.random.SeedGenerator` (or None).
        training: Python bool; nothing is dropped when False.

    Returns:
        A tensor like `inputs`.
    """
    if not training or rate == 0.0:
        return inputs
    keep_prob = 1.0 - rate
    mask_shape = (ops.shape(inputs)[0],) + (1,) * (len(inputs.shape) - 1)
    mask = bernoulli_keep_mask(mask_shape, keep_prob, seed=seed, dtype=inputs.dtype)
    return inputs * mask / ops.cast(keep_prob, inputs.dtype)


def linear_drop_rates(num_blocks, max_rate):
    """Drop rates that grow linearly with depth, as in stochastic depth (Huang et al., 2016).

    Block `l` of `L` (counting from 1) gets `max_rate * l / L`: the first block is almost
    always kept and the last is dropped with probability `max_rate`. (Some libraries use
    `linspace(0, max_rate, L)` instead, which never drops the first block.)

    Args:
        num_blocks: Number of residual blocks, a positive integer.
        max_rate: Drop rate of the last block, in [0, 1).

    Returns:
        A list of `num_blocks` Python floats.

    Example:

    >>> linear_drop_rates(4, 0.5)
    [0.125, 0.25, 0.375, 0.5]
    """
    if isinstance(num_blocks, bool) or not isinstance(num_blocks, int) or num_blocks < 1:
        raise ValueError(
            f"num_blocks must be a positive integer. Received: num_blocks={num_blocks!r}"
        )
    max_rate = check_rate(max_rate, "max_rate")
    return [max_rate * block / num_blocks for block in range(1, num_blocks + 1)]


@keras.saving.register_keras_serializable(package="keraslab")
class DropPath(keras.layers.Layer):
    """Drops the whole output of a branch for randomly chosen samples during training.

    Apply it to the residual branch before the addition: `x + DropPath(0.1)(branch(x))`.
    Kept samples are scaled by `1 / (1 - rate)` at training time, so at inference the layer
    is the identity (the convention of timm and the TensorFlow Model Garden).

    Args:
        rate: Probability of dropping a sample's branch, in [0, 1).
        seed: Optional integer seed for the layer's random generator.
        **kwargs: Base layer keyword arguments.

    Call arguments:
        inputs: A tensor with the batch on axis 0.
        training: Python bool; drop only when True.

    Returns:
        A tensor like `inputs`.

    Example:

    >>> branch = keras.layers.Dense(16)
    >>> x = keras.random.normal((8, 16))
    >>> y = x + DropPath(0.2)(branch(x), training=True)
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check_rate(rate)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True

    def call(self, inputs, training=False):
        return drop_path(inputs, self.rate, seed=self.seed_generator, training=training)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed})
        return config
