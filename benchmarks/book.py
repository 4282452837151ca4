"""Clean build, no-op rebuild and prose-edit rebuild time of the whole book.

Builds the student edition into a fresh temporary folder (its own execution cache, so every
page's code runs), builds it again unchanged, then appends a sentence to one chapter and builds
once more, and prints the three times with the targets (clean < 15 min and no-op rebuild < 30 s
on 2 cores). The edited chapter is restored afterwards.

    python benchmarks/book.py [--page part1/xavier-he.md] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from keraslab import book  # noqa: E402


def timed_build(out: Path) -> float:
    started = time.monotonic()
    book.build(edition="student", out=out)
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--page", default="part1/xavier-he.md", help="chapter to edit for the third build")
    parser.add_argument("--out", default=None, help="build folder (default: a new temporary folder)")
    args = parser.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="keraslab-book-bench-"))
    page = book.find_book() / args.page
    clean = timed_build(out)
    noop = timed_build(out)
    original = page.read_text(encoding="utf-8")
    try:
        page.write_text(original + "\nOne more sentence of prose.\n", encoding="utf-8")
        edit = timed_build(out)
    finally:
        page.write_text(original, encoding="utf-8")
    result = {"clean_s": round(clean), "noop_rebuild_s": round(noop, 1), "prose_edit_rebuild_s": round(edit, 1),
              "targets": {"clean_s": 900, "noop_rebuild_s": 30}}
    print(json.dumps(result, indent=1))
    return 0 if clean < 900 and noop < 30 else 1


if __name__ == "__main__":
    raise SystemExit(main())
