"""How long each lab's full grid takes on this machine, beside the course's lab time, and
what the runner costs over a plain `model.fit`.

For every lab, the full-scale runs are taken from the lab specs; each distinct model (the
keys that change its cost: architecture, normalization, regularizer, batch size, input
size) is built by the runner's own `build_model` and its train step timed on a batch of the
full-scale input shape (median of `--steps` steps after two warm-up steps, jit-compiled). The estimate is the sum over runs of steps per epoch x epochs x step time, an
upper bound: it ignores early stopping, and leaves out evaluation and input pipelines.
Lab 4's backbone pre-training is counted as training the backbone on `pretrain_size` images.

The runner's overhead is one `run_experiment` of lab 1's He/ReLU configuration at cpu scale
against a plain `model.fit` of the same model on the same data (the runner's own data and
model stages): the ratio of their median epoch times (target: at most 1.1), with the runner's
callbacks only, and again with lab 1's diagnostics (probes a plain fit does not compute).

    python benchmarks/labs.py [--labs lab1 lab2] [--steps 5] [--skip-overhead]

Run it with KERAS_BACKEND=jax on a lent GPU to get the figures the README states for one GPU.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keraslab.data.tfds import DATASETS  # noqa: E402
from keraslab.labs import LABS, lab_runs  # noqa: E402
from keraslab.train.config import RunConfig, resolve_config  # noqa: E402
from keraslab.train.experiment import build_model, optimizer_for  # noqa: E402

# The course's lab times (COURSE_OUTLINE), minutes on one GPU.
BUDGET_MINUTES = {"lab1": 60, "lab2": 75, "lab3": 60, "lab4": 120, "lab5": 120}
# Training-split sizes of the TFDS datasets the full scale uses (tf_flowers has one split of
# 3,670 images; the labs keep 80% of it for training).
FULL_TRAIN_SIZES = {"mnist": 60000, "fashion_mnist": 60000, "cifar10": 50000, "cifar100": 50000,
                    "tf_flowers": 2936}
# The settings that change what one train step costs.
COST_KEYS = ("model", "dataset", "image_size", "batch_size", "normalization", "virtual_batch_size", "groups",
             "filters", "depth",
             "width", "blocks_per_stage", "regularizer", "block_size", "dense_units", "strategy",
             "fine_tune_from", "stochastic_depth")


def input_shape_of(cfg):
    info = DATASETS[cfg["dataset"]]
    size = cfg["image_size"] or info["image_size"]
    # The runner repeats grey images into the transfer backbone's three channels.
    channels = 3 if cfg["model"] == "transfer" else info["channels"]
    return (size, size, channels), info["num_classes"]


def train_steps(cfg):
    """Optimizer steps of one full-scale run (no early stopping)."""
    if cfg["steps_per_epoch"]:  # a step budget: the same steps whatever the number of images
        steps = int(cfg["steps_per_epoch"]) * int(cfg["epochs"])
    else:
        images = cfg["train_size"] or FULL_TRAIN_SIZES[cfg["dataset"]]
        images = int(images * float(cfg["data_fraction"]))
        images -= int(round(images * RunConfig.from_dict(cfg).validation_share))  # held out, not trained on
        steps = -(-images // int(cfg["batch_size"])) * int(cfg["epochs"])
    if cfg["model"] == "transfer" and cfg["strategy"] != "scratch":
        steps += -(-int(cfg["pretrain_size"]) // int(cfg["batch_size"])) * int(cfg["pretrain_epochs"])
    return steps


def step_seconds(cfg, steps):
    """Median seconds of one jit-compiled train step of the run's model on a synthetic batch."""
    input_shape, num_classes = input_shape_of(cfg)
    keras.utils.set_random_seed(0)
    model = build_model(cfg, input_shape, num_classes)
    model.compile(optimizer=optimizer_for(cfg, train_steps(cfg)), loss="categorical_crossentropy", jit_compile=True)
    rng = np.random.default_rng(0)
    batch = int(cfg["batch_size"])
    x = rng.normal(size=(batch,) + input_shape).astype("float32")
    y = np.eye(num_classes, dtype="float32")[np.arange(batch) % num_classes]
    times = []
    for i in range(steps + 2):
        start = time.perf_counter()
        model.train_on_batch(x, y)
        if i >= 2:  # the first two trace and compile
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def estimate_lab(lab, steps, cache):
    _, _, runs = lab_runs(lab, scale="full")
    total = 0.0
    for run in runs:
        cfg = resolve_config({k: v for k, v in run.items()})
        key = json.dumps({k: cfg[k] for k in COST_KEYS}, sort_keys=True, default=str)
        if key not in cache:
            cache[key] = step_seconds(cfg, steps)
        total += train_steps(cfg) * cache[key]
    return len(runs), total / 60


def _plain_fit_epochs(cfg, runtime):
    """Epoch times of a plain `model.fit` of the run's model on the run's own data: the
    runner's data and model stages (`load_data`, `model_factory`), none of its callbacks."""
    from keraslab.train.experiment import load_data, model_factory, total_steps

    keras.utils.set_random_seed(int(cfg.seed))
    data = load_data(cfg, runtime)
    make_model, _ = model_factory(cfg, data)
    with runtime.strategy.scope():
        model = make_model()
        model.compile(optimizer_for(cfg, total_steps(cfg, data)), "categorical_crossentropy", metrics=["accuracy"],
                      jit_compile=runtime.jit_compile)  # as the runner compiles
    times = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.start)

    model.fit(data.train_ds, validation_data=data.val_ds, epochs=int(cfg.epochs), verbose=0, shuffle=False,
              callbacks=[Timer()])
    return times


def runner_overhead(lab="lab1", configuration="he-relu", epochs=6, diagnostics=False):
    """Median epoch time of `run_experiment` over that of a plain `model.fit`, on one
    configuration of a lab's cpu grid (by default lab 1's He/ReLU run).

    Both get the same data, pipelines, model, optimizer and compile options, so the ratio is
    what the runner adds around `fit`: its callbacks (epoch timer, backup, CSV log,
    TensorBoard) and, with `diagnostics=True`, the lab's own probes (gradient norms,
    activation statistics), which a plain fit does not compute. The first epoch (tracing) is
    left out of both medians.
    """
    from keraslab.train.experiment import run_experiment
    from keraslab.train.results import configuration_of
    from keraslab.train.strategy import setup

    _, _, runs = lab_runs(lab, scale="cpu", overrides={"offline": True})
    run = next(r for r in runs if configuration_of(r["name"]) == configuration)
    config = {**run, "epochs": epochs, "early_stopping_patience": None}
    if not diagnostics:
        config["diagnostics"] = []
    runtime = setup()
    with tempfile.TemporaryDirectory() as out:
        result = run_experiment(config, out, runtime=runtime, command="benchmarks/labs.py", reuse=False)
    runner_epoch = statistics.median(result["epoch_times"][1:])
    plain_epoch = statistics.median(_plain_fit_epochs(RunConfig.from_dict(config), runtime)[1:])
    return runner_epoch, plain_epoch


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labs", nargs="*", default=sorted(LABS))
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--skip-overhead", action="store_true")
    args = parser.parse_args()

    device = ", ".join(device_names())
    print(f"backend {keras.backend.backend()}, device {device}; median of {args.steps} train steps")
    print(f"{'lab':<6} {'runs':>5} {'estimate (min)':>15} {'budget (min)':>13} {'ratio':>7}")
    cache = {}
    for lab in args.labs:
        runs, minutes = estimate_lab(lab, args.steps, cache)
        budget = BUDGET_MINUTES[lab]
        print(f"{lab:<6} {runs:>5} {minutes:>15.1f} {budget:>13} {minutes / budget:>7.2f}")
    if not args.skip_overhead:
        for diagnostics in (False, True):
            runner, plain = runner_overhead(diagnostics=diagnostics)
            what = "with lab 1's diagnostics" if diagnostics else "callbacks only"
            print(f"runner overhead on lab1 he-relu (cpu scale), {what}: runner epoch {runner * 1e3:.0f} ms, "
                  f"plain fit epoch {plain * 1e3:.0f} ms, ratio {runner / plain:.2f}"
                  + (" (target <= 1.1)" if not diagnostics else ""))


def device_names():
    """The accelerators the backend sees, or "CPU"."""
    if keras.backend.backend() == "jax":
        import jax

        return [d.device_kind for d in jax.devices()]
    import tensorflow as tf

    return [g.name for g in tf.config.list_physical_devices("GPU")] or ["CPU"]


if __name__ == "__main__":
    main()
