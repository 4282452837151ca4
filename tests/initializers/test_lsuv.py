import keras
import numpy as np
import pytest

from keraslab.initializers import lsuv_init

rng = np.random.default_rng(0)
WIDTH, DEPTH = 64, 20


def _mlp(activation, initializer="glorot_uniform"):
    return keras.Sequential(
        [keras.Input((WIDTH,))]
        + [
            keras.layers.Dense(WIDTH, activation=activation, kernel_initializer=initializer)
            for _ in range(DEPTH)
        ]
    )


def _numpy_pre_activation_variances(model, x):
    """Independent forward pass in NumPy: the variance of x @ W + b at every layer."""
    variances = []
    for layer in model.layers:
        kernel, bias = (np.asarray(w, dtype="float64") for w in layer.weights)
        pre = x @ kernel + bias
        variances.append(pre.var())
        x = np.asarray(layer.activation(pre.astype("float32")), dtype="float64")
    return np.array(variances)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_lsuv_gives_unit_variance_where_glorot_drifts(activation):
    x = rng.normal(size=(512, WIDTH)).astype("float32")
    model = _mlp(activation)
    glorot = _numpy_pre_activation_variances(model, x)
    assert abs(glorot[-1] - 1.0) > 0.3  # plain Glorot drifts away from 1 with depth

    tol = 0.1
    report = lsuv_init(model, x, tol=tol, seed=0)
    after = _numpy_pre_activation_variances(model, x)
    assert np.all(np.abs(after - 1.0) <= tol + 1e-6), after
    assert [r.name for r in report] == [layer.name for layer in model.layers]
    np.testing.assert_allclose([r.variance_after for r in report], after, rtol=1e-4)
    assert all(r.converged for r in report)
    assert max(r.iterations for r in report) <= 10


def test_lsuv_starts_from_orthonormal_kernels():
    x = rng.normal(size=(256, WIDTH)).astype("float32")
    model = _mlp("tanh")
    lsuv_init(model, x, max_iter=1, tol=10.0)  # tol so loose that nothing is rescaled
    kernel = np.asarray(model.layers[3].kernel)
    np.testing.assert_allclose(kernel.T @ kernel, np.eye(WIDTH), atol=1e-4)


def test_variance_is_measured_before_a_fused_activation():
    x = rng.normal(size=(1024, 32)).astype("float32")
    model = keras.Sequential([keras.Input((32,)), keras.layers.Dense(32, activation="relu")])
    lsuv_init(model, x, tol=0.02)
    kernel, bias = (np.asarray(w) for w in model.layers[0].weights)
    pre = x @ kernel + bias
    assert abs(pre.var() - 1.0) <= 0.02
    assert np.maximum(pre, 0).var() < 0.5  # the post-ReLU variance is not what was set


def test_conv_nested_and_functional_models():
    inner = keras.Sequential(
        [keras.Input((8, 8, 8)), keras.layers.Conv2D(8, 3, padding="same", activation="relu")],
        name="inner",
    )
    inputs = keras.Input((8, 8, 3))
    h = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    h = inner(h)
    outputs = keras.layers.Dense(5)(keras.layers.Flatten()(h))
    model = keras.Model(inputs, outputs)
    x = rng.normal(size=(64, 8, 8, 3)).astype("float32")
    report = lsuv_init(model, x, tol=0.05)
    assert len(report) == 3 and all(r.converged for r in report)
    # check the last layer independently: its output variance on the batch
    assert abs(np.var(np.asarray(model(x))) - 1.0) <= 0.05


def test_works_on_a_model_built_in_a_strategy_scope(two_cpu_strategy):
    x = rng.normal(size=(256, WIDTH)).astype("float32")
    with two_cpu_strategy.scope():
        model = _mlp("relu")
    report = lsuv_init(model, x, tol=0.1)
    assert all(r.converged for r in report)
    after = _numpy_pre_activation_variances(model, x)
    assert np.all(np.abs(after - 1.0) <= 0.1 + 1e-6)


def test_errors_name_the_problem():
    x = rng.normal(size=(16, 4)).astype("float32")
    no_linear = keras.Sequential([keras.Input((4,)), keras.layers.Activation("relu")])
    with pytest.raises(ValueError, match="no Dense or Conv layer"):
        lsuv_init(no_linear, x)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4)])
    with pytest.raises(ValueError, match="x_batch is empty"):
        lsuv_init(model, x[:0])
    with pytest.raises(ValueError, match="tol must be positive"):
        lsuv_init(model, x, tol=0)
    with pytest.raises(ValueError, match="max_iter must be a positive integer"):
        lsuv_init(model, x, max_iter=0)


def test_report_prints_a_table():
    x = rng.normal(size=(64, 4)).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4, name="only")])
    text = str(lsuv_init(model, x))
    assert "only" in text and "var after" in text


def _assert_pairwise_different(kernels, what):
    for i in range(len(kernels)):
        for j in range(i + 1, len(kernels)):
            # Two independent orthogonal draws of this size differ by O(1) per entry; a shared
            # draw differs only by the per-layer rescaling (about 1e-8 after normalization).
            a, b = kernels[i] / np.linalg.norm(kernels[i]), kernels[j] / np.linalg.norm(kernels[j])
            assert np.max(np.abs(a - b)) > 1e-2, f"{what} {i} and {j} got the same matrix"


@pytest.mark.parametrize("seed", [0, None])
def test_same_shaped_dense_layers_get_different_matrices(seed):
    x = rng.normal(size=(256, WIDTH)).astype("float32")
    model = keras.Sequential(
        [keras.Input((WIDTH,))] + [keras.layers.Dense(WIDTH, activation="tanh") for _ in range(4)]
    )
    lsuv_init(model, x, seed=seed)
    _assert_pairwise_different([np.asarray(layer.kernel) for layer in model.layers], "Dense")


def test_same_shaped_conv_layers_get_different_matrices():
    x = rng.normal(size=(32, 8, 8, 8)).astype("float32")
    model = keras.Sequential(
        [keras.Input((8, 8, 8))]
        + [keras.layers.Conv2D(8, 3, padding="same", activation="relu") for _ in range(3)]
    )
    lsuv_init(model, x, seed=3)
    _assert_pairwise_different([np.asarray(layer.kernel) for layer in model.layers], "Conv2D")


def test_an_integer_seed_is_reproducible():
    x = rng.normal(size=(128, WIDTH)).astype("float32")
    kernels = []
    for _ in range(2):
        model = _mlp("tanh")
        lsuv_init(model, x, seed=7)
        kernels.append([np.asarray(layer.kernel) for layer in model.layers])
    for first, second in zip(*kernels, strict=True):
        np.testing.assert_array_equal(first, second)


def test_seed_must_be_an_integer():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4)])
    with pytest.raises(ValueError, match=r"seed must be an integer or None. Received: seed=1.5"):
        lsuv_init(model, rng.normal(size=(16, 4)).astype("float32"), seed=1.5)
