"""Keras callbacks of the experiment engine: epoch timing, validation counts every few
optimizer steps, and TensorBoard scalars."""

from __future__ import annotations

import time
from pathlib import Path

import keras
import numpy as np


class EpochTimer(keras.callbacks.Callback):
    """Adds `epoch_time` (seconds, wall clock) to the epoch logs, before other callbacks log them."""

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["epoch_time"] = time.perf_counter() - self._start


class StepCounter(keras.callbacks.Callback):
    """Counts correct predictions on validation images before training and every `every`
    optimizer steps: convergence at a finer grain than epochs, as counts (no float ratios).
    The step recorded is the optimizer's own count where the count was made.

    Args:
        x: validation images, already normalized as the model sees them.
        y: their integer labels.
        every: optimizer steps between counts (a multiple of the model's
            `steps_per_execution`: callbacks only see the end of each execution).
        batch_size: images per forward pass of a count.

    Attributes:
        record: `{"every", "validation_size", "step": [...], "correct": [...]}`.
    """

    def __init__(self, x, y, every, batch_size=1000):
        super().__init__()
        if not isinstance(every, int) or every < 1:
            raise ValueError(f"`every` must be a positive integer. Received: every={every!r}")
        self.x, self.y = np.asarray(x), np.asarray(y).astype(np.int64)
        self.every, self.batch_size = every, int(batch_size)
        self.record = {"every": every, "validation_size": int(len(self.y)), "step": [], "correct": []}

    def _count(self, step):
        correct = 0
        for start in range(0, len(self.x), self.batch_size):
            logits = self.model.predict_on_batch(self.x[start:start + self.batch_size])
            correct += int(np.sum(np.argmax(logits, axis=-1) == self.y[start:start + self.batch_size]))
        self.record["step"].append(int(step))
        self.record["correct"].append(correct)

    def on_train_begin(self, logs=None):
        if not self.record["step"]:
            self._count(0)

    def on_train_batch_end(self, batch, logs=None):
        # Counted at the first execution end at or past each multiple of `every`: an epoch's
        # last, shorter execution shifts later ends off the multiples.
        step = int(self.model.optimizer.iterations.numpy())
        if step // self.every > self.record["step"][-1] // self.every:
            self._count(step)


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
