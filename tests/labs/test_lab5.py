import math
import re
from pathlib import Path

import numpy as np
import pytest

from keraslab import labs
from keraslab.diagnostics import reliability_diagram
from keraslab.labs import lab5
from keraslab.train.results import group_repeats, load_results

N = 400  # test predictions per made-up run
PAGE = Path(__file__).resolve().parents[2] / "book" / "labs" / "lab5.md"


def _probs(rng, labels, right, confidence):
    """Made-up class probabilities: the label on a `right` share of the examples, another class
    on the others, with `confidence` on the predicted class."""
    top = np.where(rng.uniform(size=len(labels)) < right, labels, (labels + rng.integers(1, 10, len(labels))) % 10)
    probs = np.full((len(labels), 10), (1 - confidence) / 9)
    probs[np.arange(len(labels)), top] = confidence
    return probs


def _made_up_grid(tmp_path, seed=0):
    """Results and saved predictions shaped like the cpu grid's (the design of `lab5.check`)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, N)
    results = []
    for k in range(lab5.GROUPS):
        for entry in lab5.GRID:
            name = f"{entry['name']}-r{k}"
            probs = _probs(rng, labels, 0.85, 0.95)
            ood = rng.dirichlet(np.ones(10), 300)
            (tmp_path / name).mkdir()
            np.savez(tmp_path / name / "predictions.npz", probs=probs, labels=labels,
                     corrupted_darken=_probs(rng, labels, 0.6, 0.9), ood_probs=ood)
            reliability = reliability_diagram(labels, probs)
            results.append({
                "name": name, "config": {**lab5.BASE, **entry, "seed": entry.get("seed", 0) + 1000 * k},
                "data": {"source": "idx:/usr/share/datasets/fashion-mnist", "train_size": 2700,
                         "validation_size": 300, "test_size": 4000},
                "epochs_run": 10, "steps": 850, "total_time": 60.0,
                "history": {"val_accuracy": [0.6, 0.8, 0.85, 0.853]},
                "final_accuracy": float(np.mean(probs.argmax(1) == labels)), "ece": reliability["ece"],
                "reliability": reliability, "corruption_mean_accuracy": 0.6, "ood_auroc": 0.9})
    return results


def test_the_ensemble_is_scored_on_the_odd_half_with_out_of_distribution_auroc(tmp_path):
    from sklearn.metrics import roc_auc_score

    results = _made_up_grid(tmp_path)
    analysis = lab5.evaluate_ensemble(tmp_path, results)
    assert [r["repeat"] for r in analysis["repeats"]] == list(range(lab5.GROUPS))
    first = analysis["repeats"][0]
    assert sorted(first["members"]) == sorted(f"{n}-r0" for n in lab5._PLAIN)  # five seeds, no mixing run
    assert first["evaluated_on"] == N // 2 and "stacking" in first and first["ood_images"] == 300
    assert first["average"] > first["best_member"]  # independent errors: averaging corrects them
    # The AUROC against the reference tool, on the odd half (in) and all the digits (out).
    saved = [np.load(tmp_path / f"{n}-r0" / "predictions.npz") for n in lab5._PLAIN]
    inside = np.mean([p["probs"][1::2] for p in saved], 0).max(1)
    outside = np.mean([p["ood_probs"] for p in saved], 0).max(1)
    expected = roc_auc_score(np.r_[np.ones(len(inside)), np.zeros(len(outside))], np.r_[inside, outside])
    assert first["auroc_average"] == pytest.approx(expected, abs=1e-12)
    member = roc_auc_score(np.r_[np.ones(N // 2), np.zeros(300)],
                           np.r_[saved[0]["probs"][1::2].max(1), saved[0]["ood_probs"].max(1)])
    assert first["auroc_members"]["plain-seed0-r0"] == pytest.approx(member, abs=1e-12)
    assert first["corrupted_mean"]["average"] == first["corrupted"]["darken"]["average"]
    assert first["over_confidence_members"]["plain-seed0-r0"] > 0  # 95 % confident, about 85 % right


def _ensembles(averages, members, votes=None, **extra):
    votes = votes or averages
    return {"ensemble": {"repeats": [
        {"repeat": k, "members": {f"m{i}": m for i in range(5)}, "average": a, "vote": v, "mean_member": m,
         "best_member": m + 0.002, **extra}
        for k, (a, m, v) in enumerate(zip(averages, members, votes, strict=True))]}}


@pytest.mark.parametrize(("averages", "status"), [
    ((0.872, 0.869, 0.875), "reproduced"),  # +2 points, every ensemble
    ((0.8525, 0.8515, 0.8535), "not reproduced"),  # +0.2: called, below the claimed range
    ((0.90, 0.84, 0.88), "inconclusive"),  # ensembles too different to see 1 point
])
def test_the_ensemble_gain_reaches_each_verdict(averages, status):
    verdict = lab5.CLAIMS[0].verdict([], _ensembles(averages, (0.852, 0.849, 0.855)))
    assert verdict.status == status
    assert verdict.claimed == "+1 to +3 points" and verdict.observed.endswith("points") and verdict.detectable
    assert lab5.CLAIMS[1].verdict([], _ensembles((0.852, 0.849, 0.855), (0.852, 0.849, 0.855),
                                                 votes=averages)).status == status
    assert lab5.CLAIMS[0].verdict([], {}).status == "not testable at this scale"


def _runs(name, count, **fields):
    rng = np.random.default_rng(len(name) + count)
    runs = []
    for k in range(count):
        values = {key: (v(rng) if callable(v) else v) for key, v in fields.items()}
        runs.append({"name": f"{name}-r{k}", **values})
    return runs


def _reliability(over):
    return {"count": [100], "confidence": [0.85 + over], "accuracy": [0.85]}


def _mixing_grid(mixup_ece, plain_over=0.03, mixup_spread=0.002):
    plain = [r for s in range(5) for r in _runs(f"plain-seed{s}", 3, ece=lambda g: 0.05 + 0.002 * g.normal(),
                                                reliability=_reliability(plain_over),
                                                corruption_mean_accuracy=lambda g: 0.65 + 0.003 * g.normal(),
                                                final_accuracy=0.85)]
    mixed = _runs("mixup", 3, ece=lambda g: np.mean(mixup_ece) + mixup_spread * g.normal(), reliability=_reliability(-0.02),
                  corruption_mean_accuracy=lambda g: 0.68 + 0.003 * g.normal(), final_accuracy=0.85)
    if isinstance(mixup_ece, tuple):  # the runs' ECEs themselves
        mixed = [{**r, "ece": e} for r, e in zip(mixed, mixup_ece, strict=True)]
    return plain + mixed


@pytest.mark.parametrize(("mixup_ece", "plain_over", "spread", "status"), [
    (0.02, 0.03, 0.002, "reproduced"),
    (0.05, 0.03, 0.002, "not reproduced"),  # the same ECE, and 0.01 would have been seen
    ((0.0, 0.09, 0.03), 0.03, 0.0, "inconclusive"),  # MixUp's runs too spread to see 0.01
    (0.02, -0.03, 0.002, "not testable at this scale"),  # under-confident plain members
])
def test_mixup_calibration_reaches_each_verdict(mixup_ece, plain_over, spread, status):
    verdict = lab5.CLAIMS[2].verdict(_mixing_grid(mixup_ece, plain_over, spread))
    assert verdict.status == status and verdict.claimed == "ECE lower by 0.01 or more"
    if status != "not testable at this scale":
        assert verdict.detectable.endswith("ECE") and "mixup" in verdict.evidence


def test_mixing_methods_are_judged_separately():
    grid = _mixing_grid(0.02)
    assert lab5.CLAIMS[2].verdict(grid).status == "reproduced"
    assert "CutMix" in lab5.CLAIMS[3].text and lab5.CLAIMS[3].verdict(grid).status == "not testable at this scale"
    robust = lab5.CLAIMS[4].verdict(grid)  # MixUp: +3 points on corrupted images
    assert robust.status == "reproduced" and robust.observed.startswith("+3")


@pytest.mark.parametrize(("members", "average", "status"), [
    ((0.050, 0.052, 0.048), (0.030, 0.031, 0.029), "reproduced"),
    ((0.050, 0.052, 0.048), (0.049, 0.051, 0.050), "not reproduced"),
    ((0.050, 0.090, 0.010), (0.040, 0.080, 0.000), "inconclusive"),
])
def test_averaging_calibration_reaches_each_verdict(members, average, status):
    analyses = {"ensemble": {"repeats": [
        {"ece_members": {"a": m, "b": m}, "ece_average": a, "over_confidence_members": {"a": 0.03}}
        for m, a in zip(members, average, strict=True)]}}
    assert lab5.CLAIMS[6].verdict([], analyses).status == status
    under = {"ensemble": {"repeats": [{**r, "over_confidence_members": {"a": -0.02}}
                                      for r in analyses["ensemble"]["repeats"]]}}
    assert lab5.CLAIMS[6].verdict([], under).status == "not testable at this scale"


def test_out_of_distribution_claim_compares_auroc_in_points():
    analyses = {"ensemble": {"repeats": [{"auroc_members": {"a": m, "b": m}, "auroc_average": m + 0.05}
                                         for m in (0.30, 0.32, 0.31)]}}
    verdict = lab5.CLAIMS[8].verdict([], analyses)
    assert verdict.status == "reproduced" and verdict.observed.startswith("+5.000 points of AUROC")
    assert lab5.CLAIMS[8].verdict([], {"ensemble": {"repeats": []}}).status == "not testable at this scale"


def test_ensemble_table_gives_each_ensemble_and_the_spread(tmp_path):
    analysis = lab5.evaluate_ensemble(tmp_path, _made_up_grid(tmp_path))
    lines = lab5.ensemble_table(analysis).splitlines()
    assert lines[0] == "| method | 3 ensembles of 5 | ensemble 0 | ensemble 1 | ensemble 2 |"
    row = next(line for line in lines if line.startswith("| averaging (%)"))
    cells = [c.strip() for c in row.split("|")[2:-1]]
    per_ensemble = [100 * r["average"] for r in analysis["repeats"]]
    assert cells[1:] == [f"{v:.1f}" for v in per_ensemble]
    mean, std = float(np.mean(per_ensemble)), float(np.std(per_ensemble, ddof=1))
    assert cells[0] == f"{mean:.1f} ± {std:.1f}"
    assert lines[-1].startswith(f"Scored on {N // 2} test images")


def test_the_page_glues_only_values_the_lab_computes(tmp_path):
    results = _made_up_grid(tmp_path)
    analyses = {"ensemble": lab5.evaluate_ensemble(tmp_path, results)}
    values = lab5.page_values(results, analyses)
    used = set(re.findall(r"\{glue:text\}`(\w+)`", PAGE.read_text()))
    assert used and used <= set(values), f"glued but not computed: {sorted(used - set(values))}"
    assert all(isinstance(v, str) and v for v in values.values())
    assert values["lab5_members"] == "5" and values["lab5_groups"] == "3" and values["lab5_plain_runs"] == "15"
    assert values["lab5_ood_size"] == "300" and values["lab5_steps"] == "850"


def test_check_accepts_the_design_and_catches_a_broken_one(tmp_path):
    results = _made_up_grid(tmp_path)
    lab5.check(results)
    committed = PAGE.parent / "results" / "lab5"
    shown = load_results(committed)
    lab5.check(shown)
    lab5.check_discussion(shown, labs.load_analyses("lab5", committed))  # the page's statements, on its runs
    broken = {
        "a missing repeat": [r for r in results if r["name"] != "mixup-r2"],
        "a constant schedule": [{**r, "config": {**r["config"], "learning_rate_schedule": "constant"}} for r in results],
        "a repeated seed": [{**r, "config": {**r["config"], "seed": 0}} if r["name"] == "plain-seed1-r0" else r
                            for r in results],
        "another dataset": [{**r, "data": {**r["data"], "source": "offline:shapes"}} for r in results],
        "MixUp at another alpha": [{**r, "config": {**r["config"], "augment": {"mix": "mixup", "mix_alpha": 0.2}}}
                                   if r["name"].startswith("mixup") else r for r in results],
        "no out-of-distribution score": [{**r, "ood_auroc": None} for r in results],
    }
    for what, runs in broken.items():
        with pytest.raises(AssertionError):
            lab5.check(runs)
            pytest.fail(f"check accepted {what}")


def test_check_discussion_catches_a_member_still_moving(tmp_path):
    results = _made_up_grid(tmp_path)
    analyses = {"ensemble": lab5.evaluate_ensemble(tmp_path, results)}
    moving = [{**r, "history": {"val_accuracy": [0.81, 0.58, 0.81]}} if r["name"] == "plain-seed2-r1" else r
              for r in results]
    with pytest.raises(AssertionError, match="last two epochs"):
        lab5.check_discussion(moving, analyses)


def test_the_grid_is_three_ensembles_of_five_and_mixing_on_the_recipe():
    _, _, runs = labs.lab_runs("lab5", scale="cpu")
    groups = group_repeats(runs)
    assert len(groups) == lab5.MEMBERS + 2 and all(len(g) == lab5.GROUPS for g in groups.values())
    members = [r for r in runs if r.get("ensemble") == "plain"]
    assert len(members) == 15 and len({r["seed"] for r in members}) == 15
    recipe = next(r for r in runs if r["name"] == "plain-seed0-r0")
    assert recipe["learning_rate_schedule"] == "cosine" and "out_of_distribution" in recipe["diagnostics"]
    for name in ("mixup-r0", "cutmix-r0"):
        run = next(r for r in runs if r["name"] == name)
        assert run["augment"] == {"mix": name[:-3], "mix_alpha": 1.0} and recipe["augment"] is None
        assert {k: v for k, v in run.items() if k not in ("name", "augment", "ensemble")} == {
            k: v for k, v in recipe.items() if k not in ("name", "augment", "ensemble")}
    assert all(r["early_stopping_patience"] is None for r in runs)


def test_over_confidence_reads_the_reliability_diagram():
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7]])
    diagram = reliability_diagram([0, 1, 1], probs, num_bins=10)
    # confidences 0.9, 0.8, 0.7 (mean 0.8); two of three right
    assert lab5.over_confidence(diagram) == pytest.approx(0.8 - 2 / 3)
    assert not math.isnan(lab5.over_confidence(diagram))


def test_repeat_of_reads_the_run_name():
    assert lab5.repeat_of("plain-seed0-r2") == 2 and lab5.repeat_of("mixup") == 0


def test_figures_add_the_out_of_distribution_bars_when_the_runs_scored_them(tmp_path):
    results = _made_up_grid(tmp_path)
    analyses = {"ensemble": lab5.evaluate_ensemble(tmp_path, results)}
    assert "ood_auroc.png" in {f.file for f in lab5.figures(results, analyses)}
    without = [{k: v for k, v in r.items() if k != "ood_auroc"} for r in results]
    assert "ood_auroc.png" not in {f.file for f in lab5.figures(without, analyses)}
    page = lab5.page_figures(results, analyses)["calibration"]
    assert [f.file for f in page] == ["page_reliability.png", "page_corrupted.png", "page_ood.png"]
    assert "averaging" in page[2].args[0] and "average of 5 (odd half)" in page[0].args[0]
