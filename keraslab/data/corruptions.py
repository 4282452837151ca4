"""Image corruptions for testing a classifier out of distribution.

Small NumPy versions of four of the corruption families of Hendrycks & Dietterich (2019,
CIFAR-10-C): additive Gaussian noise, Gaussian blur, reduced contrast and darkening, each at
severities 1 (mild) to 5 (strong). They work on `uint8` images of any size and channel count,
are deterministic given a seed, and need no download, so a lab can measure how accuracy and
calibration degrade under a shift of the input distribution.
"""

from __future__ import annotations

import numpy as np

# Per family, the parameter at severities 1-5 (for 32x32 images, in the spirit of CIFAR-10-C).
SEVERITIES = {
    "gaussian_noise": (0.04, 0.06, 0.08, 0.09, 0.10),  # noise std, in [0, 1] pixel units
    "gaussian_blur": (0.4, 0.6, 0.7, 0.8, 1.0),  # blur sigma, in pixels
    "contrast": (0.75, 0.5, 0.4, 0.3, 0.15),  # factor applied around the image mean
    "darken": (0.8, 0.65, 0.5, 0.4, 0.3),  # factor applied to every pixel
}
CORRUPTIONS = tuple(SEVERITIES)


def _gaussian_kernel(sigma):
    radius = max(1, int(np.ceil(3 * sigma)))
    offsets = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    return kernel / kernel.sum()


def _blur(images, sigma):
    """Separable Gaussian blur along height and width, reflecting at the borders."""
    kernel = _gaussian_kernel(sigma)
    radius = len(kernel) // 2
    out = images
    for axis in (1, 2):
        pad = [(0, 0)] * images.ndim
        pad[axis] = (radius, radius)
        padded = np.pad(out, pad, mode="reflect" if out.shape[axis] > radius else "edge")
        length = out.shape[axis]
        out = sum(w * np.take(padded, np.arange(i, i + length), axis=axis) for i, w in enumerate(kernel))
    return out


def corrupt(images, name, severity=3, seed=0):
    """Applies one corruption to a batch of images.

    Args:
        images: `uint8` array `(n, height, width, channels)`.
        name: one of `CORRUPTIONS`.
        severity: 1 (mild) to 5 (strong).
        seed: seed of the noise (only `gaussian_noise` is random).

    Returns:
        A `uint8` array of the same shape.

    Example:
    >>> x = np.full((1, 8, 8, 3), 200, np.uint8)
    >>> int(corrupt(x, "darken", severity=5).max())
    60
    """
    if name not in SEVERITIES:
        raise ValueError(f"`name` must be one of {CORRUPTIONS}. Received: name={name!r}")
    if severity not in (1, 2, 3, 4, 5):
        raise ValueError(f"`severity` must be an integer from 1 to 5. Received: severity={severity!r}")
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4:
        raise ValueError("`images` must be a uint8 array of shape (n, height, width, channels). "
                         f"Received: dtype={images.dtype}, shape={images.shape}")
    x = images.astype(np.float64) / 255.0
    level = SEVERITIES[name][severity - 1]
    if name == "gaussian_noise":
        x = x + np.random.default_rng(seed).normal(0.0, level, size=x.shape)
    elif name == "gaussian_blur":
        x = _blur(x, level)
    elif name == "contrast":
        mean = x.mean(axis=(1, 2, 3), keepdims=True)
        x = (x - mean) * level + mean
    else:
        x = x * level
    return np.round(np.clip(x, 0.0, 1.0) * 255.0).astype(np.uint8)


def corrupted_sets(images, severity=3, seed=0, names=CORRUPTIONS):
    """Every corruption of `names` applied to `images`: `{name: corrupted images}`."""
    return {name: corrupt(images, name, severity=severity, seed=seed) for name in names}
