import keras
import numpy as np
import pytest

from keraslab.layers import StochasticDepth
from keraslab.models import build_resnet


def test_zero_init_residual_zeroes_last_bn_gamma():
    model = build_resnet((16, 16, 3), 10, blocks_per_stage=(1, 1), filters=(8, 16))
    for prefix in ("stage1_block1", "stage2_block1"):
        np.testing.assert_array_equal(model.get_layer(f"{prefix}_norm2").gamma.numpy(), 0.0)
        assert np.abs(model.get_layer(f"{prefix}_conv2").kernel.numpy()).sum() > 0
        np.testing.assert_array_equal(model.get_layer(f"{prefix}_norm1").gamma.numpy(), 1.0)


@pytest.mark.parametrize("norm", ["batch", "none"])
def test_blocks_start_as_identity(norm):
    """At initialization each block outputs relu(shortcut): the residual branch is zero."""
    model = build_resnet((16, 16, 3), 10, blocks_per_stage=(2,), filters=(8,), normalization=norm)
    x = np.random.default_rng(0).normal(size=(4, 16, 16, 3)).astype("float32")
    probe = keras.Model(model.inputs, [model.get_layer("stem_act").output,
                                       model.get_layer("stage1_block2_out").output])
    stem, out = probe(x, training=False)
    # stem output is already >= 0, so relu(relu(stem)) == stem.
    np.testing.assert_allclose(out.numpy(), stem.numpy(), atol=1e-6)


def test_without_zero_init_blocks_are_not_identity():
    model = build_resnet((16, 16, 3), 10, blocks_per_stage=(1,), filters=(8,), zero_init_residual=False)
    probe = keras.Model(model.inputs, [model.get_layer("stem_act").output, model.get_layer("stage1_block1_out").output])
    stem, out = probe(np.ones((1, 16, 16, 3), "float32"))
    assert np.abs(out.numpy() - stem.numpy()).max() > 1e-3


def test_stochastic_depth_linear_schedule():
    model = build_resnet((16, 16, 3), 10, blocks_per_stage=(2, 2), filters=(8, 16), stochastic_depth=0.4)
    layers = [layer for layer in model.layers if isinstance(layer, StochasticDepth)]
    np.testing.assert_allclose([layer.rate for layer in layers], [0.1, 0.2, 0.3, 0.4])


def test_inference_is_deterministic_with_stochastic_depth():
    model = build_resnet((16, 16, 3), 10, blocks_per_stage=(1, 1), filters=(8, 16), stochastic_depth=0.5,
                         zero_init_residual=False)
    x = np.random.default_rng(1).normal(size=(2, 16, 16, 3)).astype("float32")
    np.testing.assert_allclose(model(x).numpy(), model(x).numpy())


def test_errors():
    with pytest.raises(ValueError, match="stochastic_depth"):
        build_resnet((16, 16, 3), 10, stochastic_depth=1.0)
    with pytest.raises(ValueError, match="blocks_per_stage"):
        build_resnet((16, 16, 3), 10, blocks_per_stage=(1,), filters=(8, 16))
