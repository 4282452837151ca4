"""Lab 1, initialization: a 10-layer MLP with zero, small random, Xavier and He initialization,
under tanh and ReLU, with gradient norms and activation statistics per layer."""

from __future__ import annotations

from keraslab.labs.figures import first_repeats, robustness_figures, training_figures
from keraslab.labs.spec import Claim, Figure, Verdict, product
from keraslab.train.report import epochs_or_never, percent
from keraslab.train.stats import spread_text, welch_text

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
# Three seeds per configuration at cpu scale (about 5 minutes of training on 2 cores in all):
# a seed changes the initial weights and the order of the batches; the 80/20 split of the 5,000
# digits is the same for every seed (the data loader always uses seed 0).
REPEATS = {"cpu": 3}  # the full scale (the notebook's) stays one seed, within the course's 60 minutes


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

# What the judges measure where the course's 95 % is out of reach: the same count of epochs
# at 90 %, a threshold the 4,000 training digits allow (chosen after seeing that no run reached
# 95 %; the page says so).
SECOND_TARGET = 0.90


def _accuracies(groups, names):
    return [r["final_accuracy"] for name in names for r in groups[name]]


def _epochs_to(group, target):
    from keraslab.train.results import epochs_to_target

    return [epochs_to_target(r["history"], target) for r in group]


def _spread(values, scale=100.0, fmt="{:.1f}"):
    return spread_text([scale * v for v in values], fmt)


def _judge_zeros(groups):
    accuracies = _accuracies(groups, ("zeros-tanh", "zeros-relu"))
    status = "reproduced" if max(accuracies) < 0.15 else "not reproduced"
    return Verdict(status, f"zero-initialized runs end at {_spread(accuracies)} % test accuracy "
                           f"({len(accuracies)} runs, tanh and ReLU): chance is 10 %.")


def _judge_reach(names, claim_epochs):
    """A course claim of epochs to 95 % and a final accuracy, for 60,000 training images."""
    def judge(groups):
        runs = [r for name in names for r in groups[name]]
        reached = [e for name in names for e in _epochs_to(groups[name], 0.95)]
        accuracies = _accuracies(groups, names)
        if any(e is not None for e in reached):
            low, high = claim_epochs
            status = "reproduced" if all(e is not None and low <= e <= high for e in reached) else "not reproduced"
            return Verdict(status, f"epochs to 95 % per run: {reached}; final accuracy {_spread(accuracies)} %.")
        epochs = max(r["config"]["epochs"] for r in runs)
        return Verdict("not testable at this scale",
                       f"no run reaches 95 % within {epochs} epochs on {runs[0]['data']['train_size']:,} "
                       f"training images (final accuracy {_spread(accuracies)} %, best "
                       f"{100 * max(r['best_val_accuracy'] for r in runs):.2f} %); the claim is for 60,000 "
                       f"images and up to {claim_epochs[1]} epochs.")

    return judge


def _judge_he_faster(groups):
    xavier, he = (_epochs_to(groups[n], SECOND_TARGET) for n in ("xavier-relu", "he-relu"))
    if None in xavier or None in he:
        return Verdict("not testable at this scale",
                       f"not every ReLU run reaches {SECOND_TARGET:.0%}: Xavier {xavier}, He {he} epochs.")
    ratio = (sum(xavier) / len(xavier)) / (sum(he) / len(he))
    _, different, test = welch_text(xavier, he)
    status = "reproduced" if different and 2 <= ratio <= 3 else "not reproduced"
    return Verdict(status, f"epochs to {SECOND_TARGET:.0%} under ReLU: Xavier {xavier}, He {he} (per seed), "
                           f"a ratio of {ratio:.1f} (epochs, {test}).")


def _first_last_after_epoch1(result):
    records = result["diagnostics"]["gradients"]
    return gradient_ratio(records[1]["norms"])


def _judge_vanishing(groups):
    ratios = {name: [_first_last_after_epoch1(r) for r in groups[name]]
              for name in ("small_random-tanh", "small_random-relu", "he-tanh", "he-relu")}
    # Fixed before the runs: every small-random run's first/last gradient ratio after epoch 1
    # is below a tenth of every He run's with the same activation.
    holds = all(max(ratios[f"small_random-{a}"]) < 0.1 * min(ratios[f"he-{a}"]) for a in ("tanh", "relu"))
    shown = "; ".join(f"{name} {', '.join(f'{v:.2g}' for v in values)}" for name, values in ratios.items())
    return Verdict("reproduced" if holds else "not reproduced",
                   f"first-layer over output-layer gradient norm after epoch 1, per seed: {shown}.")


CLAIMS = [
    Claim("Zero initialization never learns (symmetric units): about 10 % accuracy",
          ("epochs_to_target", "final_accuracy", "diagnostics.gradients"), ("zeros-tanh", "zeros-relu"),
          {"epochs_to_target": "never", "final_accuracy": "about 10 %"}, judge=_judge_zeros),
    Claim("Small random weights (0.01 randn) reach 95 % in 50-100 epochs, 96-97 % final accuracy",
          ("epochs_to_target", "final_accuracy", "diagnostics.activations"), ("small_random-tanh", "small_random-relu"),
          {"epochs_to_target": "50-100", "final_accuracy": "96-97 %"},
          judge=_judge_reach(("small_random-tanh", "small_random-relu"), (50, 100))),
    Claim("Xavier reaches 95 % in 20-30 epochs, 97-98 % final accuracy",
          ("epochs_to_target", "final_accuracy"), ("xavier-tanh", "xavier-relu"),
          {"epochs_to_target": "20-30", "final_accuracy": "97-98 %"},
          judge=_judge_reach(("xavier-tanh", "xavier-relu"), (20, 30))),
    Claim("He reaches 95 % in 10-15 epochs, 98-99 % final accuracy",
          ("epochs_to_target", "final_accuracy"), ("he-tanh", "he-relu"),
          {"epochs_to_target": "10-15", "final_accuracy": "98-99 %"},
          judge=_judge_reach(("he-tanh", "he-relu"), (10, 15))),
    Claim("He gives 2-3x faster convergence than Xavier under ReLU",
          ("epochs_to_target",), ("xavier-relu", "he-relu"), {"speedup": "2-3x"}, judge=_judge_he_faster),
    Claim("Poor initialization makes gradients vanish towards the input layers",
          ("diagnostics.gradients",), ("small_random-tanh", "small_random-relu", "he-tanh", "he-relu"),
          judge=_judge_vanishing),
]


def figures(results, analyses):
    """The curves and final accuracies, gradient flow and activation histograms."""
    return training_figures("lab1", results) + robustness_figures("lab1", results)


def page_figures(results, analyses=None):
    """The figures of the book's lab page, by section: accuracy curves, gradient flow of the
    ReLU runs (at initialization and after epoch 1), activations at initialization; each
    configuration's first repeat."""
    from keraslab import plots

    results = first_repeats(results)
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
