"""The grader's side of its protocol with the student's kernel, in one place.

The grader adds calls to the code it sends the kernel and reads their messages back from the
kernel's display outputs to that request (`keraslab.grading.recording` is the kernel's side):

- a **receipt** ends every test step: ``receipt(nonce)`` publishes the step's fresh nonce, so
  the grader knows the step ran to its end (`receipt_call`, `has_receipt`);
- **keep** wraps each value of an assert the grader decides: ``keep(nonce, index, value)``
  sends the value and returns it unchanged (`keep_call`, `payloads`);
- **record** is the instructor's own call in hidden tests (`payloads` of
  `recording.RECORD_MIME`).

Text shown to students never shows the grader's calls (`strip_calls`).
"""

from __future__ import annotations

import ast
import re

from keraslab.grading import recording, syntax

RECORDING_MODULE = "keraslab.grading.recording"
# Outputs the grader reads to score; the executor keeps them whatever was printed before.
MIMES = (recording.RECORD_MIME, recording.RECEIPT_MIME, recording.LEAF_MIME)


def _function(name: str) -> str:
    """An expression for ``recording.<name>`` that needs no import in the kernel's namespace."""
    return f'__import__("{RECORDING_MODULE}", fromlist=["{name}"]).{name}'


def receipt_call(nonce: str) -> str:
    """The line appended to a test step: its receipt, echoing ``nonce``."""
    return f'\n{_function("receipt")}("{nonce}")'


def keep_call(nonce: str, index: int, node: ast.expr) -> ast.Call:
    """``keep(nonce, index, <node>)``: sends the value of ``node`` to the grader as value
    number ``index`` of the step with this ``nonce``."""
    call = syntax.parse(f'{_function("keep")}("{nonce}", {int(index)}, None)', mode="eval").body
    call.args[2] = node
    return call


def payloads(outputs, mime: str) -> list:
    """The payloads of type ``mime`` among one request's outputs, in order."""
    return [
        output["data"][mime]
        for output in outputs
        if isinstance(output, dict) and isinstance(output.get("data"), dict) and mime in output["data"]
    ]


def has_receipt(outputs, nonce: str) -> bool:
    """Whether one request's outputs hold the receipt of ``nonce``."""
    found = payloads(outputs, recording.RECEIPT_MIME)
    return nonce in [str(p.get("nonce")) if isinstance(p, dict) else "" for p in found]


# The calls as the kernel's tracebacks and warnings may quote them: written by `receipt_call`
# (double quotes) or rewritten by `ast.unparse` (single quotes).
_Q = "[\"']"
_MODULE = rf"__import__\({_Q}{re.escape(RECORDING_MODULE)}{_Q}, fromlist=\[{_Q}(?:receipt|keep){_Q}\]\)"
_RECEIPT_LINE = re.compile(
    rf"^[ \t>-]*\d*[ \t]*{_MODULE}\.receipt\({_Q}[0-9a-f]{{32}}{_Q}\)[ \t]*\n?", re.MULTILINE
)
_RECEIPT_CALL = re.compile(rf"\n?{_MODULE}\.receipt\({_Q}[0-9a-f]{{32}}{_Q}\)")
_KEEP_CALL = re.compile(rf"{_MODULE}\.keep\({_Q}[0-9a-f]{{32}}{_Q}, \d{{1,6}}, ")


def strip_calls(text: str) -> str:
    """``text`` without the grader's receipt lines, and with its ``keep(nonce, i, value)``
    wrappers shortened to ``keep(value``: what a traceback or a warning may quote of them."""
    text = _RECEIPT_CALL.sub("", _RECEIPT_LINE.sub("", text))
    return _KEEP_CALL.sub("keep(", text)
