"""Keras callbacks of the experiment engine: epoch timing and TensorBoard scalars."""

from __future__ import annotations

import time
from pathlib import Path

import keras


class EpochTimer(keras.callbacks.Callback):
    """Adds `epoch_time` (seconds, wall clock) to the epoch logs, before other callbacks log them."""

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["epoch_time"] = time.perf_counter() - self._start


class ScalarSummaryLogger(keras.callbacks.Callback):
    """Writes epoch metrics as TensorBoard scalars without the `tensorboard` package.

    The events carry the "scalars" plugin metadata that TensorBoard's scalar dashboard
    reads, so the logs open in TensorBoard wherever it is installed later.

    Args:
        log_dir: directory of the event files.
    """

    def __init__(self, log_dir):
        super().__init__()
        self.log_dir = str(log_dir)
        self._writers = {}

    def _writer(self, split):
        import tensorflow as tf

        if split not in self._writers:
            self._writers[split] = tf.summary.create_file_writer(str(Path(self.log_dir) / split))
        return self._writers[split]

    def on_epoch_end(self, epoch, logs=None):
        import tensorflow as tf
        from tensorflow.core.framework import summary_pb2

        metadata = summary_pb2.SummaryMetadata()
        metadata.plugin_data.plugin_name = "scalars"
        for key, value in (logs or {}).items():
            split, tag = ("validation", key[4:]) if key.startswith("val_") else ("train", key)
            with self._writer(split).as_default():
                tf.summary.write(f"epoch_{tag}", tf.constant(float(value), tf.float32), step=epoch,
                                 metadata=metadata.SerializeToString())
        for w in self._writers.values():
            w.flush()

    def on_train_end(self, logs=None):
        for w in self._writers.values():
            w.close()


def tensorboard_callback(log_dir):
    """Keras's TensorBoard callback when `tensorboard` is installed, else `ScalarSummaryLogger`."""
    import importlib.util

    if importlib.util.find_spec("tensorboard") is not None:
        return keras.callbacks.TensorBoard(log_dir=str(log_dir), write_graph=False, profile_batch=0)
    return ScalarSummaryLogger(log_dir)
