import numpy as np

from keraslab import labs
from keraslab.labs import lab5


def _save(tmp_path, name, probs, labels, **corrupted):
    (tmp_path / name).mkdir()
    np.savez(tmp_path / name / "predictions.npz", probs=probs, labels=labels, **corrupted)


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
    analysis = lab5.evaluate_ensemble(tmp_path, results)
    assert len(analysis["repeats"]) == 1 and analysis["repeats"][0]["repeat"] == 0
    out = analysis["repeats"][0]
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
    out = lab5.evaluate_ensemble(tmp_path, results)["repeats"][0]
    assert set(out["members"]) == {"s0", "s1", "s2", "s3"}
    # As many members as the seed ensemble: the first two seeds and the two other architectures.
    assert set(out["architectures"]["members"]) == {"s0", "s1", "convnet", "wide"}
    shifted = out["corrupted"]["darken"]
    assert shifted["average"] > shifted["best_member"] >= shifted["mean_member"]
    assert out["corrupted_mean"]["average"] == shifted["average"]
    # independent errors at 50% per member: the mean member is near 0.5, far below the clean 0.7
    assert abs(shifted["mean_member"] - 0.5) < 0.08 and out["mean_member"] > shifted["mean_member"] + 0.1


def test_each_repeat_has_its_own_ensembles(tmp_path):
    """Repeat k ensembles the runs named `-r<k>` only; a repeat's members are right on the
    examples its own noise picks, so each repeat's scores are its members' own."""
    labels = np.arange(100) % 4
    results = []
    for repeat, right in ((0, 0.9), (1, 0.5)):
        rng = np.random.default_rng(repeat)
        for name, kind in (("plain-seed0", "plain"), ("plain-seed1", "plain"), ("plain-seed2", "plain"),
                           ("resnet", "architectures"), ("mixup", None)):
            top = np.where(rng.uniform(size=100) < right, labels, (labels + 1) % 4)
            _save(tmp_path, f"{name}-r{repeat}", np.eye(4)[top] * 0.7 + 0.075, labels)
            results.append({"name": f"{name}-r{repeat}", "config": {"ensemble": kind}})
    repeats = lab5.evaluate_ensemble(tmp_path, results)["repeats"]
    assert [r["repeat"] for r in repeats] == [0, 1]
    assert set(repeats[1]["members"]) == {"plain-seed0-r1", "plain-seed1-r1", "plain-seed2-r1"}
    assert set(repeats[1]["architectures"]["members"]) == {"plain-seed0-r1", "plain-seed1-r1", "resnet-r1"}
    assert repeats[0]["mean_member"] > 0.8 > 0.6 > repeats[1]["mean_member"]


def _repeat(average, mean_member, best_member, ece_average=0.05, ece_member=0.1):
    return {"members": {"a": 0.6, "b": 0.62, "c": 0.61}, "best_member": best_member, "mean_member": mean_member,
            "average": average, "vote": 0.64, "stacking": 0.65, "ece_members": {"a": ece_member, "b": ece_member},
            "ece_average": ece_average, "evaluated_on": 500}


def test_ensemble_table_gives_mean_and_std_over_repeats():
    repeats = [{**_repeat(0.66, 0.61, 0.62), "architectures": _repeat(0.70, 0.60, 0.63)},
               {**_repeat(0.68, 0.61, 0.64), "architectures": _repeat(0.72, 0.60, 0.65)}]
    lines = lab5.ensemble_table({"repeats": repeats}).splitlines()
    assert lines[0] == "| method | seeds (3 models) | architectures (3 models) |"
    # mean of 66 and 68 is 67, sample std sqrt(2) = 1.414...
    assert "| averaging (%) | 67.0 ± 1.4 | 71.0 ± 1.4 |" in lines
    assert "| averaging - mean member (points) | +6.0 ± 1.4 | +11.0 ± 1.4 |" in lines
    assert "| ECE, mean member | 0.100 ± 0.000 | 0.100 ± 0.000 |" in lines
    assert "| corrupted: averaging (%) | – | – |" in lines
    assert lines[-1] == "Scored on 500 test images, mean ± std over 2 repeats."


def _runs(ece_plain, ece_mixup, ece_cutmix):
    results = []
    for name, values in (("plain-seed0", ece_plain), ("mixup", ece_mixup), ("cutmix", ece_cutmix)):
        results += [{"name": f"{name}-r{k}", "ece": v, "corruption_mean_accuracy": 0.5} for k, v in enumerate(values)]
    return results


def test_mixing_claims_are_judged_by_welch_against_the_plain_seeds():
    calibration = lab5.CLAIMS[2]
    clear = calibration.verdict(_runs([0.10, 0.11, 0.12], [0.03, 0.04, 0.05], [0.05, 0.06, 0.04]))
    assert clear.status == "reproduced" and "Welch p" in clear.evidence
    # CutMix within the plain seeds' spread: not a difference, so the claim for both fails.
    overlap = calibration.verdict(_runs([0.10, 0.11, 0.12], [0.03, 0.04, 0.05], [0.09, 0.13, 0.11]))
    assert overlap.status == "not reproduced"


def test_ensemble_claims_read_the_analysis_through_claims_table():
    analysis = {"repeats": [{**_repeat(a, m, b), "architectures": _repeat(a + 0.01, m - 0.02, b)}
                            for a, m, b in ((0.66, 0.64, 0.65), (0.70, 0.68, 0.69), (0.62, 0.60, 0.61))]}
    verdict = lab5.CLAIMS[0].verdict([], {"ensemble": analysis})
    # Gains of 2 points each repeat, but averaging against the mean member by Welch over repeats
    # (66, 70, 62 against 64, 68, 60) is not a difference: the claim is not reproduced.
    assert verdict.status == "not reproduced" and "+2.0" in verdict.evidence
    assert lab5.CLAIMS[1].verdict([], {"ensemble": analysis}).status == "reproduced"  # +5 against +2 every repeat
    table = labs.claims_table("lab5", _runs([0.1, 0.11, 0.12], [0.1, 0.11, 0.12], [0.1, 0.11, 0.12]),
                              {"ensemble": analysis})
    assert table.count("**not testable at this scale**") == 1  # no corrupted scores in this analysis
    assert lab5.CLAIMS[0].verdict([], {}).status == "not testable at this scale"


def test_lab5_grid_two_equal_ensembles_and_mixing_on_the_recipe():
    _, _, runs = labs.lab_runs("lab5", scale="cpu")
    configurations = {r["name"].rsplit("-r", 1)[0] for r in runs}
    assert len(runs) == 3 * len(configurations)
    seeds = [n for n in configurations if n.startswith("plain-seed")]
    others = [r for r in runs if r.get("ensemble") == "architectures" and r["name"].endswith("-r0")]
    assert len(lab5.architecture_members(seeds, others)) == len(seeds) == 3
    recipe = [r for r in runs if r["name"] == "plain-seed0-r0"][0]
    for name in ("mixup-r0", "cutmix-r0"):
        run = [r for r in runs if r["name"] == name][0]
        assert run["augment"]["crop_padding"] == 4 and run["augment"]["flip"] and recipe["augment"] == "standard"
        assert {k: v for k, v in run.items() if k not in ("name", "augment", "ensemble")} == {
            k: v for k, v in recipe.items() if k not in ("name", "augment", "ensemble")}
    assert all(r["early_stopping_patience"] is None for r in runs)


def test_repeat_of_reads_the_run_name():
    assert lab5.repeat_of("plain-seed0-r2") == 2 and lab5.repeat_of("mixup") == 0
