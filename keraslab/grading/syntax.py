"""Parsing Python source in the grader, safe to call from several threads at once.

The grader scores submissions in threads, and each parses test cells. In CPython 3.11 (this
project's interpreter) the counter that `ast.parse` keeps while it builds a tree, to check the
tree's depth, lives in state that every thread shares (python/cpython#106905). When the garbage
collector runs Python code in the middle of one thread's parse, the interpreter can switch to
another thread whose parse resets that counter, and the first fails with "SystemError: AST
constructor recursion depth mismatch" although its source is fine. So every parse in the grader
goes through one lock, and the spurious error, which a parse elsewhere in the process (the
`traceback` module parses too) can still cause, is answered by parsing again.
"""

from __future__ import annotations

import ast
import threading

_LOCK = threading.Lock()
_SPURIOUS = "AST constructor recursion depth mismatch"
_ATTEMPTS = 3


def parse(source: str, mode: str = "exec") -> ast.AST:
    """`ast.parse(source, mode=mode)`, one thread at a time.

    Raises:
        SyntaxError: as `ast.parse` does.
    """
    with _LOCK:
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                return ast.parse(source, mode=mode)
            except SystemError as error:
                if _SPURIOUS not in str(error) or attempt == _ATTEMPTS:
                    raise
    raise AssertionError("unreachable")  # pragma: no cover


def parse_cell(source: str) -> ast.Module | None:
    """A notebook cell's tree, as IPython would run it (magics turned into calls), or `None`
    when it does not parse."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return parse(TransformerManager().transform_cell(source))
    except (SyntaxError, ValueError):
        return None
