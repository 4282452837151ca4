"""``keraslab.session.start()``: the one call that opens every course notebook.

It must run before anything imports TensorFlow (importing this module imports none): it sets
TensorFlow's C++ log level, chooses the TensorFlow backend unless one is set, silences Python
warnings and absl's and TensorFlow's loggers, and seeds Python, NumPy and Keras. Graded notebooks
need the quiet: nbgrader counts any stderr output of a test cell as a failure.
"""

from __future__ import annotations

import os
import warnings


def start(seed: int = 0) -> None:
    """Quiets TensorFlow and fixes every random seed for a course notebook.

    Args:
        seed: a non-negative integer, passed to `keras.utils.set_random_seed` (which seeds
            Python's `random`, NumPy and the backend).

    Raises:
        ValueError: `seed` is not a non-negative integer.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # read once, when TensorFlow's C++ side loads
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    warnings.filterwarnings("ignore")
    try:
        import absl.logging
    except ImportError:  # a backend without absl (JAX alone) has nothing to silence there
        pass
    else:
        absl.logging.set_verbosity(absl.logging.ERROR)

    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")
    keras.utils.set_random_seed(seed)
