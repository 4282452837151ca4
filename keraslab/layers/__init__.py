"""Keras layers for normalization and regularization that Keras core does not provide."""

from keraslab.layers.cut_mix import CutMix, cut_mix
from keraslab.layers.cutout import Cutout
from keraslab.layers.drop_block import DropBlock2D, drop_block_2d
from keraslab.layers.drop_connect import DropConnectDense, drop_connect
from keraslab.layers.drop_path import DropPath, drop_path, linear_drop_rates
from keraslab.layers.ghost_batch_norm import GhostBatchNorm, ghost_batch_moments
from keraslab.layers.group_norm import GroupNorm
from keraslab.layers.instance_norm import InstanceNorm
from keraslab.layers.mix_up import MixUp, mix_up
from keraslab.layers.stochastic_depth import StochasticDepth
from keraslab.layers.weight_norm import WeightNorm

__all__ = [
    "CutMix",
    "Cutout",
    "DropBlock2D",
    "DropConnectDense",
    "DropPath",
    "GhostBatchNorm",
    "GroupNorm",
    "InstanceNorm",
    "MixUp",
    "StochasticDepth",
    "WeightNorm",
    "cut_mix",
    "drop_block_2d",
    "drop_connect",
    "drop_path",
    "ghost_batch_moments",
    "linear_drop_rates",
    "mix_up",
]
