"""Check a built book site in a real browser (headless Chromium over the DevTools protocol).

The site is served from a local HTTP server and every HTML page is opened in turn. A page passes
when:

- it loads, and asks for nothing from another host (every request is recorded; names outside
  127.0.0.1 cannot even resolve);
- nothing is written to the console as an error, no exception is thrown, no resource fails;
- all its math is typeset by MathJax (no raw TeX left, no MathJax error);
- all its images load (``naturalWidth > 0``), and a lab results page (``labs/labN.html``) has some;
- each jupyterquiz question, answered wrong then right, shows the feedback written for that
  answer (multiple choice: clicked with the mouse; numeric: typed and sent with Enter);
- each sphinx-exercise exercise has its numbered title, and each solution in a dropdown is hidden
  until its button is clicked, then shown.

Chromium is driven over ``--remote-debugging-pipe``, so nothing but the standard library is needed.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import functools
import http.server
import json
import os
import queue
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--mute-audio",
    "--hide-scrollbars",
    "--window-size=1280,1000",
    # Any host but the local server resolves to nothing: a page cannot reach out, and a check
    # never waits on the network.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
SCREENSHOT_PAGES = ("part1/xavier-he.html", "part1/vanishing-exploding.html",
                    "foundations/activations.html")


class BrowserError(RuntimeError):
    """Chromium could not be started or stopped answering."""


def find_chromium(explicit: str | None = None) -> str:
    candidates = [explicit] if explicit else [os.environ.get("KERASLAB_CHROMIUM"), *CHROMIUM_NAMES]
    for name in candidates:
        if name and (path := shutil.which(name)):
            return path
    raise BrowserError(
        "no Chromium found (looked for " + ", ".join(c for c in candidates if c) + "); on Debian "
        "install it with `apt-get install chromium`, or pass --chromium PATH"
    )


# --------------------------------------------------------------------------- DevTools over a pipe


class Browser:
    """Headless Chromium with one page, driven over the DevTools protocol on a pipe."""

    def __init__(self, executable: str, timeout: float = 30.0):
        self.timeout = timeout
        self._profile = tempfile.mkdtemp(prefix="keraslab-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def wire_fds():  # in the child: the protocol expects to read fd 3 and write fd 4
            a, b = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self._proc = subprocess.Popen(
            [executable, *CHROMIUM_FLAGS, "--remote-debugging-pipe",
             f"--user-data-dir={self._profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=wire_fds, close_fds=False,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._next_id = 0
        self._pending: dict[int, queue.Queue] = {}
        self._events: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()
        try:
            version = self.send("Browser.getVersion")
            self.version = version.get("product", "?")
            target = self.send("Target.createTarget", {"url": "about:blank"})
            attached = self.send("Target.attachToTarget",
                                 {"targetId": target["targetId"], "flatten": True})
            self.session = attached["sessionId"]
            for domain in ("Page", "Runtime", "Network", "Log"):
                self.send(f"{domain}.enable", session=self.session)
        except Exception:
            self.close()
            raise

    def _read_loop(self):
        buffer = b""
        while True:
            try:
                chunk = os.read(self._from_browser, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                for waiter in list(self._pending.values()):
                    waiter.put({"error": {"message": "Chromium closed the connection"}})
                return
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "id" in message:
                    waiter = self._pending.pop(message["id"], None)
                    if waiter is not None:
                        waiter.put(message)
                else:
                    self._events.put(message)

    def send(self, method: str, params: dict | None = None, *, session: str | None = None,
             timeout: float | None = None) -> dict:
        with self._lock:
            self._next_id += 1
            ident = self._next_id
            waiter: queue.Queue = queue.Queue()
            self._pending[ident] = waiter
            message = {"id": ident, "method": method, "params": params or {}}
            if session:
                message["sessionId"] = session
            os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        try:
            reply = waiter.get(timeout=timeout or self.timeout)
        except queue.Empty:
            raise BrowserError(f"Chromium did not answer {method} within "
                               f"{timeout or self.timeout:.0f} s") from None
        if "error" in reply:
            raise BrowserError(f"{method}: {reply['error'].get('message')}")
        return reply.get("result", {})

    def page(self, method: str, params: dict | None = None, **kwargs) -> dict:
        return self.send(method, params, session=self.session, **kwargs)

    def drain_events(self) -> list[dict]:
        events = []
        while True:
            try:
                events.append(self._events.get_nowait())
            except queue.Empty:
                return events

    def wait_event(self, method: str, timeout: float, seen: list[dict]) -> bool:
        """Wait for an event of the page's session; every event read is appended to ``seen``."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                event = self._events.get(timeout=left)
            except queue.Empty:
                break
            seen.append(event)
            if event.get("method") == method and event.get("sessionId") == self.session:
                return True
        return False

    def evaluate(self, expression: str, *, timeout: float | None = None):
        result = self.page("Runtime.evaluate", {
            "expression": expression, "awaitPromise": True, "returnByValue": True,
        }, timeout=timeout)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise BrowserError(f"script failed in the page: {text}")
        return result.get("result", {}).get("value")

    def wait_for(self, condition: str, limit_ms: int = 3000):
        """The value of the JavaScript expression ``condition`` once it is truthy (or when
        ``limit_ms`` have passed)."""
        return self.evaluate(_WAIT_FOR % {"condition": condition, "limit": limit_ms},
                             timeout=limit_ms / 1000 + self.timeout)

    def flush_events(self) -> list[dict]:
        """Every event Chromium sent before now: a round trip, since replies and events come
        back over the pipe in order."""
        self.evaluate("0")
        return self.drain_events()

    def click(self, x: float, y: float):
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.page("Input.dispatchMouseEvent", {
                "type": kind, "x": x, "y": y, "button": "left", "clickCount": 1,
            })

    def type_and_enter(self, text: str):
        self.page("Input.insertText", {"text": text})
        for kind in ("keyDown", "char", "keyUp"):
            params = {"type": kind, "key": "Enter", "code": "Enter",
                      "windowsVirtualKeyCode": 13, "nativeVirtualKeyCode": 13}
            if kind == "char":
                params["text"] = "\r"
            self.page("Input.dispatchKeyEvent", params)

    def close(self):
        with contextlib.suppress(Exception):
            self.send("Browser.close", timeout=5)
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        for fd in (self._to_browser, self._from_browser):
            with contextlib.suppress(OSError):
                os.close(fd)
        shutil.rmtree(self._profile, ignore_errors=True)


# --------------------------------------------------------------------------- local server


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@contextlib.contextmanager
def serve(site: Path):
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# --------------------------------------------------------------------------- checks in the page

_WAIT_READY = """
(async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  await document.fonts.ready;
  // Two frames: whatever the page's scripts changed on load has been laid out.
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  return true;
})()
"""

# Evaluates CONDITION (a JavaScript expression) until it is truthy or LIMIT ms have passed, and
# returns its last value: the check waits for the state it expects, never for a fixed time.
_WAIT_FOR = """
(async () => {
  const deadline = performance.now() + %(limit)d;
  for (;;) {
    const value = (%(condition)s);
    if (value || performance.now() > deadline) return value;
    await new Promise(r => setTimeout(r, 10));
  }
})()
"""

# How long a click may take to show its effect (feedback, an opened dropdown).
REACTION_MS = 3000

_INSPECT = """
(() => {
  const math = Array.from(document.querySelectorAll('.math'));
  const raw = math.filter(m => !m.querySelector('mjx-container')).map(m => m.textContent.slice(0, 60));
  const imgs = Array.from(document.querySelectorAll('main img, article img'));
  const broken = imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src'));
  return {
    title: document.title,
    math: math.length,
    mathjax: document.querySelectorAll('mjx-container').length,
    raw_math: raw,
    math_errors: document.querySelectorAll('mjx-merror').length,
    images: imgs.length,
    broken_images: broken,
    exercises: document.querySelectorAll('.exercise').length,
    exercises_untitled: Array.from(document.querySelectorAll('.exercise')).filter(
      e => !(e.querySelector('.admonition-title') || {}).textContent).length,
    solutions: Array.from(document.querySelectorAll('.solution.dropdown')).map(
      (s, i) => { s.dataset.kls = i; return i; }).length,
    open_solutions: document.querySelectorAll('.solution:not(.dropdown)').length,
  };
})()
"""

_ELEMENT_CENTER = """
((sel, i) => {
  const el = document.querySelectorAll(sel)[i];
  el.scrollIntoView({block: 'center'});
  const r = el.getBoundingClientRect();
  return {x: r.left + r.width / 2, y: r.top + r.height / 2, w: r.width, h: r.height};
})(%s, %d)
"""

_TAG_QUIZZES = """
(() => {
  const quizzes = Array.from(document.querySelectorAll('.Quiz'));
  quizzes.forEach((w, j) => { w.dataset.klq = j; });
  return quizzes.map(w => w.querySelector('.MultipleChoiceQn') ? 'mc'
                        : w.querySelector('.NumericQn') ? 'numeric' : 'other');
})()
"""

_MC_ANSWERS = """
Array.from(document.querySelectorAll('.Quiz[data-klq="%d"] label.MCButton')).map(
  l => ({correct: l.dataset.correct === 'true', feedback: l.dataset.feedback || null}))
"""

_NUMERIC_ANSWERS = """
((inp) => ({answers: JSON.parse(inp.dataset.answers), precision: Number(inp.dataset.precision || 0)})
)(document.querySelector('.Quiz[data-klq="%d"] input.Input-text'))
"""

_FEEDBACK = """
((fb) => {
  const style = getComputedStyle(fb);
  return {visible: style.display !== 'none' && fb.offsetHeight > 0,
          correct: fb.classList.contains('correct'), incorrect: fb.classList.contains('incorrect'),
          text: fb.textContent.trim()};
})(document.querySelector('.Quiz[data-klq="%d"] .Feedback'))
"""

# The feedback of quiz J once it shows the state expected (RIGHT: true or false).
_FEEDBACK_SHOWN = "((fb) => fb.visible && fb.correct === %(right)s && fb)(%(feedback)s)"

_FEEDBACK_TEXT = """
((html) => { const d = document.createElement('div'); d.innerHTML = html; return d.textContent.trim(); })(%s)
"""

_SOLUTION_STATE = """
((i) => {
  const s = document.querySelectorAll('.solution.dropdown')[i];
  const body = Array.from(s.children).filter(c => !c.classList.contains('admonition-title')
                                                && c.tagName !== 'BUTTON');
  const shown = body.some(c => c.checkVisibility() && c.offsetHeight > 0);
  return {shown: shown, has_body: body.length > 0};
})(%d)
"""

_SOLUTION_BUTTON = ('.solution.dropdown[data-kls="{i}"] .toggle-button, '
                    '.solution.dropdown[data-kls="{i}"] > .admonition-title')


@dataclasses.dataclass
class PageResult:
    page: str
    problems: list[str] = dataclasses.field(default_factory=list)
    stats: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Report:
    site: Path
    browser: str = ""
    pages: list[PageResult] = dataclasses.field(default_factory=list)
    screenshot: Path | None = None
    seconds: float = 0.0

    @property
    def problems(self) -> list[str]:
        return [f"{p.page}: {problem}" for p in self.pages for problem in p.problems]

    @property
    def ok(self) -> bool:
        return bool(self.pages) and not self.problems

    def total(self, key: str) -> int:
        return sum(p.stats.get(key, 0) for p in self.pages)

    def summary(self) -> str:
        lines = [
            f"book check: {len(self.pages)} pages in {self.browser} ({self.seconds:.0f} s): "
            f"{self.total('mathjax')} formulas typeset, {self.total('images')} images, "
            f"{self.total('quiz_mc') + self.total('quiz_numeric')} quiz questions answered, "
            f"{self.total('exercises')} exercises, {self.total('solutions')} solutions opened",
        ]
        if self.screenshot:
            lines.append(f"book check: screenshot at {self.screenshot}")
        problems = self.problems
        lines.append("book check: OK" if self.ok else
                     f"book check: {len(problems)} problem(s):\n  " + "\n  ".join(problems))
        return "\n".join(lines)


def _is_external(url: str) -> bool:
    parsed = urlparse(url)
    if parsed.scheme in ("data", "blob", "about", "chrome", "chrome-extension", "devtools", ""):
        return False
    return parsed.hostname not in LOCAL_HOSTS


def _console_problems(events: list[dict], session: str) -> tuple[list[str], list[str]]:
    errors, external = [], []
    for event in events:
        if event.get("sessionId") != session:
            continue
        method, params = event.get("method"), event.get("params", {})
        if method == "Network.requestWillBeSent":
            url = params.get("request", {}).get("url", "")
            if _is_external(url):
                external.append(url)
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            errors.append("exception: " + (details.get("exception", {}).get("description")
                                           or details.get("text", "?"))[:200])
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            errors.append(f"console.{params['type']}: {text[:200]}")
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            errors.append(f"{entry.get('source', 'log')}: {entry.get('text', '')[:160]} "
                          f"{entry.get('url', '')}".rstrip())
    return errors, external


def _expected_text(browser: Browser, written: str | None, fallback: str) -> str:
    return browser.evaluate(_FEEDBACK_TEXT % json.dumps(written)) if written else fallback


def _judge(result: PageResult, what: str, state: str, fb: dict, expected: str) -> None:
    right = state == "right"
    if not fb["visible"] or fb["correct"] != right or fb["incorrect"] == right:
        result.problems.append(f"{what}: a {state} answer did not show {state}-answer feedback "
                               f"({fb})")
    elif fb["text"] != expected:
        result.problems.append(f"{what}: a {state} answer showed {fb['text']!r}, "
                               f"expected {expected!r}")


def _wait_feedback(browser: Browser, j: int, state: str) -> dict:
    """Quiz J's feedback once it shows the STATE ("right" or "wrong") answer's feedback, or as it
    is when that has not happened within REACTION_MS."""
    shown = browser.wait_for(_FEEDBACK_SHOWN % {
        "right": "true" if state == "right" else "false", "feedback": _FEEDBACK % j,
    }, REACTION_MS)
    return shown or browser.evaluate(_FEEDBACK % j)


def _check_quizzes(browser: Browser, result: PageResult, stats: dict) -> None:
    kinds = browser.evaluate(_TAG_QUIZZES)
    stats["quiz_mc"] = kinds.count("mc")
    stats["quiz_numeric"] = kinds.count("numeric")
    for j, kind in enumerate(kinds):
        what = f"quiz question {j + 1}"
        if kind == "mc":
            answers = browser.evaluate(_MC_ANSWERS % j)
            right = [k for k, a in enumerate(answers) if a["correct"]]
            wrong = [k for k, a in enumerate(answers) if not a["correct"]]
            if not right or not wrong:
                result.problems.append(f"{what} needs a right and a wrong answer")
                continue
            selector = json.dumps(f'.Quiz[data-klq="{j}"] label.MCButton')
            for k, state, fallback in ((wrong[0], "wrong", "Incorrect -- try again."),
                                       (right[0], "right", "Correct!")):
                box = browser.evaluate(_ELEMENT_CENTER % (selector, k))
                browser.click(box["x"], box["y"])
                fb = _wait_feedback(browser, j, state)
                _judge(result, what, state, fb,
                       _expected_text(browser, answers[k]["feedback"], fallback))
        elif kind == "numeric":
            question = browser.evaluate(_NUMERIC_ANSWERS % j)
            correct = [a for a in question["answers"] if a.get("correct")]
            default = next((a for a in question["answers"] if a.get("type") == "default"), {})
            if not correct:
                result.problems.append(f"{what} has no correct answer")
                continue
            good = correct[0]
            right_value = (good["value"] if good.get("type") == "value"
                           else (good["range"][0] + good["range"][1]) / 2)
            wrong_value = abs(right_value) * 1000 + 12345.0
            selector = json.dumps(f'.Quiz[data-klq="{j}"] input.Input-text')
            for value, state, expected in (
                (wrong_value, "wrong",
                 _expected_text(browser, default.get("feedback"), "Incorrect -- try again.")),
                (right_value, "right", _expected_text(browser, good.get("feedback"), "Correct")),
            ):
                box = browser.evaluate(_ELEMENT_CENTER % (selector, 0))
                browser.click(box["x"], box["y"])
                browser.evaluate(f"document.querySelector({selector}).value = ''")
                browser.type_and_enter(repr(float(value)))
                _judge(result, what, state, _wait_feedback(browser, j, state), expected)


def _check_solutions(browser: Browser, result: PageResult, stats: dict) -> None:
    for i in range(stats["solutions"]):
        before = browser.evaluate(_SOLUTION_STATE % i)
        if not before["has_body"]:
            result.problems.append(f"solution {i + 1} has no content")
            continue
        if before["shown"]:
            result.problems.append(f"solution {i + 1} is visible before it is clicked")
            continue
        button = json.dumps(_SOLUTION_BUTTON.format(i=i))
        box = browser.evaluate(_ELEMENT_CENTER % (button, 0))
        browser.click(box["x"], box["y"])
        # The dropdown animates open: wait until its content is visible.
        if not browser.wait_for(f"({_SOLUTION_STATE % i}).shown", REACTION_MS):
            result.problems.append(f"solution {i + 1} stays hidden after its button is clicked")


# The pages that show a lab's results; each must show figures.
LAB_RESULTS_PAGE = re.compile(r"labs/lab\d+\.html")


def check_page(browser: Browser, base_url: str, page: str, timeout: float,
               hidden_solutions: bool = True) -> PageResult:
    result = PageResult(page)
    browser.drain_events()
    events: list[dict] = []
    nav = browser.page("Page.navigate", {"url": f"{base_url}/{page}"})
    if nav.get("errorText"):
        result.problems.append(f"did not load: {nav['errorText']}")
        return result
    if not browser.wait_event("Page.loadEventFired", timeout, events):
        result.problems.append(f"did not finish loading within {timeout:.0f} s")
        return result
    browser.evaluate(_WAIT_READY, timeout=timeout)
    stats = browser.evaluate(_INSPECT)
    result.stats = stats
    if stats["raw_math"]:
        result.problems.append(f"{len(stats['raw_math'])} formula(s) not typeset, e.g. "
                               f"{stats['raw_math'][0]!r}")
    if stats["math_errors"]:
        result.problems.append(f"{stats['math_errors']} MathJax error(s) in formulas")
    if stats["broken_images"]:
        result.problems.append(f"images that did not load: {stats['broken_images'][:5]}")
    if stats["exercises_untitled"]:
        result.problems.append(f"{stats['exercises_untitled']} exercise(s) without a title")
    if LAB_RESULTS_PAGE.fullmatch(page) and not stats["images"]:
        result.problems.append("a lab results page without figures")
    if hidden_solutions and stats["open_solutions"]:
        result.problems.append(f"{stats['open_solutions']} solution(s) shown without a click "
                               "(give them `:class: dropdown`)")
    _check_quizzes(browser, result, stats)
    _check_solutions(browser, result, stats)
    events.extend(browser.flush_events())
    errors, external = _console_problems(events, browser.session)
    result.problems.extend(f"console error: {e}" for e in errors)
    result.problems.extend(f"request to another host: {u}" for u in sorted(set(external)))
    return result


def list_pages(site: Path) -> list[str]:
    """Every HTML page of the site, except redirects (their targets are pages too)."""
    pages = []
    for path in sorted(site.rglob("*.html")):
        rel = path.relative_to(site).as_posix()
        if rel.split("/")[0] in ("_static", "_sources", "_images"):
            continue
        if re.search(r"<meta[^>]+http-equiv=[\"']?refresh", path.read_text(errors="replace"), re.I):
            continue
        pages.append(rel)
    return pages


def check_site(site: Path, *, screenshot: Path | None = None, chromium: str | None = None,
               timeout: float = 30.0, pages: list[str] | None = None,
               hidden_solutions: bool = True) -> Report:
    """Open every page of ``site`` in headless Chromium and check it; see the module docstring.

    ``hidden_solutions=False`` accepts solutions shown open (the instructor edition).
    """
    site = Path(site).resolve()
    if not (site / "index.html").is_file():
        raise BrowserError(f"no built site at {site} (run `keraslab book build` first)")
    pages = list_pages(site) if pages is None else pages
    screenshot = Path(screenshot) if screenshot else site.parent / "screenshots" / "chapter.png"
    report = Report(site)
    started = time.monotonic()
    browser = Browser(find_chromium(chromium), timeout=timeout)
    report.browser = browser.version
    try:
        with serve(site) as base_url:
            for page in pages:
                try:
                    report.pages.append(check_page(browser, base_url, page, timeout,
                                                   hidden_solutions))
                except BrowserError as exc:
                    report.pages.append(PageResult(page, [str(exc)]))
            target = next((p for p in SCREENSHOT_PAGES if p in pages), None)
            target = target or next((r.page for r in report.pages if r.stats.get("images")),
                                    pages[0] if pages else None)
            if target:
                events: list[dict] = []
                browser.drain_events()
                browser.page("Page.navigate", {"url": f"{base_url}/{target}"})
                browser.wait_event("Page.loadEventFired", timeout, events)
                browser.evaluate(_WAIT_READY, timeout=timeout)
                shot = browser.page("Page.captureScreenshot", {"format": "png"})
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                screenshot.write_bytes(base64.b64decode(shot["data"]))
                report.screenshot = screenshot
    finally:
        browser.close()
    report.seconds = time.monotonic() - started
    return report
