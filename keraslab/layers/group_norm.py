"""Group normalization."""

from __future__ import annotations

import keras
from keras import constraints, initializers, ops, regularizers

from keraslab.layers._checks import check_axis, check_epsilon


@keras.saving.register_keras_serializable(package="keraslab")
class GroupNorm(keras.layers.Layer):
    """Group normalization layer (Wu and He, 2018).

    Splits the channels into `groups` groups and normalizes each sample over every
    non-batch axis within a group: the mean and variance are computed over the spatial
    axes and the channels of one group. `groups=1` gives layer normalization over all
    features; `groups=-1` (one channel per group) gives instance normalization. The result
    does not depend on the batch size, so it behaves the same in training and inference.

    Statistics are computed in float32 even under a `mixed_float16` or `mixed_bfloat16`
    policy, because the sum of squares overflows float16 easily; float32 inputs are not
    cast to float16 first (the layer turns Keras's autocast off), so large inputs stay
    finite. The output is in the layer's compute dtype.

    Args:
        groups: Number of groups, a positive integer that divides the number of channels,
            or -1 for one channel per group. Defaults to 32.
        axis: The channels axis. Defaults to -1.
        epsilon: Small float added to the variance. Defaults to 1e-5 (Keras core's
            `GroupNormalization` defaults to 1e-3).
        center: If True, add the learned offset `beta`.
        scale: If True, multiply by the learned scale `gamma`.
        beta_initializer, gamma_initializer: Initializers for `beta` and `gamma`.
        beta_regularizer, gamma_regularizer: Optional regularizers.
        beta_constraint, gamma_constraint: Optional constraints.
        **kwargs: Base layer keyword arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: A tensor of rank >= 2 with the channels on `axis`.

    Returns:
        A tensor of the same shape and dtype as the compute dtype of the layer.

    Example:

    >>> x = keras.random.normal((2, 8, 8, 64))
    >>> y = GroupNorm(groups=32)(x)
    >>> y.shape
    (2, 8, 8, 64)
    """

    def __init__(
        self,
        groups=32,
        axis=-1,
        epsilon=1e-5,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(groups, bool) or not isinstance(groups, int) or not (
            groups >= 1 or groups == -1
        ):
            raise ValueError(
                f"groups must be a positive integer or -1 (one channel per group). "
                f"Received: groups={groups!r}"
            )
        self.groups = groups
        self.axis = check_axis(axis)
        self.epsilon = check_epsilon(epsilon)
        self.center = center
        self.scale = scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True
        # Statistics are computed in float32: with autocast on, Keras would first cast float32
        # inputs to a mixed policy's float16, where 70000 is already inf and the mean of
        # values near 1000 loses its digits, before `call` could cast them back.
        self.autocast = False

    def _min_rank(self):
        return 2

    def build(self, input_shape):
        rank = len(input_shape)
        if rank < self._min_rank():
            raise ValueError(
                f"{type(self).__name__} expects inputs of rank >= {self._min_rank()}. "
                f"Received: inputs with shape {tuple(input_shape)}"
            )
        if not -rank <= self.axis < rank:
            raise ValueError(
                f"axis {self.axis} is out of bounds for inputs of rank {rank}. "
                f"Received: axis={self.axis}"
            )
        self._axis = self.axis % rank
        if self._axis == 0:
            raise ValueError("axis must not be the batch axis. Received: axis=0")
        channels = input_shape[self._axis]
        if channels is None:
            raise ValueError(
                f"The channels axis ({self.axis}) of the inputs must be known. "
                f"Received: inputs with shape {tuple(input_shape)}"
            )
        groups = channels if self.groups == -1 else self.groups
        if channels % groups != 0:
            raise ValueError(
                f"groups must divide the number of channels ({channels}). "
                f"Received: groups={self.groups}"
            )
        self._num_groups = groups
        self.input_spec = keras.layers.InputSpec(ndim=rank, axes={self._axis: channels})
        self.gamma = (
            self.add_weight(
                shape=(channels,),
                name="gamma",
                initializer=self.gamma_initializer,
                regularizer=self.gamma_regularizer,
                constraint=self.gamma_constraint,
                autocast=False,
            )
            if self.scale
            else None
        )
        self.beta = (
            self.add_weight(
                shape=(channels,),
                name="beta",
                initializer=self.beta_initializer,
                regularizer=self.beta_regularizer,
                constraint=self.beta_constraint,
                autocast=False,
            )
            if self.center
            else None
        )

    def call(self, inputs):
        rank = len(inputs.shape)
        axis = self._axis
        channels = inputs.shape[axis]
        per_group = channels // self._num_groups
        dynamic_shape = ops.shape(inputs)
        # (batch, ..., groups, channels_per_group, ...): the group axis sits where the
        # channels were, followed by the channels of one group.
        grouped_shape = [-1] + [
            dynamic_shape[i] if inputs.shape[i] is None else inputs.shape[i]
            for i in range(1, rank)
        ]
        grouped_shape[axis : axis + 1] = [self._num_groups, per_group]
        x = ops.cast(ops.reshape(inputs, grouped_shape), "float32")
        reduction_axes = [i for i in range(1, rank + 1) if i != axis]
        mean, variance = ops.moments(x, axes=reduction_axes, keepdims=True)
        inv = ops.rsqrt(variance + self.epsilon)

        param_shape = [1] * (rank + 1)
        param_shape[axis : axis + 2] = [self._num_groups, per_group]
        if self.gamma is not None:
            inv = inv * ops.reshape(ops.cast(self.gamma, "float32"), param_shape)
        offset = -mean * inv
        if self.beta is not None:
            offset = offset + ops.reshape(ops.cast(self.beta, "float32"), param_shape)
        outputs = x * inv + offset
        return ops.cast(ops.reshape(outputs, dynamic_shape), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "groups": self.groups,
                "axis": self.axis,
                "epsilon": self.epsilon,
                "center": self.center,
                "scale": self.scale,
                "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                "beta_regularizer": regularizers.serialize(self.beta_regularizer),
                "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
                "beta_constraint": constraints.serialize(self.beta_constraint),
                "gamma_constraint": constraints.serialize(self.gamma_constraint),
            }
        )
        return config
