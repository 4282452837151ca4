import numpy as np
import pytest

from keraslab.data import offline


def test_digits_are_real_sklearn_digits_in_mnist_frame():
    (x, y), (xt, yt) = offline.load_digits(image_size=28)
    assert x.shape[1:] == (28, 28, 1) and x.dtype == np.uint8
    assert len(x) + len(xt) == 1797
    assert set(np.unique(y)) == set(range(10))
    # MNIST-like: the 4-pixel border is empty, the digit sits in the middle 20x20.
    assert x[:, :4].max() == 0 and x[:, -4:].max() == 0
    assert x[:, 4:24, 4:24].max() == 255


def test_digits_split_is_stratified_and_seeded():
    (_, y1), (_, yt1) = offline.load_digits(seed=3)
    (_, y2), _ = offline.load_digits(seed=3)
    np.testing.assert_array_equal(y1, y2)
    counts = np.bincount(yt1, minlength=10)
    assert counts.min() >= 34 and counts.max() <= 38  # 20% of ~180 per class


def test_digits_subset_sizes_and_rgb():
    (x, _), (xt, _) = offline.load_digits(channels=3, train_size=50, test_size=20)
    assert x.shape == (50, 8, 8, 3) and xt.shape == (20, 8, 8, 3)
    np.testing.assert_array_equal(x[..., 0], x[..., 2])


def test_shapes_deterministic_and_seed_dependent():
    a, ya = offline.make_shapes(64, seed=5)
    b, yb = offline.make_shapes(64, seed=5)
    c, _ = offline.make_shapes(64, seed=6)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ya, yb)
    assert np.abs(a.astype(int) - c.astype(int)).mean() > 20


def test_shapes_balanced_and_cifar_sized():
    x, y = offline.make_shapes(200, seed=0)
    assert x.shape == (200, 32, 32, 3) and x.dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(y), np.full(10, 20))


def test_shapes_hard_for_pixel_baseline_but_learnable():
    """A nearest-centroid classifier on pixels is far from perfect (colours carry no class),
    while a linear model on simple texture/shape features beats chance clearly."""
    (x, y), (xt, yt) = offline.load_shapes(train_size=1000, test_size=300, seed=1)
    flat, flat_t = x.reshape(len(x), -1) / 255.0, xt.reshape(len(xt), -1) / 255.0
    centroids = np.stack([flat[y == c].mean(0) for c in range(10)])
    pred = np.argmin(((flat_t[:, None] - centroids[None]) ** 2).sum(-1), axis=1)
    assert (pred == yt).mean() < 0.5

    from sklearn.linear_model import LogisticRegression

    def feats(imgs):
        g = imgs.astype(np.float32).mean(-1) / 255.0
        gx, gy = np.abs(np.diff(g, axis=2)), np.abs(np.diff(g, axis=1))
        # Edge energy in a 4x4 grid of cells: colour-free outline and texture cues.
        cells = lambda a: a[:, : a.shape[1] // 4 * 4, : a.shape[2] // 4 * 4].reshape(len(a), 4, a.shape[1] // 4, 4, a.shape[2] // 4).mean((2, 4)).reshape(len(a), -1)  # noqa: E731
        return np.concatenate([cells(gx), cells(gy)], 1)

    clf = LogisticRegression(max_iter=2000).fit(feats(x), y)
    assert clf.score(feats(xt), yt) > 0.2  # chance is 0.1


@pytest.mark.parametrize("n", [10, 100])
def test_class_layout_uses_outline_and_texture(n):
    layout = offline.class_layout(n)
    assert len(set(layout)) == n
    assert len({s for s, _ in layout}) > 1 and len({t for _, t in layout}) > 1


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="num_classes"):
        offline.class_layout(1000)
    with pytest.raises(ValueError, match="image_size"):
        offline.make_shapes(10, image_size=4)
    with pytest.raises(ValueError, match="train_size"):
        offline.load_digits(train_size=0)
