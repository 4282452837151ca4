"""Cutout, MixUp and CutMix: exact pixel and label arithmetic, and their distributions."""

import keras
import numpy as np
import pytest

from keraslab.layers import CutMix, Cutout, MixUp, cut_mix, mix_up

rng = np.random.default_rng(0)


def _batch(n=16, height=12, width=10, channels=3):
    # Strictly positive, almost surely distinct pixel values: a pixel's origin is unambiguous.
    images = rng.uniform(0.5, 1.5, size=(n, height, width, channels)).astype("float32")
    labels = np.eye(n, dtype="float32")  # sample i has class i: labels reveal the partner
    return images, labels


def _erased_box(mask):
    rows, cols = np.nonzero(mask)
    return rows.min(), rows.max() + 1, cols.min(), cols.max() + 1


# ---------------------------------------------------------------- Cutout


def test_cutout_erases_one_clipped_square_per_image():
    size = 5
    images = np.ones((200, 12, 14, 3), "float32")
    erased = np.asarray(Cutout(size, seed=1)(images)) == 0
    assert (erased == erased[..., :1]).all()  # all channels erased together
    full = 0
    for mask in erased[..., 0]:
        top, bottom, left, right = _erased_box(mask)
        assert mask[top:bottom, left:right].all() and mask.sum() == (bottom - top) * (right - left)
        assert bottom - top <= size and right - left <= size
        # a box shorter than `size` must touch the border it was clipped at
        if bottom - top < size:
            assert top == 0 or bottom == 12
        if right - left < size:
            assert left == 0 or right == 14
        full += mask.sum() == size * size
    assert 0 < full < 200  # both interior and clipped boxes occur


def test_cutout_expected_area_matches_uniform_centre():
    size, height, width = 6, 10, 10
    erased = np.asarray(Cutout(size, seed=2)(np.ones((4000, height, width, 1), "float32"))) == 0

    def axis_expectation(length):
        lengths = [min(c - size // 2 + size, length) - max(c - size // 2, 0) for c in range(length)]
        return np.mean(lengths)

    expected = axis_expectation(height) * axis_expectation(width)
    assert abs(erased.reshape(4000, -1).sum(1).mean() - expected) < 0.03 * expected


def test_cutout_fill_value_unbatched_and_inference():
    image = rng.uniform(size=(8, 8, 3)).astype("float32")
    out = np.asarray(Cutout((2, 3), fill_value=-1.0, seed=0)(image))
    assert out.shape == image.shape
    changed = out != image
    assert changed.sum() > 0 and (out[changed] == -1.0).all()
    np.testing.assert_array_equal(Cutout(4)(image, training=False), image)


def test_cutout_probability():
    images = np.ones((2000, 8, 8, 1), "float32")
    erased_any = (np.asarray(Cutout(3, probability=0.3, seed=0)(images)) == 0).any(axis=(1, 2, 3))
    assert abs(erased_any.mean() - 0.3) < 0.04


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"size": 0}, "size must be a positive integer"),
        ({"size": (4, -1)}, "size must be a positive integer"),
        ({"size": 4, "fill_value": "black"}, "fill_value must be a number"),
        ({"size": 4, "probability": 1.5}, "probability must be in the range"),
    ],
)
def test_cutout_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Cutout(**kwargs)


def test_cutout_rank_checked():
    with pytest.raises(ValueError, match="rank 3 or 4"):
        Cutout(3).build((4, 8))


# ---------------------------------------------------------------- MixUp


def _recover_mixup(labels_out):
    """Own weight and partner index of each sample, read off the one-hot-by-index labels."""
    own = np.diag(labels_out).copy()
    partner = np.where(np.isclose(own, 1.0), np.arange(len(own)), -1)
    off = labels_out - np.diag(own)
    has_partner = off.max(axis=1) > 0
    partner[has_partner] = off[has_partner].argmax(axis=1)
    return own, partner


@pytest.mark.parametrize("as_dict", [False, True])
def test_mixup_pixels_and_labels_are_the_same_convex_combination(as_dict):
    images, labels = _batch()
    layer = MixUp(alpha=0.4, seed=3)
    if as_dict:
        out = layer({"images": images, "labels": labels, "ids": np.arange(16)})
        out_images, out_labels = np.asarray(out["images"]), np.asarray(out["labels"])
        np.testing.assert_array_equal(out["ids"], np.arange(16))
    else:
        out_images, out_labels = (np.asarray(t) for t in layer((images, labels)))
    np.testing.assert_allclose(out_labels.sum(axis=1), 1.0, atol=1e-6)
    own, partner = _recover_mixup(out_labels)
    assert (partner >= 0).all()
    np.testing.assert_allclose(out_labels[np.arange(16), partner] + own
                               - (partner == np.arange(16)) * own, 1.0, atol=1e-6)
    expected = own[:, None, None, None] * images + (1 - own[:, None, None, None]) * images[partner]
    np.testing.assert_allclose(out_images, expected, atol=1e-5)


def test_mixup_weights_follow_beta_alpha_alpha():
    alpha = 0.5
    n = 4000
    labels = np.eye(n, dtype="float32")
    images = np.zeros((n, 1, 1, 1), "float32")
    _, out_labels = MixUp(alpha=alpha, seed=0)((images, labels))
    own = np.diag(np.asarray(out_labels))
    # Beta(a, a): mean 1/2, variance 1 / (4 (2a + 1)); self-pairs (~1 of n) do not matter
    assert abs(own.mean() - 0.5) < 0.02
    assert abs(own.var() - 1 / (4 * (2 * alpha + 1))) < 0.01


def test_mix_up_function_matches_numpy():
    images, labels = _batch(n=4)
    weights = np.array([0.1, 0.5, 0.9, 1.0], "float32")
    partner = np.array([3, 2, 1, 0])
    out_images, out_labels = mix_up(images, labels, weights, partner)
    w = weights[:, None, None, None]
    np.testing.assert_allclose(out_images, w * images + (1 - w) * images[partner], atol=1e-6)
    np.testing.assert_allclose(
        out_labels, weights[:, None] * labels + (1 - weights[:, None]) * labels[partner], atol=1e-6
    )


# ---------------------------------------------------------------- CutMix


def test_cutmix_label_weight_is_the_pasted_area_after_clipping():
    n, height, width = 64, 12, 10
    images, labels = _batch(n, height, width)
    out_images, out_labels = (np.asarray(t) for t in CutMix(alpha=1.0, seed=7)((images, labels)))
    np.testing.assert_allclose(out_labels.sum(axis=1), 1.0, atol=1e-6)
    clipped_somewhere = 0
    for i in range(n):
        from_self = (out_images[i] == images[i]).all(axis=-1)
        pasted = ~from_self
        own = out_labels[i, i]
        if not pasted.any():
            assert own == pytest.approx(1.0, abs=1e-6) or out_labels[i].max() == 1.0
            continue
        partner = int(np.argmax(out_labels[i] - np.eye(n)[i] * own))
        # pasted pixels come from the partner and form one rectangle
        np.testing.assert_array_equal(out_images[i][pasted], images[partner][pasted])
        top, bottom, left, right = _erased_box(pasted)
        assert pasted[top:bottom, left:right].all()
        area = pasted.sum() / (height * width)
        assert out_labels[i, partner] == pytest.approx(area, abs=1e-6)
        assert own == pytest.approx(1 - area, abs=1e-6)
        clipped_somewhere += top == 0 or left == 0 or bottom == height or right == width
    assert clipped_somewhere > 0


def test_cut_mix_function_matches_numpy():
    images, labels = _batch(n=3, height=4, width=5)
    box = np.zeros((3, 4, 5, 1), "float32")
    box[0, 1:3, 2:5] = 1
    box[2, :, :1] = 1
    partner = np.array([1, 2, 0])
    out_images, out_labels = cut_mix(images, labels, box, partner)
    expected_images = images * (1 - box) + images[partner] * box
    area = box.reshape(3, -1).mean(axis=1)[:, None]
    np.testing.assert_allclose(out_images, expected_images, atol=1e-6)
    np.testing.assert_allclose(out_labels, (1 - area) * labels + area * labels[partner], atol=1e-6)


def test_cutmix_mean_pasted_area_with_beta_one():
    # lam ~ U(0, 1); unclipped box area ~ 1 - lam; clipping only removes area.
    n = 2000
    images = np.zeros((n, 16, 16, 1), "float32")
    _, out_labels = CutMix(alpha=1.0, seed=1)((images, np.eye(n, dtype="float32")))
    pasted = 1 - np.diag(np.asarray(out_labels))
    assert 0.2 < pasted.mean() < 0.5


@pytest.mark.parametrize("cls", [MixUp, CutMix])
def test_mixing_is_identity_at_inference(cls):
    images, labels = _batch(n=4)
    out_images, out_labels = cls(seed=0)((images, labels), training=False)
    np.testing.assert_array_equal(out_images, images)
    np.testing.assert_array_equal(out_labels, labels)


@pytest.mark.parametrize("cls", [MixUp, CutMix])
def test_mixing_input_checks(cls):
    images, labels = _batch(n=4)
    with pytest.raises(ValueError, match="alpha must be a positive number"):
        cls(alpha=0)
    with pytest.raises(ValueError, match="rank 4"):
        cls()((images[0], labels))
    with pytest.raises(ValueError, match="rank 2"):
        cls()((images, labels[:, 0]))
    with pytest.raises(ValueError, match="keys 'images' and 'labels'"):
        cls()({"image": images, "label": labels})
    with pytest.raises(ValueError, match=r"\(images, labels\)"):
        cls()(images)


def test_mixup_label_weights_follow_the_same_law_as_keras_core():
    # Keras core's MixUp as the reference: with one-hot-by-index labels, each sample's own
    # label weight is its Beta(alpha, alpha) draw in both layers. Two-sample KS test over
    # 2000 draws each; at p < 1e-3 the laws differ. (Self-pairs, about 1 in n, put a weight
    # of 1 on the diagonal in both.)
    from scipy import stats

    n = 2000
    images = np.zeros((n, 1, 1, 1), "float32")
    labels = np.eye(n, dtype="float32")
    own_ours = np.diag(np.asarray(MixUp(alpha=0.4, seed=0)((images, labels))[1]))
    core = keras.layers.MixUp(alpha=0.4, seed=0)
    own_core = np.diag(np.asarray(core({"images": images, "labels": labels})["labels"]))
    assert stats.ks_2samp(own_ours, own_core).pvalue > 1e-3


def test_keras_core_cutmix_label_weight_is_not_the_counted_area_ours_is():
    # Keras core's CutMix keeps its box inside the image and weighs the labels by the box's
    # real-valued area, which the pasted whole pixels only approximate; ours weighs them by
    # the pixels actually pasted (test_cutmix_label_weight_is_the_pasted_area_after_clipping).
    n, height, width = 256, 12, 10
    images, labels = _batch(n, height, width)
    out = keras.layers.CutMix(factor=(1.0, 1.0), seed=0)({"images": images, "labels": labels})
    out_images, out_labels = np.asarray(out["images"]), np.asarray(out["labels"])
    counted = (out_images != images).any(axis=-1).mean(axis=(1, 2))
    kept_weight = np.diag(out_labels)
    core_gap = np.abs((1 - kept_weight) - counted)
    ours_images, ours_labels = (np.asarray(t) for t in CutMix(alpha=1.0, seed=0)((images, labels)))
    ours_gap = np.abs((1 - np.diag(ours_labels)) - (ours_images != images).any(axis=-1).mean(axis=(1, 2)))
    assert core_gap.max() > 0.01  # Keras core: off by up to a row or column of pixels
    assert ours_gap.max() < 1e-6


def test_a_wrong_law_is_caught_by_the_keras_core_comparison():
    # The test above can fail: Beta(0.4, 0.4) against Keras core at alpha = 2.
    from scipy import stats

    n = 2000
    labels = np.eye(n, dtype="float32")
    images = np.zeros((n, 1, 1, 1), "float32")
    own_ours = np.diag(np.asarray(MixUp(alpha=0.4, seed=0)((images, labels))[1]))
    core = keras.layers.MixUp(alpha=2.0, seed=0)
    own_core = np.diag(np.asarray(core({"images": images, "labels": labels})["labels"]))
    assert stats.ks_2samp(own_ours, own_core).pvalue < 1e-3


# ---------------------------------------------------------------- dict batches


def test_cutmix_pastes_segmentation_masks_with_the_same_box():
    n, height, width = 32, 12, 10
    images, labels = _batch(n, height, width)
    class_masks = rng.integers(0, 5, size=(n, height, width, 1)).astype("int32")
    class_masks[..., 0] += 10 * np.arange(n)[:, None, None]  # a mask value names its sample
    out = CutMix(alpha=1.0, seed=7)(
        {"images": images, "labels": labels, "segmentation_masks": class_masks}
    )
    out_images, out_masks = np.asarray(out["images"]), np.asarray(out["segmentation_masks"])
    assert out_masks.dtype == np.int32  # class ids are pasted, never blended
    pasted_somewhere = False
    for i in range(n):
        pasted = ~(out_images[i] == images[i]).all(axis=-1)
        partner = int(np.argmax(np.asarray(out["labels"])[i] - np.eye(n)[i] * out["labels"][i, i]))
        np.testing.assert_array_equal(out_masks[i][~pasted], class_masks[i][~pasted])
        np.testing.assert_array_equal(out_masks[i][pasted], class_masks[partner][pasted])
        pasted_somewhere |= bool(pasted.any())
    assert pasted_somewhere


def test_cutmix_pastes_rank_3_masks():
    images, labels = _batch(8, 12, 10)
    masks = np.broadcast_to(np.arange(8, dtype="int32")[:, None, None], (8, 12, 10)).copy()
    out = CutMix(alpha=1.0, seed=2)({"images": images, "labels": labels, "segmentation_masks": masks})
    out_masks = np.asarray(out["segmentation_masks"])
    out_labels = np.asarray(out["labels"])
    for i in range(8):  # the share of the partner's ids is the partner's label weight
        shares = np.bincount(out_masks[i].ravel(), minlength=8) / (12 * 10)
        np.testing.assert_allclose(shares, out_labels[i], atol=1e-6)


def test_mixup_mixes_float_masks_with_the_image_weights_and_refuses_integer_masks():
    images, labels = _batch(8)
    masks = rng.uniform(size=(8, 12, 10, 2)).astype("float32")
    out = MixUp(alpha=0.4, seed=3)({"images": images, "labels": labels, "segmentation_masks": masks})
    own, partner = _recover_mixup(np.asarray(out["labels"]))
    w = own[:, None, None, None]
    np.testing.assert_allclose(out["segmentation_masks"], w * masks + (1 - w) * masks[partner], atol=1e-5)
    with pytest.raises(ValueError, match="must be float.*Received: segmentation_masks of dtype int32"):
        MixUp()({"images": images, "labels": labels, "segmentation_masks": masks.astype("int32")})


@pytest.mark.parametrize("cls", [MixUp, CutMix])
def test_bounding_boxes_are_refused_not_passed_through(cls):
    images, labels = _batch(4)
    boxes = {"boxes": np.zeros((4, 1, 4), "float32"), "labels": np.zeros((4, 1), "int32")}
    with pytest.raises(ValueError, match="does not transform bounding_boxes"):
        cls()({"images": images, "labels": labels, "bounding_boxes": boxes})
