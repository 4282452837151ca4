"""Per-student feedback, written from the grader's results (never from the executed notebook).

It holds the points per question with a grader-written reason, the cells that were restored,
and the output of the *visible* test parts. Student-controlled text (output, file names) is
fenced or escaped so it cannot pose as grader text, and any line of solution, hidden-test or
mark-scheme text is redacted, in case a student's kernel echoes what it was sent.
"""

from __future__ import annotations

import dataclasses
import html
import re

from keraslab.grading import protocol

MAX_OUTPUT_CHARS = 4000
# Output is cut to this many characters before any pattern runs over it: the patterns then
# cost the same for a 1 MB line as for a short one. Generous, as cleaning shortens the text.
MAX_CLEANED_CHARS = 4 * MAX_OUTPUT_CHARS
_ANSI = re.compile(r"\x1b\[[0-9;?]{0,64}[ -/]{0,8}[@-~]")
# ipykernel names cell files after its process id: drop it so feedback repeats exactly.
_CELL_FILE = re.compile(r"\S{0,300}/ipykernel_\d+/\d+\.py")
_SCRATCH = re.compile(r"/tmp/klg-[A-Za-z0-9_]+")


# IPython's traceback: a frame of a cell opens with "Cell In[7], line 3", then shows its lines
# numbered in a field of 7 characters, the current one with an arrow ("----> 3 code").
_CELL_FRAME = re.compile(r"^Cell In\[(\d{1,9})\], line (\d{1,9})(.{0,300})$")
_CONTEXT_LINE = re.compile(r"^(?:-*> ?| *)(\d{1,9})(?: (.*))?$")
NUMBER_WIDTH = 7


@dataclasses.dataclass(frozen=True)
class Shown:
    """What the student reads of one test step: its cell's lines, or nothing (hidden).

    Attributes:
        lines: the part's own lines the step ran (`None`: a hidden part).
        first_line: the line of the part on which ``lines`` start.
    """

    lines: tuple[str, ...] | None
    first_line: int = 1


def _numbered(number: int, text: str, current: bool) -> str:
    digits = str(number)
    pad = NUMBER_WIDTH - len(digits)
    field = ("-" * (pad - 2) + "> " + digits) if current and pad >= 2 else digits.rjust(NUMBER_WIDTH)
    return f"{field} {text}".rstrip()


def _student_frame(lines: list[str], start: int, shown: Shown) -> tuple[list[str], int]:
    """The frame of a test step that opens at ``lines[start]``, in the student's own lines;
    returns ``(new lines, index after the frame)``."""
    header = _CELL_FRAME.match(lines[start])
    end = start + 1
    while end < len(lines) and _CONTEXT_LINE.match(lines[end]):
        end += 1
    if shown.lines is None:
        return ["Cell of the hidden tests (not shown)"], end
    offset = shown.first_line - 1
    new = [f"Cell In[{header.group(1)}], line {int(header.group(2)) + offset}{header.group(3)}"]
    for line in lines[start + 1 : end]:
        number = int(_CONTEXT_LINE.match(line).group(1))
        if 1 <= number <= len(shown.lines):
            current = line.lstrip(" ").startswith("-")
            new.append(_numbered(number + offset, shown.lines[number - 1], current))
    return new, end


def student_traceback(text: str, steps: dict) -> str:
    """A traceback with each frame of a test step shown in the cell's own lines.

    The kernel ran the grader's rewriting of a test (its asserts instrumented, a receipt call
    appended); ``steps`` maps the kernel's execution count of each test step to its `Shown`.
    Frames of other cells (the student's own code) are left as they are.
    """
    lines = _ANSI.sub("", text).split("\n")
    out, index = [], 0
    while index < len(lines):
        header = _CELL_FRAME.match(lines[index])
        shown = steps.get(int(header.group(1))) if header else None
        if shown is None:
            out.append(lines[index])
            index += 1
            continue
        frame, index = _student_frame(lines, index, shown)
        out += frame
    return "\n".join(out)


def output_text(outputs, steps: dict | None = None) -> str:
    """Plain text of notebook outputs: streams, text results and error tracebacks (test
    steps' frames in their own lines, with ``steps`` as in `student_traceback`)."""
    pieces = []
    for output in outputs:
        kind = output.get("output_type")
        if kind == "stream":
            pieces.append(str(output.get("text", "")))
        elif kind in ("execute_result", "display_data"):
            text = output.get("data", {}).get("text/plain", "")
            text = "".join(text) if isinstance(text, list) else str(text)
            if text and not text.startswith("<recorded "):
                pieces.append(text + "\n")
        elif kind == "error":
            text = "\n".join(str(line) for line in output.get("traceback", []))
            pieces.append(student_traceback(text[:MAX_CLEANED_CHARS], steps or {}) + "\n")
    return "".join(pieces)


def clean_output(text: str, secret) -> str:
    """Output fit for feedback: at most `MAX_OUTPUT_CHARS`, without terminal codes, grader
    calls, scratch paths or secret lines."""
    dropped = max(0, len(text) - MAX_CLEANED_CHARS)
    text = text[:MAX_CLEANED_CHARS]
    text = _ANSI.sub("", text)
    text = protocol.strip_calls(text)
    text = _CELL_FILE.sub("<cell>", text)
    text = _SCRATCH.sub(".", text)
    text = secret.redact(text)
    if len(text) > MAX_OUTPUT_CHARS:
        dropped += len(text) - MAX_OUTPUT_CHARS
        text = text[:MAX_OUTPUT_CHARS]
    if dropped:
        text += f"\n[... {dropped} more characters]"
    return text


def _fence(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text.rstrip()}\n{fence}"


def _md_cell(text: str) -> str:
    return html.escape(str(text), quote=False).replace("|", "\\|").replace("\n", " ")


def _summary(assignment, result):
    restored = [(gid, "edited") for gid in result.tampered] + [
        (gid, "missing, re-added") for gid in result.missing
    ]
    return _hand_lines(assignment, result), restored


def _hand_lines(assignment, result) -> list[str]:
    """What the hand-graded cells stand at: scored 0 unanswered, or still to be graded."""
    hand = getattr(result, "hand", None) or []
    if not hand:
        manual = sum(getattr(assignment, "manual", {}).values()) + sum(
            getattr(assignment, "tasks", {}).values()
        )
        return [f"Graded by hand later: {manual:g} more points"] if manual else []
    lines = []
    for item in hand:
        what = "answer" if item.kind == "manual" else "task"
        if item.points is None:
            lines.append(
                f"{item.grade_id} ({what}, {item.max_points:g} points): graded by hand later"
            )
        else:
            note = f", {item.note}" if item.note else ""
            lines.append(
                f"{item.grade_id} ({what}): {item.points:g} / {item.max_points:g} points{note}"
            )
    return lines


def render_markdown(assignment, result) -> str:
    manual, restored = _summary(assignment, result)
    lines = [
        f"# Feedback on {_md_cell(assignment.name)}",
        "",
        f"- Student: {_md_cell(result.student)}",
        f"- Status: **{result.status}** ({_md_cell(result.message)})",
        f"- Score: **{result.total:g} / {assignment.max_points:g}** points graded automatically",
    ]
    lines += [f"- {_md_cell(text)}" for text in manual]
    lines += ["", "| Question | Points | Result |", "| --- | --- | --- |"]
    for question in result.questions:
        lines.append(
            f"| {_md_cell(question.grade_id)} | {question.points:g} / {question.max_points:g} "
            f"| {_md_cell(question.reason)} |"
        )
    if restored:
        lines += ["", "Cells restored from the assignment before grading:"]
        lines += [f"- {_md_cell(gid)}: {why}" for gid, why in restored]
    shown = [(q, clean_output(q.visible_output, assignment.secret)) for q in result.questions]
    shown = [(q, text) for q, text in shown if text.strip()]
    if shown:
        lines += ["", "## Output of the visible tests"]
        for question, text in shown:
            lines += ["", f"### {_md_cell(question.grade_id)}", "", _fence(text)]
    return "\n".join(lines) + "\n"


def render_html(assignment, result) -> str:
    manual, restored = _summary(assignment, result)
    e = html.escape
    rows = "\n".join(
        f"<tr><td>{e(q.grade_id)}</td><td>{q.points:g} / {q.max_points:g}</td>"
        f"<td>{e(q.reason)}</td></tr>"
        for q in result.questions
    )
    parts = [
        "<!DOCTYPE html>",
        '<html><head><meta charset="utf-8">',
        f"<title>Feedback on {e(assignment.name)}</title>",
        "<style>body{font-family:sans-serif;max-width:50em;margin:2em auto}"
        "td,th{border:1px solid #ccc;padding:.3em .6em}table{border-collapse:collapse}"
        "pre{background:#f6f6f6;padding:.6em;overflow:auto}</style></head><body>",
        f"<h1>Feedback on {e(assignment.name)}</h1>",
        f"<p>Student: {e(result.student)}<br>Status: <b>{e(result.status)}</b> "
        f"({e(result.message)})<br>Score: <b>{result.total:g} / {assignment.max_points:g}</b> "
        "points graded automatically" + "".join(f"<br>{e(text)}" for text in manual) + "</p>",
        f"<table><tr><th>Question</th><th>Points</th><th>Result</th></tr>\n{rows}\n</table>",
    ]
    if restored:
        items = "".join(f"<li>{e(gid)}: {why}</li>" for gid, why in restored)
        parts.append(f"<p>Cells restored from the assignment before grading:</p><ul>{items}</ul>")
    shown = [(q, clean_output(q.visible_output, assignment.secret)) for q in result.questions]
    shown = [(q, text) for q, text in shown if text.strip()]
    if shown:
        parts.append("<h2>Output of the visible tests</h2>")
        for question, text in shown:
            parts.append(f"<h3>{e(question.grade_id)}</h3><pre>{e(text)}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def render(assignment, result, feedback_format: str = "md") -> str:
    """Feedback for one submission as Markdown (``"md"``) or HTML (``"html"``)."""
    if feedback_format == "md":
        return render_markdown(assignment, result)
    if feedback_format == "html":
        return render_html(assignment, result)
    raise ValueError(f"feedback_format must be 'md' or 'html', got {feedback_format!r}")
