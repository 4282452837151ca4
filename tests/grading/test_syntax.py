"""The grader parses test cells in one thread per submission: parsing must survive that."""

import ast
import gc
import sys
import threading

import pytest

from keraslab.grading import syntax

# Deep enough that the tree builder recurses: the depth counter is what two threads disturb.
PARSE_CODE = ast.parse.__code__
SOURCE = "\n".join(
    f"x{i} = [f(a, b=[1, (2, {{3: g(h(4))}})]) for a in range({i}) if a]" for i in range(40)
)


def _parse_with_another_parse_in_the_middle(parse):
    """Runs `parse(SOURCE)` here while, in the middle of building its tree, a second thread
    (at another call depth) runs `parse(SOURCE)` too.

    The garbage collector runs `gc.callbacks` in the middle of allocating the tree's nodes; the
    callback hands the interpreter to the other thread, exactly as finalizers do in a busy grader.
    """
    here = threading.current_thread()
    other = threading.Thread(target=parse, args=(SOURCE,))
    started = []

    def interleave(phase, info):
        inside_parse = sys._getframe(1).f_code is PARSE_CODE  # called from compile() in ast.parse
        if phase == "start" and inside_parse and not started and threading.current_thread() is here:
            started.append(True)
            other.start()
            # With a lock the other parse waits for this one: do not wait for it for ever.
            other.join(timeout=1.0)

    threshold = gc.get_threshold()
    gc.callbacks.append(interleave)
    gc.set_threshold(1)  # a collection at the first allocations of the tree
    try:
        return parse(SOURCE), started
    finally:
        gc.callbacks.remove(interleave)
        gc.set_threshold(*threshold)
        if started:
            other.join()


def test_a_parse_interrupted_by_another_threads_parse_returns_the_right_tree():
    tree, interleaved = _parse_with_another_parse_in_the_middle(syntax.parse)
    assert interleaved, "the collector never ran during the parse: the test proved nothing"
    assert ast.dump(tree) == ast.dump(ast.parse(SOURCE))


def test_parse_keeps_the_mode():
    assert isinstance(syntax.parse("1 + 2", mode="eval"), ast.Expression)


def _failing(times, error):
    calls = []
    real = ast.parse

    def fake(source, mode="exec"):
        calls.append(source)
        if len(calls) <= times:
            raise error
        return real(source, mode=mode)

    return fake, calls


EXPECTED = ast.dump(ast.parse("y = 1"))


def test_the_spurious_depth_error_from_a_parse_elsewhere_is_answered_by_parsing_again(monkeypatch):
    fake, calls = _failing(
        1, SystemError("AST constructor recursion depth mismatch (before=3, after=4)")
    )
    monkeypatch.setattr(ast, "parse", fake)
    assert ast.dump(syntax.parse("y = 1")) == EXPECTED
    assert len(calls) == 2


def test_other_system_errors_and_syntax_errors_are_not_retried(monkeypatch):
    fake, calls = _failing(5, SystemError("something else"))
    monkeypatch.setattr(ast, "parse", fake)
    with pytest.raises(SystemError, match="something else"):
        syntax.parse("y = 1")
    assert len(calls) == 1
    monkeypatch.undo()
    with pytest.raises(SyntaxError):
        syntax.parse("y = = 1")
