"""BatchNorm's statistics re-estimated after training, against NumPy moments of each layer's input."""

import keras
import numpy as np
import pytest

from keraslab.diagnostics import batch_norm_layers, recalibrate_batch_norm
from keraslab.layers import GhostBatchNorm

rng = np.random.default_rng(0)


def _model(norm):
    inputs = keras.Input((6, 6, 2))
    x = keras.layers.Conv2D(3, 3, padding="same", name="conv_a")(inputs)
    x = norm("a")(x)
    x = keras.layers.Conv2D(4, 3, padding="same", name="conv_b")(keras.layers.ReLU()(x))
    x = norm("b")(x)
    return keras.Model(inputs, x)


@pytest.mark.parametrize("norm", [
    lambda name: GhostBatchNorm(2, moving_statistics="slices", name=f"norm_{name}"),
    lambda name: keras.layers.BatchNormalization(name=f"norm_{name}"),
])
def test_moving_statistics_become_the_moments_of_each_layers_input(norm):
    model = _model(norm)
    images = rng.normal(1.0, 2.0, size=(64, 6, 6, 2)).astype("float32")
    model(rng.normal(size=(8, 6, 6, 2)).astype("float32"), training=True)  # some other statistics first
    assert recalibrate_batch_norm(model, images) == 2
    first = np.asarray(model.get_layer("conv_a")(images))
    a = model.get_layer("norm_a")
    np.testing.assert_allclose(a.moving_mean, first.mean((0, 1, 2)), atol=1e-4)
    np.testing.assert_allclose(a.moving_variance, first.var((0, 1, 2)), rtol=1e-3)
    # The second layer's input is computed with the first already re-estimated.
    second = np.asarray(model.get_layer("conv_b")(np.maximum(np.asarray(a(first, training=False)), 0)))
    b = model.get_layer("norm_b")
    np.testing.assert_allclose(b.moving_mean, second.mean((0, 1, 2)), atol=1e-4)
    np.testing.assert_allclose(b.moving_variance, second.var((0, 1, 2)), rtol=1e-3)
    # Training settings come back.
    assert a.momentum == 0.99
    if isinstance(a, GhostBatchNorm):
        assert (a.virtual_batch_size, a.moving_statistics) == (2, "slices")


def test_nested_models_are_searched_and_bad_images_are_named():
    inner = _model(lambda name: GhostBatchNorm(2, name=f"norm_{name}"))
    outer = keras.Sequential([keras.Input((6, 6, 2)), inner, keras.layers.BatchNormalization()])
    assert len(batch_norm_layers(outer)) == 3
    with pytest.raises(ValueError, match=r"Received: shape=\(1, 6, 6, 2\)"):
        recalibrate_batch_norm(outer, np.zeros((1, 6, 6, 2), "float32"))
