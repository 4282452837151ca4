"""GhostBatchNorm against Keras core's BatchNormalization applied to each virtual batch."""

import keras
import numpy as np
import pytest

from keraslab.layers import GhostBatchNorm, ghost_batch_moments

rng = np.random.default_rng(0)


def _randomize(layer):
    for weight in layer.trainable_weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32"))


def _keras_batch_norm_like(ours):
    return keras.layers.BatchNormalization(axis=ours.axis, momentum=ours.momentum, epsilon=ours.epsilon)


@pytest.mark.parametrize(
    "shape, virtual, axis",
    [
        ((32, 5, 6, 4), 8, -1),   # 4 slices of 8
        ((30, 5, 6, 4), 8, -1),   # 8, 8, 8 and a last slice of 6
        ((12, 4, 7, 3), 2, -1),   # slices of 2, non-square maps
        ((16, 3, 5, 7), 4, 1),    # channels first
        ((24, 10), 6, -1),        # dense features
    ],
)
def test_training_output_is_batch_norm_of_each_slice(shape, virtual, axis):
    x = (3.0 + 2.0 * rng.normal(size=shape)).astype("float32")
    ours = GhostBatchNorm(virtual, axis=axis)
    ours.build(shape)
    _randomize(ours)
    out = np.asarray(ours(x, training=True))
    for start in range(0, shape[0], virtual):
        core = _keras_batch_norm_like(ours)
        core.build((None,) + shape[1:])
        core.gamma.assign(ours.gamma)
        core.beta.assign(ours.beta)
        expected = np.asarray(core(x[start : start + virtual], training=True))
        np.testing.assert_allclose(out[start : start + virtual], expected, atol=2e-5)


def test_moving_statistics_are_those_of_the_whole_batch():
    # Oracle: Keras core's BatchNormalization trained on the same whole batches.
    ours, core = GhostBatchNorm(4, momentum=0.9), keras.layers.BatchNormalization(momentum=0.9)
    for step in range(3):
        x = (1.0 + step + 2.0 * rng.normal(size=(16, 3, 3, 5))).astype("float32")
        ours(x, training=True)
        core(x, training=True)
    np.testing.assert_allclose(ours.moving_mean, core.moving_mean, atol=1e-5)
    np.testing.assert_allclose(ours.moving_variance, core.moving_variance, atol=1e-5)
    x = rng.normal(size=(8, 3, 3, 5)).astype("float32")
    np.testing.assert_allclose(ours(x, training=False), core(x, training=False), atol=1e-5)


def test_moving_statistics_over_slices_are_those_a_batch_of_that_size_would_track():
    # Oracle: Keras core's BatchNormalization trained on each slice as its own batch, one
    # slice after another; with momentum 0 its moving statistics are the last slice's, so the
    # mean over slices is their plain mean (NumPy), and the biased variances shrink the estimate.
    x = rng.normal(1.0, 2.0, size=(16, 3, 3, 5)).astype("float32")
    ours = GhostBatchNorm(2, momentum=0.0, moving_statistics="slices")
    ours(x, training=True)
    means, variances = [], []
    for start in range(0, 16, 2):
        core = keras.layers.BatchNormalization(momentum=0.0)
        core(x[start : start + 2], training=True)
        means.append(np.asarray(core.moving_mean))
        variances.append(np.asarray(core.moving_variance))
    np.testing.assert_allclose(ours.moving_mean, np.mean(means, 0), atol=1e-5)
    np.testing.assert_allclose(ours.moving_variance, np.mean(variances, 0), atol=1e-5)
    whole = x.reshape(-1, 5).var(0)
    assert np.all(np.asarray(ours.moving_variance) < whole)


def test_a_virtual_batch_as_large_as_the_batch_is_batch_normalization():
    x = rng.normal(2.0, 3.0, size=(20, 6)).astype("float32")
    ours, core = GhostBatchNorm(64), keras.layers.BatchNormalization()
    np.testing.assert_allclose(ours(x, training=True), core(x, training=True), atol=2e-5)


def test_moments_function_matches_numpy():
    x = rng.normal(size=(10, 3, 4)).astype("float32")
    mean, variance = (np.asarray(t) for t in ghost_batch_moments(x, 4))
    for start in (0, 4, 8):
        part = x[start : start + 4].astype("float64")
        np.testing.assert_allclose(mean[start, 0], part.mean(axis=(0, 1)), atol=1e-6)
        np.testing.assert_allclose(variance[start, 0], part.var(axis=(0, 1)), atol=1e-5)


def test_smaller_slices_give_noisier_training_outputs():
    # The property the lab measures: the per-slice mean of the normalized output is exactly 0
    # for every slice, while the whole batch's statistics would leave slice means spread out.
    x = rng.normal(size=(64, 8)).astype("float32")
    out = np.asarray(GhostBatchNorm(4, center=False, scale=False)(x, training=True))
    np.testing.assert_allclose(out.reshape(16, 4, 8).mean(axis=1), 0.0, atol=1e-5)
    whole = np.asarray(GhostBatchNorm(64, center=False, scale=False)(x, training=True))
    assert whole.reshape(16, 4, 8).mean(axis=1).std() > 0.2


def test_mixed_float16_large_inputs_stay_finite():
    x = (70000.0 + 10.0 * rng.normal(size=(16, 6))).astype("float32")
    layer = GhostBatchNorm(4, dtype="mixed_float16")
    out = layer(x, training=True)
    assert out.dtype == "float16" and np.isfinite(np.asarray(out)).all()


def test_fit_save_and_load_with_a_partial_last_batch(tmp_path):
    model = keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(8), GhostBatchNorm(4), keras.layers.Dense(2)]
    )
    model.compile(optimizer="sgd", loss="mse", jit_compile=True)
    x, y = rng.normal(size=(30, 6)).astype("float32"), rng.normal(size=(30, 2)).astype("float32")
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0)  # batches of 16 and 14
    assert np.isfinite(history.history["loss"]).all()
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    np.testing.assert_array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))


def test_fit_under_mirrored_strategy(two_cpu_strategy):
    with two_cpu_strategy.scope():
        model = keras.Sequential(
            [keras.Input((6,)), keras.layers.Dense(8), GhostBatchNorm(2), keras.layers.Dense(2)]
        )
        model.compile(optimizer="sgd", loss="mse")
    x, y = rng.normal(size=(32, 6)).astype("float32"), rng.normal(size=(32, 2)).astype("float32")
    assert np.isfinite(model.fit(x, y, batch_size=8, epochs=1, verbose=0).history["loss"]).all()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"virtual_batch_size": 0}, "virtual_batch_size must be a positive integer. Received: virtual_batch_size=0"),
        ({"virtual_batch_size": 2.0}, "Received: virtual_batch_size=2.0"),
        ({"virtual_batch_size": 2, "momentum": 1.0}, "Received: momentum=1.0"),
        ({"virtual_batch_size": 2, "epsilon": 0}, "Received: epsilon=0"),
        ({"virtual_batch_size": 2, "moving_statistics": "slice"}, "Received: moving_statistics='slice'"),
    ],
)
def test_bad_arguments_name_the_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GhostBatchNorm(**kwargs)
