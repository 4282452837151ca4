import keras
import numpy as np
import pytest

from keraslab.layers import GroupNorm, InstanceNorm

rng = np.random.default_rng(0)


def _randomize(layer):
    for weight in layer.weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32"))


@pytest.mark.parametrize(
    "shape, groups, axis",
    [
        ((4, 6, 6, 32), 32, -1),
        ((4, 6, 6, 32), 4, -1),
        ((4, 6, 6, 32), 1, -1),
        ((4, 6, 6, 32), -1, -1),
        ((4, 32, 5, 7), 8, 1),
        ((3, 10, 12), 3, -1),
        ((5, 16), 4, -1),
    ],
)
@pytest.mark.parametrize("epsilon", [1e-5, 1e-3])
def test_matches_keras_group_normalization(shape, groups, axis, epsilon):
    x = (3.0 + 2.0 * rng.normal(size=shape)).astype("float32")
    ours = GroupNorm(groups=groups, axis=axis, epsilon=epsilon)
    core = keras.layers.GroupNormalization(groups=groups, axis=axis, epsilon=epsilon)
    ours.build(shape)
    core.build(shape)
    _randomize(ours)
    core.set_weights(ours.get_weights())
    np.testing.assert_allclose(ours(x), core(x), atol=1e-5, rtol=0)


def test_one_group_is_layer_norm_over_all_features():
    x = rng.normal(size=(3, 4, 4, 8)).astype("float32")
    y = np.asarray(GroupNorm(groups=1, epsilon=1e-5)(x))
    flat = x.reshape(3, -1)
    expected = (flat - flat.mean(1, keepdims=True)) / np.sqrt(flat.var(1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(y.reshape(3, -1), expected, atol=1e-5)


def test_instance_norm_matches_numpy_formula():
    x = (1.0 + 5.0 * rng.normal(size=(2, 7, 9, 3))).astype("float32")
    layer = InstanceNorm(epsilon=1e-5)
    layer.build(x.shape)
    gamma, beta = rng.normal(size=3).astype("float32"), rng.normal(size=3).astype("float32")
    layer.set_weights([gamma, beta])
    mean = x.mean(axis=(1, 2), keepdims=True)
    var = x.var(axis=(1, 2), keepdims=True)
    expected = (x - mean) / np.sqrt(var + 1e-5) * gamma + beta
    np.testing.assert_allclose(layer(x), expected, atol=1e-5)


def test_instance_norm_channels_first():
    x = rng.normal(size=(2, 3, 5, 6)).astype("float32")
    y = np.asarray(InstanceNorm(axis=1, center=False, scale=False)(x))
    np.testing.assert_allclose(y.mean(axis=(2, 3)), 0.0, atol=1e-5)
    np.testing.assert_allclose(y.std(axis=(2, 3)), 1.0, atol=1e-3)


def test_output_does_not_depend_on_batch_composition():
    x = rng.normal(size=(6, 4, 4, 8)).astype("float32")
    layer = GroupNorm(groups=2)
    np.testing.assert_allclose(layer(x)[:1], layer(x[:1]), atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, shape, message",
    [
        ({"groups": 0}, None, "groups must be a positive integer or -1"),
        ({"groups": 2.5}, None, "groups must be a positive integer or -1"),
        ({"groups": 3}, (2, 4, 4, 8), "groups must divide the number of channels"),
        ({"groups": 4, "epsilon": 0.0}, None, "epsilon must be positive"),
        ({"groups": 2, "axis": 4}, (2, 4, 4, 8), "out of bounds"),
        ({"groups": 2}, (8,), "rank >= 2"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, shape, message):
    with pytest.raises(ValueError, match=message):
        layer = GroupNorm(**kwargs)
        layer.build(shape)


def test_instance_norm_needs_spatial_axes():
    with pytest.raises(ValueError, match="rank >= 3"):
        InstanceNorm().build((4, 8))


def _numpy_group_norm(x, groups, epsilon):
    """Float64 oracle for channels-last inputs with gamma = 1 and beta = 0."""
    x = np.asarray(x, dtype="float64")
    grouped = x.reshape(x.shape[:-1] + (groups, x.shape[-1] // groups))
    axes = tuple(range(1, x.ndim - 1)) + (x.ndim,)
    mean = grouped.mean(axis=axes, keepdims=True)
    var = grouped.var(axis=axes, keepdims=True)
    return ((grouped - mean) / np.sqrt(var + epsilon)).reshape(x.shape)


NORMALIZATIONS = {
    "GroupNorm": (lambda **kw: GroupNorm(groups=2, **kw), 2),
    "InstanceNorm": (lambda **kw: InstanceNorm(**kw), 4),
}


@pytest.mark.parametrize("name", sorted(NORMALIZATIONS))
@pytest.mark.parametrize("mean, std", [(70000.0, 10.0), (1000.0, 1.0), (0.0, 1e-2)])
def test_mixed_float16_large_inputs_match_float64_numpy(name, mean, std):
    # float32 inputs beyond float16's range (70000 > 65504) or with a large mean must not be
    # cast to float16 before the statistics are taken: the result is in float16, but from
    # float32 statistics.
    make, groups = NORMALIZATIONS[name]
    x = (mean + std * rng.normal(size=(4, 5, 6, 4))).astype("float32")
    layer = make(dtype="mixed_float16")
    y = layer(x)
    assert y.dtype == "float16"
    expected = _numpy_group_norm(x, groups, layer.epsilon)
    y = np.asarray(y, dtype="float64")
    assert np.isfinite(y).all()
    # float16 keeps about 3 decimal digits: 4e-3 absolute on values of a few units.
    np.testing.assert_allclose(y, expected, atol=4e-3)


@pytest.mark.parametrize("name", sorted(NORMALIZATIONS))
def test_mixed_float16_fit_on_large_inputs_stays_finite(name):
    make, _ = NORMALIZATIONS[name]
    model = keras.Sequential(
        [keras.Input((5, 6, 4)), make(dtype="mixed_float16"), keras.layers.Flatten(),
         keras.layers.Dense(1, dtype="mixed_float16")]
    )
    model.compile(optimizer="sgd", loss="mse")
    x = (70000.0 + 10.0 * rng.normal(size=(8, 5, 6, 4))).astype("float32")
    assert np.isfinite(model.predict(x, verbose=0)).all()
    history = model.fit(x, np.zeros((8, 1), "float32"), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_instance_norm_refuses_a_number_of_groups():
    with pytest.raises(ValueError, match=r"use GroupNorm\(groups=...\). Received: groups=4"):
        InstanceNorm(groups=4)
    assert InstanceNorm(groups=-1).groups == -1  # the one value that means what it says
    assert "groups" not in InstanceNorm().get_config()
