"""Diagnostics: gradient and activation statistics during training, and calibration."""

from keraslab.diagnostics.calibration import expected_calibration_error, reliability_diagram
from keraslab.diagnostics.callbacks import (
    ActivationStatsCallback,
    GradientNormCallback,
    activation_layers,
    activation_statistics,
)

__all__ = [
    "ActivationStatsCallback",
    "GradientNormCallback",
    "activation_layers",
    "activation_statistics",
    "expected_calibration_error",
    "reliability_diagram",
]
