"""keraslab.session.start: the one call that opens every course notebook."""

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest


def test_start_quiets_tensorflow_and_fixes_the_seeds(monkeypatch):
    from keraslab import session

    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    with warnings.catch_warnings():
        session.start(seed=3)
        assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "3"
        first = np.random.rand(3)
        import keras

        drawn = keras.ops.convert_to_numpy(keras.random.normal((2,)))
        session.start(seed=3)
        assert np.array_equal(np.random.rand(3), first)
        assert np.array_equal(keras.ops.convert_to_numpy(keras.random.normal((2,))), drawn)
        session.start(seed=4)
        assert not np.array_equal(np.random.rand(3), first)
        warnings.warn("hidden", UserWarning, stacklevel=1)  # ignored: would fail with -W error


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True])
def test_start_refuses_a_seed_that_is_not_a_natural_number(seed):
    from keraslab import session

    with pytest.raises(ValueError, match=f"seed must be .*{seed!r}"):
        session.start(seed=seed)


def test_start_runs_before_tensorflow_is_imported():
    """Importing keraslab.session loads no TensorFlow, so the log level is set in time."""
    code = ("import sys, keraslab.session\n"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
