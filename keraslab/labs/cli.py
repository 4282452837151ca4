"""`keraslab run LAB`: run a lab's experiment grid from the command line.

Examples::

    keraslab run lab1 --fast                      # CI-sized, offline data allowed
    keraslab run lab2 --scale cpu --offline       # the book's scale: the grid on 2 CPU cores
    keraslab run 2 --out runs/lab2 --set epochs=10 --set train_size=5000
    keraslab run lab5 --only seed --set dataset=cifar100
    keraslab run list                             # the labs and their runs
"""

from __future__ import annotations

import ast
import json


def parse_value(text):
    """Parses a `--set` value: JSON or a Python literal when it is one, else the string.

    Example:
    >>> [parse_value(v) for v in ["3", "0.5", "true", "none", "[8, 16]", "he"]]
    [3, 0.5, True, None, [8, 16], 'he']
    """
    lowered = text.strip().lower()
    if lowered in ("none", "null"):
        return None
    if lowered in ("true", "false"):
        return lowered == "true"
    for parse in (json.loads, ast.literal_eval):
        try:
            return parse(text)
        except (ValueError, SyntaxError):
            continue
    return text


def parse_overrides(pairs):
    """`["key=value", ...]` to a dict; raises ValueError naming a malformed pair."""
    out = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set expects key=value. Received: {pair!r}")
        out[key.strip()] = parse_value(value)
    return out


def configure_parser(parser):
    """Adds the `run` subcommand's arguments to `parser`."""
    from keraslab.labs import SCALES

    parser.add_argument("lab", help="lab1 ... lab5 (or 1-5, init, normalization, ...), or 'list'")
    parser.add_argument("--fast", action="store_true",
                        help="small subsets and few epochs (CI); allows offline data, never downloads "
                             "(the same as --scale fast)")
    parser.add_argument("--scale", choices=SCALES, default=None,
                        help="fast: CI-sized; cpu: the whole grid on 2 CPU cores, as in the book's "
                             "result tables; full: the course's settings, for a GPU (default)")
    parser.add_argument("--out", default=None, help="output folder (default runs/<lab>[-fast])")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a setting for every run (repeatable), e.g. --set epochs=3")
    parser.add_argument("--only", action="append", default=None, metavar="TEXT",
                        help="run only configurations whose name contains TEXT (repeatable)")
    parser.add_argument("--offline", action="store_true",
                        help="use offline stand-in data when the TFDS data is not on disk")
    parser.add_argument("--quiet", action="store_true", help="no Keras progress bars")
    parser.add_argument("--export", default=None, metavar="DIR",
                        help="also write compact results (JSON, no figures or predictions) to DIR, "
                             "e.g. book/labs/results/lab1")
    return parser


def main(args) -> int:
    """Runs the subcommand; returns the exit status."""
    import sys

    from keraslab import labs

    if args.lab == "list":
        for key, spec in labs.LABS.items():
            print(f"{key}: {spec.title}")
            print("    runs: " + ", ".join(r["name"] for r in spec.grid))
        return 0
    try:
        overrides = parse_overrides(args.overrides)
        if args.offline:
            overrides.setdefault("offline", True)
        labs.get_lab(args.lab)
        scale = labs.resolve_scale(args.fast, args.scale)
    except ValueError as exc:
        print(f"keraslab run: {exc}", file=sys.stderr)
        return 2

    from keraslab.data.tfds import DatasetUnavailableError
    from keraslab.labs.run import run_lab

    try:
        report = run_lab(args.lab, scale=scale, out_dir=args.out, overrides=overrides, only=args.only,
                         verbose=0 if args.quiet else 1, command="keraslab run " + " ".join(sys.argv[2:]))
    except (ValueError, DatasetUnavailableError) as exc:
        print(f"keraslab run: {exc}", file=sys.stderr)
        return 2
    print(f"results: {report['out_dir']}/summary.csv; figures: {report['out_dir']}/figures/")
    if args.export:
        from keraslab.train.results import export_results

        count = export_results(report["out_dir"], args.export)
        print(f"exported {count} run(s) to {args.export}")
    return 0
