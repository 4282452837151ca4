"""Stochastic depth: residual blocks skipped per sample during training."""

from __future__ import annotations

import keras

from keraslab.layers._checks import check_rate
from keraslab.layers.drop_path import drop_path


@keras.saving.register_keras_serializable(package="keraslab")
class StochasticDepth(keras.layers.Layer):
    """Adds a residual branch to its shortcut, dropping the branch per sample in training.

    Called on `[shortcut, residual]`, it returns `shortcut + residual * mask / (1 - rate)`
    where `mask` is 0 for a sample with probability `rate` (Huang et al., 2016): that sample
    skips the block. Scaling happens at training time, so at inference the layer returns
    exactly `shortcut + residual`. Use `linear_drop_rates` to give deeper blocks higher rates.

    Args:
        rate: Probability of dropping the residual branch, in [0, 1).
        seed: Optional integer seed for the layer's random generator.
        **kwargs: Base layer keyword arguments.

    Call arguments:
        inputs: A list `[shortcut, residual]` of two tensors of the same shape.
        training: Python bool; drop only when True.

    Returns:
        A tensor of the shape of `shortcut`.

    Example:

    >>> x = keras.Input((32, 32, 16))
    >>> branch = keras.layers.Conv2D(16, 3, padding="same")(x)
    >>> y = StochasticDepth(0.1)([x, branch])
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check_rate(rate)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) != 2 or not all(
            isinstance(s, (list, tuple)) for s in input_shape
        ):
            raise ValueError(
                "StochasticDepth expects a list of two tensors [shortcut, residual]. "
                f"Received: input_shape={input_shape}"
            )
        shortcut, residual = (tuple(s) for s in input_shape)
        if len(shortcut) != len(residual) or any(
            a is not None and b is not None and a != b
            for a, b in zip(shortcut[1:], residual[1:], strict=False)
        ):
            raise ValueError(
                "shortcut and residual must have the same shape. "
                f"Received: shortcut shape {shortcut}, residual shape {residual}"
            )

    def call(self, inputs, training=False):
        shortcut, residual = inputs
        return shortcut + drop_path(
            residual, self.rate, seed=self.seed_generator, training=training
        )

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed})
        return config
