"""Lab 2, normalization: a 6-layer ConvNet without normalization and with batch, layer and
group norm, at batch sizes 2 to 128."""

from __future__ import annotations

from keraslab.labs.figures import bar_figure, robustness_figures, training_figures
from keraslab.labs.spec import Claim, Figure, product
from keraslab.train.report import epochs_or_never, percent

TITLE = ("Normalization: a 6-layer ConvNet without normalization and with batch, layer and group norm, "
         "at batch sizes 2 to 128")
ALIASES = ("normalization",)
BASE = {
    "dataset": "cifar10", "model": "convnet", "optimizer": "sgd", "learning_rate": 0.01,
    "momentum": 0.9, "epochs": 30, "target_accuracy": 0.70, "train_size": 10000, "test_size": 2000,
    "drop_remainder": True, "early_stopping_patience": 8, "diagnostics": ["loss_noise"],
}


GRID = product(normalization=["none", "batch", "layer", "group"], batch_size=[2, 8, 32, 128])
SCALES = {
    "fast": {"train_size": 256, "test_size": 128, "epochs": 1, "filters": [8, 8, 16, 16, 16, 16]},
    "cpu": {"train_size": 2000, "test_size": 1000, "epochs": 8, "filters": [16, 16, 32, 32, 64, 64],
            "early_stopping_patience": None},
    "full": {"train_size": None, "test_size": None, "epochs": 60},
}
TABLE = [
    ("normalization", "config.normalization", "{}"), ("batch size", "config.batch_size", "{}"),
    ("epochs to target", epochs_or_never, "{}"), ("test accuracy (%)", percent("final_accuracy"), "{:.1f}"),
    ("best (%)", percent("best_val_accuracy"), "{:.1f}"), ("loss noise", "loss_noise", "{:.3f}"),
    ("s / epoch", "time_per_epoch", "{:.1f}"),
]

# The course's table for CIFAR-10: (normalization, batch size, epochs to 70 %, final accuracy %).
COURSE_TABLE = [("none", 32, "80-100", "72-75"), ("batch", 32, "30-40", "82-85"), ("batch", 2, "60-80", "75-78"),
                ("layer", 2, "40-50", "80-82"), ("group", 2, "35-45", "81-84")]

CLAIMS = [
    Claim(f"{norm} normalization at batch size {batch}: {epochs} epochs to 70 %, {accuracy} % final accuracy",
          ("epochs_to_target", "final_accuracy", "best_val_accuracy"), (f"{norm}-{batch}",),
          {"epochs_to_target": epochs, "final_accuracy": f"{accuracy} %"})
    for norm, batch, epochs, accuracy in COURSE_TABLE
] + [
    Claim("Normalization gives 2-5x faster convergence", ("epochs_to_target",), ("none-32", "batch-32"),
          {"speedup": "2-5x"}),
    Claim("BatchNorm degrades at small batches (below 8); LayerNorm and GroupNorm do not",
          ("final_accuracy", "loss_noise"), ("batch-2", "batch-8", "layer-2", "group-2")),
    Claim("Smaller batches give a noisier loss", ("loss_noise",), ()),
    Claim("Normalization and batch size change the time per epoch", ("time_per_epoch", "steps"), ()),
]


def figures(results, analyses):
    """The curves and final accuracies, time per epoch and loss noise."""
    own = [bar_figure("time_per_epoch.png", results, "time_per_epoch", "seconds per epoch", "lab2: time per epoch")]
    noisy = [r for r in results if r.get("loss_noise") is not None]
    if noisy:
        own.append(bar_figure("loss_noise.png", noisy, "loss_noise", "batch-to-batch loss noise",
                              "lab2: loss noise in the last epoch"))
    return training_figures("lab2", results) + own + robustness_figures("lab2", results)


def page_figures(results, analyses=None):
    """The figures of the book's lab page, by section: accuracy curves at batch sizes 2 and
    32, loss noise and time per epoch."""
    from keraslab import plots

    curves = []
    for batch in (2, 32):
        runs = {r["config"]["normalization"]: r["history"] for r in results if r["config"]["batch_size"] == batch}
        curves.append(Figure(f"page_accuracy_batch{batch}.png", plots.plot_curves, (runs, "accuracy"),
                             {"title": f"Batch size {batch}: accuracy per epoch (dashed: test)"}))
    return {
        "accuracy": curves,
        "noise_and_time": [bar_figure("page_loss_noise.png", results, "loss_noise", "loss noise",
                                      "Batch-to-batch loss noise in the last epoch"),
                           bar_figure("page_time_per_epoch.png", results, "time_per_epoch", "seconds per epoch",
                                      "Time per epoch (2 CPU cores)")],
    }
