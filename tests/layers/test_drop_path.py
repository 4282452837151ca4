import keras
import numpy as np
import pytest

from keraslab.layers import DropConnectDense, DropPath, StochasticDepth, linear_drop_rates

rng = np.random.default_rng(0)


def test_drop_path_drops_whole_samples_at_rate_and_keeps_expectation():
    rate = 0.3
    x = rng.normal(size=(4000, 3, 5)).astype("float32")
    y = np.asarray(DropPath(rate, seed=1)(x, training=True))
    dropped = (y == 0).all(axis=(1, 2))
    kept = ~dropped
    # a sample is dropped entirely or kept entirely, scaled by 1 / (1 - rate)
    np.testing.assert_allclose(y[kept], x[kept] / (1 - rate), rtol=1e-6)
    # binomial standard error of the fraction with n=4000 is 0.0072: 4 sigma
    assert abs(dropped.mean() - rate) < 0.03


def test_drop_path_mean_over_draws_equals_input():
    x = rng.normal(size=(4, 6)).astype("float32")
    layer = DropPath(0.5, seed=2)
    draws = np.stack([np.asarray(layer(x, training=True)) for _ in range(2000)])
    # std of one draw is |x|, of the mean |x| / sqrt(2000): 5 sigma tolerance
    np.testing.assert_allclose(draws.mean(axis=0), x, atol=5 * np.abs(x).max() / np.sqrt(2000))


def test_stochastic_depth_is_shortcut_plus_scaled_residual():
    rate = 0.25
    shortcut = rng.normal(size=(2000, 4)).astype("float32")
    residual = rng.normal(size=(2000, 4)).astype("float32")
    y = np.asarray(StochasticDepth(rate, seed=3)([shortcut, residual], training=True))
    skipped = np.isclose(y, shortcut, atol=1e-6).all(axis=1)
    np.testing.assert_allclose(
        y[~skipped], shortcut[~skipped] + residual[~skipped] / (1 - rate), rtol=1e-5, atol=1e-6
    )
    assert abs(skipped.mean() - rate) < 0.04


def test_stochastic_depth_is_exact_sum_at_inference():
    shortcut = rng.normal(size=(8, 4)).astype("float32")
    residual = rng.normal(size=(8, 4)).astype("float32")
    np.testing.assert_array_equal(
        StochasticDepth(0.5)([shortcut, residual]), shortcut + residual
    )


def test_stochastic_depth_input_checks():
    with pytest.raises(ValueError, match=r"list of two tensors \[shortcut, residual\]"):
        StochasticDepth(0.1).build((4, 8))
    with pytest.raises(ValueError, match="same shape"):
        StochasticDepth(0.1).build([(None, 8), (None, 4)])


def test_linear_drop_rates_follow_huang_et_al():
    rates = linear_drop_rates(5, 0.5)
    np.testing.assert_allclose(rates, [0.5 * block / 5 for block in range(1, 6)])
    assert linear_drop_rates(1, 0.2) == [0.2]
    with pytest.raises(ValueError, match="num_blocks must be a positive integer"):
        linear_drop_rates(0, 0.5)
    with pytest.raises(ValueError, match="max_rate must be a float in the range"):
        linear_drop_rates(4, 1.5)


def test_drop_connect_masks_weights_at_rate():
    rate = 0.4
    layer = DropConnectDense(200, rate=rate, use_bias=False, seed=4)
    layer.build((None, 50))
    kernel = np.asarray(layer.kernel)
    # With the identity as input, each output row is one row of the masked kernel.
    masked = np.asarray(layer(np.eye(50, dtype="float32"), training=True))
    zero = masked == 0
    assert abs(zero.mean() - rate) < 0.02  # 10000 weights: standard error 0.005
    np.testing.assert_allclose(masked[~zero], kernel[~zero] / (1 - rate), rtol=1e-5)


def test_drop_connect_inference_is_plain_dense():
    x = rng.normal(size=(3, 7)).astype("float32")
    layer = DropConnectDense(5, rate=0.5, activation="relu")
    layer.build(x.shape)
    kernel, bias = (np.asarray(w) for w in layer.weights)
    np.testing.assert_allclose(layer(x), np.maximum(x @ kernel + bias, 0), atol=1e-5)


@pytest.mark.parametrize("cls", [DropPath, StochasticDepth])
@pytest.mark.parametrize("rate", [1.0, -0.2, "0.1", True])
def test_rate_validated(cls, rate):
    with pytest.raises(ValueError, match="rate must be a float in the range"):
        cls(rate)


def test_drop_connect_rate_validated():
    with pytest.raises(ValueError, match="rate must be a float in the range"):
        DropConnectDense(4, rate=1.0)


def test_layers_keep_keras_dense_arguments():
    layer = DropConnectDense(3, rate=0.1, kernel_initializer="zeros", use_bias=False)
    layer.build((None, 2))
    assert layer.bias is None and not np.asarray(layer.kernel).any()
    assert isinstance(layer, keras.layers.Dense)
