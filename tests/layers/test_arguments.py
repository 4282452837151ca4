"""No constructor argument of a public layer is swallowed or forgotten.

For every public layer: an unknown keyword raises a ValueError that names it; every argument
of the constructor, given a non-default value, shows up in `get_config()` with that value and
survives `from_config`; and the clone behaves like the original.
"""

import inspect

import keras
import numpy as np
import pytest

from keraslab import layers as kl

# Every constructor argument of each layer, with a value that differs from its default.
NON_DEFAULTS = {
    kl.GroupNorm: dict(groups=2, axis=1, epsilon=1e-2, center=False, scale=False,
                       beta_initializer="ones", gamma_initializer="zeros",
                       beta_regularizer="l2", gamma_regularizer="l1",
                       beta_constraint="non_neg", gamma_constraint="unit_norm"),
    kl.InstanceNorm: dict(axis=1, epsilon=1e-2, center=False, scale=False),
    kl.GhostBatchNorm: dict(virtual_batch_size=4, axis=1, momentum=0.5, epsilon=1e-2,
                            center=False, scale=False, beta_initializer="ones",
                            gamma_initializer="zeros", moving_mean_initializer="ones",
                            moving_variance_initializer="zeros", beta_regularizer="l2",
                            gamma_regularizer="l1", beta_constraint="non_neg",
                            gamma_constraint="unit_norm", moving_statistics="slices"),
    kl.DropBlock2D: dict(rate=0.2, block_size=(3, 5), data_format="channels_first",
                         shared_across_channels=False, seed=4),
    kl.DropPath: dict(rate=0.2, seed=4),
    kl.StochasticDepth: dict(rate=0.2, seed=4),
    kl.DropConnectDense: dict(units=3, rate=0.2, seed=4, use_bias=False, activation="relu"),
    kl.Cutout: dict(size=(3, 5), fill_value=0.5, probability=0.5, data_format="channels_first",
                    seed=4),
    kl.MixUp: dict(alpha=0.7, seed=4),
    kl.CutMix: dict(alpha=0.7, data_format="channels_first", seed=4),
}
# Arguments of the base Layer (name, dtype, ...) and the inherited Dense ones are Keras's own.
BASE_ARGUMENTS = {"self", "kwargs"}


def _make(cls, **extra):
    return cls(**NON_DEFAULTS[cls], **extra)


def test_every_public_layer_is_covered():
    public = {getattr(kl, n) for n in kl.__all__ if inspect.isclass(getattr(kl, n))}
    assert public - {kl.WeightNorm} == set(NON_DEFAULTS)


@pytest.mark.parametrize("cls", sorted(NON_DEFAULTS, key=lambda c: c.__name__))
def test_unknown_keyword_is_refused_with_its_name(cls):
    with pytest.raises(ValueError, match="bogus"):
        _make(cls, bogus=1)


@pytest.mark.parametrize("cls", sorted(NON_DEFAULTS, key=lambda c: c.__name__))
def test_every_own_argument_is_kept_in_the_config(cls):
    own = set(inspect.signature(cls.__init__).parameters) - BASE_ARGUMENTS
    assert own <= set(NON_DEFAULTS[cls]), f"untested arguments: {own - set(NON_DEFAULTS[cls])}"
    layer = _make(cls)
    config = layer.get_config()
    for argument, value in NON_DEFAULTS[cls].items():
        stored = config[argument]
        if argument.endswith(("_initializer", "_regularizer", "_constraint")):
            module = getattr(keras, _module_for(argument))
            assert stored == module.serialize(module.get(value)), argument
        else:
            assert stored == value, argument
    clone = cls.from_config(config)
    assert clone.get_config() == config


def _module_for(argument):
    return {"initializer": "initializers", "regularizer": "regularizers",
            "constraint": "constraints"}[argument.rsplit("_", 1)[1]]


def test_weight_norm_keeps_its_arguments_and_wrapped_layer():
    layer = kl.WeightNorm(keras.layers.Dense(3, use_bias=False), epsilon=1e-6)
    layer.build((2, 4))
    clone = kl.WeightNorm.from_config(layer.get_config())
    clone.build((2, 4))
    assert clone.epsilon == 1e-6 and clone.layer.use_bias is False
    with pytest.raises(ValueError, match="bogus"):
        kl.WeightNorm(keras.layers.Dense(3), bogus=1)


def test_cloned_random_layer_draws_the_same_masks():
    # The seed is part of the config: a clone of a seeded layer repeats its draws.
    x = np.ones((4, 9, 11, 2), "float32")
    layer = kl.DropBlock2D(0.3, 3, seed=11)
    clone = kl.DropBlock2D.from_config(layer.get_config())
    np.testing.assert_array_equal(layer(x, training=True), clone(x, training=True))
