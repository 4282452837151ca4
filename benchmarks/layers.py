"""Forward+backward time of keraslab's layers against Keras core's, on the same batch.

Prints one row per layer: median time per step (ms) of keraslab's layer, of Keras core's
equivalent where it has one, and their ratio (target: <= 1.2). Layers Keras does not have are
timed against the cheapest layer doing comparable work (Dropout / SpatialDropout2D) so the
ratio says what the extra structure costs.

    python benchmarks/layers.py [--batch 64] [--size 32] [--channels 64] [--repeats 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keraslab import layers as kl  # noqa: E402


def time_step(fn, repeats):
    fn()  # trace and warm up
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def forward_backward(layer, x, training=True):
    layer(x[:1], training=training) if _takes_training(layer) else layer(x[:1])

    @tf.function(jit_compile=False)
    def step():
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=training) if _takes_training(layer) else layer(x)
            loss = tf.reduce_sum(tf.cast(y, tf.float32) ** 2)
        grads = tape.gradient(loss, [x] + layer.trainable_variables)
        return [g for g in grads if g is not None]

    return lambda: [g.numpy() for g in step()]


def mixing_step(layer, images, labels):
    @tf.function(jit_compile=False)
    def step():
        return layer({"images": images, "labels": labels})

    return lambda: step()["images"].numpy()


def _takes_training(layer):
    return not isinstance(layer, (kl.GroupNorm, keras.layers.GroupNormalization))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    shape = (args.batch, args.size, args.size, args.channels)
    x = tf.constant(rng.normal(size=shape).astype("float32"))
    images = tf.constant(rng.uniform(size=(args.batch, args.size, args.size, 3)).astype("float32"))
    labels = tf.one_hot(np.arange(args.batch) % 10, 10)

    pairs = [
        ("GroupNorm(32)", kl.GroupNorm(32), keras.layers.GroupNormalization(32, epsilon=1e-5)),
        ("InstanceNorm", kl.InstanceNorm(), keras.layers.GroupNormalization(-1, epsilon=1e-5)),
        # Ghost batches of 8 against one BatchNormalization over the whole batch: what the
        # per-slice statistics (segment sums) cost.
        ("GhostBatchNorm(8) vs BatchNormalization", kl.GhostBatchNorm(8),
         keras.layers.BatchNormalization()),
        ("DropBlock2D(0.1, 7) vs SpatialDropout2D", kl.DropBlock2D(0.1, 7),
         keras.layers.SpatialDropout2D(0.1)),
        ("DropPath(0.1) vs Dropout", kl.DropPath(0.1), keras.layers.Dropout(0.1)),
    ]
    print(f"batch {shape}, median of {args.repeats} forward+backward steps, TF {tf.__version__}")
    print(f"{'layer':<42} {'keraslab ms':>12} {'reference ms':>13} {'ratio':>7}")
    for name, ours, reference in pairs:
        t_ours = time_step(forward_backward(ours, x), args.repeats)
        t_ref = time_step(forward_backward(reference, x), args.repeats)
        print(f"{name:<42} {t_ours:>12.2f} {t_ref:>13.2f} {t_ours / t_ref:>7.2f}")

    for name, ours, reference in [
        ("MixUp(0.2) (forward)", kl.MixUp(0.2), keras.layers.MixUp(0.2)),
        ("CutMix(1.0) (forward)", kl.CutMix(1.0), keras.layers.CutMix(1.0)),
    ]:
        t_ours = time_step(mixing_step(ours, images, labels), args.repeats)
        t_ref = time_step(mixing_step(reference, images, labels), args.repeats)
        print(f"{name:<42} {t_ours:>12.2f} {t_ref:>13.2f} {t_ours / t_ref:>7.2f}")


if __name__ == "__main__":
    main()
