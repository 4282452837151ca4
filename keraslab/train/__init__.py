"""The experiment engine: a typed run config, one run in stages, callbacks, result files,
tf.distribute strategies and a custom distributed loop.

It knows nothing of the course's labs (`keraslab.labs` sits above it and uses it).
Submodules are imported on use (`keraslab.train.experiment`, ...), so importing this package
stays cheap for `keraslab --help`; `from keraslab.train import run_experiment` works all the same.
"""

_LAZY = {"RunConfig": "config", "resolve_config": "config", "run_experiment": "experiment",
         "build_model": "experiment", "load_results": "results", "export_results": "results",
         "epochs_to_target": "results", "markdown_table": "report"}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"keraslab.train.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'keraslab.train' has no attribute {name!r}")
