"""Lab 1, initialization: a 10-layer MLP with zero, small random, Xavier and He initialization,
under tanh and ReLU, with gradient norms and activation statistics per layer."""

from __future__ import annotations

from keraslab.labs.figures import robustness_figures, training_figures
from keraslab.labs.spec import Claim, Figure, product
from keraslab.train.report import epochs_or_never, percent

TITLE = "Initialization: a 10-layer MLP with zero, small random, Xavier and He initialization"
ALIASES = ("init", "initialization")
BASE = {
    "dataset": "mnist", "model": "mlp", "depth": 10, "width": 256, "optimizer": "sgd",
    "learning_rate": 0.01, "momentum": 0.9, "batch_size": 64, "epochs": 30,
    "target_accuracy": 0.95, "diagnostics": ["gradients", "activations"],
    "early_stopping_patience": None,
}
INITIALIZERS = ("zeros", "small_random", "xavier", "he")


GRID = product(initializer=list(INITIALIZERS), activation=["tanh", "relu"])
SCALES = {
    "fast": {"train_size": 512, "test_size": 256, "epochs": 2, "width": 64},
    "cpu": {"epochs": 20},
    "full": {},
}


def gradient_ratio(norms):
    """First-layer over last-layer gradient norm of an ordered `{layer: norm}` dict
    (NaN when the last norm is 0): below 1 the gradient shrinks towards the input."""
    values = list(norms.values())
    if len(values) < 2 or not values[-1]:
        return float("nan")
    return float(values[0] / values[-1])


def grad_ratio_at(index):
    """A column getter: `gradient_ratio` of a run's `index`-th gradient record (0: at init)."""
    def get(row):
        records = row.get("diagnostics", {}).get("gradients") or []
        if len(records) <= index:
            return None
        return gradient_ratio(records[index]["norms"])

    return get


def first_grad_at(index):
    """A column getter: the first layer's gradient norm in a run's `index`-th gradient record."""
    def get(row):
        records = row.get("diagnostics", {}).get("gradients") or []
        if len(records) <= index:
            return None
        return next(iter(records[index]["norms"].values()))

    return get


TABLE = [
    ("initialization", "config.initializer", "{}"), ("activation", "config.activation", "{}"),
    ("epochs to target", epochs_or_never, "{}"), ("test accuracy (%)", percent("final_accuracy"), "{:.1f}"),
    ("first-layer gradient norm at init", first_grad_at(0), "{:.2g}"),
    ("first/last layer gradient, at init", grad_ratio_at(0), "{:.2g}"),
    ("after epoch 1", grad_ratio_at(1), "{:.2g}"),
]

# The course's table for MNIST: epochs to 95 % and final accuracy (%), per initialization.
COURSE_TABLE = {"zeros": ("never", "about 10"), "small_random": ("50-100", "96-97"),
                "xavier": ("20-30", "97-98"), "he": ("10-15", "98-99")}

CLAIMS = [
    Claim("Zero initialization never learns (symmetric units): about 10 % accuracy",
          ("epochs_to_target", "final_accuracy", "diagnostics.gradients"), ("zeros-tanh", "zeros-relu"),
          {"epochs_to_target": "never", "final_accuracy": "about 10 %"}),
    Claim("Small random weights (0.01 randn) reach 95 % in 50-100 epochs, 96-97 % final accuracy",
          ("epochs_to_target", "final_accuracy", "diagnostics.activations"), ("small_random-tanh", "small_random-relu"),
          {"epochs_to_target": "50-100", "final_accuracy": "96-97 %"}),
    Claim("Xavier reaches 95 % in 20-30 epochs, 97-98 % final accuracy",
          ("epochs_to_target", "final_accuracy"), ("xavier-tanh", "xavier-relu"),
          {"epochs_to_target": "20-30", "final_accuracy": "97-98 %"}),
    Claim("He reaches 95 % in 10-15 epochs, 98-99 % final accuracy",
          ("epochs_to_target", "final_accuracy"), ("he-tanh", "he-relu"),
          {"epochs_to_target": "10-15", "final_accuracy": "98-99 %"}),
    Claim("He gives 2-3x faster convergence than Xavier under ReLU",
          ("epochs_to_target",), ("xavier-relu", "he-relu"), {"speedup": "2-3x"}),
    Claim("Poor initialization makes gradients vanish towards the input layers",
          ("diagnostics.gradients",), ()),
]


def figures(results, analyses):
    """The curves and final accuracies, gradient flow and activation histograms."""
    return training_figures("lab1", results) + robustness_figures("lab1", results)


def page_figures(results, analyses=None):
    """The figures of the book's lab page, by section: accuracy curves, gradient flow of the
    ReLU runs (at initialization and after epoch 1), activations at initialization."""
    from keraslab import plots

    by_name = {r["name"]: r for r in results}
    relu = {r["name"]: r["diagnostics"]["gradients"] for r in results if "relu" in r["name"]}
    return {
        "accuracy": [Figure("page_accuracy.png", plots.plot_curves,
                            ({r["name"]: r["history"] for r in results}, "accuracy"),
                            {"title": "Accuracy per epoch (dashed: test)"})],
        "gradient_flow": [
            Figure(f"page_gradient_flow_{when}.png", plots.plot_gradient_flow,
                   ({name: recs[idx]["norms"] for name, recs in relu.items()},),
                   {"title": f"Gradient norm per layer {moment} (ReLU runs)"})
            for idx, when, moment in ((0, "init", "at initialization"), (1, "epoch1", "after epoch 1"))],
        "activations": [
            Figure(f"page_activations_{name}.png", plots.plot_activation_histograms,
                   (by_name[name]["diagnostics"]["activations"][0]["layers"],),
                   {"title": f"{name}: activations of each layer at initialization"})
            for name in ("small_random-relu", "he-relu")],
    }
