import keras
import numpy as np
import pytest

from keraslab.diagnostics import (
    ActivationStatsCallback,
    GradientNormCallback,
    activation_statistics,
)
from keraslab.models import build_mlp


def test_gradient_norm_matches_softmax_regression_formula():
    """For softmax regression with cross-entropy, dL/dW = X^T (P - Y) / n."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 6)).astype("float32")
    y = np.eye(3)[rng.integers(0, 3, 32)].astype("float32")
    inputs = keras.Input((6,))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax", name="dense")(inputs))
    model.compile("sgd", "categorical_crossentropy")
    w, b = (v.numpy() for v in model.get_layer("dense").weights)
    logits = x @ w + b
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    expected = np.linalg.norm(x.T @ (p - y) / len(x))
    cb = GradientNormCallback(x, y)
    cb.set_model(model)
    assert cb.compute()["dense"] == pytest.approx(expected, rel=1e-4)


def test_gradient_norms_recorded_each_epoch_and_vanish_with_zero_init():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 8)).astype("float32")
    y = np.eye(4)[rng.integers(0, 4, 64)].astype("float32")
    model = build_mlp((8,), 4, depth=3, width=16, initializer="zeros")
    model.compile(keras.optimizers.SGD(0.1), "categorical_crossentropy")
    cb = GradientNormCallback(x[:32], y[:32])
    model.fit(x, y, epochs=2, batch_size=32, verbose=0, callbacks=[cb])
    assert [r["epoch"] for r in cb.records] == [0, 1, 2]
    norms = cb.records[0]["norms"]
    assert set(norms) == {"dense_1", "dense_2", "dense_3", "output"}
    # Zero init: hidden kernels get exactly zero gradient (all activations are 0 downstream).
    assert norms["dense_1"] == 0.0 and norms["dense_2"] == 0.0


def test_activation_statistics_match_numpy():
    v = np.random.default_rng(2).normal(size=(50, 10))
    s = activation_statistics(v, bins=5)
    assert s["mean"] == pytest.approx(v.mean()) and s["std"] == pytest.approx(v.std())
    assert sum(s["hist_counts"]) == v.size and len(s["hist_edges"]) == 6


def test_dead_relu_fraction_of_a_rigged_layer():
    """Half of the units get a large negative bias: they never fire on the batch."""
    inputs = keras.Input((4,))
    dense = keras.layers.Dense(8, activation="relu", name="dense_1")
    model = keras.Model(inputs, keras.layers.Dense(2, name="output")(dense(inputs)))
    dense.set_weights([np.full((4, 8), 0.1, "float32"), np.array([-100.0] * 4 + [100.0] * 4, "float32")])
    cb = ActivationStatsCallback(np.random.default_rng(3).normal(size=(20, 4)).astype("float32"))
    cb.set_model(model)
    stats = cb.compute()
    assert list(stats) == ["dense_1"]
    assert stats["dense_1"]["dead_fraction"] == 0.5


def test_activation_callback_on_mlp_shows_tanh_saturation_order():
    """Small random init shrinks tanh activations layer after layer (std decreases)."""
    x = np.random.default_rng(4).normal(size=(128, 32)).astype("float32")
    model = build_mlp((32,), 10, depth=6, width=64, activation="tanh", initializer="small_random")
    cb = ActivationStatsCallback(x)
    cb.set_model(model)
    stds = [cb.compute()[f"dense_{i}"]["std"] for i in range(1, 7)]
    assert all(a > b for a, b in zip(stds, stds[1:], strict=False))


def test_batch_loss_callback_recovers_each_batch_loss():
    """With a learning rate of 0 the weights never change, so the loss of batch k is the
    model's mean squared error on that batch, computed here in NumPy."""
    from keraslab.diagnostics import BatchLossCallback

    rng = np.random.default_rng(1)
    x = rng.normal(size=(48, 5)).astype("float32")
    y = rng.normal(size=(48, 1)).astype("float32")
    inputs = keras.Input((5,))
    model = keras.Model(inputs, keras.layers.Dense(1, name="dense")(inputs))
    model.compile(keras.optimizers.SGD(0.0), "mse")
    w, b = (v.numpy() for v in model.get_layer("dense").weights)
    expected = [float(np.mean((x[i:i + 8] @ w + b - y[i:i + 8]) ** 2)) for i in range(0, 48, 8)]
    cb = BatchLossCallback()
    model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0, callbacks=[cb])
    assert len(cb.epochs) == 2 and len(cb.noise) == 2
    np.testing.assert_allclose(cb.epochs[-1], expected, rtol=1e-4, atol=1e-5)


def test_loss_noise_estimates_the_noise_around_a_trend():
    """A decaying trend plus independent noise of std 0.05: the estimate is within 10%,
    while the plain standard deviation is dominated by the trend."""
    from keraslab.diagnostics import batch_losses_from_running_means, loss_noise

    rng = np.random.default_rng(2)
    steps = np.arange(4000)
    losses = 2.0 * np.exp(-steps / 1500) + rng.normal(0, 0.05, steps.size)
    assert loss_noise(losses) == pytest.approx(0.05, rel=0.1)
    assert np.std(losses) > 5 * 0.05
    running = np.cumsum(losses) / (steps + 1)
    np.testing.assert_allclose(batch_losses_from_running_means(running), losses, atol=1e-9)
    assert np.isnan(loss_noise([1.0, 2.0]))
