import pytest

from keraslab import labs
from keraslab.labs import lab3
from keraslab.train.config import RunConfig


@pytest.mark.parametrize("scale", labs.SCALES)
def test_no_run_is_stopped_early_and_the_epoch_is_chosen_on_training_images(scale):
    # The fair design: every run gets the whole epoch budget; early stopping only restores the
    # best epoch, judged on images held out from the training split (never the test set).
    for run in labs.lab_runs("lab3", scale=scale)[2]:
        cfg = RunConfig.from_dict(run)
        assert cfg.early_stopping_patience >= cfg.epochs, (run["name"], cfg.early_stopping_patience, cfg.epochs)
        assert cfg.validation_share > 0, run["name"]


def test_every_cpu_configuration_runs_over_three_seeds():
    runs = labs.lab_runs("lab3", scale="cpu")[2]
    seeds = {}
    for run in runs:
        seeds.setdefault(run["name"].rsplit("-r", 1)[0], set()).add(run["seed"])
    assert set(seeds) == {entry["name"] for entry in lab3.GRID}
    assert all(len(s) >= 3 for s in seeds.values()), seeds


def test_the_three_kinds_share_their_rates():
    rates = {(e["regularizer"], e["rate"]) for e in lab3.GRID if e.get("rate") and "augment" not in e}
    assert rates == {(k, p) for k in ("dropout", "spatial", "dropblock") for p in lab3.REGULARIZATION_RATES}


def test_kept_epoch_is_the_first_best_validation_epoch():
    assert lab3.kept_epoch({"history": {"val_accuracy": [0.1, 0.4, 0.3, 0.4]}}) == 2
    assert lab3.kept_epoch({"history": {}}) is None


def _run(name, seed, train, test):
    return {"name": f"{name}-r{seed}", "final_train_accuracy": train, "final_accuracy": test,
            "generalization_gap": train - test, "config": {"epochs": 30}}


def _results(levels):
    """Three seeds per configuration around the given (train, test), train jittered by +-0.005, test by -+0.0025 (the gap spreads too)."""
    return [_run(name, k, train + j, test - j / 2) for name, (train, test) in levels.items()
            for k, j in enumerate((-0.005, 0.0, 0.005))]


NAMES = [e["name"] for e in lab3.GRID]


def _verdicts(levels):
    results = _results({name: levels.get(name, (0.6, 0.4)) for name in NAMES})
    return [claim.verdict(results) for claim in lab3.CLAIMS]


def test_the_course_pattern_reproduces_every_claim():
    # The course's own table, with spatial dropout and DropBlock clearly above dropout.
    course = {"none": (0.95, 0.70), "dropout-0.5": (0.88, 0.78), "augment": (0.85, 0.80),
              "dropout-0.5+augment": (0.84, 0.83), "dropout-0.2": (0.9, 0.72), "spatial-0.2": (0.9, 0.76),
              "dropblock-0.2": (0.9, 0.76), "spatial-0.5": (0.85, 0.81), "dropblock-0.5": (0.85, 0.81)}
    verdicts = _verdicts(course)
    assert [v.status for v in verdicts] == ["reproduced"] * len(lab3.CLAIMS), verdicts
    assert "70.0 ± 0.2" in verdicts[0].evidence and "Welch" in verdicts[1].evidence


def test_regularizers_that_only_lower_training_accuracy_are_not_reproduced():
    # A narrower gap with the same test accuracy: under-fitting, not what the course claims.
    verdicts = _verdicts({"none": (0.9, 0.5), "dropout-0.5": (0.6, 0.5), "augment": (0.7, 0.5),
                          "dropout-0.5+augment": (0.55, 0.5)})
    assert [v.status for v in verdicts] == ["reproduced"] + ["not reproduced"] * 4, verdicts


def test_a_small_gap_without_regularization_is_not_reproduced():
    assert _verdicts({"none": (0.5, 0.45)})[0].status == "not reproduced"


def test_a_configuration_left_at_chance_is_not_testable():
    verdicts = _verdicts({"none": (0.9, 0.5), "dropout-0.5": (0.12, 0.11), "dropout-0.5+augment": (0.1, 0.1)})
    assert verdicts[1].status == verdicts[3].status == "not testable at this scale", verdicts
    assert "dropout-0.5" in verdicts[1].evidence and "30 epochs" in verdicts[1].evidence
