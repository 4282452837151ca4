import numpy as np
import pytest

from keraslab.layers import DropBlock2D
from keraslab.layers.drop_block import seed_probability


def _drop_mask(layer, shape, seed_value=1.0):
    x = np.full(shape, seed_value, dtype="float32")
    y = np.asarray(layer(x, training=True))
    return y == 0, y


@pytest.mark.parametrize(
    "rate, block_size, shape",
    [
        (0.1, 3, (64, 16, 16, 4)),
        (0.2, 7, (64, 14, 14, 2)),
        (0.3, 4, (64, 12, 20, 2)),  # even block, non-square map
        (0.15, 7, (128, 5, 9, 2)),  # block larger than the map's height
        (0.25, (2, 5), (64, 16, 16, 2)),
    ],
)
def test_drop_fraction_matches_rate(rate, block_size, shape):
    dropped, _ = _drop_mask(DropBlock2D(rate, block_size, seed=3), shape)
    assert abs(dropped.mean() - rate) < 0.02


def test_closed_form_gamma_would_under_drop():
    # The paper's closed form ignores overlapping blocks; the calibrated seed probability
    # is larger, which is what brings the realized fraction to the rate above.
    rate, block, size = 0.3, 5, 16
    closed_form = rate / block**2 * size**2 / (size - block + 1) ** 2
    assert seed_probability(size, size, block, block, rate) > 1.2 * closed_form


@pytest.mark.parametrize("block_size, shape", [(3, (16, 12, 12, 3)), (4, (16, 10, 14, 3))])
def test_dropped_cells_form_whole_blocks(block_size, shape):
    dropped, _ = _drop_mask(DropBlock2D(0.2, block_size, seed=5), shape)
    _, height, width, _ = shape
    for sample in dropped[..., 0]:
        covered = np.zeros_like(sample)
        for i in range(height - block_size + 1):
            for j in range(width - block_size + 1):
                window = sample[i : i + block_size, j : j + block_size]
                if window.all():
                    covered[i : i + block_size, j : j + block_size] = True
        # every dropped cell lies in a fully dropped block that fits inside the map
        np.testing.assert_array_equal(covered, sample)


def test_mask_shared_across_channels_by_default_and_independent_on_request():
    dropped, _ = _drop_mask(DropBlock2D(0.2, 3, seed=0), (8, 12, 12, 4))
    assert (dropped == dropped[..., :1]).all()
    dropped, _ = _drop_mask(
        DropBlock2D(0.2, 3, shared_across_channels=False, seed=0), (8, 12, 12, 4)
    )
    assert not (dropped == dropped[..., :1]).all()
    assert abs(dropped.mean() - 0.2) < 0.03


def test_kept_cells_are_scaled_and_expectation_preserved():
    rate = 0.25
    x = np.random.default_rng(0).normal(size=(256, 10, 10, 1)).astype("float32")
    y = np.asarray(DropBlock2D(rate, 3, seed=2)(x, training=True))
    kept = y != 0
    np.testing.assert_allclose(y[kept], x[kept] / (1 - rate), rtol=1e-6)
    ones = np.ones((512, 10, 10, 1), "float32")
    mean = np.asarray(DropBlock2D(rate, 3, seed=4)(ones, training=True)).mean()
    assert abs(mean - 1.0) < 0.02


def test_channels_first():
    dropped, _ = _drop_mask(
        DropBlock2D(0.2, 3, data_format="channels_first", seed=1), (64, 2, 12, 16)
    )
    assert abs(dropped.mean() - 0.2) < 0.02
    assert (dropped == dropped[:, :1]).all()


def test_block_covering_the_whole_map_never_gives_nan():
    x = np.ones((256, 3, 3, 1), "float32")
    y = np.asarray(DropBlock2D(0.5, 9, seed=0)(x, training=True))
    assert np.isfinite(y).all()
    per_sample = y.reshape(256, -1)
    assert set(np.unique(per_sample)) <= {0.0, 2.0}  # whole map dropped or kept
    assert abs((per_sample == 0).mean() - 0.5) < 0.1


def test_identity_at_inference_and_for_rate_zero():
    x = np.random.default_rng(0).normal(size=(4, 8, 8, 3)).astype("float32")
    np.testing.assert_array_equal(DropBlock2D(0.3, 3)(x), x)
    np.testing.assert_array_equal(DropBlock2D(0.3, 3)(x, training=False), x)
    np.testing.assert_array_equal(DropBlock2D(0.0, 3)(x, training=True), x)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"rate": 1.0, "block_size": 3}, "rate must be a float in the range"),
        ({"rate": -0.1, "block_size": 3}, "rate must be a float in the range"),
        ({"rate": 0.1, "block_size": 0}, "block_size must be a positive integer"),
        ({"rate": 0.1, "block_size": (3, 0)}, "block_size must be a positive integer"),
        ({"rate": 0.1, "block_size": 2.5}, "block_size must be a positive integer"),
        ({"rate": 0.1, "block_size": 3, "data_format": "nhwc"}, "data_format must be"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DropBlock2D(**kwargs)


def test_wrong_rank_rejected_at_build():
    with pytest.raises(ValueError, match="rank 4"):
        DropBlock2D(0.1, 3).build((8, 16, 3))
