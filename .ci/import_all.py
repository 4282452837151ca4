"""Imports every module of the installed keraslab, except those under the packages given with
--skip, and names each one that fails: the install that runs a module has what it imports at
module level (tests/test_dependencies.py checks every import statically, lazy ones too). Used by
.ci/run's user-install steps, from outside the checkout so that the installed keraslab is the one
imported.

    python .ci/import_all.py [--skip keraslab.book ...]
"""

import argparse
import importlib
import sys
from pathlib import Path


def module_names(skip: list[str]) -> list[str]:
    """Dotted names of keraslab's modules, found on disk (nothing is imported to list them)."""
    import keraslab

    root = Path(keraslab.__file__).parent
    names = []
    for path in sorted(root.rglob("*.py")):
        parts = ("keraslab", *path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        name = ".".join(parts)
        if name.endswith(".__main__") or any(name == s or name.startswith(s + ".") for s in skip):
            continue
        names.append(name)
    return names


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip", action="append", default=[], help="a package left out")
    args = parser.parse_args(argv)
    import keraslab

    if Path.cwd().resolve() in Path(keraslab.__file__).resolve().parents:
        print(f"import_all: keraslab comes from the current folder ({keraslab.__file__}), "
              "not from the install: run it from elsewhere", file=sys.stderr)
        return 2
    names, failed = module_names(args.skip), []
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as error:  # noqa: BLE001 - every failure is reported, then the run fails
            failed.append(f"{name}: {type(error).__name__}: {error}")
    for line in failed:
        print(f"import_all: {line}", file=sys.stderr)
    skipped = f" (left out: {', '.join(args.skip)})" if args.skip else ""
    print(f"import_all: {len(names) - len(failed)} of {len(names)} keraslab modules import{skipped}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
