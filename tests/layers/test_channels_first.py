"""Every layer that has an image layout, run under a global `channels_first` setting.

Keras ops such as `max_pool` follow `keras.config.image_data_format()` unless told otherwise,
so a layer that builds an internal tensor in one layout must pass `data_format` to every op.
The oracle is exact: with the same seed, a layer on channels-first maps must give the
transpose of the same layer on the channels-last maps. The maps are non-square (17 x 23) so
that a swapped height and width cannot pass.
"""

import keras
import numpy as np
import pytest

from keraslab import layers as kl

rng = np.random.default_rng(0)
BATCH, CHANNELS, HEIGHT, WIDTH = 6, 3, 17, 23
TO_FIRST, TO_LAST = (0, 3, 1, 2), (0, 2, 3, 1)


@pytest.fixture
def global_channels_first():
    previous = keras.config.image_data_format()
    keras.config.set_image_data_format("channels_first")
    yield
    keras.config.set_image_data_format(previous)


def _images_last():
    return rng.uniform(0.5, 1.5, size=(BATCH, HEIGHT, WIDTH, CHANNELS)).astype("float32")


# Each factory builds the layer for one layout; data_format=None means "take the global one".
RANDOM_LAYERS = {
    "DropBlock2D shared": lambda fmt: kl.DropBlock2D(0.3, 5, data_format=fmt, seed=3),
    "DropBlock2D per channel": lambda fmt: kl.DropBlock2D(
        0.3, (3, 7), data_format=fmt, shared_across_channels=False, seed=3
    ),
    "Cutout": lambda fmt: kl.Cutout((5, 9), data_format=fmt, seed=3),
}


@pytest.mark.parametrize("name", sorted(RANDOM_LAYERS))
def test_random_layer_under_global_channels_first_is_the_transpose(name, global_channels_first):
    x_last = _images_last()
    first = RANDOM_LAYERS[name](None)  # picks channels_first up from the global setting
    assert first.data_format == "channels_first"
    out_first = np.asarray(first(np.transpose(x_last, TO_FIRST), training=True))
    out_last = np.asarray(RANDOM_LAYERS[name]("channels_last")(x_last, training=True))
    assert (out_last == 0).any()  # something was dropped or erased
    np.testing.assert_array_equal(np.transpose(out_first, TO_LAST), out_last)


@pytest.mark.parametrize("name", sorted(RANDOM_LAYERS))
def test_random_layer_in_a_channels_first_model_fits(name, global_channels_first):
    inputs = keras.Input((CHANNELS, HEIGHT, WIDTH))
    x = RANDOM_LAYERS[name](None)(inputs)
    x = keras.layers.Conv2D(4, 3, padding="same")(x)  # channels_first from the global setting
    outputs = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="mse")
    x_first = np.transpose(_images_last(), TO_FIRST)
    history = model.fit(x_first, np.zeros((BATCH, 2), "float32"), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_cutmix_under_global_channels_first_is_the_transpose(global_channels_first):
    x_last = _images_last()
    labels = np.eye(BATCH, dtype="float32")
    layer = kl.CutMix(alpha=1.0, seed=4)
    assert layer.data_format == "channels_first"
    images_first, labels_first = layer((np.transpose(x_last, TO_FIRST), labels))
    images_last, labels_last = kl.CutMix(alpha=1.0, data_format="channels_last", seed=4)(
        (x_last, labels)
    )
    np.testing.assert_array_equal(np.transpose(np.asarray(images_first), TO_LAST), images_last)
    np.testing.assert_array_equal(labels_first, labels_last)
    assert not np.allclose(labels_last, labels)


def test_mixup_is_layout_free_under_global_channels_first(global_channels_first):
    x_last = _images_last()
    labels = np.eye(BATCH, dtype="float32")
    images_first, labels_first = kl.MixUp(alpha=1.0, seed=4)((np.transpose(x_last, TO_FIRST), labels))
    with_last = kl.MixUp(alpha=1.0, seed=4)((x_last, labels))
    np.testing.assert_allclose(np.transpose(np.asarray(images_first), TO_LAST), with_last[0])
    np.testing.assert_array_equal(labels_first, with_last[1])


@pytest.mark.parametrize(
    "make", [lambda axis: kl.GroupNorm(groups=3, axis=axis), lambda axis: kl.InstanceNorm(axis=axis)],
    ids=["GroupNorm", "InstanceNorm"],
)
def test_normalization_on_the_channels_first_axis_is_the_transpose(make, global_channels_first):
    x_last = rng.normal(2.0, 3.0, size=(BATCH, HEIGHT, WIDTH, 6)).astype("float32")
    out_first = np.asarray(make(1)(np.transpose(x_last, TO_FIRST)))
    out_last = np.asarray(make(-1)(x_last))
    np.testing.assert_allclose(np.transpose(out_first, TO_LAST), out_last, atol=1e-5)


def test_weight_norm_of_a_conv_built_channels_first(global_channels_first):
    x_last = _images_last()
    wrapped_first = kl.WeightNorm(keras.layers.Conv2D(4, 3, padding="same"))
    out_first = np.asarray(wrapped_first(np.transpose(x_last, TO_FIRST)))
    conv_last = keras.layers.Conv2D(4, 3, padding="same", data_format="channels_last")
    wrapped_last = kl.WeightNorm(conv_last)
    wrapped_last.build(x_last.shape)
    wrapped_last.set_weights(wrapped_first.get_weights())
    np.testing.assert_allclose(
        np.transpose(out_first, TO_LAST), np.asarray(wrapped_last(x_last)), atol=1e-5
    )
    wrapped_first.initialize_from_data(np.transpose(x_last, TO_FIRST))
    pre = np.asarray(wrapped_first(np.transpose(x_last, TO_FIRST)))
    np.testing.assert_allclose(pre.mean(axis=(0, 2, 3)), 0.0, atol=1e-4)
    np.testing.assert_allclose(pre.std(axis=(0, 2, 3)), 1.0, atol=1e-3)


@pytest.mark.parametrize("cls", [kl.DropBlock2D, kl.Cutout, kl.CutMix])
def test_bad_data_format_names_the_value(cls):
    args = {kl.DropBlock2D: (0.1, 3), kl.Cutout: (3,), kl.CutMix: ()}[cls]
    with pytest.raises(ValueError, match="Received: data_format='NHWC'"):
        cls(*args, data_format="NHWC")
