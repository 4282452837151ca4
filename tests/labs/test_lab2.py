"""Lab 2's grid and its judges, on made-up results whose verdicts are known."""

import pytest

from keraslab.labs import lab2, lab_runs
from keraslab.labs.spec import VERDICTS

SHAPES = {"source": "offline:shapes", "train_size": 3840}


def _run(name, accuracy, *, epochs_to_target=3, loss_noise=0.05, data=SHAPES, config=None):
    return {"name": name, "final_accuracy": accuracy, "epochs_to_target": epochs_to_target, "epochs_run": 10,
            "loss_noise": loss_noise, "data": data, "config": config or {},
            "history": {"accuracy": [0.5, accuracy]}}


def _groups(accuracy, **per_run):
    """Three seeds per configuration: `accuracy[configuration]` plus -0.01, 0, +0.01."""
    return {name: [_run(f"{name}-r{k}", value + (k - 1) * 0.01, **per_run.get(name, {})) for k in range(3)]
            for name, value in accuracy.items()}


NAMES = ("batch-2", "batch-8", "batch-32", "batch-128", "layer", "group", "none")


def _judge(claim_start, groups):
    claim = next(c for c in lab2.CLAIMS if c.text.startswith(claim_start))
    verdict = claim.judge(groups)
    assert verdict.status in VERDICTS
    return verdict


def test_the_grid_varies_only_the_statistics_at_one_batch_and_one_number_of_steps():
    _, _, runs = lab_runs("lab2", scale="cpu", overrides={"offline": True})
    assert len(runs) == 3 * len(NAMES)
    assert {r["batch_size"] for r in runs} == {128} and {r["epochs"] for r in runs} == {30}
    assert {r["train_size"] for r in runs} == {3840} and {r["learning_rate"] for r in runs} == {0.04}
    sizes = sorted(r["virtual_batch_size"] for r in runs if r["normalization"] == "batch")
    assert sizes == sorted([2, 8, 32, 128] * 3)
    assert all("virtual_batch_size" not in r for r in runs if r["normalization"] != "batch")


def test_examples_per_statistic_column():
    assert lab2.examples_per_statistic({"config": {"normalization": "batch", "virtual_batch_size": 8,
                                                   "batch_size": 128}}) == 8
    assert lab2.examples_per_statistic({"config": {"normalization": "batch", "batch_size": 64}}) == 64
    assert lab2.examples_per_statistic({"config": {"normalization": "group"}}) == "1 (per example)"
    assert lab2.examples_per_statistic({"config": {"normalization": "none"}}) is None


def test_degradation_below_8_needs_2_below_32_and_8_not():
    claim = "BatchNorm degrades"
    base = dict.fromkeys(NAMES, 0.80)
    assert _judge(claim, _groups({**base, "batch-2": 0.60})).status == "reproduced"
    assert _judge(claim, _groups(base)).status == "not reproduced"
    both = _judge(claim, _groups({**base, "batch-2": 0.60, "batch-8": 0.70}))
    assert both.status == "not reproduced" and "Welch p" in both.evidence
    better = _judge(claim, _groups({**base, "batch-2": 0.90}))
    assert better.status == "not reproduced"


def test_per_example_norms_must_both_beat_batch_2():
    claim = "LayerNorm and GroupNorm"
    base = dict.fromkeys(NAMES, 0.80)
    assert _judge(claim, _groups({**base, "batch-2": 0.60})).status == "reproduced"
    assert _judge(claim, _groups({**base, "batch-2": 0.60, "layer": 0.60})).status == "not reproduced"


def test_group_against_layer():
    base = dict.fromkeys(NAMES, 0.80)
    assert _judge("GroupNorm is better", _groups({**base, "group": 0.85})).status == "reproduced"
    assert _judge("GroupNorm is better", _groups(base)).status == "not reproduced"


@pytest.mark.parametrize("none_epochs,batch_epochs,status", [
    ([7, 8, 9], [2, 3, 4], "reproduced"),           # about 2.7x
    ([3, 4, 3], [2, 3, 4], "not reproduced"),        # no faster
    ([None, None, None], [1, 1, 1], "not reproduced"),  # at least 11x
    ([None, None, 9], [3, 3, 3], "not testable at this scale"),  # at least 3.4x, no upper bound
    ([5, 6, 7], [None, 3, 3], "not testable at this scale"),
])
def test_faster_convergence(none_epochs, batch_epochs, status):
    groups = _groups(dict.fromkeys(NAMES, 0.8))
    for name, epochs in (("none", none_epochs), ("batch-128", batch_epochs)):
        for run, e in zip(groups[name], epochs, strict=True):
            run["epochs_to_target"] = e
    assert _judge("Normalization gives", groups).status == status


def test_noisier_loss_with_fewer_examples_per_statistic():
    base = dict.fromkeys(NAMES, 0.8)
    noisy = _groups(base)
    for k, run in enumerate(noisy["batch-2"]):
        run["loss_noise"] = 0.20 + 0.01 * k
    for k, run in enumerate(noisy["batch-128"]):
        run["loss_noise"] = 0.05 + 0.01 * k
    assert _judge("Smaller batches", noisy).status == "reproduced"
    assert _judge("Smaller batches", _groups(base)).status == "not reproduced"  # no spread: no test


def test_course_rows_are_testable_only_on_all_of_cifar10():
    base = dict.fromkeys(NAMES, 0.83)
    claim = "batch normalization at batch size 32"
    assert _judge(claim, _groups(base)).status == "not testable at this scale"
    # All of CIFAR-10 from TFDS: 50,000 images less those held out for validation.
    cifar = {"source": "tfds", "train_size": 45000}
    everything = {"dataset": "cifar10", "train_size": None}
    reached = {name: {"data": cifar, "config": everything, "epochs_to_target": 35} for name in NAMES}
    subset = {name: {"data": cifar, "config": {**everything, "train_size": 4000}, "epochs_to_target": 35}
              for name in NAMES}
    assert _judge(claim, _groups(base, **subset)).status == "not testable at this scale"
    assert _judge(claim, _groups(base, **reached)).status == "reproduced"
    assert _judge(claim, _groups({**base, "batch-32": 0.70}, **reached)).status == "not reproduced"
