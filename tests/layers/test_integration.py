"""Every layer inside Keras's machinery: save/load, XLA, mixed precision, MirroredStrategy,
tf.data, and inference behaviour inside `predict`."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from keraslab import layers as kl

rng = np.random.default_rng(0)
IMAGE_SHAPE = (8, 8, 4)
LOSS = keras.losses.CategoricalCrossentropy(from_logits=True)


def _conv_model(make_layer, dtype=None):
    inputs = keras.Input(IMAGE_SHAPE)
    x = keras.layers.Conv2D(8, 3, padding="same", dtype=dtype)(inputs)
    x = make_layer(dtype)(x)
    x = keras.layers.GlobalAveragePooling2D(dtype=dtype)(x)
    return keras.Model(inputs, keras.layers.Dense(3, dtype=dtype)(x))


def _image_model(make_layer, dtype=None):
    inputs = keras.Input(IMAGE_SHAPE)
    x = make_layer(dtype)(inputs)
    x = keras.layers.Conv2D(8, 3, padding="same", dtype=dtype)(x)
    x = keras.layers.GlobalAveragePooling2D(dtype=dtype)(x)
    return keras.Model(inputs, keras.layers.Dense(3, dtype=dtype)(x))


def _residual_model(_, dtype=None):
    inputs = keras.Input(IMAGE_SHAPE)
    x = keras.layers.Conv2D(8, 3, padding="same", dtype=dtype)(inputs)
    branch = keras.layers.Conv2D(8, 3, padding="same", dtype=dtype)(x)
    x = kl.StochasticDepth(0.3, seed=1, dtype=dtype)([x, branch])
    x = keras.layers.GlobalAveragePooling2D(dtype=dtype)(x)
    return keras.Model(inputs, keras.layers.Dense(3, dtype=dtype)(x))


def _dense_model(_, dtype=None):
    inputs = keras.Input(IMAGE_SHAPE)
    x = keras.layers.Flatten(dtype=dtype)(inputs)
    x = kl.DropConnectDense(16, rate=0.3, activation="relu", seed=1, dtype=dtype)(x)
    return keras.Model(inputs, keras.layers.Dense(3, dtype=dtype)(x))


MODELS = {
    "GroupNorm": lambda d: _conv_model(lambda dt: kl.GroupNorm(4, dtype=dt), d),
    "InstanceNorm": lambda d: _conv_model(lambda dt: kl.InstanceNorm(dtype=dt), d),
    "GhostBatchNorm": lambda d: _conv_model(lambda dt: kl.GhostBatchNorm(4, dtype=dt), d),
    "WeightNorm": lambda d: _conv_model(
        lambda dt: kl.WeightNorm(keras.layers.Conv2D(8, 3, padding="same", dtype=dt), dtype=dt), d
    ),
    "DropBlock2D": lambda d: _conv_model(lambda dt: kl.DropBlock2D(0.2, 3, seed=1, dtype=dt), d),
    "DropPath": lambda d: _conv_model(lambda dt: kl.DropPath(0.3, seed=1, dtype=dt), d),
    "StochasticDepth": lambda d: _residual_model(None, d),
    "DropConnectDense": lambda d: _dense_model(None, d),
    "Cutout": lambda d: _image_model(lambda dt: kl.Cutout(3, seed=1, dtype=dt), d),
}


def _layer_under_test(model):
    """The one keraslab layer of a test model (its position differs between the models)."""
    (layer,) = [layer for layer in model.layers if type(layer).__module__.startswith("keraslab.")]
    return layer


def test_each_model_holds_its_layer_under_test():
    for name, make in MODELS.items():
        assert type(_layer_under_test(make(None))).__name__ == name


def _data(n=16):
    x = rng.normal(size=(n,) + IMAGE_SHAPE).astype("float32")
    y = keras.ops.convert_to_numpy(keras.ops.one_hot(np.arange(n) % 3, 3))
    return x, y


@pytest.mark.parametrize("name", sorted(MODELS))
def test_save_and_load_round_trip(name, tmp_path):
    model = MODELS[name](None)
    x, _ = _data(4)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))
    def configs(m):  # through JSON, as saving does: tuples become lists
        return json.loads(json.dumps({layer.name: layer.get_config() for layer in m.layers}))

    assert configs(loaded) == configs(model)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_fit_with_xla(name):
    model = MODELS[name](None)
    model.compile(optimizer="sgd", loss=LOSS, jit_compile=True)
    x, y = _data()
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_mixed_float16(name):
    model = MODELS[name]("mixed_float16")
    x, y = _data()
    reference = MODELS[name](None)
    reference.set_weights(model.get_weights())
    out16 = model.predict(x, verbose=0)
    assert _layer_under_test(model).compute_dtype == "float16"
    np.testing.assert_allclose(out16, reference.predict(x, verbose=0), atol=0.05, rtol=0.05)
    model.compile(optimizer="sgd", loss=LOSS)
    assert np.isfinite(model.fit(x, y, batch_size=8, verbose=0).history["loss"]).all()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_fit_under_mirrored_strategy(name, two_cpu_strategy):
    x, y = _data()
    with two_cpu_strategy.scope():
        model = MODELS[name](None)
        model.compile(optimizer="sgd", loss=LOSS)
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert two_cpu_strategy.num_replicas_in_sync == 2


REGULARIZERS = {
    "DropBlock2D": lambda: kl.DropBlock2D(0.3, 3, seed=0),
    "DropPath": lambda: kl.DropPath(0.3, seed=0),
    "Cutout": lambda: kl.Cutout(4, seed=0),
}


@pytest.mark.parametrize("name", sorted(REGULARIZERS))
def test_regularizers_act_in_training_and_not_in_predict(name):
    layer = REGULARIZERS[name]()
    model = keras.Sequential([keras.Input(IMAGE_SHAPE), layer])
    x = rng.uniform(0.5, 1.5, size=(32,) + IMAGE_SHAPE).astype("float32")
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)
    assert (np.asarray(model(x, training=True)) == 0).any()


@pytest.mark.parametrize("name", sorted(REGULARIZERS))
def test_random_layers_compile_under_xla_and_still_randomize(name):
    layer = REGULARIZERS[name]()
    x = rng.uniform(0.5, 1.5, size=(32,) + IMAGE_SHAPE).astype("float32")
    compiled = tf.function(lambda t: layer(t, training=True), jit_compile=True)
    first, second = np.asarray(compiled(x)), np.asarray(compiled(x))
    assert (first == 0).any() and not np.array_equal(first, second)


@pytest.mark.parametrize("cls", [kl.MixUp, kl.CutMix])
def test_mixing_in_tf_data_and_under_xla(cls):
    n = 64
    images = rng.uniform(size=(n, 8, 8, 3)).astype("float32")
    labels = np.eye(n, dtype="float32")
    layer = cls(alpha=0.5, seed=0)
    dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(16).map(layer)
    dict_dataset = tf.data.Dataset.from_tensor_slices({"images": images, "labels": labels})
    for batch in dict_dataset.batch(16).map(layer):
        np.testing.assert_allclose(np.sum(batch["labels"], axis=1), 1.0, atol=1e-5)
    for batch_images, batch_labels in dataset:
        assert batch_images.shape == (16, 8, 8, 3)
        np.testing.assert_allclose(np.sum(batch_labels, axis=1), 1.0, atol=1e-5)
    compiled = tf.function(lambda b: layer(b), jit_compile=True)
    out_images, out_labels = compiled((images, labels))
    np.testing.assert_allclose(np.sum(out_labels, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(out_labels, labels)


def test_mixing_under_mirrored_strategy(two_cpu_strategy):
    n = 32
    images, labels = _data(n)
    dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(8)
    dataset = dataset.map(kl.CutMix(seed=0)).map(kl.MixUp(seed=0))
    with two_cpu_strategy.scope():
        model = _conv_model(lambda dt: kl.GroupNorm(2, dtype=dt))
        model.compile(optimizer="sgd", loss=LOSS)
    assert np.isfinite(model.fit(dataset, epochs=1, verbose=0).history["loss"]).all()


def test_cutout_in_tf_data_on_single_images():
    images = rng.uniform(0.5, 1.5, size=(10, 8, 8, 3)).astype("float32")
    dataset = tf.data.Dataset.from_tensor_slices(images).map(kl.Cutout(3, seed=0))
    erased = [np.asarray(image) == 0 for image in dataset]
    assert all(mask.any() for mask in erased)


@pytest.mark.parametrize("cls", [kl.MixUp, kl.CutMix])
def test_mixing_in_mixed_precision_and_from_config(cls):
    images, labels = _data(8)
    layer = cls(alpha=0.3, seed=5, dtype="mixed_float16")
    out_images, out_labels = layer((images, labels))
    assert out_images.dtype == "float16" and out_labels.dtype == "float32"
    np.testing.assert_allclose(np.sum(out_labels, axis=1), 1.0, atol=1e-5)
    clone = cls.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    assert clone.alpha == 0.3 and clone.seed == 5
