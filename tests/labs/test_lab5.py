import numpy as np

from keraslab.labs import lab5


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
    out = lab5.evaluate_ensemble(tmp_path, results)
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
    out = lab5.evaluate_ensemble(tmp_path, results)
    assert set(out["members"]) == {"s0", "s1", "s2", "s3"}
    assert set(out["architectures"]["members"]) == {"s0", "s1", "s2", "convnet", "wide"}
    shifted = out["corrupted"]["darken"]
    assert shifted["average"] > shifted["best_member"] >= shifted["mean_member"]
    assert out["corrupted_mean"]["average"] == shifted["average"]
    # independent errors at 50% per member: the mean member is near 0.5, far below the clean 0.7
    assert abs(shifted["mean_member"] - 0.5) < 0.08 and out["mean_member"] > shifted["mean_member"] + 0.1


def test_ensemble_table_puts_the_two_ensembles_side_by_side():
    seeds = {"members": {"s0": 0.6, "s1": 0.62}, "best_member": 0.62, "mean_member": 0.61, "average": 0.66,
             "vote": 0.64, "stacking": 0.65, "ece_members": {"s0": 0.1, "s1": 0.2}, "ece_average": 0.05,
             "evaluated_on": 500}
    archs = {**seeds, "members": {"a": 0.5, "b": 0.5, "c": 0.5}, "average": 0.7,
             "corrupted_mean": {"mean_member": 0.4, "average": 0.45, "ece_average": 0.2}}
    lines = lab5.ensemble_table({**seeds, "architectures": archs}).splitlines()
    assert lines[0] == "| method | seeds (2 models) | architectures (3 models) |"
    assert "| averaging (%) | 66.0 | 70.0 |" in lines
    assert "| ECE, mean member | 0.150 | 0.150 |" in lines
    assert "| corrupted: averaging (%) | – | 45.0 |" in lines
    assert lines[-1] == "Scored on 500 test images."
