"""The labs' models: a deep MLP, a ConvNet, a small ResNet, and transfer learning."""

from keraslab.models._common import INITIALIZERS, NORMALIZATIONS, make_initializer
from keraslab.models.convnet import build_convnet
from keraslab.models.mlp import build_mlp
from keraslab.models.resnet import build_resnet
from keraslab.models.transfer import (
    build_backbone,
    build_transfer_model,
    count_params,
    load_backbone,
    pretrain_backbone,
)

__all__ = [
    "INITIALIZERS",
    "NORMALIZATIONS",
    "build_backbone",
    "build_convnet",
    "build_mlp",
    "build_resnet",
    "build_transfer_model",
    "count_params",
    "load_backbone",
    "make_initializer",
    "pretrain_backbone",
]
