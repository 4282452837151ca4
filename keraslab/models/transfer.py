"""Transfer learning with a backbone the kit pretrains itself (nothing is downloaded).

Two source tasks (`PRETRAIN_DATASETS`, chosen by `pretrain_backbone(dataset=...)`):

- "fashion_mnist": the real Fashion-MNIST clothing images (10 classes, read from their IDX
  files like every Fashion-MNIST run, `keraslab.data.tfds.load_arrays`; grey, repeated to the
  backbone's three channels); the training subset is drawn once (seed 0), the same for every
  backbone seed, and the source test accuracy is measured on the held-out test images.
- "shapes" (the default, as before): generated shapes, below.

The shapes source task (`load_source_task`) is a task of generated shapes related to the labs'
target but distinct from it: the offline flowers stand-in is `class_layout(5)` (circles,
squares and triangles, solid or striped); the source has the 28 classes of `class_layout(40)`
whose outline is none of those three (diamond, cross, ring, frame, x, half disc, ellipse, each
solid, with horizontal or vertical stripes, or checkered). Source and target share the image
generator, its textures, edges and corners, not a single outline, the situation transfer
learning is meant for (a backbone that has seen other objects). The backbone is
`build_resnet` without its classifier.

Strategies (lab 4):
- "A": freeze the whole backbone, train a new head.
- "B": freeze the stem and the early stages, fine-tune the later stages and the head.
- "scratch": the same architecture from random initialization, everything trained.

In A and B the backbone is called with `training=False`, so every batch-normalization layer
in it runs in inference mode (its moving statistics from the source task are used and never
updated), including the unfrozen ones in B: fine-tuning on a small dataset with batch
statistics would wreck the source statistics. In Keras, a layer with `trainable=False`
also runs in inference mode, which covers the frozen part twice over.

Keras 3 pitfall: writing `backbone(inputs, training=False)` while building a *functional*
model is not enough. When the outer model runs (`fit` passes `training=True`), Keras 3
re-injects the outer `training` value into every node that accepts it, overriding the
`False` recorded at construction (checked on Keras 3.15). The backbone is therefore wrapped
in `InferenceMode`, a layer without a `training` argument whose `call` passes
`training=False` explicitly.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import keras
import numpy as np

from keraslab.models.resnet import build_resnet

STRATEGIES = ("A", "B", "scratch")
BACKBONE_ARCH = {"blocks_per_stage": (1, 1, 1), "filters": (32, 64, 128)}
SOURCE_NAME = "shapes-disjoint-outlines"
# What `pretrain_backbone` can pretrain on, and the name its cache key and info record for each
# ("shapes" keeps the name it had before Fashion-MNIST was added, so its cached backbones stay valid).
PRETRAIN_DATASETS = {"shapes": SOURCE_NAME, "fashion_mnist": "fashion_mnist"}
# The source classes are drawn from this layout of the shapes generator (10 outlines x 4 textures).
SOURCE_LAYOUT = 40
# The offline target (the 5-class flowers stand-in) whose outlines the source leaves out.
TARGET_LAYOUT = 5
# Source images are generated in chunks of this many images, each from its own seed
# (`source_stream_seed`), so a larger source set extends a smaller one.
SOURCE_CHUNK = 2048
SOURCE_SEED_OFFSET = 7919


def source_classes():
    """The source task's classes, as `(outline, texture)` pairs: those of
    `class_layout(SOURCE_LAYOUT)` whose outline is none of the target's (`class_layout(TARGET_LAYOUT)`)."""
    from keraslab.data.offline import class_layout

    target_outlines = {shape for shape, _ in class_layout(TARGET_LAYOUT)}
    return [pair for pair in class_layout(SOURCE_LAYOUT) if pair[0] not in target_outlines]


def source_stream_seed(seed, split, chunk):
    """The generator seed of one chunk of source images (split 0: training, 1: test);
    distinct for every seed, split and chunk below 500,000 chunks."""
    return SOURCE_SEED_OFFSET + 1_000_003 * int(seed) + 2 * int(chunk) + int(split)


def load_source_task(train_size=7000, test_size=1000, image_size=32, seed=0):
    """The source task's images: the generator's images of the source classes (`source_classes`).

    Images are generated with `keraslab.data.make_shapes` over the 40-class layout, chunk by
    chunk, and the images of the target's outlines are dropped; labels are indices into
    `source_classes()`. Training and test images come from separate streams.

    Args:
        train_size: number of training images.
        test_size: number of test images.
        image_size: height and width.
        seed: seed of the streams.

    Returns:
        `((x_train, y_train), (x_test, y_test))`: `uint8` images and `int64` labels.

    Raises:
        ValueError: for a size that is not a positive integer.
    """
    from keraslab.data.offline import class_layout, make_shapes

    for name, value in (("train_size", train_size), ("test_size", test_size)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")
    layout = class_layout(SOURCE_LAYOUT)
    index = {pair: i for i, pair in enumerate(source_classes())}
    to_source = np.array([index.get(pair, -1) for pair in layout])

    def stream(split, size):
        xs, ys, have, chunk = [], [], 0, 0
        while have < size:
            x, y = make_shapes(SOURCE_CHUNK, image_size=image_size, num_classes=SOURCE_LAYOUT,
                               seed=source_stream_seed(seed, split, chunk))
            keep = to_source[y] >= 0
            xs.append(x[keep])
            ys.append(to_source[y[keep]])
            have += int(keep.sum())
            chunk += 1
        return np.concatenate(xs)[:size], np.concatenate(ys)[:size].astype(np.int64)

    return stream(0, train_size), stream(1, test_size)


def build_backbone(seed=0, **arch):
    """A fresh (randomly initialized) backbone: `build_resnet` without the classifier.

    Args:
        seed: seed of the initializers.
        **arch: overrides of `BACKBONE_ARCH` (`blocks_per_stage`, `filters`, ...).

    Returns:
        A `keras.Model` mapping images of any size `(None, None, 3)` to feature vectors.
    """
    kwargs = {**BACKBONE_ARCH, **arch}
    return build_resnet((None, None, 3), 0, include_top=False, seed=seed, name="backbone", **kwargs)


def _cache_dir(cache_dir):
    if cache_dir is not None:
        return Path(cache_dir)
    return Path(os.environ.get("KERASLAB_CACHE", Path.home() / ".cache" / "keraslab")) / "backbones"


def load_pretrain_task(dataset, train_size, test_size, image_size, seed):
    """The source task's images and labels for `pretrain_backbone`.

    Args:
        dataset: a key of `PRETRAIN_DATASETS`.
        train_size, test_size: numbers of source images.
        image_size: height and width (Fashion-MNIST: 28 only).
        seed: seed of the shapes' streams (Fashion-MNIST's subsets are drawn with seed 0, the
            same for every backbone).

    Returns:
        `((x_train, y_train), (x_test, y_test), num_classes, data_source)`: `uint8` RGB images,
        `int64` labels, and what was read ("generated" or `load_arrays`'s source).

    Raises:
        ValueError: for an unknown `dataset`.
    """
    if dataset not in PRETRAIN_DATASETS:
        raise ValueError(f"`dataset` must be one of {sorted(PRETRAIN_DATASETS)}. Received: dataset={dataset!r}")
    if dataset == "shapes":
        train, test = load_source_task(train_size=train_size, test_size=test_size, image_size=image_size, seed=seed)
        return train, test, len(source_classes()), "generated"
    from keraslab.data.tfds import DATASETS, load_arrays

    x, y, xt, yt, data_source = load_arrays(dataset, train_size=train_size, test_size=test_size,
                                            image_size=image_size, seed=0)
    x, xt = (np.repeat(a, 3, -1) if a.shape[-1] == 1 else a for a in (x, xt))  # the backbone is RGB
    return (x, y), (xt, yt), DATASETS[dataset]["num_classes"], data_source


def pretrain_backbone(train_size=7000, epochs=10, batch_size=64, image_size=32, learning_rate=1e-3,
                      seed=0, cache_dir=None, verbose=0, dataset="shapes", **arch):
    """Pretrains the backbone on a source task (`load_pretrain_task`), or loads it from the cache.

    The weights are cached under `cache_dir` (default `$KERASLAB_CACHE/backbones` or
    `~/.cache/keraslab/backbones`) with a name derived from all arguments, the seed
    included, so a lab pays for pretraining once per seed: every run with that seed (A and
    B of one repeat) starts from the same backbone, and repeats from different ones.

    Args:
        train_size: number of source images.
        epochs: pretraining epochs.
        batch_size: pretraining batch size.
        image_size: source image size.
        learning_rate: Adam learning rate.
        seed: seed of data and initialization.
        cache_dir: where to keep the weights.
        verbose: Keras verbosity during pretraining.
        dataset: the source task, a key of `PRETRAIN_DATASETS` ("shapes" or "fashion_mnist").
        **arch: backbone architecture overrides (see `build_backbone`).

    Returns:
        `(backbone_weights_path, info)`: the path of the `.weights.h5` file and a dict with
        the settings (`source` names the source task), `source_classes`, `chance` (1 / classes),
        `source_data` (what was read), `source_test_accuracy` (on held-out source images) and
        `pretrain_seconds`. Build fresh copies with `load_backbone`.

    Raises:
        ValueError: for an unknown `dataset`.

    Example:
    >>> path, info = pretrain_backbone(train_size=200, epochs=1)  # doctest: +SKIP
    """
    if dataset not in PRETRAIN_DATASETS:
        raise ValueError(f"`dataset` must be one of {sorted(PRETRAIN_DATASETS)}. Received: dataset={dataset!r}")
    settings = dict(train_size=train_size, epochs=epochs, batch_size=batch_size, image_size=image_size,
                    learning_rate=learning_rate, seed=seed, arch={**BACKBONE_ARCH, **arch},
                    source=PRETRAIN_DATASETS[dataset])
    key = hashlib.sha256(json.dumps(settings, sort_keys=True, default=list).encode()).hexdigest()[:16]
    directory = _cache_dir(cache_dir)
    path = directory / f"backbone-{key}.weights.h5"
    info_path = directory / f"backbone-{key}.json"
    if path.exists() and info_path.exists():
        return str(path), json.loads(info_path.read_text())

    import time

    from keraslab.data.pipeline import channel_stats, make_pipeline

    started = time.perf_counter()
    (x, y), (xt, yt), num_classes, data_source = load_pretrain_task(
        dataset, train_size, max(500, train_size // 10), image_size, seed)
    mean, std = channel_stats(x)
    common = dict(batch_size=batch_size, num_classes=num_classes, mean=mean, std=std)
    train = make_pipeline(x, y, training=True, augment="standard", seed=seed, **common)
    test = make_pipeline(xt, yt, **common)
    backbone = build_backbone(seed=seed, **arch)
    inputs = keras.Input((image_size, image_size, 3))
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="source_head")(backbone(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.Adam(learning_rate), "categorical_crossentropy", metrics=["accuracy"])
    model.fit(train, epochs=epochs, verbose=verbose, shuffle=False)  # the pipeline shuffles
    _, accuracy = model.evaluate(test, verbose=0)
    seconds = time.perf_counter() - started
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".tmp-{os.getpid()}-{path.name}"
    backbone.save_weights(tmp)
    os.replace(tmp, path)  # atomic: parallel runs never read half a file
    info = {**settings, "source_classes": num_classes, "chance": 1 / num_classes, "source_data": data_source,
            "source_test_size": int(len(xt)), "source_test_accuracy": float(accuracy), "pretrain_seconds": seconds}
    info_path.write_text(json.dumps(info, indent=1))
    return str(path), info


def load_backbone(weights_path=None, seed=0, **arch):
    """A fresh backbone, with pretrained weights when `weights_path` is given.

    Args:
        weights_path: a `.weights.h5` file from `pretrain_backbone`, or None (random init).
        seed: seed of the random initialization.
        **arch: architecture overrides; must match the pretrained ones.

    Returns:
        A backbone `keras.Model`.
    """
    backbone = build_backbone(seed=seed, **arch)
    if weights_path is not None:
        backbone.load_weights(weights_path)
    return backbone


@keras.saving.register_keras_serializable(package="keraslab")
class InferenceMode(keras.layers.Layer):
    """Runs a wrapped layer or model always with `training=False`.

    The wrapped layer's weights stay trainable or frozen as their own `trainable` flags
    say; only the call mode is fixed (batch norm uses moving statistics, dropout is off).

    Args:
        layer: the layer or model to wrap (available as `.layer`).
        **kwargs: base layer keyword arguments.

    Example:
    >>> wrapped = InferenceMode(keras.layers.Dropout(0.5))
    >>> float(wrapped(keras.ops.ones((1, 4))).numpy().sum())
    4.0
    """

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        self.layer = layer

    def call(self, inputs):
        return self.layer(inputs, training=False)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        config = super().get_config()
        config["layer"] = keras.saving.serialize_keras_object(self.layer)
        return config

    @classmethod
    def from_config(cls, config):
        config["layer"] = keras.saving.deserialize_keras_object(config["layer"])
        return cls(**config)


def _stage_of(layer_name):
    if layer_name.startswith("stem"):
        return 0
    if layer_name.startswith("stage"):
        return int(layer_name[5:].split("_")[0])
    return None


def build_transfer_model(backbone, num_classes, strategy="A", fine_tune_from=None, input_shape=None,
                         head_dropout=0.2, seed=0, name=None):
    """Puts a new classifier on a backbone and freezes it according to `strategy`.

    Args:
        backbone: a model from `load_backbone` (pretrained for "A" and "B", random for
            "scratch"). It is modified in place (its `trainable` flags), so give each
            model its own copy.
        num_classes: classes of the target task.
        strategy: "A" (freeze all), "B" (freeze the stem and stages before
            `fine_tune_from`) or "scratch" (train everything, batch norm in training mode).
        fine_tune_from: first stage that B fine-tunes (stages count from 1); defaults to
            the last stage.
        input_shape: target image shape, e.g. `(64, 64, 3)`.
        head_dropout: dropout before the new classifier.
        seed: seed of the head.
        name: model name (default "transfer_<strategy>").

    Returns:
        A `keras.Model` (not compiled). For "A" and "B" the backbone sits inside the
        `InferenceMode` layer "backbone_inference" (`model.get_layer(
        "backbone_inference").layer`); for "scratch" it is the layer "backbone".

    Example:
    >>> model = build_transfer_model(load_backbone(), 5, strategy="A", input_shape=(32, 32, 3))
    >>> sum(w.size for w in model.trainable_weights) == 128 * 5 + 5
    True
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"`strategy` must be one of {STRATEGIES}. Received: strategy={strategy!r}")
    stages = sorted({s for s in (_stage_of(layer.name) for layer in backbone.layers) if s})
    if fine_tune_from is None:
        fine_tune_from = stages[-1]
    if fine_tune_from not in stages:
        raise ValueError(f"`fine_tune_from` must be one of the backbone's stages {stages}. "
                         f"Received: fine_tune_from={fine_tune_from!r}")
    if strategy == "A":
        backbone.trainable = False
    else:
        backbone.trainable = True
        if strategy == "B":
            for layer in backbone.layers:
                stage = _stage_of(layer.name)
                if stage is not None and stage < fine_tune_from:
                    layer.trainable = False
    inputs = keras.Input(tuple(input_shape or (None, None, 3)), name="inputs")
    if strategy == "scratch":
        features = backbone(inputs)
    else:
        features = InferenceMode(backbone, name="backbone_inference")(inputs)
    if head_dropout:
        features = keras.layers.Dropout(head_dropout, seed=seed, name="head_dropout")(features)
    logits = keras.layers.Dense(num_classes, kernel_initializer=keras.initializers.GlorotNormal(seed=seed),
                                name="head")(features)
    outputs = keras.layers.Activation("softmax", dtype="float32", name="softmax")(logits)
    return keras.Model(inputs, outputs, name=name or f"transfer_{strategy}")


def count_params(weights):
    """Total number of scalars in a list of variables."""
    return int(sum(np.prod(w.shape) for w in weights))
