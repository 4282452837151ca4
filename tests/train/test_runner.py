import csv
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from keraslab.train import runner
from keraslab.train import strategy as st

TINY = {"dataset": "digits", "model": "mlp", "depth": 2, "width": 16, "train_size": 256, "test_size": 128,
        "batch_size": 32, "epochs": 3, "optimizer": "sgd", "learning_rate": 0.05, "momentum": 0.9}


@pytest.fixture(scope="module")
def runtime():
    return st.setup(kind="default")


def test_result_files_and_fields(tmp_path, runtime):
    cfg = {**TINY, "name": "tiny", "target_accuracy": 0.3, "diagnostics": ["gradients", "calibration"],
           "save_predictions": True}
    result = runner.run_experiment(cfg, tmp_path, runtime=runtime, command="test")
    saved = json.loads((tmp_path / "tiny" / "result.json").read_text())
    assert saved["final_accuracy"] == pytest.approx(result["final_accuracy"])
    assert saved["config"]["width"] == 16 and saved["command"] == "test"
    assert saved["data"]["source"] == "offline:digits" and saved["data"]["train_size"] == 256
    assert saved["epochs_run"] == 3 and len(saved["history"]["val_accuracy"]) == 3
    assert len(saved["epoch_times"]) == 3 and saved["time_per_epoch"] > 0
    assert saved["steps"] == 3 * 8  # 256 / 32 per epoch
    assert saved["epochs_to_target"] == runner.epochs_to_target(saved["history"], 0.3)
    assert 0.0 <= saved["ece"] <= 1.0 and saved["final_accuracy"] > 0.3  # learns digits a bit
    assert [r["epoch"] for r in saved["diagnostics"]["gradients"]] == [0, 1, 2, 3]
    preds = np.load(tmp_path / "tiny" / "predictions.npz")
    assert preds["probs"].shape == (128, 10)
    assert (preds["probs"].argmax(1) == preds["labels"]).mean() == pytest.approx(saved["final_accuracy"], abs=1e-6)
    with open(tmp_path / "tiny" / "history.csv") as f:
        assert len(list(csv.DictReader(f))) == 3
    assert not (tmp_path / "tiny" / "backup").exists()


def test_early_stopping_watches_held_out_training_images_not_the_test_set(tmp_path, runtime):
    """With early stopping, 10% of the training images are held out and the history's val_*
    are measured on them; without, the test set is the validation data."""
    stopped = runner.run_experiment({**TINY, "name": "es", "early_stopping_patience": 5}, tmp_path, runtime=runtime)
    assert stopped["data"]["train_size"] == 230 and stopped["data"]["validation"] == "26 held-out training images"
    assert stopped["steps"] == 3 * 8  # ceil(230 / 32)
    assert stopped["best_val_accuracy"] == max(stopped["history"]["val_accuracy"])
    assert all(round(v * 26) == pytest.approx(v * 26, abs=1e-3) for v in stopped["history"]["val_accuracy"])
    watched = runner.run_experiment({**TINY, "name": "plain"}, tmp_path, runtime=runtime)
    assert watched["data"]["validation"] == "the test set" and watched["data"]["train_size"] == 256
    assert watched["history"]["val_accuracy"][-1] == pytest.approx(watched["final_accuracy"], abs=1e-6)
    with pytest.raises(ValueError, match="validation_split=0.7"):
        runner.resolve_config({"validation_split": 0.7})


def test_finished_runs_are_reused(tmp_path, runtime):
    cfg = {**TINY, "name": "again", "epochs": 1}
    first = runner.run_experiment(cfg, tmp_path, runtime=runtime)
    second = runner.run_experiment(cfg, tmp_path, runtime=runtime)
    assert second["total_time"] == first["total_time"]  # read back, not retrained
    third = runner.run_experiment({**cfg, "learning_rate": 0.01}, tmp_path, runtime=runtime)
    assert third["config"]["learning_rate"] == 0.01


class _Kill(keras.callbacks.Callback):
    """Simulates a killed job: dies at the start of epoch `at` (after the backup of the previous one)."""

    def __init__(self, at):
        super().__init__()
        self.at = at

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at:
            raise KeyboardInterrupt("killed")


def test_killed_run_resumes_from_backup_with_same_steps(tmp_path, runtime):
    cfg = {**TINY, "name": "resume", "epochs": 4}
    with pytest.raises(KeyboardInterrupt):
        runner.run_experiment(cfg, tmp_path, runtime=runtime, extra_callbacks=[_Kill(2)])
    assert (tmp_path / "resume" / "backup").exists()
    assert not (tmp_path / "resume" / "result.json").exists()
    resumed = runner.run_experiment(cfg, tmp_path, runtime=runtime)
    straight = runner.run_experiment({**cfg, "name": "straight"}, tmp_path, runtime=runtime)
    assert resumed["steps"] == straight["steps"] == 4 * 8
    assert resumed["epochs_run"] == 4  # two epochs before the kill, two after
    # The resumed session ran only epochs 3 and 4: two timings were logged before the kill.
    assert len(resumed["epoch_times"]) == 4


def test_mirrored_run_matches_default(tmp_path, runtime, two_cpu_strategy):
    """The runner on MirroredStrategy over 2 CPUs: per-replica batch 16 x 2 replicas gives the
    same global batch (32) and the same result as one device with batch 32. Shuffling is off:
    with it on, the first epoch's order under the strategy differed from one device's here."""
    cfg = {**TINY, "epochs": 2, "optimizer": "sgd", "momentum": 0.0, "shuffle": False}
    one = runner.run_experiment({**cfg, "name": "one"}, tmp_path, runtime=runtime)
    mirrored = st.from_strategy(two_cpu_strategy)
    two = runner.run_experiment({**cfg, "name": "two", "batch_size": 16}, tmp_path, runtime=mirrored)
    assert two["runtime"]["replicas"] == 2 and two["runtime"]["global_batch_size"] == 32
    assert two["steps"] == one["steps"]
    assert two["history"]["loss"][0] == pytest.approx(one["history"]["loss"][0], rel=1e-4)
    assert two["final_accuracy"] == pytest.approx(one["final_accuracy"], abs=1 / 128 + 1e-9)


def test_tensorboard_logs_without_tensorboard(tmp_path):
    logger = runner.ScalarSummaryLogger(tmp_path)
    logger.on_epoch_end(0, {"loss": 1.5, "val_accuracy": 0.25})
    logger.on_epoch_end(1, {"loss": 1.0, "val_accuracy": 0.5})
    logger.on_train_end()
    seen = {}
    for split in ("train", "validation"):
        for path in (tmp_path / split).iterdir():
            for event in tf.compat.v1.train.summary_iterator(str(path)):
                for v in event.summary.value:
                    assert v.metadata.plugin_data.plugin_name == "scalars"
                    seen[(split, v.tag, event.step)] = float(tf.make_ndarray(v.tensor))
    assert seen == {("train", "epoch_loss", 0): 1.5, ("train", "epoch_loss", 1): 1.0,
                    ("validation", "epoch_accuracy", 0): 0.25, ("validation", "epoch_accuracy", 1): 0.5}


def test_epochs_to_target_and_history_reader(tmp_path):
    assert runner.epochs_to_target({"val_accuracy": [0.1, 0.2]}, 0.5) is None
    assert runner.epochs_to_target({"val_accuracy": [0.6]}, None) is None
    (tmp_path / "h.csv").write_text("epoch,loss\n0,1.0\n1,0.8\n1,0.7\n2,0.5\n")
    assert runner.read_history(tmp_path / "h.csv") == {"loss": [1.0, 0.7, 0.5]}


def test_config_errors():
    with pytest.raises(ValueError, match="widht"):
        runner.resolve_config({"widht": 3})
    with pytest.raises(ValueError, match="epochs"):
        runner.resolve_config({"epochs": 0})
    with pytest.raises(ValueError, match="model"):
        runner.resolve_config({"model": "vgg"})


def test_lab5_ensemble_from_saved_predictions(tmp_path):
    """Three seeds with independent errors: the ensemble is scored on the odd half only,
    stacking is fitted on the even half, and averaging beats the members."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, 400)
    results = []
    for s in range(3):
        top = np.where(rng.uniform(size=400) < 0.6, labels, (labels + rng.integers(1, 4, 400)) % 4)
        probs = np.full((400, 4), 0.1)
        probs[np.arange(400), top] = 0.7
        (tmp_path / f"seed{s}").mkdir()
        np.savez(tmp_path / f"seed{s}" / "predictions.npz", probs=probs, labels=labels)
        results.append({"name": f"seed{s}", "config": {"ensemble": "plain"}})
    results.append({"name": "mixup", "config": {"ensemble": None}})
    out = runner.evaluate_lab5_ensemble(tmp_path, results)
    assert set(out["members"]) == {"seed0", "seed1", "seed2"} and out["evaluated_on"] == 200
    assert out["average"] > out["best_member"] and "stacking" in out
    assert set(out["ece_members"]) == set(out["members"]) and 0 <= out["ece_average"] <= 1
    assert sum(out["reliability_average"]["count"]) == 200
    assert "architectures" not in out and "corrupted" not in out


def test_lab5_architecture_ensemble_and_corrupted_predictions(tmp_path):
    """Members that are right on the clean half-set and on a corrupted copy with independent
    errors: the architecture ensemble holds the first three seeds and the other models, and
    averaging is scored on each corruption with its own members' accuracies."""
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, 300)

    def noisy(p_right):
        top = np.where(rng.uniform(size=300) < p_right, labels, (labels + rng.integers(1, 3, 300)) % 3)
        probs = np.full((300, 3), 0.15)
        probs[np.arange(300), top] = 0.7
        return probs

    results = []
    for name, kind in [("s0", "plain"), ("s1", "plain"), ("s2", "plain"), ("s3", "plain"),
                       ("convnet", "architectures"), ("wide", "architectures")]:
        (tmp_path / name).mkdir()
        np.savez(tmp_path / name / "predictions.npz", probs=noisy(0.7), labels=labels,
                 corrupted_darken=noisy(0.5))
        results.append({"name": name, "config": {"ensemble": kind}})
    out = runner.evaluate_lab5_ensemble(tmp_path, results)
    assert set(out["members"]) == {"s0", "s1", "s2", "s3"}
    assert set(out["architectures"]["members"]) == {"s0", "s1", "s2", "convnet", "wide"}
    shifted = out["corrupted"]["darken"]
    assert shifted["average"] > shifted["best_member"] >= shifted["mean_member"]
    assert out["corrupted_mean"]["average"] == shifted["average"]
    # independent errors at 50% per member: the mean member is near 0.5, far below the clean 0.7
    assert abs(shifted["mean_member"] - 0.5) < 0.08 and out["mean_member"] > shifted["mean_member"] + 0.1


@pytest.mark.parametrize("model,extra", [("convnet", {"filters": [4, 4, 8, 8, 8], "normalization": "group", "groups": 2}),
                                         ("resnet", {"filters": [4, 8], "blocks_per_stage": [1, 1], "stochastic_depth": 0.2}),
                                         ("transfer", {"strategy": "scratch", "filters": [4, 8, 8]})])
def test_build_model_from_config(model, extra):
    cfg = runner.resolve_config({"model": model, **extra})
    m = runner.build_model(cfg, (16, 16, 3), 5)
    assert m.output_shape == (None, 5)
