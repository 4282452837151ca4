"""DropConnect: a dense layer whose weights are dropped during training."""

from __future__ import annotations

import keras
from keras import ops

from keraslab.layers._checks import check_rate
from keraslab.random import bernoulli_keep_mask


def drop_connect(kernel, rate, seed=None, training=False):
    """Zeroes each weight with probability `rate` and scales the rest by `1 / (1 - rate)`."""
    if not training or rate == 0.0:
        return kernel
    keep_prob = 1.0 - rate
    mask = bernoulli_keep_mask(ops.shape(kernel), keep_prob, seed=seed, dtype=kernel.dtype)
    return kernel * mask / ops.cast(keep_prob, kernel.dtype)


@keras.saving.register_keras_serializable(package="keraslab")
class DropConnectDense(keras.layers.Dense):
    """A `Dense` layer that drops individual weights during training (Wan et al., 2013).

    In training, every weight of the kernel is zeroed with probability `rate` and the kept
    weights are scaled by `1 / (1 - rate)`; one mask is drawn per call and shared by the
    whole batch (per-sample masks, as in the paper, cost a batch of kernels). The bias is
    not dropped. At inference the full kernel is used, which is the expected value of the
    training-time kernel; the paper's moment-matching inference is not implemented.

    Args:
        units: Positive integer, dimensionality of the output space.
        rate: Probability of dropping each weight, in [0, 1).
        seed: Optional integer seed for the layer's random generator.
        **kwargs: Every other argument of `keras.layers.Dense` (`activation`, `use_bias`,
            initializers, regularizers, constraints, ...).

    Call arguments:
        inputs: A tensor of rank >= 2.
        training: Python bool; drop weights only when True.

    Returns:
        A tensor with the last axis of size `units`.

    Example:

    >>> layer = DropConnectDense(64, rate=0.5, activation="relu")
    >>> y = layer(keras.random.normal((4, 32)), training=True)
    """

    def __init__(self, units, rate=0.5, seed=None, **kwargs):
        super().__init__(units, **kwargs)
        self.rate = check_rate(rate)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        kernel = ops.cast(self.kernel, self.compute_dtype)
        kernel = drop_connect(kernel, self.rate, seed=self.seed_generator, training=training)
        outputs = ops.matmul(inputs, kernel)
        if self.bias is not None:
            outputs = ops.add(outputs, self.bias)
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed})
        return config
