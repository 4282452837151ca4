"""Benchmark: the augmentation pipeline's throughput, and the lab-2 ConvNet's training speed
under the default strategy against MirroredStrategy over two logical CPU devices.

Prints ratios (machine-independent enough to compare across machines) and the raw numbers,
and writes them as JSON with `--out`.

    python benchmarks/input_pipeline.py [--images 4096] [--steps 30] [--out bench.json]

Pipeline: images/s of `keraslab.data.make_pipeline` over generated 32x32x3 images, for
normalization only and for each augmentation recipe (MixUp and CutMix included), after
one warm-up pass. Ratios are relative to normalization only.

Strategies: steps/s of `fit` on the lab-2 ConvNet (batch norm, global batch 32) after a
warm-up epoch; MirroredStrategy splits each global batch over the two logical CPUs.
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

# Two logical CPUs must exist before TensorFlow runs any op.
_cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(_cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402

from keraslab.data import channel_stats, make_pipeline, make_shapes  # noqa: E402
from keraslab.models import build_convnet  # noqa: E402

RECIPES = {
    "normalize only": None,
    "crop+flip": "standard",
    "crop+flip+rotate+jitter": "lab3",
    "crop+flip+cutout": "cutout",
    "crop+flip+mixup": "mixup",
    "crop+flip+cutmix": "cutmix",
}


def pipeline_throughput(x, y, batch_size=128, repeats=2):
    mean, std = channel_stats(x)
    out = {}
    for label, recipe in RECIPES.items():
        ds = make_pipeline(x, y, batch_size=batch_size, num_classes=10, mean=mean, std=std, training=True,
                           augment=recipe, seed=0)
        for _ in ds:  # warm-up: tracing and the first shuffle buffer
            pass
        start = time.perf_counter()
        for _ in range(repeats):
            for _ in ds:
                pass
        out[label] = repeats * len(x) / (time.perf_counter() - start)
    return out


def strategy_speed(x, y, steps, global_batch=32):
    mean, std = channel_stats(x)
    n = steps * global_batch
    ds = make_pipeline(x[:n], y[:n], batch_size=global_batch, num_classes=10, mean=mean, std=std,
                       training=True, drop_remainder=True, seed=0)
    devices = [d.name for d in tf.config.list_logical_devices("CPU")][:2]
    out = {}
    for label, strategy in (("default", tf.distribute.get_strategy()),
                            ("mirrored_2cpu", tf.distribute.MirroredStrategy(devices))):
        with strategy.scope():
            model = build_convnet((32, 32, 3), 10, normalization="batch")
            model.compile(keras.optimizers.SGD(0.01, momentum=0.9), "categorical_crossentropy")
        model.fit(ds, epochs=1, verbose=0, shuffle=False)  # warm-up: tracing, variable placement
        start = time.perf_counter()
        model.fit(ds, epochs=1, verbose=0, shuffle=False)
        out[label] = steps / (time.perf_counter() - start)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=4096, help="images for the pipeline benchmark")
    parser.add_argument("--steps", type=int, default=30, help="training steps per strategy measurement")
    parser.add_argument("--out", default=None, help="write the numbers as JSON here")
    args = parser.parse_args(argv)

    x, y = make_shapes(max(args.images, args.steps * 32), seed=0)
    pipe = pipeline_throughput(x[: args.images], y[: args.images])
    base = pipe["normalize only"]
    print(f"Augmentation pipeline on CPU ({args.images} images 32x32x3, batch 128):")
    for label, ips in pipe.items():
        print(f"  {label:28s} {ips:10.0f} images/s   ratio to normalize-only {ips / base:5.2f}")
    speed = strategy_speed(x, y, args.steps)
    ratio = speed["mirrored_2cpu"] / speed["default"]
    print(f"Lab-2 ConvNet (batch norm), global batch 32, {args.steps} steps:")
    print(f"  default strategy        {speed['default']:.2f} steps/s")
    print(f"  MirroredStrategy 2 CPUs {speed['mirrored_2cpu']:.2f} steps/s   ratio mirrored/default {ratio:.2f}")
    result = {"pipeline_images_per_s": pipe, "pipeline_ratio_to_normalize": {k: v / base for k, v in pipe.items()},
              "convnet_steps_per_s": speed, "mirrored_over_default": ratio, "cpu_count": os.cpu_count(),
              "tensorflow": tf.__version__, "keras": keras.__version__}
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)
    return result


if __name__ == "__main__":
    main()
