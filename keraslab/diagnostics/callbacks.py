"""Training callbacks that record per-layer gradient norms and activation statistics.

Both callbacks measure on one fixed batch given at construction, at the end of every
`every`-th epoch (and once before training), so the numbers of different epochs and of
different runs are comparable. Results are plain Python data in `.records`, ready for
`json.dump` and for `keraslab.plots`.
"""

from __future__ import annotations

import keras
import numpy as np


def _kernel_layers(model):
    """Layers with a kernel (Dense, Conv), in model order, recursing into nested models."""
    out = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            out.extend(_kernel_layers(layer))
        elif getattr(layer, "kernel", None) is not None and layer.trainable:
            out.append(layer)
    return out


class GradientNormCallback(keras.callbacks.Callback):
    """Records the L2 norm of the loss gradient with respect to each layer's kernel.

    The gradient is that of the compiled loss on the fixed batch `(x, y)`, with the model
    in training mode (dropout and batch statistics on, as during `fit`). Only kernels are
    reported (not biases or normalization parameters), one number per Dense/Conv layer,
    which is what a gradient-flow plot shows.

    Args:
        x: a batch of inputs.
        y: the matching targets, in the form the compiled loss expects.
        every: record every `every` epochs.

    Attributes:
        records: list of `{"epoch": e, "norms": {layer_name: norm}}`; epoch 0 is before
            training.

    Example:
    >>> cb = GradientNormCallback(x_train[:256], y_train[:256])  # doctest: +SKIP
    >>> model.fit(x_train, y_train, callbacks=[cb])  # doctest: +SKIP
    >>> cb.records[-1]["norms"]["dense_1"]  # doctest: +SKIP
    """

    def __init__(self, x, y, every=1):
        super().__init__()
        if not isinstance(every, int) or every < 1:
            raise ValueError(f"`every` must be a positive integer. Received: every={every!r}")
        self.x = np.asarray(x)
        self.y = np.asarray(y)
        self.every = every
        self.records = []

    def compute(self):
        """Returns `{layer_name: gradient norm}` for the current weights."""
        import tensorflow as tf

        layers = _kernel_layers(self.model)
        kernels = [layer.kernel for layer in layers]
        with tf.GradientTape() as tape:
            y_pred = self.model(self.x, training=True)
            loss = self.model.compute_loss(x=self.x, y=self.y, y_pred=y_pred, training=True)
        grads = tape.gradient(loss, [k.value for k in kernels])
        return {
            layer.name: float(np.linalg.norm(g.numpy())) if g is not None else 0.0
            for layer, g in zip(layers, grads, strict=True)
        }

    def on_train_begin(self, logs=None):
        if not self.records:
            self.records.append({"epoch": 0, "norms": self.compute()})

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0:
            self.records.append({"epoch": epoch + 1, "norms": self.compute()})


def activation_layers(model):
    """Layers whose outputs are activations worth watching: activation layers and
    Dense/Conv layers with a built-in non-linearity, in model order."""
    out = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Activation) and layer.name != "softmax":
            out.append(layer)
        elif getattr(layer, "kernel", None) is not None and layer.name not in ("output", "head"):
            act = getattr(layer, "activation", None)
            if act is not None and act is not keras.activations.linear:
                out.append(layer)
    return out


def activation_statistics(values, bins=30, value_range=None, dead_threshold=0.0):
    """Statistics of one layer's activations on a batch.

    Args:
        values: array `(batch, ...)`; all non-batch axes are units (for conv maps, every
            position of every channel counts as a unit).
        bins: histogram bins.
        value_range: `(low, high)` of the histogram; default the data's min and max.
        dead_threshold: a unit is "dead" on this batch when its output is `<= dead_threshold`
            for every example (for ReLU: it never fires, so it gets no gradient).

    Returns:
        A dict: `mean`, `std`, `dead_fraction`, `saturated_fraction` (share of outputs
        with `|a| > 0.99`, meaningful for tanh/sigmoid), `hist_counts`, `hist_edges`.

    Example:
    >>> s = activation_statistics(np.array([[0.0, 1.0], [0.0, 3.0]]))
    >>> s["dead_fraction"], s["mean"]
    (0.5, 1.0)
    """
    v = np.asarray(values, np.float64).reshape(len(values), -1)
    counts, edges = np.histogram(v, bins=bins, range=value_range)
    return {
        "mean": float(v.mean()),
        "std": float(v.std()),
        "dead_fraction": float((v <= dead_threshold).all(axis=0).mean()),
        "saturated_fraction": float((np.abs(v) > 0.99).mean()),
        "hist_counts": counts.astype(int).tolist(),
        "hist_edges": edges.tolist(),
    }


class ActivationStatsCallback(keras.callbacks.Callback):
    """Records per-layer activation statistics (mean, std, dead-unit fraction, histogram).

    Activations are computed on the fixed batch `x` in inference mode (no dropout, moving
    batch-norm statistics), which is how the trained network actually computes.

    Args:
        x: a batch of inputs.
        layer_names: names of the layers to watch (default: `activation_layers(model)`).
        every: record every `every` epochs.
        bins: histogram bins per layer.

    Attributes:
        records: list of `{"epoch": e, "layers": {name: activation_statistics(...)}}`;
            epoch 0 is before training.

    Example:
    >>> cb = ActivationStatsCallback(x_train[:256])  # doctest: +SKIP
    """

    def __init__(self, x, layer_names=None, every=1, bins=30):
        super().__init__()
        if not isinstance(every, int) or every < 1:
            raise ValueError(f"`every` must be a positive integer. Received: every={every!r}")
        self.x = np.asarray(x)
        self.layer_names = layer_names
        self.every = every
        self.bins = bins
        self.records = []
        self._probe = None

    def _build_probe(self):
        names = self.layer_names or [layer.name for layer in activation_layers(self.model)]
        outputs = [self.model.get_layer(n).output for n in names]
        self._names = names
        inputs = self.model.inputs
        self._probe = keras.Model(inputs[0] if len(inputs) == 1 else inputs, outputs)

    def compute(self):
        """Returns `{layer_name: activation_statistics}` for the current weights."""
        if self._probe is None:
            self._build_probe()
        outs = self._probe(self.x, training=False)
        if not isinstance(outs, (list, tuple)):
            outs = [outs]
        return {n: activation_statistics(np.asarray(o), bins=self.bins) for n, o in zip(self._names, outs, strict=True)}

    def on_train_begin(self, logs=None):
        if not self.records:
            self.records.append({"epoch": 0, "layers": self.compute()})

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0:
            self.records.append({"epoch": epoch + 1, "layers": self.compute()})


def batch_losses_from_running_means(running_means):
    """Per-batch losses from the running means that `fit` reports after each batch.

    Keras logs the mean loss of the epoch so far, `m_k = (l_1 + ... + l_k) / k` for equal
    batches, so `l_k = k m_k - (k - 1) m_{k-1}`.

    Args:
        running_means: the `loss` values of one epoch's `on_train_batch_end` logs, in order.

    Returns:
        A float64 array of the same length.

    Example:
    >>> batch_losses_from_running_means([2.0, 1.5, 1.0]).tolist()
    [2.0, 1.0, 0.0]
    """
    means = np.asarray(running_means, dtype=np.float64)
    steps = np.arange(1, len(means) + 1, dtype=np.float64)
    totals = steps * means
    return np.diff(totals, prepend=0.0)


def loss_noise(batch_losses):
    """Batch-to-batch noise of a loss curve: `std(l_k - l_{k-1}) / sqrt(2)`.

    For losses `l_k = trend_k + e_k` with independent noise `e_k` of standard deviation `s`
    and a trend that changes little from one batch to the next, this estimates `s`
    without being inflated by the trend, as the plain standard deviation would be.

    Returns:
        A float, or NaN for fewer than 3 batches.

    Example:
    >>> round(loss_noise([1.0, 1.2, 1.0, 1.2, 1.0]), 3)
    0.141
    """
    losses = np.asarray(batch_losses, dtype=np.float64)
    if losses.size < 3:
        return float("nan")
    return float(np.std(np.diff(losses)) / np.sqrt(2.0))


class BatchLossCallback(keras.callbacks.Callback):
    """Records the loss of every training batch (not the epoch's running mean).

    The per-batch loss is recovered from the running mean `fit` logs (see
    `batch_losses_from_running_means`); that is exact when every batch has the same size,
    so use it with `drop_remainder=True` pipelines (a smaller last batch is dropped from the
    record of its epoch).

    Attributes:
        epochs: one list of per-batch losses per finished epoch.
        noise: `loss_noise` of each epoch's batch losses.

    Example:
    >>> cb = BatchLossCallback()  # doctest: +SKIP
    >>> model.fit(dataset, epochs=3, callbacks=[cb])  # doctest: +SKIP
    >>> cb.noise[-1]  # doctest: +SKIP
    """

    def __init__(self):
        super().__init__()
        self.epochs = []
        self.noise = []
        self._means = []

    def on_epoch_begin(self, epoch, logs=None):
        self._means = []

    def on_train_batch_end(self, batch, logs=None):
        if logs and "loss" in logs:
            self._means.append(float(logs["loss"]))

    def on_epoch_end(self, epoch, logs=None):
        losses = batch_losses_from_running_means(self._means).tolist()
        self.epochs.append(losses)
        self.noise.append(loss_noise(losses))
