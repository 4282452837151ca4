"""DropBlock: dropout of contiguous square regions of convolutional feature maps."""

from __future__ import annotations

import functools

import keras
import numpy as np
from keras import ops

from keraslab.layers._checks import check_data_format, check_rate, check_size_pair


def _coverage_counts(length, block):
    """For each position on an axis, how many valid block positions cover it."""
    starts = length - block + 1
    positions = np.arange(length)
    first = np.maximum(0, positions - block + 1)
    last = np.minimum(starts - 1, positions)
    return (last - first + 1).astype(np.float64)


@functools.lru_cache(maxsize=256)
def seed_probability(height, width, block_height, block_width, rate):
    """Bernoulli probability of a block seed such that the expected dropped fraction is `rate`.

    Seeds are drawn only where a whole block fits. A cell is kept when none of the seeds
    whose block covers it fires, so the expected kept fraction is the mean over cells of
    `(1 - gamma) ** coverage(cell)`. Solving that for `gamma` (by bisection) accounts for
    overlapping blocks and for the borders, which the closed form of Ghiasi et al. (2018),
    `rate / block**2 * area / valid_area`, ignores; the closed form drops noticeably less
    than `rate` when blocks overlap.
    """
    if rate == 0.0:
        return 0.0
    coverage = np.outer(
        _coverage_counts(height, block_height), _coverage_counts(width, block_width)
    ).ravel()
    target_kept = 1.0 - rate

    def kept_fraction(gamma):
        return np.mean((1.0 - gamma) ** coverage)

    low, high = 0.0, 1.0
    if kept_fraction(high) > target_kept:  # cannot drop that much even with every seed on
        return 1.0
    for _ in range(60):
        mid = 0.5 * (low + high)
        if kept_fraction(mid) > target_kept:
            low = mid
        else:
            high = mid
    return 0.5 * (low + high)


def drop_block_2d(
    inputs,
    rate,
    block_size,
    seed=None,
    training=False,
    data_format="channels_last",
    shared_across_channels=True,
):
    """Drops square blocks of a batch of feature maps; see `DropBlock2D`.

    Args:
        inputs: A rank-4 tensor.
        rate: Expected fraction of dropped cells, in [0, 1).
        block_size: Int or (height, width) pair; clipped to the feature map's size.
        seed: A `keras.random.SeedGenerator` (or None).
        training: Python bool; the input is returned unchanged when False.
        data_format: "channels_last", "channels_first", or None for the global setting.
        shared_across_channels: One mask per sample for all channels (True) or an
            independent mask per channel (False).

    Returns:
        A tensor like `inputs`.
    """
    data_format = check_data_format(data_format)
    if not training or rate == 0.0:
        return inputs
    block_height, block_width = check_size_pair(block_size, "block_size")
    if data_format == "channels_first":
        height, width, channels = inputs.shape[2], inputs.shape[3], inputs.shape[1]
    else:
        height, width, channels = inputs.shape[1], inputs.shape[2], inputs.shape[3]
    if height is None or width is None:
        raise ValueError(
            "DropBlock2D needs feature maps with a known height and width. "
            f"Received: inputs with shape {tuple(inputs.shape)}"
        )
    block_height, block_width = min(block_height, height), min(block_width, width)
    gamma = seed_probability(height, width, block_height, block_width, float(rate))

    batch = ops.shape(inputs)[0]
    mask_channels = 1 if shared_across_channels else channels
    seed_shape = (batch, height - block_height + 1, width - block_width + 1, mask_channels)
    seeds = ops.cast(
        keras.random.uniform(seed_shape, seed=seed, dtype="float32") < gamma, "float32"
    )
    # A seed marks the top-left cell of a block. Padding by (block - 1) on every side and
    # taking a stride-1 "valid" max-pool of the block's size marks each cell covered by a
    # block, for odd and even block sizes alike.
    seeds = ops.pad(
        seeds,
        [[0, 0], [block_height - 1, block_height - 1], [block_width - 1, block_width - 1], [0, 0]],
    )
    # The max over a rectangle is the max over its columns of the max over its rows: two
    # 1-D pools cost block_height + block_width comparisons per cell instead of their product.
    # The mask is built channels_last whatever the inputs' layout; the pools must be told so,
    # or they follow Keras's global image_data_format and pool over the wrong axes.
    dropped = ops.max_pool(
        seeds, pool_size=(block_height, 1), strides=1, padding="valid", data_format="channels_last"
    )
    dropped = ops.max_pool(
        dropped, pool_size=(1, block_width), strides=1, padding="valid", data_format="channels_last"
    )
    keep = 1.0 - dropped
    if data_format == "channels_first":
        keep = ops.transpose(keep, (0, 3, 1, 2))
    # gamma is calibrated so that E[keep] = 1 - rate exactly: scaling by 1 / (1 - rate)
    # keeps the expected activation, like inverted dropout, with no division by a random
    # count that could be zero.
    scale = 1.0 / (1.0 - rate)
    return inputs * ops.cast(keep * scale, inputs.dtype)


@keras.saving.register_keras_serializable(package="keraslab")
class DropBlock2D(keras.layers.Layer):
    """Drops contiguous square regions of feature maps during training (Ghiasi et al., 2018).

    Neighbouring activations of a convolutional map are strongly correlated, so dropping
    single cells (dropout) removes little information; dropping a `block_size` square
    removes a whole region. Block seeds are drawn where a whole block fits, with a
    probability calibrated so that the expected fraction of dropped cells equals `rate`
    exactly (overlaps and borders included), and kept cells are scaled by
    `1 / (1 - rate)`. At inference the layer is the identity.

    By default one mask is shared by all channels of a sample (a region is removed from
    every feature map, as in timm); `shared_across_channels=False` draws an independent
    mask per channel (as in the TensorFlow reference and keras-cv).

    A `block_size` larger than the feature map is clipped to the map's size on that axis
    (so a 7x7 block on a 4x9 map drops 4x7 regions); the drop fraction is still `rate`.

    Args:
        rate: Expected fraction of dropped cells, in [0, 1).
        block_size: Positive int or (height, width) pair of positive ints.
        data_format: "channels_last", "channels_first", or None (the default) for Keras's
            global `image_data_format`.
        shared_across_channels: Whether one mask serves all channels. Defaults to True.
        seed: Optional integer seed for the layer's random generator.
        **kwargs: Base layer keyword arguments.

    Call arguments:
        inputs: A rank-4 tensor with known height and width.
        training: Python bool; drop only when True.

    Returns:
        A tensor like `inputs`.

    Example:

    >>> x = keras.random.normal((8, 16, 16, 32))
    >>> y = DropBlock2D(rate=0.1, block_size=5)(x, training=True)
    """

    def __init__(
        self,
        rate,
        block_size,
        data_format=None,
        shared_across_channels=True,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.rate = check_rate(rate)
        self.block_size = check_size_pair(block_size, "block_size")
        self.data_format = check_data_format(data_format)
        self.shared_across_channels = bool(shared_across_channels)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(
                "DropBlock2D expects inputs of rank 4 (batch, height, width, channels). "
                f"Received: inputs with shape {tuple(input_shape)}"
            )

    def call(self, inputs, training=False):
        return drop_block_2d(
            inputs,
            self.rate,
            self.block_size,
            seed=self.seed_generator,
            training=training,
            data_format=self.data_format,
            shared_across_channels=self.shared_across_channels,
        )

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "rate": self.rate,
                "block_size": self.block_size,
                "data_format": self.data_format,
                "shared_across_channels": self.shared_across_channels,
                "seed": self.seed,
            }
        )
        return config
