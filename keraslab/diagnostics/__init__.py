"""Diagnostics: gradient, activation and batch-loss statistics during training, calibration, and
out-of-distribution detection."""

from keraslab.diagnostics.calibration import expected_calibration_error, reliability_diagram
from keraslab.diagnostics.callbacks import (
    ActivationStatsCallback,
    BatchLossCallback,
    GradientNormCallback,
    activation_layers,
    activation_statistics,
    batch_losses_from_running_means,
    loss_noise,
)
from keraslab.diagnostics.ood import auroc, max_softmax_auroc
from keraslab.diagnostics.recalibration import batch_norm_layers, recalibrate_batch_norm

__all__ = [
    "ActivationStatsCallback",
    "BatchLossCallback",
    "GradientNormCallback",
    "activation_layers",
    "activation_statistics",
    "auroc",
    "batch_losses_from_running_means",
    "batch_norm_layers",
    "expected_calibration_error",
    "loss_noise",
    "max_softmax_auroc",
    "recalibrate_batch_norm",
    "reliability_diagram",
]
