"""A plain 5-7 layer ConvNet whose normalization and dropout kind are arguments."""

from __future__ import annotations

import keras

from keraslab.models._common import check_normalization, make_initializer, norm_layer

REGULARIZERS = ("none", "dropout", "spatial", "dropblock")


def build_convnet(input_shape, num_classes, normalization="none", filters=(32, 32, 64, 64, 128, 128),
                  groups=8, activation="relu", initializer="he", regularizer="none", rate=0.0,
                  block_size=7, head_dropout=0.0, dense_units=0, virtual_batch_size=None,
                  moving_statistics="batch", drop_stages=None, seed=0, name="convnet"):
    """Builds the labs' ConvNet: 3x3 convolutions in pairs, each pair followed by max-pooling.

    Each convolution is followed by the chosen normalization and then the activation
    (normalization before activation, the common placement), and drops its bias when a
    normalization follows (the normalization's offset replaces it). The head is global
    average pooling, an optional Dense layer, and a softmax layer.

    `regularizer` places one dropout kind after each pooling stage except the last (or
    after the first `drop_stages` stages):
    "dropout" (element-wise), "spatial" (whole channels, `SpatialDropout2D`) or
    "dropblock" (contiguous `block_size` squares, `keraslab.layers.DropBlock2D`), each with
    drop rate `rate`. `head_dropout` adds plain dropout before the classifier.

    Args:
        input_shape: `(height, width, channels)`.
        num_classes: number of classes.
        normalization: "none", "batch", "layer" (over height, width and channels of each
            sample), "group" (`groups` groups) or "instance".
        filters: channels of each convolution; 5 to 7 entries.
        groups: groups of "group" normalization; clipped to each layer's channel count and
            required to divide it.
        activation: activation after each normalization.
        initializer: kernel initializer name (see `keraslab.models.make_initializer`).
        regularizer: "none", "dropout", "spatial" or "dropblock".
        rate: drop rate of `regularizer`.
        block_size: DropBlock block size.
        drop_stages: how many pooling stages, from the first, the regularizer follows; None:
            every stage but the last. One stage keeps it on the largest pooled map (on a 28x28
            input, 14x14: the only map on which a 7x7 DropBlock block is a region rather than
            the whole map).
        head_dropout: dropout rate before the classifier.
        dense_units: units of a hidden Dense layer in the head (0: none). A large value
            makes the model overfit small datasets, which lab 3 wants.
        virtual_batch_size: with "batch" normalization, the examples each statistic is
            computed over (`keraslab.layers.GhostBatchNorm`: the batch is cut into slices of
            this size, as data-parallel replicas cut it); None: the whole batch.
        moving_statistics: with `virtual_batch_size`, "batch" or "slices": what the moving
            statistics used at inference are tracked over (see `GhostBatchNorm`).
        seed: base seed of initializers and dropout layers.
        name: model name.

    Returns:
        A functional `keras.Model` producing float32 class probabilities.

    Example:
    >>> model = build_convnet((32, 32, 3), 10, normalization="batch")
    >>> sum(isinstance(l, keras.layers.Conv2D) for l in model.layers)
    6
    """
    norm = check_normalization(normalization)
    filters = tuple(int(f) for f in filters)
    if not 5 <= len(filters) <= 7:
        raise ValueError(f"`filters` must have 5 to 7 entries (one per conv layer). Received: filters={filters!r}")
    if regularizer in (None, False):
        regularizer = "none"
    if regularizer not in REGULARIZERS:
        raise ValueError(f"`regularizer` must be one of {REGULARIZERS}. Received: regularizer={regularizer!r}")
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"`rate` must be in [0, 1). Received: rate={rate!r}")
    if not 0.0 <= head_dropout < 1.0:
        raise ValueError(f"`head_dropout` must be in [0, 1). Received: head_dropout={head_dropout!r}")
    if norm == "group":
        for f in filters:
            g = min(groups, f)
            if f % g:
                raise ValueError(f"`groups` must divide every layer's channel count. Received: groups={groups!r}, filters={filters!r}")

    n = len(filters)
    pool_after = {i for i in range(1, n + 1) if i % 2 == 0 or i == n}
    if drop_stages is None:
        drop_stages = len(pool_after) - 1
    elif not (isinstance(drop_stages, int) and 1 <= drop_stages < len(pool_after)):
        raise ValueError(f"`drop_stages` must be None or 1 to {len(pool_after) - 1} (the last of the "
                         f"{len(pool_after)} pooling stages is never followed by the regularizer). "
                         f"Received: drop_stages={drop_stages!r}")
    inputs = keras.Input(tuple(input_shape), name="inputs")
    x = inputs
    stage = 0
    for i, f in enumerate(filters, start=1):
        x = keras.layers.Conv2D(f, 3, padding="same", use_bias=norm == "none",
                                kernel_initializer=make_initializer(initializer, seed=seed + i),
                                name=f"conv_{i}")(x)
        layer = norm_layer(norm, rank=4, groups=min(groups, f), name=f"norm_{i}",
                           virtual_batch_size=virtual_batch_size, moving_statistics=moving_statistics)
        if layer is not None:
            x = layer(x)
        x = keras.layers.Activation(activation, name=f"act_{i}")(x)
        if i in pool_after:
            stage += 1
            x = keras.layers.MaxPooling2D(2, name=f"pool_{stage}")(x)
            if regularizer != "none" and rate > 0 and stage <= drop_stages:
                x = _drop_layer(regularizer, rate, block_size, seed + 100 + stage, f"drop_{stage}")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    if dense_units:
        x = keras.layers.Dense(dense_units, activation=activation,
                               kernel_initializer=make_initializer(initializer, seed=seed + 50),
                               name="dense_head")(x)
    if head_dropout:
        x = keras.layers.Dropout(head_dropout, seed=seed + 200, name="head_dropout")(x)
    x = keras.layers.Dense(num_classes, kernel_initializer=make_initializer("xavier", seed=seed),
                           name="output")(x)
    outputs = keras.layers.Activation("softmax", dtype="float32", name="softmax")(x)
    return keras.Model(inputs, outputs, name=name)


def _drop_layer(kind, rate, block_size, seed, name):
    if kind == "dropout":
        return keras.layers.Dropout(rate, seed=seed, name=name)
    if kind == "spatial":
        return keras.layers.SpatialDropout2D(rate, seed=seed, name=name)
    from keraslab.layers import DropBlock2D

    return DropBlock2D(rate, block_size, seed=seed, name=name)
