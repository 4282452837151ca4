"""keras-cv 0.9 (frozen upstream) as an outside oracle, where it runs on Keras 3 (eagerly).

Each test measures keras-cv's layer and ours on the same inputs: where the two agree the
test holds them to each other; where they differ by design the test shows the difference,
which `book/api.md` describes. Skipped where keras-cv cannot be imported.
"""

import numpy as np
import pytest

try:
    import keras_cv
    import tensorflow as tf
except Exception as error:  # noqa: BLE001 - any import failure of a frozen package means "skip"
    pytest.skip(f"keras-cv is not usable here: {error}", allow_module_level=True)

from keraslab import layers as kl

rng = np.random.default_rng(0)
MAPS = (64, 17, 23, 4)  # non-square maps, 4 channels


def _covered_by_whole_blocks(dropped, block):
    """True where a cell lies in some fully dropped `block` x `block` window."""
    height, width = dropped.shape
    covered = np.zeros_like(dropped)
    for top in range(height - block + 1):
        for left in range(width - block + 1):
            if dropped[top : top + block, left : left + block].all():
                covered[top : top + block, left : left + block] = True
    return covered


@pytest.mark.parametrize("rate, block", [(0.1, 3), (0.2, 5), (0.3, 7)])
def test_per_channel_drop_block_matches_keras_cv_on_drop_statistics_and_blocks(rate, block):
    x = np.ones(MAPS, "float32")
    ours = np.asarray(
        kl.DropBlock2D(rate, block, shared_across_channels=False, seed=1)(x, training=True)
    )
    theirs = np.asarray(
        keras_cv.layers.DropBlock2D(rate=rate, block_size=block, seed=1)(tf.constant(x), training=True)
    )
    for out in (ours, theirs):  # independent masks per channel in both
        assert ((out == 0)[..., 0] != (out == 0)[..., 1]).any()
    # Block shapes: ours drops only whole block_size x block_size squares; keras-cv also
    # drops blocks cut off by the map's border (a partial block, only within block - 1 cells
    # of a border).
    near_border = np.ones(MAPS[1:3], bool)
    near_border[block - 1 : MAPS[1] - block + 1, block - 1 : MAPS[2] - block + 1] = False
    partial_blocks = 0
    for sample in range(8):
        for channel in range(MAPS[-1]):
            d = ours[sample, :, :, channel] == 0
            np.testing.assert_array_equal(_covered_by_whole_blocks(d, block), d)
            d = theirs[sample, :, :, channel] == 0
            outside_whole_blocks = d & ~_covered_by_whole_blocks(d, block)
            assert not (outside_whole_blocks & ~near_border).any()
            partial_blocks += outside_whole_blocks.any()
    assert partial_blocks > 0
    # Ours drops `rate` in expectation (calibrated); keras-cv's closed form is close on these
    # maps. 64 * 17 * 23 * 4 cells in blocks of up to 49: a few points of noise at most.
    assert abs((ours == 0).mean() - rate) < 0.02
    assert abs((ours == 0).mean() - (theirs == 0).mean()) < 0.03
    # The kept cells' scale differs by design: ours 1 / (1 - rate), a constant; keras-cv
    # divides by the fraction of this batch actually kept, a random number.
    np.testing.assert_allclose(np.unique(ours[ours > 0]), 1 / (1 - rate), rtol=1e-5)
    (their_scale,) = np.unique(np.round(theirs[theirs > 0], 4))
    assert their_scale == pytest.approx(theirs.size / (theirs > 0).sum(), rel=1e-3)


def test_stochastic_depth_differs_from_keras_cv_in_where_it_scales_and_what_it_drops():
    rate, n = 0.25, 1000
    shortcut = np.zeros((n, 4), "float32")
    residual = np.ones((n, 4), "float32")
    inputs = [tf.constant(shortcut), tf.constant(residual)]
    ours, theirs = kl.StochasticDepth(rate, seed=0), keras_cv.layers.StochasticDepth(rate=rate)
    # Inference: ours is the plain sum, keras-cv scales the branch by the survival probability.
    np.testing.assert_array_equal(ours(inputs, training=False), shortcut + residual)
    np.testing.assert_allclose(theirs(inputs, training=False), shortcut + (1 - rate) * residual)
    # Training: ours decides per sample and scales the kept branch by 1 / (1 - rate); keras-cv
    # makes one decision for the whole batch and does not scale.
    per_sample = np.unique(np.asarray(ours(inputs, training=True)))
    np.testing.assert_allclose(per_sample, [0.0, 1 / (1 - rate)], rtol=1e-6)
    batch_values = [np.unique(np.asarray(theirs(inputs, training=True))) for _ in range(200)]
    assert all(len(v) == 1 and v[0] in (0.0, 1.0) for v in batch_values)
    # Both are unbiased against their own inference output: the means over draws agree with
    # it within 4 standard errors (Bernoulli(0.75): std 0.43).
    kept = np.mean([v[0] for v in batch_values])
    assert abs(kept - (1 - rate)) < 4 * 0.433 / np.sqrt(200)
    assert abs(np.asarray(ours(inputs, training=True)).mean() - 1.0) < 4 * 0.433 / np.sqrt(0.75**2 * n)


def test_cutout_erases_like_keras_cv_random_cutout():
    n, side, size = 2000, 20, 5
    images = np.ones((n, side, side, 3), "float32")
    ours = np.asarray(kl.Cutout(size, seed=1)(images)) == 0
    factor = (size / side, size / side)  # a pair: a fixed 5-pixel side (a float would sample it)
    cutter = keras_cv.layers.RandomCutout(factor, factor, seed=1)
    theirs = np.asarray(cutter(tf.constant(images), training=True)) == 0
    areas = {}
    for name, erased in (("ours", ours), ("keras-cv", theirs)):
        assert (erased.all(axis=-1) == erased.any(axis=-1)).all()  # every channel alike
        per_image = erased[..., 0].sum(axis=(1, 2))
        assert per_image.max() == size * size  # at most one size x size square
        areas[name] = per_image
    # Both centre the square uniformly and clip it at the borders: the mean erased areas
    # agree within 4 standard errors of their difference.
    difference = areas["ours"].mean() - areas["keras-cv"].mean()
    standard_error = np.sqrt((areas["ours"].var() + areas["keras-cv"].var()) / n)
    assert abs(difference) < 4 * standard_error


def test_cutmix_label_weight_is_the_clipped_area_keras_cv_uses_the_unclipped_one():
    n, height, width = 256, 12, 10
    images = rng.uniform(0.5, 1.5, size=(n, height, width, 3)).astype("float32")
    labels = np.eye(n, dtype="float32")  # sample i has class i: the labels reveal the weights

    def weight_and_counted_area(out_images, out_labels):
        pasted = (np.asarray(out_images) != images).any(axis=-1).mean(axis=(1, 2))
        return 1 - np.diag(np.asarray(out_labels)), pasted

    out = keras_cv.layers.CutMix(alpha=1.0, seed=3)(
        {"images": tf.constant(images), "labels": tf.constant(labels)}
    )
    their_weight, their_area = weight_and_counted_area(out["images"], out["labels"])
    our_weight, our_area = weight_and_counted_area(*kl.CutMix(alpha=1.0, seed=3)((images, labels)))
    np.testing.assert_allclose(our_weight, our_area, atol=1e-6)
    # keras-cv's weight is never below the area it pasted, and is well above it for boxes
    # that hang over a border: the partner's share is overstated.
    assert (their_weight >= their_area - 1e-6).all()
    assert (their_weight - their_area > 0.05).mean() > 0.1


def test_drop_path_agrees_with_keras_cv():
    # Same convention in both: per-sample drop, kept samples scaled by 1 / (1 - rate) during
    # training, identity at inference. Drop fractions over 4000 samples agree within 4
    # standard errors of a Binomial(4000, 0.3) difference.
    rate, n = 0.3, 4000
    x = np.ones((n, 3, 2), "float32")
    outputs = {
        "ours": np.asarray(kl.DropPath(rate, seed=2)(x, training=True)),
        "keras-cv": np.asarray(keras_cv.layers.DropPath(rate=rate, seed=2)(tf.constant(x), training=True)),
    }
    for out in outputs.values():
        np.testing.assert_allclose(np.unique(out), [0.0, 1 / (1 - rate)], rtol=1e-6)
        assert (out.min(axis=(1, 2)) == out.max(axis=(1, 2))).all()  # whole samples
    dropped = {name: (out[:, 0, 0] == 0).mean() for name, out in outputs.items()}
    assert abs(dropped["ours"] - dropped["keras-cv"]) < 4 * np.sqrt(2 * rate * (1 - rate) / n)
    np.testing.assert_array_equal(keras_cv.layers.DropPath(rate=rate)(tf.constant(x)), x)
    np.testing.assert_array_equal(kl.DropPath(rate)(x), x)
