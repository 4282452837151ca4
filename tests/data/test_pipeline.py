import math

import numpy as np
import pytest
import tensorflow as tf

from keraslab.data import pipeline


def _images(n=16, size=16, channels=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, channels), dtype=np.uint8)


def test_channel_stats_and_normalize_match_numpy():
    x = _images(32)
    mean, std = pipeline.channel_stats(x)
    ref = x.astype(np.float64) / 255.0
    np.testing.assert_allclose(mean, ref.mean((0, 1, 2)), rtol=1e-5)
    np.testing.assert_allclose(std, ref.std((0, 1, 2)), rtol=1e-5)
    z = pipeline.normalize(x, mean, std).numpy()
    np.testing.assert_allclose(z.mean((0, 1, 2)), 0.0, atol=1e-4)
    np.testing.assert_allclose(z.std((0, 1, 2)), 1.0, atol=1e-3)


def test_crop_with_padding_is_a_shifted_window():
    img = np.random.default_rng(1).uniform(size=(12, 12, 3)).astype(np.float32)
    spec = pipeline.resolve_augment({"crop_padding": 3})
    padded = np.pad(img, ((3, 3), (3, 3), (0, 0)))
    for s in range(10):
        out = pipeline.augment_image(tf.constant(img), tf.constant([s, 7]), spec).numpy()
        windows = [padded[i : i + 12, j : j + 12] for i in range(7) for j in range(7)]
        assert any(np.array_equal(out, w) for w in windows)


def test_flip_is_identity_or_mirror_and_both_happen():
    img = np.random.default_rng(2).uniform(size=(8, 8, 3)).astype(np.float32)
    spec = pipeline.resolve_augment({"flip": True})
    flipped = 0
    for s in range(40):
        out = pipeline.augment_image(tf.constant(img), tf.constant([s, 0]), spec).numpy()
        if np.array_equal(out, img[:, ::-1]):
            flipped += 1
        else:
            np.testing.assert_array_equal(out, img)
    assert 8 <= flipped <= 32  # Binomial(40, 0.5): outside this range has probability < 1e-4


def test_rotate_matches_exact_quarter_turn_and_keeps_centre():
    img = np.random.default_rng(3).uniform(size=(9, 9, 1)).astype(np.float32)
    out = pipeline.rotate(tf.constant(img), tf.constant(math.pi / 2)).numpy()
    # Counter-clockwise on screen = np.rot90 with k=1.
    np.testing.assert_allclose(out, np.rot90(img, k=1), atol=1e-5)
    small = pipeline.rotate(tf.constant(img), tf.constant(math.radians(15))).numpy()
    np.testing.assert_allclose(small[4, 4], img[4, 4], atol=1e-5)


def test_color_jitter_stays_in_range_and_changes_pixels():
    img = np.random.default_rng(4).uniform(size=(8, 8, 3)).astype(np.float32)
    spec = pipeline.resolve_augment({"color_jitter": 0.3})
    out = pipeline.augment_image(tf.constant(img), tf.constant([1, 2]), spec).numpy()
    assert out.min() >= 0 and out.max() <= 1
    assert np.abs(out - img).mean() > 1e-3


def test_pipeline_repeats_under_seed_and_changes_each_epoch():
    x, y = _images(16), np.arange(16) % 4
    kw = dict(batch_size=8, num_classes=4, mean=[0.5] * 3, std=[0.25] * 3, training=True,
              augment="lab3", seed=11)
    ds1, ds2 = pipeline.make_pipeline(x, y, **kw), pipeline.make_pipeline(x, y, **kw)
    e1 = np.concatenate([b[0].numpy() for b in ds1])
    e1b = np.concatenate([b[0].numpy() for b in ds1])
    e2 = np.concatenate([b[0].numpy() for b in ds2])
    np.testing.assert_array_equal(e1, e2)
    assert not np.array_equal(e1, e1b)


def test_eval_pipeline_is_plain_normalization():
    x, y = _images(10), np.arange(10) % 2
    ds = pipeline.make_pipeline(x, y, batch_size=4, num_classes=2, mean=[0.5] * 3, std=[0.5] * 3,
                                training=False, augment="lab3", one_hot=False)
    got = np.concatenate([b[0].numpy() for b in ds])
    np.testing.assert_allclose(got, (x / 255.0 - 0.5) / 0.5, atol=1e-6)
    assert [len(b[1]) for b in ds] == [4, 4, 2]


@pytest.mark.parametrize("mix", ["mixup", "cutmix"])
def test_mixing_in_pipeline_gives_soft_labels_summing_to_one(mix):
    x, y = _images(32), np.arange(32) % 4
    ds = pipeline.make_pipeline(x, y, batch_size=16, num_classes=4, mean=[0.5] * 3, std=[0.25] * 3,
                                training=True, augment={"mix": mix, "mix_alpha": 1.0, "cutout": 4})
    labels = np.concatenate([b[1].numpy() for b in ds])
    np.testing.assert_allclose(labels.sum(1), 1.0, atol=1e-5)
    assert ((labels > 0.01) & (labels < 0.99)).any()  # some labels really are mixed


def test_cutout_fills_the_mean():
    x = np.full((8, 16, 16, 3), 200, np.uint8)
    ds = pipeline.make_pipeline(x, np.zeros(8), batch_size=8, num_classes=2, mean=[0.0] * 3,
                                std=[1.0] * 3, training=True, augment={"cutout": 6})
    imgs = next(iter(ds))[0].numpy()
    assert (imgs == 0).any(axis=(1, 2, 3)).all()  # every image has an erased patch
    assert np.isclose(imgs, 200 / 255.0).mean() > 0.7


def test_resolve_augment_errors():
    with pytest.raises(ValueError, match="augment"):
        pipeline.resolve_augment("nope")
    with pytest.raises(ValueError, match="rotation"):
        pipeline.resolve_augment({"rotation": 400})
    with pytest.raises(ValueError, match="unknown keys"):
        pipeline.resolve_augment({"blur": 1})
