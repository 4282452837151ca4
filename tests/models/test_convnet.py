import keras
import numpy as np
import pytest

from keraslab.layers import DropBlock2D, GhostBatchNorm, GroupNorm, InstanceNorm
from keraslab.models import build_convnet

NORM_TYPES = {"batch": keras.layers.BatchNormalization, "layer": GroupNorm,
              "group": GroupNorm, "instance": InstanceNorm}


@pytest.mark.parametrize("norm", ["none", "batch", "layer", "group", "instance"])
def test_normalization_is_one_argument(norm):
    model = build_convnet((16, 16, 3), 4, normalization=norm, filters=(8, 8, 16, 16, 16))
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(convs) == 5
    norms = [layer for layer in model.layers if layer.name.startswith("norm_")]
    if norm == "none":
        assert norms == [] and all(c.use_bias for c in convs)
    else:
        assert len(norms) == 5 and all(isinstance(n, NORM_TYPES[norm]) for n in norms)
        assert not any(c.use_bias for c in convs)
    out = model(np.random.default_rng(0).normal(size=(2, 16, 16, 3)).astype("float32")).numpy()
    np.testing.assert_allclose(out.sum(1), 1.0, rtol=1e-5)


def test_layer_norm_is_over_all_features_of_a_sample_with_parameters_per_channel():
    # Oracle: Keras core's LayerNormalization over (height, width, channels), whose scale and
    # offset are per position; at their initial values (1 and 0) the two must agree.
    model = build_convnet((8, 8, 3), 2, normalization="layer", filters=(4,) * 5)
    ours = model.get_layer("norm_1")
    x = np.random.default_rng(1).normal(2.0, 3.0, size=(3, 8, 8, 4)).astype("float32")
    core = keras.layers.LayerNormalization(axis=[1, 2, 3], epsilon=ours.epsilon)
    np.testing.assert_allclose(ours(x), core(x), atol=1e-4)
    assert [tuple(w.shape) for w in ours.trainable_weights] == [(4,), (4,)]
    assert [tuple(w.shape) for w in core.trainable_weights] == [(8, 8, 4), (8, 8, 4)]


def test_group_norm_predictions_do_not_depend_on_batch():
    model = build_convnet((16, 16, 3), 4, normalization="group", filters=(8, 8, 16, 16, 16), groups=4)
    x = np.random.default_rng(1).normal(size=(6, 16, 16, 3)).astype("float32")
    full = model(x, training=True).numpy()
    alone = model(x[:1], training=True).numpy()
    np.testing.assert_allclose(full[:1], alone, atol=1e-5)


def test_virtual_batches_normalize_each_slice_on_its_own():
    """With virtual batches of 2, in training, the first two images come out as if they were the
    whole batch; with plain batch norm they do not."""
    x = np.random.default_rng(2).normal(size=(8, 16, 16, 3)).astype("float32")
    x[2:] = 3.0 * x[2:] + 1.0  # the other slices have other statistics
    ghost = build_convnet((16, 16, 3), 4, normalization="batch", filters=(8, 8, 16, 16, 16), virtual_batch_size=2)
    norms = [layer for layer in ghost.layers if layer.name.startswith("norm_")]
    assert len(norms) == 5 and all(isinstance(n, GhostBatchNorm) and n.virtual_batch_size == 2 for n in norms)
    np.testing.assert_allclose(ghost(x, training=True).numpy()[:2], ghost(x[:2], training=True).numpy(), atol=1e-5)
    plain = build_convnet((16, 16, 3), 4, normalization="batch", filters=(8, 8, 16, 16, 16))
    assert np.abs(plain(x, training=True).numpy()[:2] - plain(x[:2], training=True).numpy()).max() > 1e-3


def test_virtual_batch_size_is_for_batch_norm_only():
    with pytest.raises(ValueError, match=r"Received: virtual_batch_size=2, normalization='group'"):
        build_convnet((16, 16, 3), 4, normalization="group", filters=(8,) * 5, groups=4, virtual_batch_size=2)
    with pytest.raises(ValueError, match=r"Received: virtual_batch_size=0"):
        build_convnet((16, 16, 3), 4, normalization="batch", filters=(8,) * 5, virtual_batch_size=0)


def test_dropblock_regularizer_and_errors():
    model = build_convnet((32, 32, 3), 10, regularizer="dropblock", rate=0.3, block_size=7)
    assert sum(isinstance(layer, DropBlock2D) for layer in model.layers) == 2
    with pytest.raises(ValueError, match="filters"):
        build_convnet((32, 32, 3), 10, filters=(8, 8))
    with pytest.raises(ValueError, match="normalization"):
        build_convnet((32, 32, 3), 10, normalization="weight")
    with pytest.raises(ValueError, match="groups"):
        build_convnet((32, 32, 3), 10, normalization="group", filters=(6,) * 5, groups=4)


def test_drop_stages_puts_the_regularizer_after_the_first_pooling_stages_only():
    # 28x28 input: pooling stages give 14x14, 7x7 and 3x3 maps; one stage: the 14x14 map only.
    model = build_convnet((28, 28, 1), 10, filters=(8,) * 6, regularizer="dropblock", rate=0.3, drop_stages=1)
    dropped = [layer for layer in model.layers if isinstance(layer, DropBlock2D)]
    assert [tuple(layer.input.shape[1:3]) for layer in dropped] == [(14, 14)]
    default = build_convnet((28, 28, 1), 10, filters=(8,) * 6, regularizer="spatial", rate=0.3)
    assert sum(isinstance(layer, keras.layers.SpatialDropout2D) for layer in default.layers) == 2
    for bad in (0, 3):  # 3 pooling stages: the last is never followed by the regularizer
        with pytest.raises(ValueError, match=rf"Received: drop_stages={bad}"):
            build_convnet((28, 28, 1), 10, filters=(8,) * 6, regularizer="dropout", rate=0.3, drop_stages=bad)


def test_drop_stages_is_a_run_setting():
    from keraslab.train.config import RunConfig
    from keraslab.train.experiment import build_model

    cfg = RunConfig.from_dict({"model": "convnet", "filters": [8] * 6, "regularizer": "dropout", "rate": 0.2,
                               "drop_stages": 1})
    model = build_model(cfg, (28, 28, 1), 10)
    assert [layer.name for layer in model.layers if isinstance(layer, keras.layers.Dropout)] == ["drop_1"]
    with pytest.raises(ValueError, match=r"Received: drop_stages=0"):
        RunConfig.from_dict({"drop_stages": 0})
