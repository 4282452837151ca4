"""The lab results the book shows match the labs' cpu-scale specs, so the two cannot drift apart.

`book/labs/results/labN` is what `keraslab run labN --scale cpu --offline --export ...` wrote.
If a lab's grid or settings change, this fails until the results are made again.
"""

import json
from pathlib import Path

import pytest

from keraslab.labs import LABS, lab_runs, load_analyses
from keraslab.labs.spec import VERDICTS, Verdict
from keraslab.train.config import DEFAULTS, resolve_config
from keraslab.train.results import load_results

RESULTS = Path(__file__).resolve().parents[2] / "book" / "labs" / "results"


def _as_json(value):
    return json.loads(json.dumps(value))


@pytest.mark.parametrize("lab", sorted(LABS))
def test_every_configuration_of_the_cpu_grid_has_its_result(lab):
    _, _, runs = lab_runs(lab, scale="cpu", overrides={"offline": True})
    results = {r["name"]: r for r in load_results(RESULTS / lab)}
    assert sorted(results) == sorted(run["name"] for run in runs)
    summary = json.loads((RESULTS / lab / "summary.json").read_text())
    assert summary["lab"] == lab and summary["scale"] == "cpu"


@pytest.mark.parametrize("lab", sorted(LABS))
def test_each_result_was_made_with_its_spec_and_says_how(lab):
    _, _, runs = lab_runs(lab, scale="cpu", overrides={"offline": True})
    results = {r["name"]: r for r in load_results(RESULTS / lab)}
    for run in runs:
        result = results[run["name"]]
        expected = _as_json(resolve_config(run))
        # A key added to RunConfig after a result was made counts at its default, as when a run
        # decides whether to reuse a finished result (`experiment.finished_result`).
        made_with = _as_json({**DEFAULTS, **result["config"]})
        differing = {k: (expected[k], made_with.get(k)) for k in expected if made_with.get(k) != expected[k]}
        assert not differing, f"{lab}/{run['name']}: spec and result differ on {differing}"
        assert result["command"].startswith(f"keraslab run {lab} --scale cpu --offline")
        assert {"keras", "tensorflow", "numpy"} <= set(result["versions"])


@pytest.mark.parametrize("lab", sorted(LABS))
def test_every_claim_of_every_lab_is_judged_on_the_committed_results(lab):
    """Each course claim a lab lists has a judge, and the judge gives a verdict with its
    evidence on the results the book shows (and the lab's analyses, such as lab 5's ensembles)."""
    spec = LABS[lab]
    assert spec.claims, f"{lab} lists no course claims"
    results = load_results(RESULTS / lab)
    analyses = load_analyses(lab, RESULTS / lab)
    assert sorted(analyses) == sorted(spec.analyses), f"{lab}: analyses missing from the results"
    for claim in spec.claims:
        assert claim.judge is not None, f"{lab}: {claim.text!r} has no judge"
        verdict = claim.verdict(results, analyses)
        assert isinstance(verdict, Verdict) and verdict.status in VERDICTS and verdict.evidence
