import numpy as np
import pytest

from keraslab.data.corruptions import CORRUPTIONS, SEVERITIES, corrupt, corrupted_sets


def _images(seed=0, n=8, size=16, channels=3):
    rng = np.random.default_rng(seed)
    return rng.integers(60, 196, (n, size, size, channels)).astype(np.uint8)  # no clipping


def test_darken_and_contrast_follow_their_formulas():
    x = _images()
    xf = x.astype(np.float64)
    for severity in range(1, 6):
        k = SEVERITIES["darken"][severity - 1]
        np.testing.assert_allclose(corrupt(x, "darken", severity), np.round(xf * k), atol=1)
        c = SEVERITIES["contrast"][severity - 1]
        out = corrupt(x, "contrast", severity).astype(np.float64)
        mean = xf.mean(axis=(1, 2, 3), keepdims=True)
        np.testing.assert_allclose(out, np.round((xf - mean) * c + mean), atol=1)
        # contrast keeps each image's mean and scales its standard deviation by c
        np.testing.assert_allclose(out.std(axis=(1, 2, 3)), c * xf.std(axis=(1, 2, 3)), rtol=0.02, atol=0.5)


def test_gaussian_noise_has_the_stated_std_and_is_seeded():
    x = np.full((64, 16, 16, 3), 128, np.uint8)
    for severity in (1, 5):
        out = corrupt(x, "gaussian_noise", severity, seed=3).astype(np.float64)
        std = SEVERITIES["gaussian_noise"][severity - 1] * 255
        assert np.std(out - 128) == pytest.approx(std, rel=0.03)
        assert abs(np.mean(out - 128)) < 0.5
    np.testing.assert_array_equal(corrupt(x, "gaussian_noise", seed=1), corrupt(x, "gaussian_noise", seed=1))
    assert not np.array_equal(corrupt(x, "gaussian_noise", seed=1), corrupt(x, "gaussian_noise", seed=2))


def test_blur_keeps_constant_images_and_smooths_noise():
    flat = np.full((2, 16, 16, 1), 77, np.uint8)
    np.testing.assert_array_equal(corrupt(flat, "gaussian_blur", 5), flat)
    x = _images(seed=4)
    variances = [np.var(corrupt(x, "gaussian_blur", s).astype(float)) for s in (1, 3, 5)]
    assert np.var(x.astype(float)) > variances[0] > variances[1] > variances[2]
    # a blur is a weighted average: the overall mean moves by less than half a grey level
    assert abs(corrupt(x, "gaussian_blur", 5).mean() - x.mean()) < 0.5


def test_every_corruption_keeps_shape_and_dtype_and_rejects_bad_input():
    x = _images(n=2, size=9, channels=1)
    sets = corrupted_sets(x)
    assert set(sets) == set(CORRUPTIONS)
    assert all(v.shape == x.shape and v.dtype == np.uint8 for v in sets.values())
    with pytest.raises(ValueError, match="name"):
        corrupt(x, "fog")
    with pytest.raises(ValueError, match="severity=0"):
        corrupt(x, "darken", severity=0)
    with pytest.raises(ValueError, match="uint8"):
        corrupt(x.astype(np.float32), "darken")
