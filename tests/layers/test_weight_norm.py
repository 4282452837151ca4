import keras
import numpy as np
import pytest
import tensorflow as tf

from keraslab.layers import WeightNorm

rng = np.random.default_rng(1)


def test_dense_kernel_is_g_times_unit_direction():
    x = rng.normal(size=(5, 6)).astype("float32")
    layer = WeightNorm(keras.layers.Dense(4))
    layer.build(x.shape)
    v = rng.normal(size=(6, 4)).astype("float32")
    g = rng.uniform(0.5, 2.0, size=4).astype("float32")
    b = rng.normal(size=4).astype("float32")
    layer.layer.kernel.assign(v)
    layer.layer.bias.assign(b)
    layer.g.assign(g)
    expected = x @ (g * v / np.linalg.norm(v, axis=0)) + b
    np.testing.assert_allclose(layer(x), expected, atol=1e-5)


def test_wrapping_does_not_change_the_initial_function():
    x = rng.normal(size=(2, 9, 9, 3)).astype("float32")
    conv = keras.layers.Conv2D(5, 3, strides=2, activation="relu")
    before = np.asarray(conv(x))
    np.testing.assert_allclose(WeightNorm(conv)(x), before, atol=1e-5)


def test_conv_matches_conv_with_normalized_kernel():
    x = rng.normal(size=(2, 8, 8, 3)).astype("float32")
    layer = WeightNorm(keras.layers.Conv2D(4, 3, padding="same"))
    layer.build(x.shape)
    layer.g.assign(rng.uniform(0.5, 2.0, size=4).astype("float32"))
    v = np.asarray(layer.layer.kernel)
    reference = keras.layers.Conv2D(4, 3, padding="same")
    reference.build(x.shape)
    g = np.asarray(layer.g)
    reference.set_weights([g * v / np.linalg.norm(v.reshape(-1, 4), axis=0), np.zeros(4)])
    np.testing.assert_allclose(layer(x), reference(x), atol=1e-5)


def test_gradients_reach_g_and_v():
    x = rng.normal(size=(8, 6)).astype("float32")
    layer = WeightNorm(keras.layers.Dense(3))
    layer.build(x.shape)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x) ** 2)
    grads = tape.gradient(loss, [layer.g, layer.layer.kernel])
    assert all(g is not None and float(tf.reduce_max(tf.abs(g))) > 0 for g in grads)
    # The gradient w.r.t. v is orthogonal to v (the norm removes the radial direction).
    v, grad_v = np.asarray(layer.layer.kernel), np.asarray(grads[1])
    np.testing.assert_allclose((v * grad_v).sum(axis=0), 0.0, atol=1e-3)


def test_data_dependent_init_standardizes_pre_activations():
    x = (4 + 3 * rng.normal(size=(256, 10))).astype("float32")
    layer = WeightNorm(keras.layers.Dense(6, activation="relu"))
    layer.initialize_from_data(x)
    pre = x @ np.asarray(layer.normalized_kernel()) + np.asarray(layer.layer.bias)
    np.testing.assert_allclose(pre.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(pre.std(axis=0), 1.0, atol=1e-3)


@pytest.mark.parametrize(
    "layer, message",
    [
        (keras.layers.LSTM(4), "supports Dense, Conv1D"),
        (keras.layers.Conv2DTranspose(4, 3), "supports Dense, Conv1D"),
        (keras.layers.Conv1D(4, 3, padding="causal"), "causal"),
        ("dense", "wraps a Keras layer"),
    ],
)
def test_bad_layers_are_rejected(layer, message):
    with pytest.raises(ValueError, match=message):
        WeightNorm(layer)
