"""A deep multilayer perceptron for the initialization lab."""

from __future__ import annotations

import keras

from keraslab.models._common import check_normalization, make_initializer, norm_layer


def build_mlp(input_shape, num_classes, depth=10, width=256, activation="relu",
              initializer="he", normalization="none", dropout=0.0, seed=0, name="mlp"):
    """Builds a deep MLP: `depth` hidden Dense layers of `width` units, then a softmax layer.

    Every Dense layer, the output layer included, uses `initializer`; biases start at zero.
    With "zeros" this reproduces the symmetry failure the course discusses: all units of a
    layer compute the same thing and receive the same gradient. Each layer gets its own
    seed (`seed + layer index`), so layers are not copies of each other.

    Layer names are stable (`dense_1` ... `dense_{depth}`, `output`), which the
    diagnostics callbacks and plots use as labels.

    Args:
        input_shape: shape of one example, e.g. `(28, 28, 1)`; it is flattened.
        num_classes: number of output classes.
        depth: number of hidden Dense layers (10 for lab 1).
        width: units per hidden layer.
        activation: activation of the hidden layers ("relu", "tanh", ...).
        initializer: see `keraslab.models.make_initializer` ("zeros", "small_random",
            "xavier", "he", "lecun", "orthogonal", "lsuv").
        normalization: "none", "batch" or "layer", placed between each Dense and its
            activation (so the Dense layer drops its bias).
        dropout: dropout rate after each hidden activation (0 for none).
        seed: base seed of the initializers.
        name: model name.

    Returns:
        A functional `keras.Model` producing class probabilities (float32 even under a
        mixed-precision policy).

    Example:
    >>> model = build_mlp((28, 28, 1), 10, depth=10, width=64, initializer="xavier", activation="tanh")
    >>> len([l for l in model.layers if l.name.startswith("dense_")])
    10
    """
    if not isinstance(depth, int) or depth < 1:
        raise ValueError(f"`depth` must be a positive integer. Received: depth={depth!r}")
    if not isinstance(width, int) or width < 1:
        raise ValueError(f"`width` must be a positive integer. Received: width={width!r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"`dropout` must be in [0, 1). Received: dropout={dropout!r}")
    norm = check_normalization(normalization)
    if norm in ("group", "instance"):
        raise ValueError(
            f"`normalization` for an MLP must be 'none', 'batch' or 'layer'. Received: normalization={normalization!r}"
        )
    inputs = keras.Input(tuple(input_shape), name="inputs")
    x = keras.layers.Flatten(name="flatten")(inputs)
    for i in range(1, depth + 1):
        x = keras.layers.Dense(
            width,
            kernel_initializer=make_initializer(initializer, seed=seed + i),
            use_bias=norm == "none",
            activation=activation if norm == "none" else None,
            name=f"dense_{i}",
        )(x)
        if norm != "none":
            x = norm_layer(norm, rank=2, name=f"norm_{i}")(x)
            x = keras.layers.Activation(activation, name=f"act_{i}")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, seed=seed + 1000 + i, name=f"dropout_{i}")(x)
    x = keras.layers.Dense(num_classes, kernel_initializer=make_initializer(initializer, seed=seed),
                           name="output")(x)
    outputs = keras.layers.Activation("softmax", dtype="float32", name="softmax")(x)
    return keras.Model(inputs, outputs, name=name)
