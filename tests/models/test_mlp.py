import numpy as np
import pytest

from keraslab.models import build_mlp, make_initializer


def _hidden_kernels(model):
    return [model.get_layer(f"dense_{i}").kernel.numpy() for i in range(1, 11)]


def test_ten_hidden_layers_and_output():
    model = build_mlp((28, 28, 1), 10)
    assert len(_hidden_kernels(model)) == 10
    assert model.output_shape == (None, 10)


def test_zero_init_gives_identical_units():
    model = build_mlp((8, 8, 1), 10, width=32, initializer="zeros")
    assert all(np.all(k == 0) for k in _hidden_kernels(model))
    out = model(np.random.default_rng(0).normal(size=(4, 8, 8, 1)).astype("float32")).numpy()
    np.testing.assert_allclose(out, 0.1, atol=1e-6)  # symmetric: uniform prediction


@pytest.mark.parametrize("name,var", [("he", lambda i, o: 2 / i), ("xavier", lambda i, o: 2 / (i + o)),
                                      ("small_random", lambda i, o: 1e-4)])
def test_initializer_variance_matches_formula(name, var):
    model = build_mlp((256,), 10, width=256, initializer=name, seed=1)
    k = np.concatenate([w.ravel() for w in _hidden_kernels(model)[1:]])  # 256 -> 256 layers
    # 9 * 65536 samples: the relative standard error of the empirical variance is about
    # sqrt(2 / 589824) = 0.2%, so it is within 2% of the target. (Keras's He and Glorot
    # normals are truncated at 2 std and rescaled so that the variance is still the target.)
    target = var(256, 256)
    assert abs(k.var() / target - 1) < 0.02


def test_layers_get_different_seeds():
    k = _hidden_kernels(build_mlp((64,), 10, width=64, initializer="he"))
    assert not np.allclose(k[1], k[2])


def test_normalization_inserts_layers_and_drops_bias():
    model = build_mlp((16,), 3, depth=3, width=8, normalization="batch")
    assert [layer.name for layer in model.layers if layer.name.startswith("norm_")] == ["norm_1", "norm_2", "norm_3"]
    assert model.get_layer("dense_1").bias is None


def test_errors():
    with pytest.raises(ValueError, match="depth"):
        build_mlp((4,), 2, depth=0)
    with pytest.raises(ValueError, match="normalization"):
        build_mlp((4,), 2, normalization="group")
    with pytest.raises(ValueError, match="initializer"):
        make_initializer("wobbly")
