"""Runs keraslab's layers on the JAX backend; executed in a subprocess by test_jax_backend.py.

Exits non-zero (with an assertion message) if any check fails.
"""

import os
import sys
import tempfile

os.environ["KERAS_BACKEND"] = "jax"

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keraslab import layers as kl  # noqa: E402
from keraslab.initializers import lsuv_init  # noqa: E402

assert keras.backend.backend() == "jax", keras.backend.backend()
rng = np.random.default_rng(0)

# Normalization against Keras core.
x = rng.normal(size=(4, 6, 6, 16)).astype("float32")
ours, core = kl.GroupNorm(4), keras.layers.GroupNormalization(4, epsilon=1e-5)
assert np.abs(np.asarray(ours(x)) - np.asarray(core(x))).max() < 1e-5
mean = x.mean(axis=(1, 2), keepdims=True)
expected = (x - mean) / np.sqrt(x.var(axis=(1, 2), keepdims=True) + 1e-5)
assert np.abs(np.asarray(kl.InstanceNorm()(x)) - expected).max() < 1e-4
ghost = np.asarray(kl.GhostBatchNorm(2)(x, training=True))
core = keras.layers.BatchNormalization()
assert np.abs(ghost[2:4] - np.asarray(core(x[2:4], training=True))).max() < 1e-4

# Regularizers: statistical properties in eager mode.
ones = np.ones((64, 16, 16, 2), "float32")
dropped = np.asarray(kl.DropBlock2D(0.2, 3, seed=0)(ones, training=True)) == 0
assert abs(dropped.mean() - 0.2) < 0.02, dropped.mean()
kept = np.asarray(kl.DropPath(0.3, seed=0)(np.ones((4000, 3), "float32"), training=True)) != 0
assert abs(1 - kept.all(axis=1).mean() - 0.3) < 0.03

# Mixing: labels sum to one and the pasted area matches the label weight.
images = rng.uniform(0.5, 1.5, size=(16, 8, 8, 3)).astype("float32")
labels = np.eye(16, dtype="float32")
for layer in (kl.MixUp(0.5, seed=0), kl.CutMix(1.0, seed=0)):
    out_images, out_labels = (np.asarray(t) for t in layer((images, labels)))
    assert np.allclose(out_labels.sum(axis=1), 1.0, atol=1e-5)
out_images, out_labels = (np.asarray(t) for t in kl.CutMix(1.0, seed=1)((images, labels)))
pasted = (out_images != images).any(axis=-1).reshape(16, -1).mean(axis=1)
assert np.allclose(1 - np.diag(out_labels), pasted, atol=1e-6)

# Every model layer inside a jit-compiled fit, then a save/load round trip.
inputs = keras.Input((8, 8, 3))
h = kl.Cutout(3, seed=0)(inputs)
h = kl.WeightNorm(keras.layers.Conv2D(8, 3, padding="same"))(h)
h = kl.GroupNorm(2)(h)
h = kl.GhostBatchNorm(4)(h)
h = kl.DropBlock2D(0.1, 3, seed=0)(h)
branch = keras.layers.Conv2D(8, 3, padding="same")(h)
h = kl.StochasticDepth(0.2, seed=0)([h, kl.DropPath(0.1, seed=0)(branch)])
h = kl.InstanceNorm()(h)
h = keras.layers.GlobalAveragePooling2D()(h)
outputs = kl.DropConnectDense(3, rate=0.2, seed=0)(h)
model = keras.Model(inputs, outputs)
model.compile("sgd", keras.losses.CategoricalCrossentropy(from_logits=True), jit_compile=True)
y = np.eye(3, dtype="float32")[np.arange(16) % 3]
history = model.fit(images, y, batch_size=8, epochs=2, verbose=0)
assert np.isfinite(history.history["loss"]).all()
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert np.array_equal(model.predict(images, verbose=0), loaded.predict(images, verbose=0))

# LSUV on the JAX backend.
mlp = keras.Sequential(
    [keras.Input((32,))] + [keras.layers.Dense(32, activation="relu") for _ in range(8)]
)
report = lsuv_init(mlp, rng.normal(size=(256, 32)).astype("float32"))
assert all(r.converged for r in report)

print("jax backend: all checks passed")
sys.exit(0)
