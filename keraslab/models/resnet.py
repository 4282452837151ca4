"""A small ResNet with stochastic depth and zero-initialized residual branches."""

from __future__ import annotations

import keras

from keraslab.models._common import check_normalization, make_initializer, norm_layer


def build_resnet(input_shape, num_classes, blocks_per_stage=(2, 2, 2), filters=(16, 32, 64),
                 normalization="batch", groups=8, stochastic_depth=0.0, zero_init_residual=True,
                 initializer="he", include_top=True, seed=0, name="resnet"):
    """Builds a CIFAR-style ResNet of basic blocks (two 3x3 convolutions per block).

    Zero-initialized residual branches: the last layer of every residual branch starts at
    zero, so every block starts as the identity (up to its final ReLU) and the variance of
    the signal does not grow with depth at initialization. With a normalization layer the
    zeroed layer is that **normalization's scale (gamma)**, not the last convolution: a
    zeroed convolution feeding a batch norm would give it zero variance, and batch norm
    would then divide by `sqrt(epsilon)` and amplify the convolution's first updates by
    hundreds. Zero gamma keeps the branch at zero and its gradients well scaled (Goyal et
    al., 2017). Without normalization the last convolution's kernel is zeroed.

    Stochastic depth: block `l` of `L` (counting from 1 over the whole network) drops its
    residual branch with probability `stochastic_depth * l / L`
    (`keraslab.layers.linear_drop_rates`), scaled by `1 / (1 - rate)` when kept during
    training; at inference every block is used.

    Layer names: `stem_conv`, `stage{s}_block{b}_{conv1,norm1,conv2,norm2,...}`, `gap`
    (the feature vector), `output`. Stages count from 1, which `keraslab.models.transfer`
    uses to freeze early stages.

    Args:
        input_shape: `(height, width, channels)`.
        num_classes: number of classes (ignored when `include_top` is False).
        blocks_per_stage: blocks in each stage; each stage after the first halves the
            resolution in its first block.
        filters: channels of each stage.
        normalization: "batch", "layer", "group", "instance" or "none".
        groups: groups for "group" normalization.
        stochastic_depth: drop rate of the last block, in [0, 1).
        zero_init_residual: zero the last layer of each residual branch (see above).
        initializer: kernel initializer name.
        include_top: add the softmax classifier; otherwise the output is the pooled feature
            vector.
        seed: base seed.
        name: model name.

    Returns:
        A functional `keras.Model`.

    Example:
    >>> model = build_resnet((32, 32, 3), 10, stochastic_depth=0.2)
    >>> round(model.get_layer("stage3_block2_sd").rate, 6)
    0.2
    """
    norm = check_normalization(normalization)
    if len(blocks_per_stage) != len(filters):
        raise ValueError(
            f"`blocks_per_stage` and `filters` must have the same length. "
            f"Received: blocks_per_stage={blocks_per_stage!r}, filters={filters!r}"
        )
    if not 0.0 <= stochastic_depth < 1.0:
        raise ValueError(f"`stochastic_depth` must be in [0, 1). Received: stochastic_depth={stochastic_depth!r}")
    num_blocks = int(sum(blocks_per_stage))
    if stochastic_depth:
        from keraslab.layers import linear_drop_rates

        rates = linear_drop_rates(num_blocks, stochastic_depth)
    else:
        rates = [0.0] * num_blocks
    counter = iter(range(10_000))

    def conv(f, k, stride, name, init=initializer):
        return keras.layers.Conv2D(f, k, strides=stride, padding="same", use_bias=norm == "none",
                                   kernel_initializer=make_initializer(init, seed=seed + next(counter)),
                                   name=name)

    def normalize(x, f, name, gamma="ones"):
        layer = norm_layer(norm, rank=4, groups=min(groups, f), name=name, gamma_initializer=gamma)
        return x if layer is None else layer(x)

    inputs = keras.Input(tuple(input_shape), name="inputs")
    x = conv(filters[0], 3, 1, "stem_conv")(inputs)
    x = normalize(x, filters[0], "stem_norm")
    x = keras.layers.Activation("relu", name="stem_act")(x)
    block = 0
    for s, (n_blocks, f) in enumerate(zip(blocks_per_stage, filters, strict=True), start=1):
        for b in range(1, n_blocks + 1):
            prefix = f"stage{s}_block{b}"
            stride = 2 if (s > 1 and b == 1) else 1
            zero = zero_init_residual
            r = conv(f, 3, stride, f"{prefix}_conv1")(x)
            r = normalize(r, f, f"{prefix}_norm1")
            r = keras.layers.Activation("relu", name=f"{prefix}_act1")(r)
            r = conv(f, 3, 1, f"{prefix}_conv2", init="zeros" if (zero and norm == "none") else initializer)(r)
            r = normalize(r, f, f"{prefix}_norm2", gamma="zeros" if zero else "ones")
            shortcut = x
            if stride != 1 or x.shape[-1] != f:
                shortcut = conv(f, 1, stride, f"{prefix}_proj")(x)
                shortcut = normalize(shortcut, f, f"{prefix}_proj_norm")
            rate = rates[block]
            block += 1
            if rate > 0:
                from keraslab.layers import StochasticDepth

                x = StochasticDepth(rate, seed=seed + 500 + block, name=f"{prefix}_sd")([shortcut, r])
            else:
                x = keras.layers.Add(name=f"{prefix}_add")([shortcut, r])
            x = keras.layers.Activation("relu", name=f"{prefix}_out")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    if include_top:
        x = keras.layers.Dense(num_classes, kernel_initializer=make_initializer("xavier", seed=seed),
                               name="output")(x)
        x = keras.layers.Activation("softmax", dtype="float32", name="softmax")(x)
    return keras.Model(inputs, x, name=name)
