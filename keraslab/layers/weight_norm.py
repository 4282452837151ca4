"""Weight normalization of a Dense or convolution layer."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from keraslab.layers._checks import check_epsilon

_SUPPORTED = (keras.layers.Dense, keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)
_UNSUPPORTED = (
    keras.layers.Conv1DTranspose,
    keras.layers.Conv2DTranspose,
    keras.layers.Conv3DTranspose,
    keras.layers.DepthwiseConv2D,
    keras.layers.SeparableConv2D,
)


@keras.saving.register_keras_serializable(package="keraslab")
class WeightNorm(keras.layers.Wrapper):
    """Reparameterizes a layer's kernel as `w = g * v / ||v||` (Salimans and Kingma, 2016).

    The wrapped layer's kernel becomes the direction `v`; a new weight `g` (one per output
    unit or filter) holds the length. The norm is taken over every kernel axis except the
    last (the output axis). Gradients flow through the normalization to both `g` and `v`,
    which decouples the length of each weight vector from its direction. `g` starts at
    `||v||`, so the wrapped layer computes exactly what it did before wrapping.

    Data-dependent initialization (section 3 of the paper) is available through
    `initialize_from_data(x_batch)`: it sets `g` and the bias so that the pre-activations on
    that batch have zero mean and unit variance per unit.

    Supports `Dense`, `Conv1D` (except causal padding), `Conv2D` and `Conv3D`.

    Args:
        layer: The layer to wrap.
        epsilon: Small float added to `||v||`. Defaults to 1e-12.
        **kwargs: Base layer keyword arguments.

    Call arguments:
        inputs: Inputs of the wrapped layer.

    Returns:
        The wrapped layer's output computed with the normalized kernel.

    Example:

    >>> layer = WeightNorm(keras.layers.Dense(10, activation="relu"))
    >>> y = layer(keras.random.normal((4, 20)))
    """

    def __init__(self, layer, epsilon=1e-12, **kwargs):
        if not isinstance(layer, keras.layers.Layer):
            raise ValueError(
                f"WeightNorm wraps a Keras layer. Received: layer={layer!r}"
            )
        if isinstance(layer, _UNSUPPORTED) or not isinstance(layer, _SUPPORTED):
            raise ValueError(
                "WeightNorm supports Dense, Conv1D, Conv2D and Conv3D layers. "
                f"Received: layer of type {type(layer).__name__}"
            )
        if getattr(layer, "padding", None) == "causal":
            raise ValueError(
                "WeightNorm does not support causal padding. Received: padding='causal'"
            )
        epsilon = check_epsilon(epsilon)
        super().__init__(layer, **kwargs)
        self.epsilon = epsilon

    def build(self, input_shape=None):
        if not self.layer.built:
            self.layer.build(input_shape)
        kernel = self.layer.kernel
        self._norm_axes = list(range(len(kernel.shape) - 1))
        units = kernel.shape[-1]
        self.g = self.add_weight(
            shape=(units,), name="g", initializer="ones", autocast=False
        )
        self.g.assign(self._direction_norm(ops.convert_to_tensor(kernel)))
        self.built = True

    def _direction_norm(self, kernel):
        return ops.sqrt(ops.sum(ops.square(kernel), axis=self._norm_axes))

    def normalized_kernel(self):
        """The effective kernel `g * v / ||v||` in float32."""
        v = ops.cast(self.layer.kernel, "float32")
        return v * (ops.cast(self.g, "float32") / (self._direction_norm(v) + self.epsilon))

    def _pre_activation(self, inputs):
        kernel = ops.cast(self.normalized_kernel(), self.compute_dtype)
        inputs = ops.cast(inputs, self.compute_dtype)
        layer = self.layer
        if isinstance(layer, keras.layers.Dense):
            outputs = ops.matmul(inputs, kernel)
            bias_shape = (layer.units,)
        else:
            outputs = layer.convolution_op(inputs, kernel)
            if layer.data_format == "channels_last":
                bias_shape = (1,) * (layer.rank + 1) + (layer.filters,)
            else:
                bias_shape = (1, layer.filters) + (1,) * layer.rank
        if layer.use_bias:
            outputs = outputs + ops.reshape(ops.cast(layer.bias, outputs.dtype), bias_shape)
        return outputs

    def call(self, inputs):
        outputs = self._pre_activation(inputs)
        if self.layer.activation is not None:
            outputs = self.layer.activation(outputs)
        return outputs

    def initialize_from_data(self, x_batch):
        """Data-dependent initialization of `g` and the bias from one batch (eager only).

        After the call, the wrapped layer's pre-activations on `x_batch` have mean 0 and
        standard deviation 1 for every unit (when the layer has a bias; without one only
        the scale is set).

        Args:
            x_batch: A batch of inputs for this layer.

        Returns:
            The layer, for chaining.
        """
        if not self.built:
            self.build(tuple(x_batch.shape))
        layer = self.layer
        if layer.use_bias:
            layer.bias.assign(ops.zeros_like(layer.bias))
        self.g.assign(ops.ones_like(self.g))
        t = ops.convert_to_numpy(ops.cast(self._pre_activation(x_batch), "float32"))
        channel_axis = -1 if getattr(layer, "data_format", "channels_last") != "channels_first" else 1
        axes = tuple(a for a in range(t.ndim) if a != channel_axis % t.ndim)
        mean, std = t.mean(axis=axes), t.std(axis=axes)
        scale = 1.0 / (std + 1e-6)
        self.g.assign(scale.astype(np.float32))
        if layer.use_bias:
            layer.bias.assign((-mean * scale).astype(np.float32))
        return self

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"epsilon": self.epsilon})
        return config
