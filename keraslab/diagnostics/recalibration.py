"""Batch normalization's inference statistics, re-estimated after training."""

from __future__ import annotations

import keras
import numpy as np

from keraslab.layers import GhostBatchNorm


def batch_norm_layers(model):
    """The model's batch-normalization layers (Keras's and `GhostBatchNorm`), nested ones included."""
    kinds = (keras.layers.BatchNormalization, GhostBatchNorm)
    found = []
    for layer in getattr(model, "layers", []):
        if isinstance(layer, kinds):
            found.append(layer)
        found.extend(batch_norm_layers(layer))
    return found


def recalibrate_batch_norm(model, images):
    """Replaces every batch-normalization layer's moving mean and variance by the statistics of
    `images` taken as one batch (each layer's input computed with the layers before it already
    re-estimated), so that inference uses population statistics rather than the moving averages
    training tracked. This removes what the moving averages add to small-batch BatchNorm's
    error (statistics estimated from small batches) and keeps what training with noisy batch
    statistics did to the weights.

    Args:
        model: a Keras model; it is changed in place (its moving statistics only).
        images: a batch of preprocessed inputs, as the model takes them (a few thousand
            examples: it is one forward pass).

    Returns:
        The number of layers re-estimated.

    Raises:
        ValueError: when `images` holds fewer than 2 examples.
    """
    images = np.asarray(images)
    if images.ndim < 2 or len(images) < 2:
        raise ValueError(f"`images` must be a batch of at least 2 examples. Received: shape={images.shape}")
    layers = batch_norm_layers(model)
    saved = [(layer, layer.momentum, getattr(layer, "virtual_batch_size", None),
              getattr(layer, "moving_statistics", None)) for layer in layers]
    try:
        for layer in layers:
            layer.momentum = 0.0  # the moving statistics become this batch's
            if isinstance(layer, GhostBatchNorm):
                layer.virtual_batch_size, layer.moving_statistics = len(images), "batch"
        model(images, training=True)
    finally:
        for layer, momentum, virtual, moving in saved:
            layer.momentum = momentum
            if isinstance(layer, GhostBatchNorm):
                layer.virtual_batch_size, layer.moving_statistics = virtual, moving
    return len(layers)
