"""Session-wide test set-up.

TensorFlow must see two logical CPU devices before it runs any op, so that the
`tf.distribute.MirroredStrategy` tests can place one replica on each. Doing it here, once,
avoids a second TensorFlow process (about 8 s each on the CI machine).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import pytest  # noqa: E402

try:
    import tensorflow as tf
except ImportError:  # the JAX-only device machine
    tf = None

if tf is not None:
    _cpus = tf.config.list_physical_devices("CPU")
    try:
        tf.config.set_logical_device_configuration(
            _cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2
        )
    except RuntimeError:  # already initialized by an earlier import; strategy tests will skip
        pass


@pytest.fixture(scope="session")
def two_cpu_strategy():
    """A MirroredStrategy over two logical CPU devices, shared by the whole session.

    One instance only: several MirroredStrategy objects in one process reuse collective
    instance keys, and a later strategy's all-reduce then fails with a shape mismatch
    against an earlier model's gradients.
    """
    if tf is None:
        pytest.skip("needs TensorFlow")
    devices = [d.name for d in tf.config.list_logical_devices("CPU")]
    if len(devices) < 2:
        pytest.skip("TensorFlow was initialized before two logical CPUs could be configured")
    return tf.distribute.MirroredStrategy(devices[:2])
