"""Layer-sequential unit-variance (LSUV) initialization."""

from __future__ import annotations

import dataclasses
import math
import random
import warnings

import keras
import numpy as np
from keras import ops

_TARGET_TYPES = (keras.layers.Dense, keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)


@dataclasses.dataclass
class LSUVLayerReport:
    """What `lsuv_init` did to one layer.

    Attributes:
        name: The layer's name.
        variance_before: Output variance on the batch after the orthonormal pre-init and
            before any rescaling (the original initializer's variance if `orthonormal=False`).
        variance_after: Output variance after rescaling.
        iterations: Number of rescaling steps taken.
        converged: Whether `|variance_after - 1| <= tol`.
    """

    name: str
    variance_before: float
    variance_after: float
    iterations: int
    converged: bool


class LSUVReport(list):
    """A list of `LSUVLayerReport`, one per initialized layer, in forward order."""

    def __str__(self):
        lines = [f"{'layer':<24} {'var before':>12} {'var after':>10} {'iters':>5}"]
        for r in self:
            flag = "" if r.converged else "  (not converged)"
            lines.append(
                f"{r.name:<24} {r.variance_before:>12.4g} {r.variance_after:>10.4f} "
                f"{r.iterations:>5}{flag}"
            )
        return "\n".join(lines)


def _candidate_layers(layer):
    """Dense and Conv layers of a model, nested models included."""
    found = []
    for sub in getattr(layer, "layers", []):
        if isinstance(sub, _TARGET_TYPES):
            found.append(sub)
        elif getattr(sub, "layers", None):
            found.extend(_candidate_layers(sub))
    return found


class _InputRecorder:
    """Temporarily wraps layers' `call` to record the inputs of their first call."""

    def __init__(self, layers):
        self.layers = layers
        self.inputs = {}
        self.order = []

    def __enter__(self):
        for layer in self.layers:
            original = layer.call

            def recording_call(inputs, *args, _layer=layer, _original=original, **kwargs):
                if id(_layer) not in self.inputs:
                    self.inputs[id(_layer)] = inputs
                    self.order.append(_layer)
                return _original(inputs, *args, **kwargs)

            object.__setattr__(layer, "call", recording_call)
        return self

    def __exit__(self, *exc):
        for layer in self.layers:
            layer.__dict__.pop("call", None)


def _batch_size(x_batch):
    leaves = keras.tree.flatten(x_batch)
    if not leaves:
        raise ValueError("x_batch must hold at least one array. Received: an empty structure")
    return leaves[0].shape[0]


def _pre_activation(layer, inputs):
    # The variance is measured before a fused activation: the paper rescales the output of
    # each convolution or fully connected layer, where the nonlinearity is a separate layer.
    # Measuring after a ReLU would aim at a variance twice as large before it.
    activation = layer.activation
    try:
        layer.activation = keras.activations.linear
        return ops.convert_to_numpy(ops.cast(layer.call(inputs), "float32"))
    finally:
        layer.activation = activation


def lsuv_init(
    model,
    x_batch,
    *,
    tol=0.1,
    max_iter=10,
    orthonormal=True,
    seed=None,
    verbose=False,
):
    """Initializes a model's Dense and Conv kernels by LSUV (Mishkin and Matas, 2015).

    1. Pre-initializes every Dense/Conv kernel with an orthonormal matrix (when
       `orthonormal=True`).
    2. Going through the layers in forward order, runs the batch through the model, measures
       the variance of the layer's output on it, and divides the kernel by the square root of
       that variance, repeating until the variance is within `tol` of 1 or `max_iter` steps.

    The variance is that of the layer's output *before* its fused activation (for
    `Dense(..., activation="relu")`, of `x @ W + b`), as in the paper, where activations are
    separate layers. Biases are left as they are. The model is modified in place; layers
    inside nested models are included; models built under a `tf.distribute` strategy scope
    work (the assignments go to every replica).

    Args:
        model: A built (or buildable) Keras model with at least one Dense or Conv layer.
        x_batch: A batch of inputs, large enough for a stable variance estimate (a few hundred
            samples for an MLP).
        tol: Accepted deviation of the output variance from 1. Defaults to 0.1.
        max_iter: Maximum rescaling steps per layer. Defaults to 10.
        orthonormal: Whether to start from orthonormal kernels. Defaults to True.
        seed: Integer seed of the orthonormal pre-init, or None for a random one. Layer `i`
            (in the order the model lists them) is drawn with seed `seed + i`, so layers of
            the same shape get different matrices.
        verbose: Print the report when done.

    Returns:
        An `LSUVReport`: one `LSUVLayerReport` per initialized layer.

    Example:

    >>> model = keras.Sequential([keras.Input((64,))] +
    ...     [keras.layers.Dense(64, activation="tanh") for _ in range(20)])
    >>> report = lsuv_init(model, np.random.randn(256, 64).astype("float32"))
    """
    if not tol > 0:
        raise ValueError(f"tol must be positive. Received: tol={tol!r}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
        raise ValueError(f"max_iter must be a positive integer. Received: max_iter={max_iter!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ValueError(f"seed must be an integer or None. Received: seed={seed!r}")
    if _batch_size(x_batch) == 0:
        raise ValueError(
            "x_batch is empty: LSUV needs a batch of data to measure variances. "
            "Received: x_batch with batch size 0"
        )
    layers = _candidate_layers(model)
    if not layers:
        raise ValueError(
            "lsuv_init found no Dense or Conv layer to initialize in the model. "
            f"Received: model {model.name!r} with layers {[layer.name for layer in model.layers]}"
        )
    if not model.built:
        model(x_batch)

    if orthonormal:
        # A Keras initializer built with an int seed returns the same values on every call,
        # so one initializer shared by all layers would give every same-shaped layer the
        # same matrix: the symmetry a random init exists to break. Each layer gets its own
        # seed instead (seed, seed + 1, ...; a fresh random base seed when seed is None).
        base_seed = random.SystemRandom().randrange(2**31) if seed is None else seed
        for index, layer in enumerate(layers):
            initializer = keras.initializers.Orthogonal(seed=base_seed + index)
            layer.kernel.assign(initializer(layer.kernel.shape, dtype=layer.kernel.dtype))

    with _InputRecorder(layers) as recorder:
        model(x_batch, training=False)
    order = recorder.order

    report = LSUVReport()
    for layer in order:
        with _InputRecorder([layer]) as recorder:
            model(x_batch, training=False)
        inputs = recorder.inputs[id(layer)]
        variance = float(np.var(_pre_activation(layer, inputs)))
        before, steps = variance, 0
        while abs(variance - 1.0) > tol and steps < max_iter:
            if not math.isfinite(variance) or variance <= 0.0:
                break
            layer.kernel.assign(layer.kernel / math.sqrt(variance))
            variance = float(np.var(_pre_activation(layer, inputs)))
            steps += 1
        converged = math.isfinite(variance) and abs(variance - 1.0) <= tol
        if not converged:
            warnings.warn(
                f"lsuv_init: layer {layer.name!r} ended with output variance {variance:.4g} "
                f"after {steps} steps (tol={tol}).",
                stacklevel=2,
            )
        report.append(LSUVLayerReport(layer.name, before, variance, steps, converged))
    if verbose:
        print(report)
    return report
