"""Instance normalization."""

from __future__ import annotations

import keras

from keraslab.layers.group_norm import GroupNorm


@keras.saving.register_keras_serializable(package="keraslab")
class InstanceNorm(GroupNorm):
    """Instance normalization layer (Ulyanov, Vedaldi and Lempitsky, 2016).

    Normalizes each channel of each sample over its spatial axes, removing per-image
    contrast and style; then applies a learned per-channel scale and offset. It is group
    normalization with one channel per group, so it needs at least one spatial axis.

    Args:
        axis: The channels axis. Defaults to -1.
        epsilon: Small float added to the variance. Defaults to 1e-5.
        center: If True, add the learned offset `beta`.
        scale: If True, multiply by the learned scale `gamma`.
        beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
        beta_constraint, gamma_constraint: As in `GroupNorm`.
        **kwargs: Base layer keyword arguments.

    Call arguments:
        inputs: A tensor of rank >= 3: (batch, spatial..., channels) for `axis=-1`.

    Returns:
        A tensor of the same shape.

    Example:

    >>> x = keras.random.normal((2, 16, 16, 3))
    >>> y = InstanceNorm(center=False, scale=False)(x)
    """

    def __init__(self, axis=-1, epsilon=1e-5, **kwargs):
        groups = kwargs.pop("groups", -1)
        if groups != -1:
            raise ValueError(
                "InstanceNorm always uses one channel per group (groups=-1); for another "
                f"number of groups use GroupNorm(groups=...). Received: groups={groups!r}"
            )
        super().__init__(groups=-1, axis=axis, epsilon=epsilon, **kwargs)

    def _min_rank(self):
        return 3

    def get_config(self):
        config = super().get_config()
        config.pop("groups")
        return config
