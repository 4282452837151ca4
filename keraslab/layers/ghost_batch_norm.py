"""Ghost (virtual) batch normalization: batch statistics over slices of the batch."""

from __future__ import annotations

import math

import keras
from keras import constraints, initializers, ops, regularizers

from keraslab.layers._checks import check_axis, check_epsilon


def ghost_batch_moments(inputs, virtual_batch_size, axis=-1):
    """Mean and variance of each slice of `virtual_batch_size` consecutive samples.

    Samples `0 .. v-1` form the first virtual batch, `v .. 2v-1` the second, and so on; when
    the batch size is not a multiple of `v`, the last virtual batch is smaller. Statistics
    are taken in float32 over every axis but `axis`, within one virtual batch, exactly as
    batch normalization takes them over the whole batch.

    Args:
        inputs: A tensor with the batch on axis 0 and the channels on `axis`.
        virtual_batch_size: Positive int, the number of samples per virtual batch.
        axis: The channels axis.

    Returns:
        `(mean, variance)`, float32, broadcastable against `inputs`: for each sample, the
        (biased) mean and variance of its own virtual batch.
    """
    rank = len(inputs.shape)
    axis = axis % rank
    x = ops.cast(inputs, "float32")
    batch = ops.shape(x)[0]
    other_axes = [i for i in range(1, rank) if i != axis]
    group = ops.cast(ops.arange(batch) // virtual_batch_size, "int32")
    num_groups = (batch + virtual_batch_size - 1) // virtual_batch_size
    cells_per_sample = math.prod(
        int(x.shape[i]) if x.shape[i] is not None else ops.shape(x)[i] for i in other_axes
    )
    samples = ops.segment_sum(ops.ones((batch,), "float32"), group, num_segments=num_groups)
    counts = (samples * ops.cast(cells_per_sample, "float32"))[:, None]

    def per_sample(per_group):  # (groups, channels) -> broadcastable (batch, ..., channels, ...)
        values = ops.take(per_group, group, axis=0)
        shape = [-1] + [1] * (rank - 1)
        shape[axis] = values.shape[-1]
        return ops.reshape(values, shape)

    sums = ops.sum(x, axis=other_axes) if other_axes else x
    mean = per_sample(ops.segment_sum(sums, group, num_segments=num_groups) / counts)
    squares = ops.square(x - mean)
    squares = ops.sum(squares, axis=other_axes) if other_axes else squares
    variance = per_sample(ops.segment_sum(squares, group, num_segments=num_groups) / counts)
    return mean, variance


# How the moving statistics are tracked in training: "batch", over the whole batch; "slices",
# as the mean of the slices' own means and (biased) variances.
MOVING_STATISTICS = ("batch", "slices")


@keras.saving.register_keras_serializable(package="keraslab")
class GhostBatchNorm(keras.layers.Layer):
    """Batch normalization with statistics over virtual batches (Hoffer et al., 2017).

    In training, the batch is cut into consecutive slices of `virtual_batch_size` samples and
    each slice is normalized with its own mean and variance, as `BatchNormalization` would
    normalize it if it were the whole batch. This separates the number of examples each
    normalization statistic is computed over from the optimizer's batch size: it is what
    data-parallel training does, where every replica normalizes its own slice of the global
    batch. A batch that is not a multiple of `virtual_batch_size` ends with a smaller slice.

    The moving mean and variance, used at inference, are tracked over the whole batch by
    default (`moving_statistics="batch"`: the update `BatchNormalization` would make on it), so
    that ghost batches change only the training-time noise, not the inference statistics. With
    `moving_statistics="slices"` they are tracked as the mean of the slices' own statistics, the
    estimate that training with batches of `virtual_batch_size` examples would make: each
    slice's biased variance misses part of the variation between samples, the part `1 / v`
    of it on average (half for slices of 2; for feature maps the variation within each sample,
    over its positions, is estimated in full).
    With `virtual_batch_size` at least the batch size, the layer is `BatchNormalization`
    either way.

    Statistics are computed in float32 under mixed precision, and float32 inputs are not
    cast to float16 first.

    Args:
        virtual_batch_size: Positive integer, samples per normalization statistic.
        axis: The channels axis. Defaults to -1.
        momentum: Momentum of the moving averages. Defaults to 0.99, as in Keras.
        epsilon: Small float added to the variance. Defaults to 1e-3, as in Keras.
        center: If True, add the learned offset `beta`.
        scale: If True, multiply by the learned scale `gamma`.
        beta_initializer, gamma_initializer: Initializers for `beta` and `gamma`.
        moving_mean_initializer, moving_variance_initializer: Initializers for the moving
            statistics.
        beta_regularizer, gamma_regularizer: Optional regularizers.
        beta_constraint, gamma_constraint: Optional constraints.
        moving_statistics: "batch" (default) or "slices": what the moving statistics are
            tracked over in training (see above).
        **kwargs: Base layer keyword arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: A tensor of rank >= 2 with the channels on `axis`.
        training: Python bool; batch statistics when True, moving statistics otherwise.

    Returns:
        A tensor of the same shape, in the layer's compute dtype.

    Example:

    >>> x = keras.random.normal((128, 8, 8, 16))
    >>> y = GhostBatchNorm(virtual_batch_size=8)(x, training=True)  # 16 slices of 8
    """

    def __init__(
        self,
        virtual_batch_size,
        axis=-1,
        momentum=0.99,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        moving_mean_initializer="zeros",
        moving_variance_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        moving_statistics="batch",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if (
            isinstance(virtual_batch_size, bool)
            or not isinstance(virtual_batch_size, int)
            or virtual_batch_size < 1
        ):
            raise ValueError(
                "virtual_batch_size must be a positive integer. "
                f"Received: virtual_batch_size={virtual_batch_size!r}"
            )
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in the range [0, 1). Received: momentum={momentum!r}")
        if moving_statistics not in MOVING_STATISTICS:
            raise ValueError(
                f"moving_statistics must be one of {MOVING_STATISTICS}. "
                f"Received: moving_statistics={moving_statistics!r}"
            )
        self.virtual_batch_size = virtual_batch_size
        self.moving_statistics = moving_statistics
        self.axis = check_axis(axis)
        self.momentum = float(momentum)
        self.epsilon = check_epsilon(epsilon)
        self.center = center
        self.scale = scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True
        # Statistics in float32: float32 inputs must not be cast to float16 before `call`.
        self.autocast = False

    def build(self, input_shape):
        rank = len(input_shape)
        if rank < 2:
            raise ValueError(
                "GhostBatchNorm expects inputs of rank >= 2. "
                f"Received: inputs with shape {tuple(input_shape)}"
            )
        if not -rank <= self.axis < rank or self.axis % rank == 0:
            raise ValueError(
                f"axis must name a non-batch axis of inputs of rank {rank}. "
                f"Received: axis={self.axis}"
            )
        self._axis = self.axis % rank
        channels = input_shape[self._axis]
        if channels is None:
            raise ValueError(
                f"The channels axis ({self.axis}) of the inputs must be known. "
                f"Received: inputs with shape {tuple(input_shape)}"
            )
        self.input_spec = keras.layers.InputSpec(ndim=rank, axes={self._axis: channels})
        shape = (channels,)

        def weight(name, initializer, trainable, regularizer=None, constraint=None):
            return self.add_weight(
                shape=shape, name=name, initializer=initializer, trainable=trainable,
                regularizer=regularizer, constraint=constraint, autocast=False,
            )

        self.gamma = (
            weight("gamma", self.gamma_initializer, True, self.gamma_regularizer, self.gamma_constraint)
            if self.scale
            else None
        )
        self.beta = (
            weight("beta", self.beta_initializer, True, self.beta_regularizer, self.beta_constraint)
            if self.center
            else None
        )
        self.moving_mean = weight("moving_mean", self.moving_mean_initializer, False)
        self.moving_variance = weight("moving_variance", self.moving_variance_initializer, False)

    def _broadcast(self, vector, rank):
        shape = [1] * rank
        shape[self._axis] = vector.shape[0]
        return ops.reshape(ops.cast(vector, "float32"), shape)

    def call(self, inputs, training=False):
        rank = len(inputs.shape)
        x = ops.cast(inputs, "float32")
        if training and self.trainable:
            mean, variance = ghost_batch_moments(x, self.virtual_batch_size, self._axis)
            reduction_axes = [i for i in range(rank) if i != self._axis]
            if self.moving_statistics == "slices":
                # Each sample carries its slice's moments: their mean over samples is the
                # mean over slices (weighted by slice size).
                batch_mean = ops.mean(mean, axis=reduction_axes)
                batch_variance = ops.mean(variance, axis=reduction_axes)
            else:
                batch_mean, batch_variance = ops.moments(x, axes=reduction_axes)
            self.moving_mean.assign(
                self.moving_mean * self.momentum + batch_mean * (1.0 - self.momentum)
            )
            self.moving_variance.assign(
                self.moving_variance * self.momentum + batch_variance * (1.0 - self.momentum)
            )
        else:
            mean = self._broadcast(self.moving_mean, rank)
            variance = self._broadcast(self.moving_variance, rank)
        outputs = (x - mean) * ops.rsqrt(variance + self.epsilon)
        if self.gamma is not None:
            outputs = outputs * self._broadcast(self.gamma, rank)
        if self.beta is not None:
            outputs = outputs + self._broadcast(self.beta, rank)
        return ops.cast(outputs, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "virtual_batch_size": self.virtual_batch_size,
                "moving_statistics": self.moving_statistics,
                "axis": self.axis,
                "momentum": self.momentum,
                "epsilon": self.epsilon,
                "center": self.center,
                "scale": self.scale,
                "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
                "moving_variance_initializer": initializers.serialize(
                    self.moving_variance_initializer
                ),
                "beta_regularizer": regularizers.serialize(self.beta_regularizer),
                "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
                "beta_constraint": constraints.serialize(self.beta_constraint),
                "gamma_constraint": constraints.serialize(self.gamma_constraint),
            }
        )
        return config
