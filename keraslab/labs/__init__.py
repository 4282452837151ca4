"""The course's labs, one module per lab, and the registry that finds them.

Every module of this package named `lab<N>` is a lab (see `keraslab.labs.spec` for what it
declares): adding a lab is adding one file. Each lab has a `BASE` config (every run starts
from it), a `GRID` (a list of overrides, one per run, each with a `name`) and one block of
overrides per scale (`SCALES`):

- `fast`: small subsets and one or two epochs, for CI and a first look (minutes on a laptop);
- `cpu`: enough data and epochs for the lab's effects to show, sized so the whole grid runs on
  two CPU cores in well under an hour (the book's result tables are made at this scale);
- `full`: the course's settings, for a GPU.

Config keys are documented in `keraslab.train.config.RunConfig`. Labs take the course's
datasets (MNIST, CIFAR-10, flowers, CIFAR-100) from TFDS when they are available; offline,
the loaders substitute real scikit-learn digits and generated shapes (see `keraslab.data`),
and the results say which data was used.

Importing this package imports the lab modules but not TensorFlow; `run_lab` and
`make_figures` are imported on use.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import re
from collections.abc import Callable

from keraslab.labs.spec import product  # noqa: F401  (re-exported: lab modules build grids with it)
from keraslab.train.results import repeat_name

SCALES = ("fast", "cpu", "full")
_LAB_MODULE = re.compile(r"lab\d+$")
_REQUIRED = ("TITLE", "BASE", "GRID", "SCALES", "TABLE", "CLAIMS", "figures")
_LAZY = {"run_lab": "run", "make_figures": "figures"}
# Repeat k of a configuration runs with seed `seed + REPEAT_SEED_STRIDE * k`: far enough apart
# that a grid whose entries set seeds 0, 1, 2, ... (lab 5's ensemble members) never reuses one.
REPEAT_SEED_STRIDE = 1000


@dataclasses.dataclass(frozen=True)
class Lab:
    """One lab, as its module declares it (see `keraslab.labs.spec`)."""

    key: str
    title: str
    base: dict
    grid: list
    scales: dict
    table: list
    claims: list
    figures: Callable
    analyses: dict
    aliases: tuple
    module: object
    repeats: dict = dataclasses.field(default_factory=dict)

    @classmethod
    def from_module(cls, module):
        """The lab a module declares.

        Raises:
            ValueError: naming the module and what it lacks or gets wrong.
        """
        key = module.__name__.rsplit(".", 1)[-1]
        missing = [name for name in _REQUIRED if not hasattr(module, name)]
        if missing:
            raise ValueError(f"Lab module {module.__name__} must define {missing}. Received: a module without them")
        scales = module.SCALES
        if set(scales) != set(SCALES):
            raise ValueError(f"`SCALES` of {module.__name__} must have the scales {SCALES}. "
                             f"Received: SCALES keys {sorted(scales)}")
        names = [entry.get("name") for entry in module.GRID]
        if not names or None in names or len(set(names)) != len(names):
            raise ValueError(f"`GRID` of {module.__name__} must be runs with distinct names. Received: names {names}")
        repeats = {scale: 1 for scale in SCALES} | dict(getattr(module, "REPEATS", {}))
        if set(repeats) != set(SCALES) or not all(isinstance(n, int) and n >= 1 for n in repeats.values()):
            raise ValueError(f"`REPEATS` of {module.__name__} must give a positive integer per scale of {SCALES}. "
                             f"Received: REPEATS={getattr(module, 'REPEATS', None)!r}")
        return cls(key=key, title=module.TITLE, repeats=repeats, base=module.BASE, grid=module.GRID, scales=scales,
                   table=module.TABLE, claims=list(module.CLAIMS), figures=module.figures,
                   analyses=dict(getattr(module, "ANALYSES", {})),
                   aliases=(key[len("lab"):], *getattr(module, "ALIASES", ())), module=module)


def discover():
    """Imports every `lab<N>` module of this package; returns `{key: Lab}`, by lab number."""
    names = sorted((info.name for info in pkgutil.iter_modules(__path__) if _LAB_MODULE.match(info.name)),
                   key=lambda name: int(name[len("lab"):]))
    return {name: Lab.from_module(importlib.import_module(f"{__name__}.{name}")) for name in names}


LABS = discover()


def get_lab(name, registry=None):
    """The lab for a name ("lab1", "1", "init", ...), as `(key, Lab)`.

    Raises:
        ValueError: for an unknown lab, listing the known ones.
    """
    registry = LABS if registry is None else registry
    wanted = str(name).lower()
    for key, lab in registry.items():
        if wanted == key or wanted in lab.aliases:
            return key, lab
    raise ValueError(f"`lab` must be one of {sorted(registry)} (or their numbers). Received: lab={name!r}")


def resolve_scale(fast=False, scale=None):
    """The scale name from the `fast` flag and an optional explicit `scale`.

    Raises:
        ValueError: for an unknown scale, or `fast=True` with another scale.
    """
    if scale is None:
        return "fast" if fast else "full"
    if scale not in SCALES:
        raise ValueError(f"`scale` must be one of {SCALES}. Received: scale={scale!r}")
    if fast and scale != "fast":
        raise ValueError(f"`fast=True` contradicts `scale`. Received: scale={scale!r}")
    return scale


def lab_runs(name, fast=False, overrides=None, scale=None, registry=None):
    """The list of run configs of a lab: base, then the scale's overrides, then the grid
    entry, then `overrides` (from `--set`), which win over everything.

    At the fast scale offline data is allowed unless `overrides` says otherwise, because
    that is what CI runs (it never downloads).

    Args:
        name: the lab ("lab1", "1", "init", ...).
        fast: shorthand for `scale="fast"`.
        overrides: settings applied to every run.
        scale: "fast", "cpu" or "full" (default: "fast" if `fast` else "full").
        registry: `{key: Lab}` to look the lab up in (default: `LABS`).

    Returns:
        `(lab_key, lab, runs)`.
    """
    key, lab = get_lab(name, registry)
    scale = resolve_scale(fast, scale)
    runs = []
    repeats = lab.repeats[scale]
    for entry in lab.grid:
        run = {**lab.base, **lab.scales[scale], **entry, **(overrides or {})}
        if scale == "fast":
            run.setdefault("offline", True)
        run["lab"] = key
        if repeats == 1:
            runs.append(run)
            continue
        for repeat in range(repeats):
            runs.append({**run, "name": repeat_name(run["name"], repeat),
                         "seed": run.get("seed", 0) + REPEAT_SEED_STRIDE * repeat})
    return key, lab, runs


def lab_table(lab, results):
    """A lab's result table (its module's `TABLE`) for its result dicts, as Markdown: one row
    per configuration, mean ± standard deviation over its repeats."""
    from keraslab.train.report import repeated_table

    if str(lab) not in LABS:
        raise ValueError(f"`lab` must be one of {sorted(LABS)}. Received: lab={lab!r}")
    return repeated_table(results, LABS[str(lab)].table)


def load_analyses(lab, folder):
    """The lab's grid analyses (its module's `ANALYSES`) as a run wrote them to `folder`
    (`<name>.json` beside the runs), `{name: value}`; an analysis the folder lacks is left out."""
    import json
    from pathlib import Path

    if str(lab) not in LABS:
        raise ValueError(f"`lab` must be one of {sorted(LABS)}. Received: lab={lab!r}")
    folder = Path(folder)
    return {name: json.loads((folder / f"{name}.json").read_text())
            for name in LABS[str(lab)].analyses if (folder / f"{name}.json").is_file()}


def claims_table(lab, results, analyses=None):
    """The lab's course claims with their verdicts on `results` (and its grid analyses,
    `{name: value}`, for the claims about them), as Markdown: claim, the claimed size, the
    difference observed, the smallest difference the grid could see, the verdict (one of
    `keraslab.labs.spec.VERDICTS`) and the evidence."""
    from keraslab.train.stats import MISSING

    if str(lab) not in LABS:
        raise ValueError(f"`lab` must be one of {sorted(LABS)}. Received: lab={lab!r}")
    lines = ["| course claim | claimed | observed here | detectable | verdict here | evidence |",
             "| --- | --- | --- | --- | --- | --- |"]
    for claim in LABS[str(lab)].claims:
        verdict = claim.verdict(results, analyses)
        sizes = " | ".join(text or MISSING for text in (verdict.claimed, verdict.observed, verdict.detectable))
        lines.append(f"| {claim.text} | {sizes} | **{verdict.status}** | {verdict.evidence} |")
    return "\n".join(lines)


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
