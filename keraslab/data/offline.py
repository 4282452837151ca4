"""Datasets that work without a network: real handwritten digits and generated shape images.

These stand in for the TFDS datasets on machines that cannot download (CI, exam rooms,
some clusters). Both return NumPy arrays of `uint8` images in `[0, 255]` with shape
`(n, height, width, channels)` and `int64` labels, the same layout the TFDS loaders produce.
"""

from __future__ import annotations

import numpy as np

SHAPES = (
    "circle",
    "square",
    "triangle",
    "diamond",
    "cross",
    "ring",
    "frame",
    "x",
    "half_disc",
    "ellipse",
)
TEXTURES = (
    "solid",
    "h_stripes",
    "v_stripes",
    "checker",
    "d_stripes",
    "dots",
    "gradient",
    "rings",
    "grid",
    "speckle",
)


def _split(x, y, test_fraction, seed):
    """A stratified, seeded train/test split."""
    rng = np.random.default_rng(seed)
    train_idx, test_idx = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_test = int(round(len(idx) * test_fraction))
        test_idx.append(idx[:n_test])
        train_idx.append(idx[n_test:])
    train_idx = rng.permutation(np.concatenate(train_idx))
    test_idx = rng.permutation(np.concatenate(test_idx))
    return (x[train_idx], y[train_idx]), (x[test_idx], y[test_idx])


def _check_split_arguments(channels, test_fraction, train_size, test_size):
    """The arguments every offline loader shares, each error naming the value received."""
    if channels not in (1, 3):
        raise ValueError(f"`channels` must be 1 or 3. Received: channels={channels!r}")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"`test_fraction` must be in (0, 1). Received: test_fraction={test_fraction!r}")
    _check_subset(train_size, "train_size")
    _check_subset(test_size, "test_size")


def _check_subset(value, name):
    if value is not None and (not isinstance(value, (int, np.integer)) or value <= 0):
        raise ValueError(f"`{name}` must be a positive integer or None. Received: {name}={value!r}")


def load_digits(image_size=None, channels=1, test_fraction=0.2, train_size=None,
                test_size=None, seed=0):
    """Loads scikit-learn's 1797 real 8x8 handwritten digits, optionally MNIST-shaped.

    With `image_size=28` the 8x8 digit is upsampled (bilinear) to 20x20 and centred in a
    28x28 frame with a 4-pixel border, the way MNIST digits sit in their frame, so a model
    built for MNIST runs on it unchanged.

    Args:
        image_size: `None` keeps 8x8; an integer >= 8 resizes (and pads, see above).
        channels: 1, or 3 to repeat the grey channel (for RGB models).
        test_fraction: fraction of each class held out for the test split.
        train_size: keep at most this many training images (`None`: all).
        test_size: keep at most this many test images (`None`: all).
        seed: seed of the stratified split.

    Returns:
        `((x_train, y_train), (x_test, y_test))`, `uint8` images of shape
        `(n, image_size, image_size, channels)` and `int64` labels in `[0, 10)`.

    Example:
    >>> (x, y), _ = load_digits(image_size=28)
    >>> x.shape[1:], x.dtype
    ((28, 28, 1), dtype('uint8'))
    """
    from sklearn.datasets import load_digits as _sk_load_digits

    if image_size is not None and (not isinstance(image_size, (int, np.integer)) or image_size < 8):
        raise ValueError(f"`image_size` must be None or an integer >= 8. Received: image_size={image_size!r}")
    _check_split_arguments(channels, test_fraction, train_size, test_size)

    bunch = _sk_load_digits()
    # Pixel values are counts in [0, 16]; 16 maps to 255.
    x = (bunch.images.astype(np.float32) * (255.0 / 16.0))[..., None]
    y = bunch.target.astype(np.int64)
    if image_size is not None and image_size != 8:
        x = _resize_digits(x, image_size)
    x = np.clip(np.round(x), 0, 255).astype(np.uint8)
    if channels == 3:
        x = np.repeat(x, 3, axis=-1)
    (x_tr, y_tr), (x_te, y_te) = _split(x, y, test_fraction, seed)
    return (x_tr[:train_size], y_tr[:train_size]), (x_te[:test_size], y_te[:test_size])


def _resize_digits(x, size):
    """Bilinear upsampling; for sizes >= 14 the digit fills the inner 5/7 of the frame like MNIST."""
    from scipy.ndimage import zoom

    inner = size if size < 14 else int(round(size * 20 / 28))
    resized = zoom(x, (1, inner / 8, inner / 8, 1), order=1)
    out = np.zeros((x.shape[0], size, size, 1), np.float32)
    top = (size - inner) // 2
    out[:, top : top + inner, top : top + inner] = resized[:, :inner, :inner]
    return out


def _shape_masks(kind, dx, dy, r):
    """Boolean masks of `kind` for coordinate grids dx, dy (n, h, w) and radii r (n, 1, 1)."""
    ax, ay = np.abs(dx), np.abs(dy)
    dist = np.sqrt(dx**2 + dy**2)
    if kind == "circle":
        return dist < r
    if kind == "square":
        return np.maximum(ax, ay) < 0.85 * r
    if kind == "triangle":
        # Apex up; base at dy = 0.7 r.
        return (dy < 0.7 * r) & (dy > -r) & (ax < (dy + r) * 0.58)
    if kind == "diamond":
        return ax + ay < r
    if kind == "cross":
        return ((ax < r / 3) & (ay < r)) | ((ay < r / 3) & (ax < r))
    if kind == "ring":
        return (dist < r) & (dist > 0.55 * r)
    if kind == "frame":
        m = np.maximum(ax, ay)
        return (m < 0.9 * r) & (m > 0.5 * r)
    if kind == "x":
        return ((np.abs(dx - dy) < r / 2.5) | (np.abs(dx + dy) < r / 2.5)) & (np.maximum(ax, ay) < 0.8 * r)
    if kind == "half_disc":
        return (dist < r) & (dy > -0.1 * r)
    if kind == "ellipse":
        return (dx / r) ** 2 + (dy / (0.5 * r)) ** 2 < 1.0
    raise ValueError(f"Unknown shape kind: {kind!r}")


def _texture(kind, x, y, period, phase):
    """A {0, 1}-valued (or [0, 1]) pattern used to mix two foreground colours."""
    u = (x + phase) / period
    v = (y + phase) / period
    if kind == "solid":
        return np.zeros_like(x)
    if kind == "h_stripes":
        return (np.floor(v) % 2).astype(np.float32)
    if kind == "v_stripes":
        return (np.floor(u) % 2).astype(np.float32)
    if kind == "checker":
        return ((np.floor(u) + np.floor(v)) % 2).astype(np.float32)
    if kind == "d_stripes":
        return (np.floor((u + v) / 1.4) % 2).astype(np.float32)
    if kind == "dots":
        fu, fv = u % 1.0 - 0.5, v % 1.0 - 0.5
        return ((fu**2 + fv**2) < 0.09).astype(np.float32)
    if kind == "gradient":
        return np.clip((y - y.min(axis=(1, 2), keepdims=True)) / (x.shape[1] * 2), 0, 1)
    if kind == "rings":
        return (np.floor(np.sqrt(x**2 + y**2) / period) % 2).astype(np.float32)
    if kind == "grid":
        return (((u % 1.0) < 0.3) | ((v % 1.0) < 0.3)).astype(np.float32)
    if kind == "speckle":
        return np.zeros_like(x)  # filled with random noise by the caller
    raise ValueError(f"Unknown texture kind: {kind!r}")


def class_layout(num_classes):
    """How classes map to (shape, texture): `num_classes` shapes x textures, row-major.

    Ten classes use 5 shapes x 2 textures (solid or striped), so a model must look at both
    the outline and the pattern; 100 classes use all 10 x 10.

    Args:
        num_classes: number of classes, 2 to 100.

    Returns:
        A list of `(shape_name, texture_name)` pairs, one per class.

    Example:
    >>> class_layout(10)[:3]
    [('circle', 'solid'), ('circle', 'h_stripes'), ('square', 'solid')]
    """
    if not isinstance(num_classes, (int, np.integer)) or not 2 <= num_classes <= len(SHAPES) * len(TEXTURES):
        raise ValueError(
            f"`num_classes` must be an integer in [2, {len(SHAPES) * len(TEXTURES)}]. "
            f"Received: num_classes={num_classes!r}"
        )
    n_tex = max(2, -(-num_classes // len(SHAPES)))
    return [(SHAPES[c // n_tex], TEXTURES[c % n_tex]) for c in range(num_classes)]


def make_shapes(num_samples, image_size=32, num_classes=10, noise=0.08, seed=0):
    """Generates coloured shapes with textures: a CIFAR-sized stand-in that needs no download.

    Each image shows one shape (the class is its outline and its texture, see
    `class_layout`) at a random position and size, in two random foreground colours, over
    a random background with a low-contrast distractor pattern, plus Gaussian pixel noise.
    Colours carry no class information, so a model has to learn outlines and textures.
    The same seed always gives the same images.

    Args:
        num_samples: number of images.
        image_size: height and width in pixels (>= 16).
        num_classes: number of classes (see `class_layout`).
        noise: standard deviation of the pixel noise, in units of the [0, 1] range.
        seed: seed of the generator.

    Returns:
        `(x, y)`: `uint8` images `(num_samples, image_size, image_size, 3)` and `int64`
        labels, balanced across classes.

    Example:
    >>> x, y = make_shapes(100, seed=1)
    >>> x.shape, sorted(set(y.tolist())) == list(range(10))
    ((100, 32, 32, 3), True)
    """
    if not isinstance(num_samples, (int, np.integer)) or num_samples <= 0:
        raise ValueError(f"`num_samples` must be a positive integer. Received: num_samples={num_samples!r}")
    if not isinstance(image_size, (int, np.integer)) or image_size < 16:
        raise ValueError(f"`image_size` must be an integer >= 16. Received: image_size={image_size!r}")
    if noise < 0:
        raise ValueError(f"`noise` must be >= 0. Received: noise={noise!r}")
    layout = class_layout(num_classes)
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(num_samples) % num_classes).astype(np.int64)

    # Draw at twice the resolution and average 2x2 blocks: anti-aliased edges.
    s = 2
    size = image_size * s
    grid = (np.arange(size, dtype=np.float32) + 0.5) / s
    gx, gy = np.meshgrid(grid, grid)
    n = num_samples
    radius = rng.uniform(0.2, 0.38, n).astype(np.float32) * image_size
    cx = rng.uniform(0.5 - 0.12, 0.5 + 0.12, n).astype(np.float32) * image_size
    cy = rng.uniform(0.5 - 0.12, 0.5 + 0.12, n).astype(np.float32) * image_size
    dx = gx[None] - cx[:, None, None]
    dy = gy[None] - cy[:, None, None]
    period = rng.uniform(2.0, 3.5, n).astype(np.float32)[:, None, None]
    phase = rng.uniform(0, 4, n).astype(np.float32)[:, None, None]

    background = rng.uniform(0, 1, (n, 3)).astype(np.float32)
    # Foreground colours differ from the background by a clear margin in at least one channel.
    fg1 = rng.uniform(0, 1, (n, 3)).astype(np.float32)
    too_close = np.abs(fg1 - background).max(axis=1) < 0.35
    fg1[too_close] = 1.0 - background[too_close]
    fg2 = np.clip(fg1 + rng.choice([-1, 1], (n, 3)) * rng.uniform(0.3, 0.6, (n, 3)), 0, 1).astype(np.float32)

    img = np.empty((n, size, size, 3), np.float32)
    img[:] = background[:, None, None, :]
    # Distractor: a faint background pattern that is not tied to the class.
    bg_tex = rng.integers(0, len(TEXTURES) - 1, n)
    for t in np.unique(bg_tex):
        idx = np.flatnonzero(bg_tex == t)
        pat = _texture(TEXTURES[t], gx[None].repeat(len(idx), 0), gy[None].repeat(len(idx), 0),
                       period[idx] * 1.7, phase[idx])
        img[idx] += (pat[..., None] - 0.5) * 0.15

    for c, (shape, texture) in enumerate(layout):
        idx = np.flatnonzero(y == c)
        if len(idx) == 0:
            continue
        mask = _shape_masks(shape, dx[idx], dy[idx], radius[idx, None, None])
        if texture == "speckle":
            pat = (rng.uniform(0, 1, mask.shape) < 0.35).astype(np.float32)
        else:
            pat = _texture(texture, dx[idx], dy[idx], period[idx], phase[idx])
        colour = fg1[idx, None, None, :] * (1 - pat[..., None]) + fg2[idx, None, None, :] * pat[..., None]
        img[idx] = np.where(mask[..., None], colour, img[idx])

    img = img.reshape(n, image_size, s, image_size, s, 3).mean(axis=(2, 4))
    img += rng.normal(0, noise, img.shape).astype(np.float32)
    x = np.clip(np.round(img * 255.0), 0, 255).astype(np.uint8)
    return x, y


def load_shapes(train_size=5000, test_size=1000, image_size=32, num_classes=10, noise=0.08, seed=0):
    """Loads the generated shapes dataset as train and test splits.

    The test images come from an independent stream of the same generator (seed
    `seed + 1`), so no test image is a copy of a training image.

    Args:
        train_size: number of training images.
        test_size: number of test images.
        image_size: height and width in pixels.
        num_classes: number of classes (see `class_layout`).
        noise: pixel noise standard deviation in [0, 1] units.
        seed: seed of the training split; the test split uses `seed + 1`.

    Returns:
        `((x_train, y_train), (x_test, y_test))` as in `make_shapes`.

    Example:
    >>> (x, y), (xt, yt) = load_shapes(train_size=200, test_size=50)
    >>> x.shape, xt.shape
    ((200, 32, 32, 3), (50, 32, 32, 3))
    """
    _check_subset(train_size, "train_size")
    _check_subset(test_size, "test_size")
    train = make_shapes(train_size, image_size=image_size, num_classes=num_classes, noise=noise, seed=seed)
    test = make_shapes(test_size, image_size=image_size, num_classes=num_classes, noise=noise,
                       seed=seed + 1)
    return train, test
