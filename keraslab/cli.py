"""The `keraslab` command line: one entry point for running labs, releasing and grading
notebooks, and building the book.

Each subcommand lives in a module that exposes ``configure_<name>_parser(parser)`` and
``<name>_main(args) -> int`` for it, or ``configure_parser`` and ``main`` when the module
serves that one subcommand. Modules are imported only when their subcommand runs, so
``keraslab --help`` stays fast and does not import TensorFlow.
"""

from __future__ import annotations

import argparse
import importlib
import sys

SUBCOMMANDS = {
    "run": ("keraslab.labs.cli", "run a lab's experiment grid and write its results"),
    "release": ("keraslab.grading.cli", "make student notebooks from solution notebooks"),
    "grade": ("keraslab.grading.cli", "grade submissions against a solution notebook"),
    "gradebook": (
        "keraslab.grading.cli",
        "add hand-graded points to gradebooks and write one final CSV",
    ),
    "book": ("keraslab.book", "build the textbook site"),
}


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="keraslab", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = None
    if argv:
        wanted = next((a for a in argv if not a.startswith("-")), None)
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(_module=module_name)
        if name == wanted:
            module = importlib.import_module(module_name)
            configure = getattr(module, f"configure_{name}_parser", None)
            (configure or module.configure_parser)(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    module = importlib.import_module(args._module)
    run = getattr(module, f"{args.command}_main", None) or module.main
    return int(run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
