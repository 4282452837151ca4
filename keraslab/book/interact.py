"""The interactive parts of a book page, used as a reader uses them (for :mod:`keraslab.book.check`).

- Every quiz answer and every dropdown of the page's content must be reached by pressing Tab
  (a radio group counts as reached when Tab reaches one of its answers: the arrow keys move
  between the answers of a group).
- Each jupyterquiz question is answered wrong with the mouse, then right with the keyboard alone
  (a multiple-choice answer: focused, then Enter; a numeric one: typed, then Enter), and must show
  the feedback written for that answer each time.
- Each solution in a dropdown must be hidden until its button is focused and Enter is pressed,
  then shown; each other dropdown (``<details>``) must open on Enter.
"""

from __future__ import annotations

import json

# What a keyboard user must reach: quiz answers, dropdown buttons in the page's content.
TARGETS = (".Quiz label.MCButton input, .Quiz input.Input-text, "
           "article details > summary, .solution.dropdown .toggle-button")

_TAG_TARGETS = """
(selector) => {
  const targets = Array.from(document.querySelectorAll(selector));
  targets.forEach((t, i) => { t.dataset.klk = i; });
  window.__klReached = new Set();
  document.addEventListener('focusin', e => {
    if (e.target.dataset && e.target.dataset.klk !== undefined) window.__klReached.add(e.target.dataset.klk);
  }, true);
  document.activeElement && document.activeElement.blur();
  // Tab stops at most once on each element that can take focus.
  const stops = document.querySelectorAll('a[href], button, input, select, textarea, summary, [tabindex]');
  return {targets: targets.length, stops: stops.length};
}
"""

_NOT_REACHED = """
() => {
  const reached = window.__klReached;
  const targets = Array.from(document.querySelectorAll('[data-klk]'));
  const groups = new Set(targets.filter(t => t.type === 'radio' && reached.has(t.dataset.klk)).map(t => t.name));
  return targets.filter(t => !reached.has(t.dataset.klk) && !(t.type === 'radio' && groups.has(t.name)))
    .map(t => (t.closest('label, summary, button, .Quiz') || t).textContent.trim().replace(/\\s+/g, ' ').slice(0, 50)
              || t.outerHTML.slice(0, 60));
}
"""

_TAG_QUIZZES = """
() => Array.from(document.querySelectorAll('.Quiz')).map((w, j) => {
  w.dataset.klq = j;
  return w.querySelector('.MultipleChoiceQn') ? 'mc' : w.querySelector('.NumericQn') ? 'numeric' : 'other';
})
"""

_MC_ANSWERS = """
(j) => Array.from(document.querySelectorAll(`.Quiz[data-klq="${j}"] label.MCButton`)).map(
  l => ({correct: l.dataset.correct === 'true', feedback: l.dataset.feedback || null}))
"""

_FEEDBACK = """
(j) => {
  const fb = document.querySelector(`.Quiz[data-klq="${j}"] .Feedback`);
  return {visible: getComputedStyle(fb).display !== 'none' && fb.offsetHeight > 0,
          correct: fb.classList.contains('correct'), incorrect: fb.classList.contains('incorrect'),
          text: fb.textContent.trim()};
}
"""

_FEEDBACK_SHOWN = "([j, right]) => { const fb = (%s)(j); return fb.visible && fb.correct === right; }"

_HTML_TEXT = "(html) => { const d = document.createElement('div'); d.innerHTML = html; return d.textContent.trim(); }"

_SOLUTION_STATE = """
(i) => {
  const s = document.querySelectorAll('.solution.dropdown')[i];
  const body = Array.from(s.children).filter(c => !c.classList.contains('admonition-title')
                                                && c.tagName !== 'BUTTON');
  return {shown: body.some(c => c.checkVisibility() && c.offsetHeight > 0), has_body: body.length > 0};
}
"""


def _press_on(page, locator, key: str) -> bool:
    """Focus the element (as Tab would) and press ``key``; False when it cannot take the focus."""
    locator.focus()
    if not locator.evaluate("el => el === document.activeElement"):
        return False
    page.keyboard.press(key)
    return True


def _wait(page, expression: str, arg, limit_ms: int) -> bool:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(expression, arg=arg, timeout=limit_ms)
        return True
    except PlaywrightTimeout:
        return False


def check_reach(page, result) -> None:
    """Press Tab through the page; every quiz answer and dropdown must take the focus."""
    counts = page.evaluate(_TAG_TARGETS, TARGETS)
    result.stats["keyboard_targets"] = counts["targets"]
    if not counts["targets"]:
        return
    for _ in range(counts["stops"] + 2):
        page.keyboard.press("Tab")
    missed = page.evaluate(_NOT_REACHED)
    if missed:
        result.problems.append(f"{len(missed)} quiz answer(s) or dropdown(s) not reached with "
                               f"Tab, e.g. {missed[:3]}")


def _judge(page, result, j: int, state: str, expected: str, limit_ms: int) -> None:
    right = state == "right"
    _wait(page, _FEEDBACK_SHOWN % _FEEDBACK, [j, right], limit_ms)
    fb = page.evaluate(_FEEDBACK, j)
    how = "the mouse" if state == "wrong" else "the keyboard"
    what = f"quiz question {j + 1}"
    if not fb["visible"] or fb["correct"] != right or fb["incorrect"] == right:
        result.problems.append(f"{what}: a {state} answer given with {how} did not show "
                               f"{state}-answer feedback ({fb})")
    elif fb["text"] != expected:
        result.problems.append(f"{what}: a {state} answer showed {fb['text']!r}, "
                               f"expected {expected!r}")


def _text(page, written: str | None, fallback: str) -> str:
    return page.evaluate(_HTML_TEXT, written) if written else fallback


def _answer_mc(page, result, j: int, limit_ms: int) -> None:
    answers = page.evaluate(_MC_ANSWERS, j)
    right = [k for k, a in enumerate(answers) if a["correct"]]
    wrong = [k for k, a in enumerate(answers) if not a["correct"]]
    if not right or not wrong:
        result.problems.append(f"quiz question {j + 1} needs a right and a wrong answer")
        return
    labels = page.locator(f'.Quiz[data-klq="{j}"] label.MCButton')
    labels.nth(wrong[0]).click()
    _judge(page, result, j, "wrong", _text(page, answers[wrong[0]]["feedback"],
                                           "Incorrect -- try again."), limit_ms)
    _press_on(page, labels.nth(right[0]).locator("input"), "Enter")
    _judge(page, result, j, "right", _text(page, answers[right[0]]["feedback"], "Correct!"),
           limit_ms)


def _answer_numeric(page, result, j: int, limit_ms: int) -> None:
    box = page.locator(f'.Quiz[data-klq="{j}"] input.Input-text')
    answers = json.loads(box.get_attribute("data-answers"))
    correct = [a for a in answers if a.get("correct")]
    if not correct:
        result.problems.append(f"quiz question {j + 1} has no correct answer")
        return
    good = correct[0]
    default = next((a for a in answers if a.get("type") == "default"), {})
    right_value = (good["value"] if good.get("type") == "value"
                   else (good["range"][0] + good["range"][1]) / 2)
    wrong_value = abs(right_value) * 1000 + 12345.0
    box.click()
    page.keyboard.type(repr(float(wrong_value)))
    page.keyboard.press("Enter")
    _judge(page, result, j, "wrong", _text(page, default.get("feedback"), "Incorrect -- try again."),
           limit_ms)
    box.fill("")
    box.focus()
    page.keyboard.type(repr(float(right_value)))
    page.keyboard.press("Enter")
    _judge(page, result, j, "right", _text(page, good.get("feedback"), "Correct"), limit_ms)


def check_quizzes(page, result, limit_ms: int) -> None:
    kinds = page.evaluate(_TAG_QUIZZES)
    result.stats["quiz_mc"] = kinds.count("mc")
    result.stats["quiz_numeric"] = kinds.count("numeric")
    for j, kind in enumerate(kinds):
        if kind == "mc":
            _answer_mc(page, result, j, limit_ms)
        elif kind == "numeric":
            _answer_numeric(page, result, j, limit_ms)


def check_dropdowns(page, result, limit_ms: int) -> None:
    solutions = page.locator(".solution.dropdown")
    for i in range(solutions.count()):
        before = page.evaluate(_SOLUTION_STATE, i)
        if not before["has_body"]:
            result.problems.append(f"solution {i + 1} has no content")
            continue
        if before["shown"]:
            result.problems.append(f"solution {i + 1} is visible before it is opened")
            continue
        button = solutions.nth(i).locator(".toggle-button").first
        if not button.count() or not _press_on(page, button, "Enter"):
            result.problems.append(f"solution {i + 1} has no button that takes the focus")
            continue
        # The dropdown animates open: wait until its content is visible.
        if not _wait(page, f"(i) => ({_SOLUTION_STATE})(i).shown", i, limit_ms):
            result.problems.append(f"solution {i + 1} stays hidden after Enter on its button")
    summaries = page.locator("article details > summary")
    result.stats["dropdowns"] = summaries.count()
    for i in range(summaries.count()):
        summary = summaries.nth(i)
        if summary.evaluate("s => s.parentElement.open"):
            continue
        opened = _press_on(page, summary, "Enter") and _wait(
            page, "(s) => s.parentElement.open", summary.element_handle(), limit_ms)
        if not opened:
            name = summary.text_content().strip()[:50]
            result.problems.append(f"dropdown {name!r} does not open on Enter")


def check(page, result, limit_ms: int) -> None:
    """Every interactive check of this module on one loaded page."""
    check_reach(page, result)
    check_quizzes(page, result, limit_ms)
    check_dropdowns(page, result, limit_ms)
