"""Keras core's own GroupNormalization test cases, run against keraslab's GroupNorm.

Keras ships its tests inside the installed package; nothing is copied here. An adapter gives
GroupNorm Keras's constructor defaults (epsilon 1e-3 instead of our 1e-5) and stands in for
`layers.GroupNormalization` in Keras's test module while each case runs. Our error messages
are worded differently, so the adapter checks that the same exception type is raised and
leaves the wording to our own tests. Every other assertion is Keras's.
"""

import keras
import pytest

from keraslab.layers import GroupNorm

upstream = pytest.importorskip("keras.src.layers.normalization.group_normalization_test")
KERAS_LAYERS = upstream.layers


@keras.saving.register_keras_serializable(package="keraslab_tests")
class GroupNormWithKerasDefaults(GroupNorm):
    """GroupNorm with the defaults of `keras.layers.GroupNormalization`."""

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, **kwargs):
        super().__init__(groups=groups, axis=axis, epsilon=epsilon, **kwargs)


class _LayersWithOurGroupNorm:
    """Keras's `layers` namespace, except that GroupNormalization is ours."""

    GroupNormalization = GroupNormWithKerasDefaults

    def __getattr__(self, name):
        return getattr(KERAS_LAYERS, name)


class TestKerasCoreCasesOnGroupNorm(upstream.GroupNormalizationTest):
    def setUp(self):
        super().setUp()
        self._keras_layers = upstream.layers
        upstream.layers = _LayersWithOurGroupNorm()

    def tearDown(self):
        upstream.layers = self._keras_layers
        super().tearDown()

    def assertRaisesRegex(self, expected_exception, expected_regex, *args, **kwargs):  # noqa: N802
        # Same exception type as Keras; our messages name the argument and value our way.
        return self.assertRaises(expected_exception, *args, **kwargs)


def test_the_adapter_really_runs_our_layer():
    # Without this, a broken patch would silently test Keras against itself.
    case = TestKerasCoreCasesOnGroupNorm("test_correctness_instance_norm")
    case.setUp()
    try:
        assert upstream.layers.GroupNormalization is GroupNormWithKerasDefaults
        assert isinstance(upstream.layers.GroupNormalization(groups=2), GroupNorm)
    finally:
        case.tearDown()
    assert upstream.layers.GroupNormalization is keras.layers.GroupNormalization
