"""Pieces shared by the lab models: initializer names and normalization layers."""

from __future__ import annotations

import keras

NORMALIZATIONS = ("none", "batch", "layer", "group", "instance")
INITIALIZERS = ("zeros", "small_random", "xavier", "glorot", "he", "lecun", "orthogonal", "lsuv")


def make_initializer(name, seed=None):
    """A Keras initializer from a lab-friendly name.

    Args:
        name: "zeros" (alias "zero"), "small_random" (N(0, 0.01^2), the classic
            `0.01 * randn`), "xavier"/"glorot" (Glorot normal, Var = 2/(n_in + n_out)),
            "he" (He normal, Var = 2/n_in), "lecun" (Var = 1/n_in), "orthogonal", "lsuv"
            (orthogonal; the caller then runs `keraslab.initializers.lsuv_init` on a data
            batch), or any Keras initializer identifier or instance.
        seed: integer seed (each layer should get its own).

    Returns:
        A `keras.initializers.Initializer`.

    Example:
    >>> make_initializer("he", seed=0)  # doctest: +ELLIPSIS
    <...HeNormal...>
    """
    if isinstance(name, keras.initializers.Initializer):
        return name
    if not isinstance(name, str):
        raise ValueError(f"`initializer` must be a name or a Keras initializer. Received: initializer={name!r}")
    key = name.lower()
    if key in ("zero", "zeros"):
        return keras.initializers.Zeros()
    if key == "small_random":
        return keras.initializers.RandomNormal(stddev=0.01, seed=seed)
    if key in ("xavier", "glorot", "glorot_normal"):
        return keras.initializers.GlorotNormal(seed=seed)
    if key in ("he", "he_normal"):
        return keras.initializers.HeNormal(seed=seed)
    if key in ("lecun", "lecun_normal"):
        return keras.initializers.LecunNormal(seed=seed)
    if key in ("orthogonal", "lsuv"):
        return keras.initializers.Orthogonal(seed=seed)
    try:
        init = keras.initializers.get(name)
    except ValueError:
        init = None
    if init is None:
        raise ValueError(
            f"`initializer` must be one of {INITIALIZERS} or a Keras initializer name. "
            f"Received: initializer={name!r}"
        )
    return init


def check_normalization(normalization):
    norm = "none" if normalization in (None, False) else normalization
    if norm not in NORMALIZATIONS:
        raise ValueError(
            f"`normalization` must be one of {NORMALIZATIONS}. Received: normalization={normalization!r}"
        )
    return norm


def norm_layer(normalization, rank, groups=8, name=None, gamma_initializer="ones", virtual_batch_size=None,
               moving_statistics="batch"):
    """A normalization layer, or None for "none".

    "layer" normalizes each sample over all its features; on feature maps that means over
    height, width and channels together (as in the GroupNorm paper's comparison), not over
    channels per pixel, which is Keras's `LayerNormalization` default. Its scale and offset are
    per channel, like every other normalization here: on feature maps it is a `GroupNorm` with
    one group (`LayerNormalization` over those axes would learn one per position and channel,
    several times the parameters of the others).

    Args:
        normalization: one of `NORMALIZATIONS`.
        rank: rank of the input including the batch axis (2 for dense, 4 for conv maps).
        groups: number of groups for "group" (clipped to the channel count by the caller).
        name: layer name.
        gamma_initializer: initializer of the scale (ResNets zero the last one per branch).
        virtual_batch_size: for "batch", the examples per statistic
            (`keraslab.layers.GhostBatchNorm`); None: the whole batch.
        moving_statistics: with `virtual_batch_size`, what the moving statistics are tracked
            over ("batch" or "slices": see `GhostBatchNorm`).

    Returns:
        A Keras layer or None.
    """
    norm = check_normalization(normalization)
    if virtual_batch_size is not None and norm != "batch":
        raise ValueError("`virtual_batch_size` is for batch normalization only. "
                         f"Received: virtual_batch_size={virtual_batch_size!r}, normalization={normalization!r}")
    if norm == "none":
        return None
    if norm == "batch" and virtual_batch_size is not None:
        from keraslab.layers import GhostBatchNorm

        return GhostBatchNorm(virtual_batch_size, gamma_initializer=gamma_initializer, name=name,
                              moving_statistics=moving_statistics)
    if norm == "batch":
        return keras.layers.BatchNormalization(gamma_initializer=gamma_initializer, name=name)
    from keraslab.layers import GroupNorm, InstanceNorm

    if norm == "layer" and rank == 2:
        return keras.layers.LayerNormalization(axis=-1, gamma_initializer=gamma_initializer, name=name)
    if norm == "layer":
        return GroupNorm(groups=1, gamma_initializer=gamma_initializer, name=name)

    if norm == "group":
        return GroupNorm(groups=groups, gamma_initializer=gamma_initializer, name=name)
    return InstanceNorm(gamma_initializer=gamma_initializer, name=name)
