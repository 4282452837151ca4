"""Run one experiment or a lab's grid, and write results as plain data plus figures.

Per run, in `<out>/<run name>/`:
- `result.json`: config, command, data source, runtime (strategy, replicas, global batch,
  precision), full history, epochs to target accuracy, final test and train accuracy,
  generalization gap, time per epoch, parameter counts, optimizer steps, diagnostics.
- `history.csv`: one row per epoch, appended as training goes (it survives a kill).
- `backup/`: the `BackupAndRestore` state while the run is unfinished; a rerun of the same
  command resumes from it and finishes with the same number of steps.
- `logs/`: TensorBoard event files (Keras's callback when `tensorboard` is installed, a
  small scalar writer otherwise: TensorFlow 2.21 no longer installs `tensorboard`).
- `predictions.npz` when asked (`save_predictions`): test probabilities and labels.

Per lab, in `<out>/`: `summary.csv`, `summary.json`, and PNG figures made from the result
files only (`make_figures`), so figures can be redrawn without training.
"""

from __future__ import annotations

import csv
import json
import math
import shutil
import statistics
import sys
import time
from pathlib import Path

import keras
import numpy as np

DEFAULTS = {
    # identity
    "name": "run", "lab": None,
    # data
    "dataset": "digits", "train_size": None, "test_size": None, "image_size": None, "channels": None,
    "augment": None, "offline": None, "data_dir": None, "data_fraction": 1.0, "drop_remainder": False,
    "shuffle": True,
    # Share of the training images held out as validation data. None: 0.1 when early stopping
    # is on (it must not choose its epoch on the test set), else 0, and the test set is the
    # validation data, watched but never used to choose anything.
    "validation_split": None,
    # model: "mlp", "convnet", "resnet" or "transfer", and the arguments they use
    "model": "mlp", "depth": 10, "width": 256, "activation": "relu", "initializer": "he",
    "normalization": None, "dropout": 0.0, "filters": None, "groups": 8, "regularizer": "none",
    "rate": 0.0, "block_size": 7, "head_dropout": 0.0, "dense_units": 0, "blocks_per_stage": None,
    "stochastic_depth": 0.0, "zero_init_residual": True, "strategy": "A", "fine_tune_from": None,
    "pretrain_size": 5000, "pretrain_epochs": 10, "lsuv_batch": 256,
    # optimization
    "optimizer": "adam", "learning_rate": 1e-3, "momentum": 0.0, "weight_decay": 0.0,
    "batch_size": 32, "epochs": 5, "seed": 0, "early_stopping_patience": None,
    # reporting
    "target_accuracy": None, "diagnostics": [], "save_predictions": False, "ensemble": None,
    "train_eval_size": 2000,
}


def resolve_config(config):
    """Fills defaults and rejects unknown keys (a typo in `--set` should fail loudly).

    Args:
        config: a dict of settings (see `DEFAULTS`).

    Returns:
        A new dict with every key of `DEFAULTS`.
    """
    unknown = set(config) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"Unknown config keys {sorted(unknown)}; known keys: {sorted(DEFAULTS)}")
    out = {**DEFAULTS, **config}
    for key in ("batch_size", "epochs"):
        if not isinstance(out[key], int) or out[key] < 1:
            raise ValueError(f"`{key}` must be a positive integer. Received: {key}={out[key]!r}")
    if out["model"] not in ("mlp", "convnet", "resnet", "transfer"):
        raise ValueError(f"`model` must be 'mlp', 'convnet', 'resnet' or 'transfer'. Received: model={out['model']!r}")
    if not 0 < float(out["data_fraction"]) <= 1:
        raise ValueError(f"`data_fraction` must be in (0, 1]. Received: data_fraction={out['data_fraction']!r}")
    if out["validation_split"] is not None and not 0 <= float(out["validation_split"]) < 0.5:
        raise ValueError("`validation_split` must be None or in [0, 0.5). "
                         f"Received: validation_split={out['validation_split']!r}")
    return out


def validation_share(cfg):
    """The share of training images held out for validation (see `DEFAULTS`)."""
    if cfg["validation_split"] is not None:
        return float(cfg["validation_split"])
    return 0.1 if cfg["early_stopping_patience"] else 0.0


class EpochTimer(keras.callbacks.Callback):
    """Adds `epoch_time` (seconds, wall clock) to the epoch logs, before other callbacks log them."""

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["epoch_time"] = time.perf_counter() - self._start


class ScalarSummaryLogger(keras.callbacks.Callback):
    """Writes epoch metrics as TensorBoard scalars without the `tensorboard` package.

    The events carry the "scalars" plugin metadata that TensorBoard's scalar dashboard
    reads, so the logs open in TensorBoard wherever it is installed later.

    Args:
        log_dir: directory of the event files.
    """

    def __init__(self, log_dir):
        super().__init__()
        self.log_dir = str(log_dir)
        self._writers = {}

    def _writer(self, split):
        import tensorflow as tf

        if split not in self._writers:
            self._writers[split] = tf.summary.create_file_writer(str(Path(self.log_dir) / split))
        return self._writers[split]

    def on_epoch_end(self, epoch, logs=None):
        import tensorflow as tf
        from tensorflow.core.framework import summary_pb2

        metadata = summary_pb2.SummaryMetadata()
        metadata.plugin_data.plugin_name = "scalars"
        for key, value in (logs or {}).items():
            split, tag = ("validation", key[4:]) if key.startswith("val_") else ("train", key)
            with self._writer(split).as_default():
                tf.summary.write(f"epoch_{tag}", tf.constant(float(value), tf.float32), step=epoch,
                                 metadata=metadata.SerializeToString())
        for w in self._writers.values():
            w.flush()

    def on_train_end(self, logs=None):
        for w in self._writers.values():
            w.close()


def tensorboard_callback(log_dir):
    """Keras's TensorBoard callback when `tensorboard` is installed, else `ScalarSummaryLogger`."""
    import importlib.util

    if importlib.util.find_spec("tensorboard") is not None:
        return keras.callbacks.TensorBoard(log_dir=str(log_dir), write_graph=False, profile_batch=0)
    return ScalarSummaryLogger(log_dir)


def epochs_to_target(history, target, key="val_accuracy"):
    """First epoch (counting from 1) whose `key` reaches `target`, or None if none does.

    Example:
    >>> epochs_to_target({"val_accuracy": [0.5, 0.96, 0.97]}, 0.95)
    2
    """
    if target is None:
        return None
    for i, value in enumerate(history.get(key, []), start=1):
        if value is not None and not math.isnan(value) and value >= target:
            return i
    return None


def read_history(path):
    """Reads a `history.csv` written by `CSVLogger(append=True)`; for an epoch logged twice
    (killed between logging and backup), the later row wins."""
    rows = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if row.get("epoch", "") in ("", "epoch"):
                continue  # header repeated by an appending logger
            rows[int(row["epoch"])] = row
    history = {}
    for epoch in sorted(rows):
        for k, v in rows[epoch].items():
            if k == "epoch":
                continue
            history.setdefault(k, []).append(float(v) if v not in ("", None) else float("nan"))
    return history


def _optimizer(cfg):
    name = cfg["optimizer"]
    lr = float(cfg["learning_rate"])
    if name == "sgd":
        return keras.optimizers.SGD(lr, momentum=float(cfg["momentum"]))
    if name == "adam":
        return keras.optimizers.Adam(lr)
    if name == "adamw":
        return keras.optimizers.AdamW(lr, weight_decay=float(cfg["weight_decay"]))
    raise ValueError(f"`optimizer` must be 'sgd', 'adam' or 'adamw'. Received: optimizer={name!r}")


def _pick(cfg, keys):
    return {k: (tuple(cfg[k]) if isinstance(cfg[k], list) else cfg[k]) for k in keys if cfg[k] is not None}


def build_model(cfg, input_shape, num_classes, backbone_weights=None):
    """Builds the model a config asks for (see `DEFAULTS` for the keys each model uses)."""
    from keraslab import models

    seed = int(cfg["seed"])
    if cfg["model"] == "mlp":
        return models.build_mlp(input_shape, num_classes, seed=seed, normalization=cfg["normalization"] or "none",
                                **_pick(cfg, ["depth", "width", "activation", "initializer", "dropout"]))
    if cfg["model"] == "convnet":
        return models.build_convnet(input_shape, num_classes, seed=seed, normalization=cfg["normalization"] or "none",
                                    **_pick(cfg, ["filters", "groups", "activation", "initializer", "regularizer",
                                                  "rate", "block_size", "head_dropout", "dense_units"]))
    if cfg["model"] == "resnet":
        return models.build_resnet(input_shape, num_classes, seed=seed, normalization=cfg["normalization"] or "batch",
                                   **_pick(cfg, ["blocks_per_stage", "filters", "groups", "stochastic_depth",
                                                 "zero_init_residual", "initializer"]))
    arch = _pick(cfg, ["blocks_per_stage", "filters"])
    weights = None if cfg["strategy"] == "scratch" else backbone_weights
    backbone = models.load_backbone(weights, seed=seed, **arch)
    return models.build_transfer_model(backbone, num_classes, strategy=cfg["strategy"],
                                       fine_tune_from=cfg["fine_tune_from"], input_shape=input_shape,
                                       head_dropout=cfg["head_dropout"] or 0.2, seed=seed)


def _json_default(obj):
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, tuple):
        return list(obj)
    return str(obj)


def _same_config(a, b):
    return json.loads(json.dumps(a, default=_json_default)) == json.loads(json.dumps(b, default=_json_default))


def run_experiment(config, out_dir, *, runtime=None, extra_callbacks=(), verbose=0, command=None, reuse=True):
    """Trains one configuration and writes its results (see the module docstring).

    Args:
        config: settings (see `DEFAULTS`); `name` names the run's folder.
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
    from keraslab.data.corruptions import corrupted_sets
    from keraslab.data.pipeline import channel_stats, make_pipeline, normalize
    from keraslab.data.tfds import DATASETS, load_arrays
    from keraslab.diagnostics import (
        ActivationStatsCallback,
        BatchLossCallback,
        GradientNormCallback,
        expected_calibration_error,
        reliability_diagram,
    )
    from keraslab.models import count_params, pretrain_backbone
    from keraslab.train import loop
    from keraslab.train import strategy as strategy_mod

    cfg = resolve_config(config)
    runtime = runtime or strategy_mod.setup()
    run_dir = Path(out_dir) / str(cfg["name"])
    if runtime.kind == "multi_worker" and runtime.strategy.cluster_resolver.task_id != 0:
        # Every worker trains the same model; only the chief (task 0) writes the results.
        run_dir = Path(out_dir) / "_workers" / f"{cfg['name']}-{runtime.strategy.cluster_resolver.task_id}"
    result_path = run_dir / "result.json"
    if reuse and result_path.exists():
        previous = json.loads(result_path.read_text())
        if _same_config(previous.get("config"), cfg):
            return previous
    run_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(int(cfg["seed"]))
    started = time.time()

    # Data
    x, y, xt, yt, source = load_arrays(cfg["dataset"], train_size=cfg["train_size"], test_size=cfg["test_size"],
                                       image_size=cfg["image_size"], offline=cfg["offline"],
                                       data_dir=cfg["data_dir"], seed=0)  # same data for every model seed
    if cfg["channels"] is not None and x.shape[-1] != cfg["channels"]:
        x, xt = (np.repeat(a, 3, -1) if cfg["channels"] == 3 else np.round(a.mean(-1, keepdims=True)).astype(np.uint8)
                 for a in (x, xt))
    if cfg["model"] == "transfer" and x.shape[-1] == 1:
        x, xt = np.repeat(x, 3, -1), np.repeat(xt, 3, -1)  # the backbone is RGB
    if float(cfg["data_fraction"]) < 1:
        keep = max(1, int(round(len(x) * float(cfg["data_fraction"]))))
        x, y = x[:keep], y[:keep]
    num_classes = DATASETS[cfg["dataset"]]["num_classes"]
    # The custom multi-worker loop has no early stopping: it watches the test set.
    share = validation_share(cfg) if runtime.kind != "multi_worker" else 0.0
    n_val = min(len(x) - 1, max(1, int(round(len(x) * share)))) if share > 0 else 0
    if n_val:
        x, y, x_val, y_val = x[:-n_val], y[:-n_val], x[-n_val:], y[-n_val:]
    mean, std = channel_stats(x)
    global_batch = runtime.global_batch_size(int(cfg["batch_size"]))
    common = dict(batch_size=global_batch, num_classes=num_classes, mean=mean, std=std)
    train_ds = make_pipeline(x, y, training=True, augment=cfg["augment"], seed=int(cfg["seed"]),
                             shuffle=bool(cfg["shuffle"]),
                             drop_remainder=bool(cfg["drop_remainder"]) and len(x) >= global_batch, **common)
    test_ds = make_pipeline(xt, yt, **common)
    val_ds = make_pipeline(x_val, y_val, **common) if n_val else test_ds
    n_eval = min(len(x), int(cfg["train_eval_size"]))
    train_eval_ds = make_pipeline(x[:n_eval], y[:n_eval], **common)
    probe = min(len(x), 256)
    x_probe = normalize(x[:probe], mean, std).numpy()
    y_probe = np.eye(num_classes, dtype=np.float32)[y[:probe]]

    backbone_weights = backbone_info = None
    if cfg["model"] == "transfer" and cfg["strategy"] != "scratch":
        backbone_weights, backbone_info = pretrain_backbone(
            train_size=int(cfg["pretrain_size"]), epochs=int(cfg["pretrain_epochs"]), image_size=x.shape[1],
            **_pick(cfg, ["blocks_per_stage", "filters"]))

    def make_model():
        model = build_model(cfg, x.shape[1:], num_classes, backbone_weights)
        if cfg["initializer"] == "lsuv" and cfg["model"] in ("mlp", "convnet", "resnet"):
            from keraslab.initializers import lsuv_init

            lsuv_init(model, x_probe[: int(cfg["lsuv_batch"])], seed=int(cfg["seed"]))
        return model

    diag = {}
    history_path = run_dir / "history.csv"
    if runtime.kind == "multi_worker":
        # Keras 3 fit fails under MultiWorkerMirroredStrategy: use the custom loop.
        model, history = loop.train(make_model, train_ds, strategy=runtime.strategy, epochs=int(cfg["epochs"]),
                                    global_batch_size=global_batch, optimizer=lambda: _optimizer(cfg),
                                    validation_data=test_ds, verbose=verbose)
        steps = int(model.optimizer.iterations.numpy())
    else:
        with runtime.strategy.scope():
            model = make_model()
            model.compile(_optimizer(cfg), "categorical_crossentropy", metrics=["accuracy"],
                          jit_compile=runtime.jit_compile)
        callbacks = [EpochTimer(), keras.callbacks.BackupAndRestore(str(run_dir / "backup")),
                     keras.callbacks.CSVLogger(str(history_path), append=True),
                     tensorboard_callback(run_dir / "logs")]
        if cfg["early_stopping_patience"]:
            callbacks.append(keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max",
                                                           patience=int(cfg["early_stopping_patience"]),
                                                           restore_best_weights=True))
        grad_cb = act_cb = loss_cb = None
        if "loss_noise" in cfg["diagnostics"]:
            loss_cb = BatchLossCallback()
            callbacks.append(loss_cb)
        if "gradients" in cfg["diagnostics"]:
            grad_cb = GradientNormCallback(x_probe, y_probe)
            callbacks.append(grad_cb)
        if "activations" in cfg["diagnostics"]:
            act_cb = ActivationStatsCallback(x_probe)
            callbacks.append(act_cb)
        callbacks.extend(extra_callbacks)
        model.fit(train_ds, validation_data=val_ds, epochs=int(cfg["epochs"]), callbacks=callbacks,
                  verbose=verbose, shuffle=False)  # the pipeline shuffles
        history = read_history(history_path)
        steps = int(model.optimizer.iterations.numpy())
        if grad_cb is not None:
            diag["gradients"] = grad_cb.records
        if act_cb is not None:
            diag["activations"] = act_cb.records
        if loss_cb is not None:
            diag["loss_noise"] = loss_cb.noise

    test_loss, test_acc = (float(v) for v in model.evaluate(test_ds, verbose=0)[:2]) if runtime.kind != "multi_worker" \
        else (history["val_loss"][-1], history["val_accuracy"][-1])
    train_acc = float(model.evaluate(train_eval_ds, verbose=0)[1]) if runtime.kind != "multi_worker" else None
    result = {
        "name": cfg["name"], "lab": cfg["lab"], "config": cfg,
        "command": command if command is not None else " ".join(sys.argv),
        "data": {"source": source, "train_size": int(len(x)), "test_size": int(len(xt)),
                 "validation": f"{n_val} held-out training images" if n_val else "the test set",
                 "input_shape": list(x.shape[1:]), "num_classes": num_classes},
        "runtime": {**runtime.describe(), "global_batch_size": global_batch,
                    "per_replica_batch_size": int(cfg["batch_size"])},
        "history": history,
        "epochs_run": len(history.get("loss", [])),
        "target_accuracy": cfg["target_accuracy"],
        "epochs_to_target": epochs_to_target(history, cfg["target_accuracy"]),
        "final_accuracy": test_acc, "final_loss": test_loss,
        "best_val_accuracy": max(history.get("val_accuracy", [float("nan")])),
        "final_train_accuracy": train_acc,
        "generalization_gap": None if train_acc is None else train_acc - test_acc,
        "epoch_times": history.get("epoch_time", []),
        # Median: the first epoch also pays for tracing and would skew a mean.
        "time_per_epoch": statistics.median(history["epoch_time"]) if history.get("epoch_time") else None,
        "trainable_params": count_params(model.trainable_weights),
        "total_params": count_params(model.weights),
        "steps": steps,
        "diagnostics": diag,
        "backbone": backbone_info,
        "versions": {"keras": keras.__version__, "tensorflow": _tf_version(), "numpy": np.__version__},
    }
    if diag.get("loss_noise"):
        result["loss_noise"] = diag["loss_noise"][-1]
    # Predictions are made on one process; under multi-worker training they are skipped.
    corrupted_probs = {}
    if runtime.kind != "multi_worker" and "corruptions" in cfg["diagnostics"]:
        accuracy = {}
        # One fixed corrupted test set, the same for every model (ensemble members included).
        for corruption, images in corrupted_sets(xt, severity=3, seed=0).items():
            probs = model.predict(make_pipeline(images, yt, **common), verbose=0)
            corrupted_probs[corruption] = probs
            accuracy[corruption] = float(np.mean(np.argmax(probs, -1) == yt))
        result["corruption_accuracy"] = accuracy
        result["corruption_mean_accuracy"] = float(np.mean(list(accuracy.values())))
    if runtime.kind != "multi_worker" and ("calibration" in cfg["diagnostics"] or cfg["save_predictions"]):
        probs = model.predict(test_ds, verbose=0)
        rel = reliability_diagram(yt, probs, num_bins=15)
        result["ece"] = rel["ece"]
        result["reliability"] = rel
        if corrupted_probs:
            result["corruption_ece"] = float(np.mean([expected_calibration_error(yt, p, num_bins=15)
                                                      for p in corrupted_probs.values()]))
        if cfg["save_predictions"]:
            np.savez_compressed(run_dir / "predictions.npz", probs=probs.astype(np.float32), labels=yt,
                                **{f"corrupted_{k}": v.astype(np.float32) for k, v in corrupted_probs.items()})
    result["total_time"] = time.time() - started
    tmp = result_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1, default=_json_default))
    tmp.replace(result_path)
    shutil.rmtree(run_dir / "backup", ignore_errors=True)
    return result


def _tf_version():
    try:
        import tensorflow as tf

        return tf.__version__
    except ImportError:
        return None


SUMMARY_FIELDS = ["name", "final_accuracy", "best_val_accuracy", "epochs_to_target", "final_train_accuracy",
                  "generalization_gap", "time_per_epoch", "epochs_run", "steps", "trainable_params", "ece",
                  "loss_noise", "corruption_mean_accuracy", "corruption_ece", "data_source"]


def summarize(results):
    """One flat row per run (the CSV columns of `summary.csv`)."""
    rows = []
    for r in results:
        row = {k: r.get(k) for k in SUMMARY_FIELDS}
        row["data_source"] = r["data"]["source"]
        rows.append(row)
    return rows


def run_lab(lab, *, fast=False, scale=None, out_dir=None, overrides=None, only=None, runtime=None, verbose=1,
            command=None, log=print):
    """Runs every configuration of a lab's grid, then writes the summary and figures.

    Finished runs with an unchanged config are reused, so an interrupted lab continues
    where it stopped; an interrupted run resumes from its backup.

    Args:
        lab: "lab1" ... "lab5" (or "1" ... "5", see `keraslab.train.labs`).
        fast: small subsets and few epochs (the same as `scale="fast"`).
        scale: "fast", "cpu" or "full" (see `keraslab.train.labs`; default "full", or "fast"
            when `fast` is set).
        out_dir: output folder (default `runs/<lab>`, or `runs/<lab>-<scale>` below full scale).
        overrides: settings applied to every run (the CLI's `--set`).
        only: run only the configurations whose name contains one of these strings.
        runtime: a `Runtime` (default: `keraslab.train.strategy.setup()`).
        verbose: Keras verbosity.
        command: the command line to record.
        log: where progress lines go.

    Returns:
        A dict: `lab`, `out_dir`, `results` (list of result dicts), `figures` (paths),
        and `ensemble` for lab 5.
    """
    from keraslab.train import labs
    from keraslab.train import strategy as strategy_mod

    scale = labs.resolve_scale(fast, scale)
    key, spec, runs = labs.lab_runs(lab, scale=scale, overrides=overrides)
    if only:
        wanted = [only] if isinstance(only, str) else list(only)
        runs = [r for r in runs if any(w in r["name"] for w in wanted)]
        if not runs:
            raise ValueError(f"`only` matches no run of {key}. Received: only={only!r}")
    out = Path(out_dir or Path("runs") / (key + ("" if scale == "full" else f"-{scale}")))
    out.mkdir(parents=True, exist_ok=True)
    runtime = runtime or strategy_mod.setup()
    log(f"{key}: {spec['title']} ({len(runs)} runs, {runtime.kind} strategy, {runtime.num_replicas} replica(s)) -> {out}")
    results = []
    for i, run in enumerate(runs, start=1):
        log(f"[{i}/{len(runs)}] {run['name']}")
        result = run_experiment(run, out, runtime=runtime, verbose=verbose, command=command)
        log(f"    accuracy {result['final_accuracy']:.3f}, epochs to target {result['epochs_to_target']}, "
            f"{result['time_per_epoch'] or 0:.2f} s/epoch ({result['data']['source']})")
        results.append(result)
    rows = summarize(results)
    with open(out / "summary.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=SUMMARY_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    report = {"lab": key, "title": spec["title"], "scale": scale, "fast": scale == "fast", "runs": rows}
    ensemble_result = None
    if key == "lab5":
        ensemble_result = evaluate_lab5_ensemble(out, results)
        if ensemble_result is not None:
            (out / "ensemble.json").write_text(json.dumps(ensemble_result, indent=1, default=_json_default))
            report["ensemble"] = ensemble_result
    (out / "summary.json").write_text(json.dumps(report, indent=1, default=_json_default))
    figures = make_figures(key, out)
    return {"lab": key, "out_dir": str(out), "results": results, "figures": figures, "ensemble": ensemble_result}


def _evaluate_ensemble(out, members):
    from keraslab import ensemble
    from keraslab.diagnostics import expected_calibration_error, reliability_diagram

    preds = [np.load(Path(out) / r["name"] / "predictions.npz") for r in members]
    probs = [p["probs"].astype(np.float64) for p in preds]
    labels = preds[0]["labels"]
    hold, test = slice(0, None, 2), slice(1, None, 2)
    names = [r["name"] for r in members]
    result = ensemble.evaluate([p[test] for p in probs], labels[test],
                               holdout=([p[hold] for p in probs], labels[hold]), labels=names)
    result["ece_members"] = {n: expected_calibration_error(labels[test], p[test])
                             for n, p in zip(names, probs, strict=True)}
    average = np.mean([p[test] for p in probs], 0)
    result["ece_average"] = expected_calibration_error(labels[test], average)
    result["reliability_average"] = reliability_diagram(labels[test], average)
    result["evaluated_on"] = int(len(labels[test]))
    corruptions = sorted(k[len("corrupted_"):] for k in preds[0].files if k.startswith("corrupted_"))
    if corruptions and all(f"corrupted_{c}" in p.files for p in preds for c in corruptions):
        shifted = {}
        for c in corruptions:
            member_probs = [p[f"corrupted_{c}"].astype(np.float64)[test] for p in preds]
            scores = ensemble.evaluate(member_probs, labels[test], labels=names)
            shifted[c] = {"average": scores["average"], "mean_member": scores["mean_member"],
                          "best_member": scores["best_member"],
                          "ece_average": expected_calibration_error(labels[test], np.mean(member_probs, 0)),
                          "ece_mean_member": float(np.mean([expected_calibration_error(labels[test], m)
                                                            for m in member_probs]))}
        result["corrupted"] = shifted
        result["corrupted_mean"] = {k: float(np.mean([v[k] for v in shifted.values()]))
                                    for k in ("average", "mean_member", "best_member", "ece_average",
                                              "ece_mean_member")}
    return result


def evaluate_lab5_ensemble(out, results):
    """Ensembles lab 5's runs from their saved predictions.

    Two ensembles: the same recipe with different seeds (runs whose config has
    `ensemble="plain"`) and, when the grid has them, different architectures (the first
    three seeds plus the runs with `ensemble="architectures"`). The test predictions are
    split in two halves by index parity: the even half fits the stacking combiner, the odd
    half evaluates every method (members included), so stacking is never scored on data it
    was fitted to. When the runs saved predictions on corrupted test images, averaging is
    also scored on those (`corrupted`, `corrupted_mean`).

    Returns:
        The seed ensemble's scores (see `keraslab.ensemble.evaluate`, plus `ece_members`,
        `ece_average`, `reliability_average`, `evaluated_on`), with the architecture
        ensemble's scores under `architectures`; None with fewer than two seeds.
    """
    seeds = [r for r in results if r["config"].get("ensemble") == "plain"]
    if len(seeds) < 2:
        return None
    result = _evaluate_ensemble(out, seeds)
    others = [r for r in results if r["config"].get("ensemble") == "architectures"]
    if others:
        result["architectures"] = _evaluate_ensemble(out, seeds[:3] + others)
    return result


def export_results(out_dir, dest):
    """Copies a lab's results in a compact form that is small enough to keep in a repository.

    `dest` gets `summary.json` (and `ensemble.json` for lab 5) and one `<run>/result.json`
    per run, laid out like `out_dir`, so `load_results(dest)` and `make_figures(lab, dest)`
    work on it. Activation histograms are kept for the first two records and the last
    (at initialization, after epoch 1, at the end); everything else is kept whole.
    Figures, predictions, logs and backups are left out.

    Returns:
        The number of runs exported.
    """
    out, dest = Path(out_dir), Path(dest)
    results = load_results(out)
    if not results:
        raise ValueError(f"no results to export in {out}")
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("summary.json", "ensemble.json"):
        if (out / name).exists():
            shutil.copyfile(out / name, dest / name)
    for result in results:
        result = json.loads(json.dumps(result))
        acts = result.get("diagnostics", {}).get("activations")
        if acts and len(acts) > 3:
            result["diagnostics"]["activations"] = acts[:2] + acts[-1:]
        (dest / result["name"]).mkdir(exist_ok=True)
        (dest / result["name"] / "result.json").write_text(json.dumps(result, indent=1) + "\n")
    return len(results)


def load_results(out_dir):
    """All `result.json` files under a lab folder, in the summary's order when there is one."""
    out = Path(out_dir)
    order = []
    if (out / "summary.json").exists():
        order = [r["name"] for r in json.loads((out / "summary.json").read_text())["runs"]]
    found = {p.parent.name: json.loads(p.read_text()) for p in out.glob("*/result.json")}
    names = [n for n in order if n in found] + sorted(n for n in found if n not in order)
    return [found[n] for n in names]


def make_figures(lab, out_dir):
    """Draws a lab's figures from its result files; returns the PNG paths.

    Every lab: loss and validation-accuracy curves of all runs, final accuracy per run.
    Lab 1: gradient flow before training and after the first epoch, activation histograms
    per layer for each run. Lab 2: time per epoch. Lab 3: generalization gap. Lab 4:
    trainable parameters and time per epoch. Lab 5: reliability diagrams.
    """
    from keraslab import plots

    out = Path(out_dir)
    results = load_results(out)
    figdir = out / "figures"
    paths = []

    def save(fig_fn, name, *args, **kwargs):
        path = figdir / name
        fig_fn(*args, path=path, **kwargs)
        paths.append(str(path))

    histories = {r["name"]: r["history"] for r in results}
    save(plots.plot_curves, "loss.png", histories, "loss", title=f"{lab}: training loss (dashed: validation)")
    save(plots.plot_curves, "accuracy.png", histories, "accuracy", title=f"{lab}: accuracy (dashed: validation)")
    save(plots.plot_bars, "final_accuracy.png", {r["name"]: r["final_accuracy"] for r in results},
         ylabel="test accuracy", title=f"{lab}: final test accuracy")
    grad_runs = {r["name"]: r["diagnostics"]["gradients"] for r in results if r.get("diagnostics", {}).get("gradients")}
    if grad_runs:
        for idx, when in ((0, "init"), (1, "epoch1")):
            norms = {name: recs[min(idx, len(recs) - 1)]["norms"] for name, recs in grad_runs.items()}
            save(plots.plot_gradient_flow, f"gradient_flow_{when}.png", norms,
                 title=f"{lab}: gradient norm per layer ({'at initialization' if idx == 0 else 'after epoch 1'})")
    for r in results:
        acts = r.get("diagnostics", {}).get("activations")
        if acts:
            save(plots.plot_activation_histograms, f"activations_{r['name']}.png", acts[-1]["layers"],
                 title=f"{lab} {r['name']}: activations after epoch {acts[-1]['epoch']}")
    if lab == "lab2":
        save(plots.plot_bars, "time_per_epoch.png", {r["name"]: r["time_per_epoch"] for r in results},
             ylabel="seconds per epoch", title="lab2: time per epoch")
        noise = {r["name"]: r["loss_noise"] for r in results if r.get("loss_noise") is not None}
        if noise:
            save(plots.plot_bars, "loss_noise.png", noise, ylabel="batch-to-batch loss noise",
                 title="lab2: loss noise in the last epoch")
    if lab == "lab3":
        save(plots.plot_bars, "generalization_gap.png", {r["name"]: r["generalization_gap"] for r in results},
             ylabel="train accuracy - test accuracy", title="lab3: generalization gap")
    if lab == "lab4":
        save(plots.plot_bars, "trainable_params.png", {r["name"]: r["trainable_params"] for r in results},
             ylabel="trainable parameters", title="lab4: trainable parameters per strategy")
        save(plots.plot_bars, "time_per_epoch.png", {r["name"]: r["time_per_epoch"] for r in results},
             ylabel="seconds per epoch", title="lab4: time per epoch")
    shifted = {r["name"]: r["corruption_mean_accuracy"] for r in results if r.get("corruption_mean_accuracy") is not None}
    if shifted:
        save(plots.plot_bars, "corrupted_accuracy.png", shifted, ylabel="accuracy on corrupted test images",
             title=f"{lab}: accuracy under corruption (mean of 4 kinds, severity 3)")
    rel = {r["name"]: r["reliability"] for r in results if r.get("reliability")}
    if (out / "ensemble.json").exists():
        ens = json.loads((out / "ensemble.json").read_text())
        if ens.get("reliability_average"):
            # The members here are scored on the full test set, the ensemble on its odd half.
            rel["ensemble average (odd half)"] = ens["reliability_average"]
    if rel:
        save(plots.plot_reliability, "reliability.png", rel, title=f"{lab}: reliability")
    return paths
