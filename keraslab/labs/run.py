"""Running a lab's grid: every configuration through `run_experiment`, then the summary, the
lab's grid analyses and its figures.

Per lab, in `<out>/`: one folder per run (see `keraslab.train.experiment`), `summary.csv`,
`summary.json`, one `<analysis>.json` per grid analysis of the lab (lab 5: `ensemble.json`)
and PNG figures made from the result files only (`make_figures`).
"""

from __future__ import annotations

from pathlib import Path

from keraslab import labs
from keraslab.labs.figures import make_figures
from keraslab.train.config import RunConfig
from keraslab.train.results import summarize, write_json, write_summary


def select_runs(key, runs, only):
    """The runs whose name contains one of the strings `only` (all when `only` is None)."""
    if not only:
        return runs
    wanted = [only] if isinstance(only, str) else list(only)
    selected = [r for r in runs if any(w in r["name"] for w in wanted)]
    if not selected:
        raise ValueError(f"`only` matches no run of {key}. Received: only={only!r}")
    return selected


def run_lab(lab, *, fast=False, scale=None, out_dir=None, overrides=None, only=None, runtime=None, verbose=1,
            command=None, log=print):
    """Runs every configuration of a lab's grid, then writes the summary and figures.

    Finished runs with an unchanged config are reused, so an interrupted lab continues
    where it stopped; an interrupted run resumes from its backup.

    Args:
        lab: "lab1" ... "lab5" (or "1" ... "5", see `keraslab.labs`).
        fast: small subsets and few epochs (the same as `scale="fast"`).
        scale: "fast", "cpu" or "full" (see `keraslab.labs`; default "full", or "fast"
            when `fast` is set).
        out_dir: output folder (default `runs/<lab>`, or `runs/<lab>-<scale>` below full scale).
        overrides: settings applied to every run (the CLI's `--set`).
        only: run only the configurations whose name contains one of these strings.
        runtime: a `Runtime` (default: `keraslab.train.strategy.setup()`).
        verbose: Keras verbosity.
        command: the command line to record.
        log: where progress lines go.

    Returns:
        A dict: `lab`, `out_dir`, `results` (list of result dicts), `figures` (paths), and
        one entry per grid analysis of the lab (lab 5: `ensemble`, None with too few seeds).
    """
    from keraslab.train import strategy
    from keraslab.train.experiment import run_experiment

    scale = labs.resolve_scale(fast, scale)
    key, spec, runs = labs.lab_runs(lab, scale=scale, overrides=overrides)
    runs = select_runs(key, runs, only)
    for run in runs:
        RunConfig.from_dict(run)  # a bad `--set` fails before any folder is made or model trained
    out = Path(out_dir or Path("runs") / (key + ("" if scale == "full" else f"-{scale}")))
    out.mkdir(parents=True, exist_ok=True)
    runtime = runtime or strategy.setup()
    log(f"{key}: {spec.title} ({len(runs)} runs, {runtime.kind} strategy, {runtime.num_replicas} replica(s)) -> {out}")
    results = []
    for i, run in enumerate(runs, start=1):
        log(f"[{i}/{len(runs)}] {run['name']}")
        result = run_experiment(run, out, runtime=runtime, verbose=verbose, command=command)
        log(f"    accuracy {result['final_accuracy']:.3f}, epochs to target {result['epochs_to_target']}, "
            f"{result['time_per_epoch'] or 0:.2f} s/epoch ({result['data']['source']})")
        results.append(result)
    rows = summarize(results)
    report = {"lab": key, "title": spec.title, "scale": scale, "fast": scale == "fast", "runs": rows}
    analyses = {}
    for name, analyze in spec.analyses.items():
        analyses[name] = analyze(out, results)
        if analyses[name] is not None:
            write_json(out / f"{name}.json", analyses[name])
            report[name] = analyses[name]
    write_summary(out, rows, report)
    figures = make_figures(key, out)
    return {"lab": key, "out_dir": str(out), "results": results, "figures": figures, **analyses}
