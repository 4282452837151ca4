"""Initialization: LSUV. The classical initializers (zeros, constant, random normal, Glorot,
He, LeCun, orthogonal) are Keras core's: `keras.initializers`."""

from keraslab.initializers.lsuv import LSUVLayerReport, LSUVReport, lsuv_init

__all__ = ["LSUVLayerReport", "LSUVReport", "lsuv_init"]
