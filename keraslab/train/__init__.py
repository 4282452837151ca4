"""Training: strategies, a custom distributed loop, the lab runner and its command line.

Submodules are imported on use (`keraslab.train.runner`, ...), so importing this package
stays cheap for `keraslab --help`; `from keraslab.train import run_lab` works all the same.
"""

_LAZY = {"run_lab": "runner", "run_experiment": "runner", "load_results": "runner",
         "lab_table": "report", "lab_runs": "labs"}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"keraslab.train.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'keraslab.train' has no attribute {name!r}")
