"""Lab 3, regularization: dropout, spatial dropout, DropBlock and augmentation on a small
training set, read through the generalization gap."""

from __future__ import annotations

from keraslab.labs.figures import bar_figure, robustness_figures, training_figures
from keraslab.labs.spec import Claim, Figure
from keraslab.train.report import percent

TITLE = "Regularization: dropout, spatial dropout, DropBlock and augmentation on a small training set"
ALIASES = ("regularization",)
REGULARIZATION_RATES = (0.2, 0.3, 0.5)
BASE = {
    "dataset": "cifar10", "model": "convnet", "normalization": "batch", "dense_units": 512,
    "optimizer": "adam", "learning_rate": 1e-3, "batch_size": 64, "epochs": 60, "train_size": 2000,
    "test_size": 2000, "block_size": 7, "target_accuracy": 0.6, "early_stopping_patience": 15,
}


def _grid():
    grid = [{"name": "none", "regularizer": "none"}]
    for kind in ("dropout", "spatial", "dropblock"):
        for p in REGULARIZATION_RATES:
            grid.append({"name": f"{kind}-{p}", "regularizer": kind, "rate": p})
    grid.append({"name": "augment", "regularizer": "none", "augment": "lab3"})
    grid.append({"name": "dropout-0.5+augment", "regularizer": "dropout", "rate": 0.5, "augment": "lab3"})
    return grid


GRID = _grid()
SCALES = {
    "fast": {"train_size": 256, "test_size": 128, "epochs": 2, "filters": [8, 8, 16, 16, 16, 16], "dense_units": 64},
    "cpu": {"train_size": 1000, "test_size": 1000, "epochs": 30, "filters": [16, 16, 32, 32, 64, 64],
            "dense_units": 256, "early_stopping_patience": 8},
    "full": {"train_size": 5000},
}
TABLE = [
    ("run", "name", "{}"), ("train accuracy (%)", percent("final_train_accuracy"), "{:.1f}"),
    ("test accuracy (%)", percent("final_accuracy"), "{:.1f}"),
    ("gap (points)", percent("generalization_gap"), "{:.1f}"), ("epochs run", "epochs_run", "{}"),
]

# The course's table: (label, run, train accuracy %, validation accuracy %); the gap is their difference.
COURSE_TABLE = [("none", "none", 95, 70), ("dropout 0.5", "dropout-0.5", 88, 78),
                ("augmentation", "augment", 85, 80), ("both", "dropout-0.5+augment", 82, 82)]

CLAIMS = [
    Claim(f"{label}: {train} % train, {val} % validation accuracy, a gap of {train - val} points",
          ("final_train_accuracy", "final_accuracy", "generalization_gap"), (run,),
          {"final_train_accuracy": train, "final_accuracy": val, "generalization_gap": train - val})
    for label, run, train, val in COURSE_TABLE
] + [
    Claim("Spatial dropout and DropBlock regularize conv layers better than plain dropout",
          ("generalization_gap", "final_accuracy"), tuple(f"{k}-{p}" for k in ("dropout", "spatial", "dropblock")
                                                          for p in REGULARIZATION_RATES)),
]


def figures(results, analyses):
    """The curves and final accuracies, and the generalization gap per run."""
    own = [bar_figure("generalization_gap.png", results, "generalization_gap", "train accuracy - test accuracy",
                      "lab3: generalization gap")]
    return training_figures("lab3", results) + own + robustness_figures("lab3", results)


# The runs whose curves the book's page shows.
PAGE_CURVES = ("none", "dropout-0.5", "dropblock-0.3", "augment", "dropout-0.5+augment")


def page_figures(results, analyses=None):
    """The figures of the book's lab page: the gap in points, and accuracy curves of a few runs."""
    from keraslab import plots

    by_name = {r["name"]: r for r in results}
    return {"gap": [
        Figure("page_gap.png", plots.plot_bars, ({r["name"]: 100 * r["generalization_gap"] for r in results},),
               {"ylabel": "train - test accuracy (points)", "title": "Generalization gap"}),
        Figure("page_accuracy.png", plots.plot_curves, ({n: by_name[n]["history"] for n in PAGE_CURVES}, "accuracy"),
               {"title": "Accuracy per epoch (dashed: test)"}),
    ]}
