"""The five labs' experiment grids, as data.

Each lab has a `base` config (every run starts from it), a `grid` (a list of overrides, one
per run, each with a `name`) and one block of overrides per scale (`SCALES`):

- `fast`: small subsets and one or two epochs, for CI and a first look (minutes on a laptop);
- `cpu`: enough data and epochs for the lab's effects to show, sized so the whole grid runs on
  two CPU cores in well under an hour (the book's result tables are made at this scale);
- `full`: the course's settings, for a GPU.

Config keys are documented in `keraslab.train.runner.DEFAULTS`.

Labs take the course's datasets (MNIST, CIFAR-10, flowers, CIFAR-100) from TFDS when they
are available; offline, the loaders substitute real scikit-learn digits and generated
shapes (see `keraslab.data`), and the results say which data was used.
"""

from __future__ import annotations

import itertools

REGULARIZATION_RATES = (0.2, 0.3, 0.5)
SCALES = ("fast", "cpu", "full")


def product(**axes):
    """All combinations of the axes, each named by its values.

    Example:
    >>> [r["name"] for r in product(initializer=["he"], activation=["tanh", "relu"])]
    ['he-tanh', 'he-relu']
    """
    keys = list(axes)
    runs = []
    for values in itertools.product(*(axes[k] for k in keys)):
        run = dict(zip(keys, values, strict=True))
        run["name"] = "-".join(str(v) for v in values)
        runs.append(run)
    return runs


def _lab3_grid():
    grid = [{"name": "none", "regularizer": "none"}]
    for kind in ("dropout", "spatial", "dropblock"):
        for p in REGULARIZATION_RATES:
            grid.append({"name": f"{kind}-{p}", "regularizer": kind, "rate": p})
    grid.append({"name": "augment", "regularizer": "none", "augment": "lab3"})
    grid.append({"name": "dropout-0.5+augment", "regularizer": "dropout", "rate": 0.5, "augment": "lab3"})
    return grid


LABS = {
    "lab1": {
        "title": "Initialization: a 10-layer MLP with zero, small random, Xavier and He initialization",
        "base": {
            "dataset": "mnist", "model": "mlp", "depth": 10, "width": 256, "optimizer": "sgd",
            "learning_rate": 0.01, "momentum": 0.9, "batch_size": 64, "epochs": 30,
            "target_accuracy": 0.95, "diagnostics": ["gradients", "activations"],
            "early_stopping_patience": None,
        },
        "grid": product(initializer=["zeros", "small_random", "xavier", "he"], activation=["tanh", "relu"]),
        "fast": {"train_size": 512, "test_size": 256, "epochs": 2, "width": 64},
        "cpu": {"epochs": 20},
        "full": {},
    },
    "lab2": {
        "title": "Normalization: a 6-layer ConvNet without normalization and with batch, layer and group norm, at batch sizes 2 to 128",
        "base": {
            "dataset": "cifar10", "model": "convnet", "optimizer": "sgd", "learning_rate": 0.01,
            "momentum": 0.9, "epochs": 30, "target_accuracy": 0.70, "train_size": 10000, "test_size": 2000,
            "drop_remainder": True, "early_stopping_patience": 8, "diagnostics": ["loss_noise"],
        },
        "grid": product(normalization=["none", "batch", "layer", "group"], batch_size=[2, 8, 32, 128]),
        "fast": {"train_size": 256, "test_size": 128, "epochs": 1, "filters": [8, 8, 16, 16, 16, 16]},
        "cpu": {"train_size": 2000, "test_size": 1000, "epochs": 8, "filters": [16, 16, 32, 32, 64, 64],
                "early_stopping_patience": None},
        "full": {"train_size": None, "test_size": None, "epochs": 60},
    },
    "lab3": {
        "title": "Regularization: dropout, spatial dropout, DropBlock and augmentation on a small training set",
        "base": {
            "dataset": "cifar10", "model": "convnet", "normalization": "batch", "dense_units": 512,
            "optimizer": "adam", "learning_rate": 1e-3, "batch_size": 64, "epochs": 60, "train_size": 2000,
            "test_size": 2000, "block_size": 7, "target_accuracy": 0.6, "early_stopping_patience": 15,
        },
        "grid": _lab3_grid(),
        "fast": {"train_size": 256, "test_size": 128, "epochs": 2, "filters": [8, 8, 16, 16, 16, 16], "dense_units": 64},
        "cpu": {"train_size": 1000, "test_size": 1000, "epochs": 30, "filters": [16, 16, 32, 32, 64, 64],
                "dense_units": 256, "early_stopping_patience": 8},
        "full": {"train_size": 5000},
    },
    "lab4": {
        "title": "Transfer learning: a ResNet backbone pretrained by the kit, frozen (A) or partly fine-tuned (B), against training from scratch",
        "base": {
            "dataset": "tf_flowers", "model": "transfer", "image_size": 32, "optimizer": "adam",
            "learning_rate": 1e-3, "batch_size": 32, "epochs": 30, "train_size": 1000, "test_size": 500,
            "augment": "standard", "target_accuracy": 0.7, "early_stopping_patience": 8,
            "pretrain_size": 20000, "pretrain_epochs": 15,
        },
        # Data efficiency: each strategy on a quarter of the training images and on all.
        "grid": product(strategy=["scratch", "A", "B"], data_fraction=[0.25, 1.0]),
        "fast": {"train_size": 128, "test_size": 64, "epochs": 1, "pretrain_size": 256, "pretrain_epochs": 1},
        "cpu": {"epochs": 15, "pretrain_size": 5000, "pretrain_epochs": 8, "early_stopping_patience": 5},
        "full": {"image_size": 64},
    },
    "lab5": {
        "title": "Advanced: MixUp, CutMix, 5-model ensembles of seeds and of architectures, calibration, corrupted inputs",
        "base": {
            "dataset": "cifar10", "model": "resnet", "optimizer": "adam", "learning_rate": 1e-3,
            "batch_size": 64, "epochs": 40, "train_size": 10000, "test_size": 2000, "stochastic_depth": 0.1,
            "target_accuracy": 0.7, "early_stopping_patience": None,
            "diagnostics": ["calibration", "corruptions"], "save_predictions": True,
        },
        # Five seeds of one recipe, two other architectures (an ensemble of three seeds and
        # these two), and the same recipe with crops and flips, then with MixUp or CutMix on top.
        "grid": (
            [{"name": f"plain-seed{s}", "seed": s, "ensemble": "plain"} for s in range(5)]
            + [{"name": "convnet", "model": "convnet", "normalization": "batch",
                "filters": [16, 16, 32, 32, 64, 64], "ensemble": "architectures"},
               {"name": "resnet-groupnorm", "normalization": "group", "ensemble": "architectures"},
               # Crops and flips alone: the baseline that MixUp and CutMix add to.
               {"name": "crop-flip", "augment": "standard"},
               {"name": "mixup", "augment": {"crop_padding": 4, "flip": True, "mix": "mixup", "mix_alpha": 1.0}},
               {"name": "cutmix", "augment": {"crop_padding": 4, "flip": True, "mix": "cutmix", "mix_alpha": 1.0}}]
        ),
        "fast": {"train_size": 256, "test_size": 128, "epochs": 1, "filters": [8, 16, 32], "blocks_per_stage": [1, 1, 1]},
        "cpu": {"train_size": 2000, "test_size": 1000, "epochs": 12, "filters": [16, 32, 64],
                "blocks_per_stage": [1, 1, 1]},
        # The course runs lab 5 on CIFAR-100; the smaller scales keep 10 classes, which a few
        # thousand images can learn.
        "full": {"dataset": "cifar100", "train_size": None, "test_size": None, "epochs": 100},
    },
}
ALIASES = {"1": "lab1", "2": "lab2", "3": "lab3", "4": "lab4", "5": "lab5", "init": "lab1",
           "initialization": "lab1", "normalization": "lab2", "regularization": "lab3",
           "transfer": "lab4", "advanced": "lab5"}


def get_lab(name):
    """The lab spec for a name ("lab1", "1", "init", ...).

    Raises:
        ValueError: for an unknown lab, listing the known ones.
    """
    key = ALIASES.get(str(name).lower(), str(name).lower())
    if key not in LABS:
        raise ValueError(f"`lab` must be one of {sorted(LABS)} (or 1-5). Received: lab={name!r}")
    return key, LABS[key]


def resolve_scale(fast=False, scale=None):
    """The scale name from the `fast` flag and an optional explicit `scale`.

    Raises:
        ValueError: for an unknown scale, or `fast=True` with another scale.
    """
    if scale is None:
        return "fast" if fast else "full"
    if scale not in SCALES:
        raise ValueError(f"`scale` must be one of {SCALES}. Received: scale={scale!r}")
    if fast and scale != "fast":
        raise ValueError(f"`fast=True` contradicts `scale`. Received: scale={scale!r}")
    return scale


def lab_runs(name, fast=False, overrides=None, scale=None):
    """The list of run configs of a lab: base, then the scale's overrides, then the grid
    entry, then `overrides` (from `--set`), which win over everything.

    At the fast scale offline data is allowed unless `overrides` says otherwise, because
    that is what CI runs (it never downloads).

    Args:
        name: the lab ("lab1", "1", "init", ...).
        fast: shorthand for `scale="fast"`.
        overrides: settings applied to every run.
        scale: "fast", "cpu" or "full" (default: "fast" if `fast` else "full").

    Returns:
        `(lab_key, spec, runs)`.
    """
    key, spec = get_lab(name)
    scale = resolve_scale(fast, scale)
    runs = []
    for entry in spec["grid"]:
        run = {**spec["base"], **spec[scale], **entry, **(overrides or {})}
        if scale == "fast":
            run.setdefault("offline", True)
        run["lab"] = key
        runs.append(run)
    return key, spec, runs
