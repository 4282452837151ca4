"""Lab 4, transfer learning: a ResNet backbone pre-trained by the kit, frozen (A) or partly
fine-tuned (B), against training from scratch, on a quarter of the training images and on all."""

from __future__ import annotations

from keraslab.labs.figures import bar_figure, robustness_figures, training_figures
from keraslab.labs.spec import Claim, Figure, product
from keraslab.train.report import epochs_or_never, percent

TITLE = ("Transfer learning: a ResNet backbone pretrained by the kit, frozen (A) or partly fine-tuned (B), "
         "against training from scratch")
ALIASES = ("transfer",)
BASE = {
    "dataset": "tf_flowers", "model": "transfer", "image_size": 32, "optimizer": "adam",
    "learning_rate": 1e-3, "batch_size": 32, "epochs": 30, "train_size": 1000, "test_size": 500,
    "augment": "standard", "target_accuracy": 0.7, "early_stopping_patience": 8,
    "pretrain_size": 20000, "pretrain_epochs": 15,
}
# Data efficiency: each strategy on a quarter of the training images and on all.
GRID = product(strategy=["scratch", "A", "B"], data_fraction=[0.25, 1.0])
SCALES = {
    "fast": {"train_size": 128, "test_size": 64, "epochs": 1, "pretrain_size": 256, "pretrain_epochs": 1},
    "cpu": {"epochs": 15, "pretrain_size": 5000, "pretrain_epochs": 8, "early_stopping_patience": 5},
    "full": {"image_size": 64},
}
TABLE = [
    ("strategy", "config.strategy", "{}"), ("training images", "data.train_size", "{}"),
    ("trainable parameters", "trainable_params", "{:,}"), ("epochs to target", epochs_or_never, "{}"),
    ("test accuracy (%)", percent("final_accuracy"), "{:.1f}"), ("s / epoch", "time_per_epoch", "{:.1f}"),
    ("epochs run", "epochs_run", "{}"),
]

# The course's table for 1000 images: (strategy, run, training time, accuracy %).
COURSE_TABLE = [("random init", "scratch-1.0", "2-3 h", "65-70"), ("frozen", "A-1.0", "10-15 min", "78-82"),
                ("fine-tuned", "B-1.0", "30-45 min", "85-90")]

CLAIMS = [
    Claim(f"{label}: {time} of training, {accuracy} % accuracy on 1000 images",
          ("final_accuracy", "time_per_epoch", "epochs_run", "trainable_params"), (run,),
          {"time": time, "final_accuracy": f"{accuracy} %"})
    for label, run, time, accuracy in COURSE_TABLE
] + [
    Claim("Transfer learning converges 10-50x faster than training from scratch",
          ("epochs_to_target", "time_per_epoch", "epochs_run"), ("scratch-1.0", "A-1.0", "B-1.0"),
          {"speedup": "10-50x"}),
    Claim("Transfer learning needs 10-100x less data",
          ("final_accuracy", "data.train_size"), tuple(r["name"] for r in GRID), {"data": "10-100x less"}),
    Claim("The backbone learned its source task (a precondition of A and B)",
          ("backbone.source_test_accuracy",), ("A-0.25", "A-1.0", "B-0.25", "B-1.0")),
]


def figures(results, analyses):
    """The curves and final accuracies, trainable parameters and time per epoch per strategy."""
    own = [bar_figure("trainable_params.png", results, "trainable_params", "trainable parameters",
                      "lab4: trainable parameters per strategy"),
           bar_figure("time_per_epoch.png", results, "time_per_epoch", "seconds per epoch", "lab4: time per epoch")]
    return training_figures("lab4", results) + own + robustness_figures("lab4", results)


def page_figures(results, analyses=None):
    """The figures of the book's lab page: curves with all training images, and test
    accuracy by strategy and share of the training set."""
    from keraslab import plots

    return {"accuracy": [
        Figure("page_accuracy.png", plots.plot_curves,
               ({r["name"]: r["history"] for r in results if r["name"].endswith("-1.0")}, "accuracy"),
               {"title": "All training images: accuracy per epoch (dashed: test)"}),
        Figure("page_final_accuracy.png", plots.plot_bars, ({r["name"]: 100 * r["final_accuracy"] for r in results},),
               {"ylabel": "test accuracy (%)", "title": "Test accuracy by strategy and share of the training set"}),
    ]}
