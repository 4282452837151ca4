"""Plain nbgrader asserts, decided in the grader's process rather than the student's kernel.

Most courses test with ``assert f(x) == y`` or ``np.testing.assert_allclose(f(x), y)``. Run
as written, such a test is decided by the student's kernel, which the student controls (a
patched ``abs`` or ``numpy.allclose``, an AST transformer that drops asserts). For each
top-level ``assert`` statement, and each top-level call of a function whose name starts with
``assert``, of a test part:

1. In the code the kernel runs, each *leaf* of the expression is wrapped in
   `keraslab.grading.recording.keep`, which sends its value to the grader (exactly typed) and
   returns it unchanged, so the kernel still runs the test as written (same order and
   short-circuits, same errors and output). Leaves are the calls of names the solution's
   answer cells define (the student's functions), those names themselves, and other variables
   (the test's data). Modules the instructor's cells import, their attributes and builtins are
   not leaves.
2. The grader evaluates the same expression in its own process on the kept values, with its
   own builtins and its own imports of those modules.

A part then passes only if the kernel ran it to its receipt *and* every check holds in the
grader. Checks that the solution's own run cannot decide this way (one of its leaves is not a
plain value, a Keras model say, or the grader-side check disagrees with its kernel) are left to
the kernel, as in nbgrader; a student's leaf that is missing, sent twice or not a plain value
where the solution's was fails the check.

Not covered: the test's data are computed in the student's kernel (a student who patches how
they are made changes them); statements inside blocks, functions, comprehensions or lambdas
are left to the kernel.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import threading

from keraslab.grading import notebook as nbg
from keraslab.grading import protocol, recording, syntax

LEAVES = "__keraslab_leaves__"
_SCOPED = (
    ast.Lambda,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
    ast.NamedExpr,
    ast.Await,
    ast.Yield,
    ast.YieldFrom,
)
_BUILTINS = frozenset(dir(builtins))


@dataclasses.dataclass
class Check:
    """One assert of a test part, as the grader evaluates it.

    Attributes:
        expression: Python source over ``__keraslab_leaves__[i]``.
        kind: ``"assert"`` (the value must be true) or ``"call"`` (it must not raise).
        leaves: the indices of the leaves it reads.
        line: the line of the part it stands on (1-based), for messages.
    """

    expression: str
    kind: str
    leaves: list[int]
    line: int


@dataclasses.dataclass
class Names:
    """What instrumentation needs to know about an assignment.

    Attributes:
        solution: names the answer cells define (functions, classes, variables).
        modules: names the instructor's cells bind by imports.
        imports: those import statements, run in the grader's process.
    """

    solution: frozenset
    modules: frozenset
    imports: list[str]


def _bound_names(target) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [name for item in target.elts for name in _bound_names(item)]
    if isinstance(target, ast.Starred):
        return _bound_names(target.value)
    return []


def assignment_names(template) -> Names:
    """Reads the names the solution defines and the modules the instructor imports."""
    solution, modules, imports = set(), set(), []
    for cell in template.cells:
        if cell.get("cell_type") != "code":
            continue
        tree = syntax.parse_cell(nbg.cell_source(cell))
        if tree is None:
            continue
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                if nbg.is_solution(cell):
                    continue  # the student's own imports are the student's business
                if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
                    continue
                imports.append(ast.unparse(node))
                for alias in node.names:
                    modules.add((alias.asname or alias.name).split(".")[0])
            elif nbg.is_solution(cell):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    solution.add(node.name)
                elif isinstance(node, ast.Assign):
                    for target in node.targets:
                        solution.update(_bound_names(target))
                elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
                    solution.update(_bound_names(node.target))
    return Names(frozenset(solution - modules), frozenset(modules), imports)


def _root(node) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _is_assert_call(node, names: Names) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    last = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return last.lower().startswith("assert") and _root(func) not in names.solution


def _leaves(expression, names: Names) -> list:
    """The nodes of ``expression`` whose values come from the kernel, in evaluation order."""
    found = []

    def visit(node):
        if isinstance(node, ast.Call) and _root(node.func) in names.solution:
            found.append(node)
            return
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            grader_side = node.id in names.modules or (
                node.id in _BUILTINS and node.id not in names.solution
            )
            if not grader_side:
                found.append(node)
            return
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(expression)
    return found


def _rebuild(node, replacements):
    """A copy of ``node`` with the nodes in ``replacements`` (by id) swapped; no mutation."""
    if id(node) in replacements:
        return replacements[id(node)]
    if isinstance(node, list):
        return [_rebuild(item, replacements) for item in node]
    if not isinstance(node, ast.AST):
        return node
    new = type(node)(
        **{field: _rebuild(value, replacements) for field, value in ast.iter_fields(node)}
    )
    return ast.copy_location(new, node)


def _decided_expression(statement, spans, position, names: Names):
    """``(expression, kind)`` of a top-level statement the grader decides, or `None`."""
    if isinstance(statement, ast.Assert):
        expression, kind = statement.test, "assert"
    elif isinstance(statement, ast.Expr) and _is_assert_call(statement.value, names):
        expression, kind = statement.value, "call"
    else:
        return None
    if any(isinstance(node, _SCOPED) for node in ast.walk(expression)):
        return None
    shares_line = any(
        other != position and not (end < statement.lineno or start > statement.end_lineno)
        for other, (start, end) in enumerate(spans)
    )
    if shares_line or not _leaves(expression, names):
        return None
    return expression, kind


def _statements(code: str):
    try:
        tree = syntax.parse(code)
    except SyntaxError:
        return None  # IPython syntax (magics): left to the kernel
    return tree.body, [(s.lineno, s.end_lineno) for s in tree.body]


def split(code: str, names: Names) -> list[tuple[int, str]]:
    """Cuts one test part after each assert the grader decides: ``[(first line, code)]``.

    Each piece runs as its own request, so the grader can decide a piece's assert before
    anything after it runs: a test cell ends at its first failing statement, as in nbgrader,
    also when only the grader sees it fail. Pieces without a statement are left out.
    """
    parsed = _statements(code)
    if parsed is None:
        return [(1, code)]
    statements, spans = parsed
    lines = code.split("\n")
    cuts = [
        statement.end_lineno
        for position, statement in enumerate(statements)
        if _decided_expression(statement, spans, position, names) is not None
    ]
    pieces, start = [], 0
    for end in [*cuts, len(lines)]:
        if end > start:
            pieces.append((start + 1, "\n".join(lines[start:end])))
        start = max(start, end)
    return [(first, piece) for first, piece in pieces if _has_statement(piece)] or [(1, code)]


def _has_statement(code: str) -> bool:
    parsed = _statements(code)
    return parsed is None or bool(parsed[0])


def instrument(code: str, nonce: str, names: Names) -> tuple[str, list[Check]]:
    """Rewrites one test part so its asserts can be decided in the grader.

    The rewritten code has the part's lines in the same places (a rewritten statement stands
    on its first line, its other lines left blank), so line numbers name the same lines.

    Returns:
        ``(code to run, checks)``; the code unchanged and no checks when there is nothing to
        decide outside the kernel.
    """
    parsed = _statements(code)
    if parsed is None:
        return code, []
    statements, spans = parsed
    lines = code.split("\n")
    replaced: dict[int, str] = {}
    checks: list[Check] = []
    index = 0
    for position, statement in enumerate(statements):
        decided = _decided_expression(statement, spans, position, names)
        if decided is None:
            continue
        expression, kind = decided
        leaves = _leaves(expression, names)
        numbers = list(range(index, index + len(leaves)))
        index += len(leaves)
        kernel_nodes = {
            id(leaf): protocol.keep_call(nonce, number, leaf)
            for leaf, number in zip(leaves, numbers, strict=True)
        }
        grader_nodes = {
            id(leaf): ast.Subscript(ast.Name(LEAVES, ast.Load()), ast.Constant(number), ast.Load())
            for leaf, number in zip(leaves, numbers, strict=True)
        }
        grader_expression = _rebuild(expression, grader_nodes)
        new_statement = _rebuild(statement, kernel_nodes)
        replaced[statement.lineno] = ast.unparse(ast.fix_missing_locations(new_statement))
        for line in range(statement.lineno + 1, statement.end_lineno + 1):
            replaced[line] = ""
        checks.append(
            Check(
                ast.unparse(ast.fix_missing_locations(grader_expression)),
                kind,
                numbers,
                statement.lineno,
            )
        )
    if not checks:
        return code, []
    out = [replaced.get(number, line) for number, line in enumerate(lines, start=1)]
    return "\n".join(out), checks


class _Missing(Exception):
    """A check read a value the kernel never sent."""


class _Leaves:
    def __init__(self, values):
        self.values = values

    def __getitem__(self, index):
        if index not in self.values:
            raise _Missing(index)
        return self.values[index]


@dataclasses.dataclass
class Kept:
    """The values one test part's kernel sent for its checks."""

    values: dict
    unrecordable: set
    duplicated: set


def kept_values(outputs, nonce: str) -> Kept:
    kept = Kept({}, set(), set())
    for payload in protocol.payloads(outputs, recording.LEAF_MIME):
        if not isinstance(payload, dict) or payload.get("nonce") != nonce:
            continue
        index = payload.get("index")
        if not isinstance(index, int) or isinstance(index, bool):
            continue
        if index in kept.values or index in kept.unrecordable:
            kept.duplicated.add(index)
            continue
        if payload.get("unrecordable") is True:
            kept.unrecordable.add(index)
            continue
        try:
            kept.values[index] = recording.decode_exact(payload.get("value"))
        except (ValueError, TypeError, OverflowError):
            kept.duplicated.add(index)  # malformed: counts as tampered with
    return kept


class GraderScope:
    """The grader's own imports of the modules the instructor's cells import, made lazily
    (only those a check reads: importing TensorFlow for a check on NumPy would be waste)."""

    def __init__(self, imports: list[str]):
        self.imports = imports
        self.namespace: dict = {"__builtins__": builtins}
        self.done: set[str] = set()
        # Submissions are scored in several threads; imports change the namespace.
        self.lock = threading.Lock()

    def for_expression(self, expression: str) -> dict:
        """A copy of the namespace with the imports ``expression`` needs made."""
        with self.lock:
            return dict(self._import_for(expression))

    def _import_for(self, expression: str) -> dict:
        used = {
            n.id for n in ast.walk(syntax.parse(expression, mode="eval")) if isinstance(n, ast.Name)
        }
        for statement in self.imports:
            if statement in self.done:
                continue
            node = syntax.parse(statement).body[0]
            bound = {(a.asname or a.name).split(".")[0] for a in node.names}
            if bound & used:
                self.done.add(statement)
                try:
                    exec(compile(statement, "<instructor import>", "exec"), self.namespace)
                except Exception:  # a module the grader cannot import: those checks undecided
                    pass
        return self.namespace


PASS, FAIL, UNDECIDED = "pass", "fail", "undecided"


def decide(check: Check, kept: Kept, scope: GraderScope) -> str:
    """Evaluates one check in the grader's process: `PASS`, `FAIL` or `UNDECIDED`."""
    if any(index in kept.duplicated for index in check.leaves):
        return FAIL
    if any(index in kept.unrecordable for index in check.leaves):
        return UNDECIDED
    namespace = scope.for_expression(check.expression)
    namespace[LEAVES] = _Leaves(kept.values)
    try:
        value = eval(compile(check.expression, "<grader check>", "eval"), namespace)  # noqa: S307
        if check.kind == "assert" and not value:
            return FAIL
    except _Missing:
        return FAIL
    except NameError:
        return UNDECIDED  # the grader lacks a name its check needs
    except Exception:  # the check raised in the grader, as it would in a clean kernel
        return FAIL
    return PASS
