"""keraslab: a Keras 3 course kit on weight initialization, normalization and regularization.

Subpackages are imported on first use (``keraslab.layers``, ``keraslab.initializers``, ...), so
``import keraslab`` and the ``keraslab`` command stay fast.
"""

import importlib

__version__ = "0.1.0"

_SUBMODULES = (
    "layers",
    "initializers",
    "random",
    "data",
    "models",
    "diagnostics",
    "plots",
    "ensemble",
    "train",
    "grading",
)


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"keraslab.{name}")
    raise AttributeError(f"module 'keraslab' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBMODULES))
