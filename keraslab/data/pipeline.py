"""Input pipelines: per-channel normalization and augmentation on `tf.data`.

Order of operations, and why:
1. per image, on pixels in [0, 1]: random crop with padding, horizontal flip, rotation,
   colour jitter. Colour jitter needs the [0, 1] range, and zero padding means black
   borders as in the usual CIFAR recipe.
2. per-channel standardization with statistics of the training set.
3. per batch: Cutout (fills with 0, which after standardization is the channel mean),
   then MixUp or CutMix, which need a batch and one-hot labels.

Per-image randomness comes from stateless ops seeded by a `tf.data` random stream that is
re-drawn every epoch, so a pipeline repeats exactly under the same seed and still shows the
model new augmentations each epoch.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

AUGMENT_KEYS = {
    "crop_padding": 0,
    "flip": False,
    "rotation": 0.0,
    "color_jitter": 0.0,
    "cutout": 0,
    "mix": None,
    "mix_alpha": None,
}

# Named recipes. Digits must not be flipped (a mirrored 2 is not a 2), hence two presets.
PRESETS = {
    "none": {},
    "standard": {"crop_padding": 4, "flip": True},
    "digits": {"crop_padding": 2, "rotation": 10.0},
    "lab3": {"crop_padding": 4, "flip": True, "rotation": 15.0, "color_jitter": 0.2},
    "mixup": {"crop_padding": 4, "flip": True, "mix": "mixup", "mix_alpha": 1.0},
    "cutmix": {"crop_padding": 4, "flip": True, "mix": "cutmix", "mix_alpha": 1.0},
    "cutout": {"crop_padding": 4, "flip": True, "cutout": 8},
}


def resolve_augment(augment):
    """Turns `None`, a preset name, or a dict into a complete augmentation dict.

    Args:
        augment: `None` or `False` (no augmentation), `True` (the "standard" preset), a
            preset name from `PRESETS`, or a dict with keys from `AUGMENT_KEYS`.

    Returns:
        A dict with every key of `AUGMENT_KEYS`.

    Example:
    >>> resolve_augment("standard")["flip"]
    True
    """
    if augment is None or augment is False:
        spec = {}
    elif augment is True:
        spec = PRESETS["standard"]
    elif isinstance(augment, str):
        if augment not in PRESETS:
            raise ValueError(f"`augment` must be one of {sorted(PRESETS)} or a dict. Received: augment={augment!r}")
        spec = PRESETS[augment]
    elif isinstance(augment, dict):
        unknown = set(augment) - set(AUGMENT_KEYS)
        if unknown:
            raise ValueError(
                f"`augment` has unknown keys {sorted(unknown)}; allowed: {sorted(AUGMENT_KEYS)}. "
                f"Received: augment={augment!r}"
            )
        spec = augment
    else:
        raise ValueError(f"`augment` must be None, a bool, a preset name or a dict. Received: augment={augment!r}")
    out = {**AUGMENT_KEYS, **spec}
    if out["mix"] not in (None, "mixup", "cutmix"):
        raise ValueError(f"augment['mix'] must be None, 'mixup' or 'cutmix'. Received: mix={out['mix']!r}")
    if not 0 <= float(out["rotation"]) <= 180:
        raise ValueError(f"augment['rotation'] must be in [0, 180] degrees. Received: rotation={out['rotation']!r}")
    if not 0 <= float(out["color_jitter"]) < 1:
        raise ValueError(f"augment['color_jitter'] must be in [0, 1). Received: color_jitter={out['color_jitter']!r}")
    if out["mix_alpha"] is None:
        out["mix_alpha"] = 0.2 if out["mix"] == "mixup" else 1.0
    return out


def channel_stats(images, max_samples=10000):
    """Per-channel mean and standard deviation of `uint8` images, in [0, 1] units.

    Args:
        images: array `(n, height, width, channels)` with values in [0, 255].
        max_samples: use at most the first this many images (enough for 3 decimals).

    Returns:
        `(mean, std)`, two float32 arrays of shape `(channels,)`.

    Example:
    >>> mean, std = channel_stats(np.full((2, 4, 4, 3), 255, np.uint8))
    >>> mean.tolist(), std.tolist()
    ([1.0, 1.0, 1.0], [1.0, 1.0, 1.0])
    """
    x = np.asarray(images[:max_samples], np.float64) / 255.0
    if x.ndim != 4:
        raise ValueError(f"`images` must have rank 4 (n, h, w, c). Received: shape={x.shape}")
    mean = x.mean(axis=(0, 1, 2))
    std = x.std(axis=(0, 1, 2))
    # A constant channel would divide by zero; leave it unscaled instead.
    std = np.where(std < 1e-6, 1.0, std)
    return mean.astype(np.float32), std.astype(np.float32)


def normalize(images, mean, std):
    """Standardizes images per channel: `(images / 255 - mean) / std`.

    Args:
        images: `uint8` or float tensor in [0, 255], channels last.
        mean: per-channel mean in [0, 1] units (see `channel_stats`).
        std: per-channel standard deviation in [0, 1] units.

    Returns:
        A float32 tensor of the same shape.

    Example:
    >>> normalize(tf.constant([[[[255, 0, 0]]]], tf.uint8), [0.5] * 3, [0.5] * 3).numpy().ravel().tolist()
    [1.0, -1.0, -1.0]
    """
    x = tf.cast(images, tf.float32) / 255.0
    return (x - tf.constant(mean, tf.float32)) / tf.constant(std, tf.float32)


def rotate(image, angle, fill_mode="REFLECT"):
    """Rotates one image `(h, w, c)` by `angle` radians about its centre (bilinear).

    Args:
        image: float tensor `(height, width, channels)`.
        angle: scalar angle in radians (counter-clockwise on screen).
        fill_mode: how to fill pixels that come from outside ("REFLECT", "CONSTANT",
            "NEAREST", "WRAP").

    Returns:
        The rotated image, same shape and dtype.
    """
    h = tf.cast(tf.shape(image)[0], tf.float32)
    w = tf.cast(tf.shape(image)[1], tf.float32)
    cos, sin = tf.cos(angle), tf.sin(angle)
    # The transform maps output coordinates to input coordinates; the offsets keep the
    # image centre fixed.
    x_off = ((w - 1) - (cos * (w - 1) - sin * (h - 1))) / 2.0
    y_off = ((h - 1) - (sin * (w - 1) + cos * (h - 1))) / 2.0
    transform = tf.stack([cos, -sin, x_off, sin, cos, y_off, 0.0, 0.0])[None]
    out = tf.raw_ops.ImageProjectiveTransformV3(
        images=image[None],
        transforms=transform,
        output_shape=tf.shape(image)[:2],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode=fill_mode,
    )
    return out[0]


def augment_image(image, seed, spec):
    """Applies the per-image part of an augmentation spec to one float image in [0, 1].

    Args:
        image: float32 tensor `(height, width, channels)` with values in [0, 1].
        seed: int tensor of shape `(2,)`, the stateless seed of this image.
        spec: a dict from `resolve_augment`.

    Returns:
        The augmented image, values clipped to [0, 1].
    """
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=6)
    shape = tf.shape(image)
    pad = int(spec["crop_padding"])
    if pad:
        padded = tf.pad(image, [[pad, pad], [pad, pad], [0, 0]])
        image = tf.image.stateless_random_crop(padded, shape, seed=seeds[0])
    if spec["flip"]:
        image = tf.image.stateless_random_flip_left_right(image, seed=seeds[1])
    if spec["rotation"]:
        max_angle = math.radians(float(spec["rotation"]))
        angle = tf.random.stateless_uniform([], seeds[2], -max_angle, max_angle)
        image = rotate(image, angle)
    jitter = float(spec["color_jitter"])
    if jitter:
        image = tf.image.stateless_random_brightness(image, jitter, seed=seeds[3])
        image = tf.image.stateless_random_contrast(image, 1 - jitter, 1 + jitter, seed=seeds[4])
        if image.shape[-1] == 3:
            image = tf.image.stateless_random_saturation(image, 1 - jitter, 1 + jitter, seed=seeds[5])
    return tf.clip_by_value(image, 0.0, 1.0)


def make_pipeline(
    images,
    labels,
    *,
    batch_size,
    num_classes,
    mean,
    std,
    training=False,
    augment=None,
    one_hot=True,
    shuffle=None,
    drop_remainder=False,
    seed=0,
    repeat=False,
):
    """Builds a batched, prefetched `tf.data` pipeline from in-memory images.

    Args:
        images: `uint8` array `(n, height, width, channels)` in [0, 255].
        labels: integer array `(n,)`.
        batch_size: the (global) batch size.
        num_classes: number of classes, for one-hot labels.
        mean: per-channel mean (see `channel_stats`).
        std: per-channel standard deviation.
        training: if True, shuffle and augment; evaluation pipelines never augment.
        augment: see `resolve_augment`; used only when `training` is True.
        one_hot: yield one-hot float labels (needed for MixUp/CutMix, which force it).
        shuffle: shuffle every epoch; defaults to `training`.
        drop_remainder: drop the last incomplete batch (keeps batch-norm statistics honest
            with very small batches, and shapes static for XLA).
        seed: seed of the shuffle and of the augmentations.
        repeat: repeat forever (for step-based loops).

    Returns:
        A `tf.data.Dataset` of `(images, labels)` batches: float32 images, labels one-hot
        float32 `(batch, num_classes)` or int64 `(batch,)`.

    Example:
    >>> x = np.zeros((10, 8, 8, 1), np.uint8); y = np.arange(10) % 2
    >>> ds = make_pipeline(x, y, batch_size=4, num_classes=2, mean=[0.0], std=[1.0])
    >>> [tuple(b[0].shape) for b in ds]
    [(4, 8, 8, 1), (4, 8, 8, 1), (2, 8, 8, 1)]
    """
    images = np.asarray(images)
    labels = np.asarray(labels).astype(np.int64).reshape(-1)
    if images.ndim != 4:
        raise ValueError(f"`images` must have rank 4 (n, h, w, c). Received: shape={images.shape}")
    if len(images) != len(labels):
        raise ValueError(f"`images` and `labels` differ in length: {len(images)} vs {len(labels)}")
    if not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
        raise ValueError(f"`batch_size` must be a positive integer. Received: batch_size={batch_size!r}")
    spec = resolve_augment(augment if training else None)
    if spec["mix"]:
        one_hot = True
    shuffle = training if shuffle is None else shuffle

    ds = tf.data.Dataset.from_tensor_slices((images, labels))
    if shuffle:
        ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    per_image = spec["crop_padding"] or spec["flip"] or spec["rotation"] or spec["color_jitter"]
    if per_image:
        # Fresh seeds every epoch, yet the same sequence for the same `seed`.
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        ds = tf.data.Dataset.zip((ds, seeds))

        def _augment(pair, s):
            x, y = pair
            x = augment_image(tf.cast(x, tf.float32) / 255.0, s, spec)
            return (x * 255.0, y)

        ds = ds.map(_augment, num_parallel_calls=tf.data.AUTOTUNE)
    if repeat:
        ds = ds.repeat()
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)

    # Normalizing and one-hot encoding whole batches is several times faster than per image.
    def _finish(x, y):
        return normalize(x, mean, std), (tf.one_hot(y, num_classes) if one_hot else y)

    ds = ds.map(_finish, num_parallel_calls=tf.data.AUTOTUNE)
    if spec["cutout"]:
        from keraslab.layers import Cutout

        cutout = Cutout(int(spec["cutout"]), fill_value=0.0, seed=seed + 1)
        ds = ds.map(lambda x, y: (cutout(x, training=True), y))
    if spec["mix"]:
        from keraslab.layers import CutMix, MixUp

        layer_cls = MixUp if spec["mix"] == "mixup" else CutMix
        mixer = layer_cls(alpha=float(spec["mix_alpha"]), seed=seed + 2)
        ds = ds.map(lambda x, y: mixer((x, y), training=True))
    return ds.prefetch(tf.data.AUTOTUNE)
