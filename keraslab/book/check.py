"""Check a built book site in a real browser: Playwright driving the system Chromium.

The site is served from a local HTTP server and every HTML page is opened in turn. A page passes
when:

- it loads, and asks for nothing from another host (every request is recorded; names outside
  127.0.0.1 cannot even resolve);
- nothing is written to the console as an error, no exception is thrown, no resource fails;
- all its math is typeset by MathJax (no raw TeX left, in a formula or in the text outside
  code, no MathJax error);
- all its images load (``naturalWidth > 0``) and have alt text that is not a file name, and a lab
  results page (``labs/labN.html``) has some;
- each jupyterquiz question, answered wrong (with the mouse) then right (with the keyboard),
  shows the feedback written for that answer;
- each sphinx-exercise exercise has its numbered title, and each solution in a dropdown is hidden
  until its button is pressed (Enter), then shown;
- every quiz answer and every dropdown of the page's content is reached by pressing Tab;
- axe-core finds no serious or critical accessibility violation (minor and moderate ones are
  reported, not failed).

Chromium is the system's (``/usr/bin/chromium`` or another found on PATH): Playwright's own
browser download is never used.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import http.server
import os
import re
import shutil
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlparse

from keraslab.book import interact

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    # Any host but the local server resolves to nothing: a page cannot reach out, and a check
    # never waits on the network.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]
VIEWPORT = {"width": 1280, "height": 1000}
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
SCREENSHOT_PAGES = ("part1/xavier-he.html", "part1/vanishing-exploding.html",
                    "foundations/activations.html")
# axe-core's impact levels: the first two fail a page, the others are reported.
FAILING_IMPACTS = ("critical", "serious")
# How long a click or key may take to show its effect (feedback, an opened dropdown).
REACTION_MS = 3000
# The pages that show a lab's results; each must show figures.
LAB_RESULTS_PAGE = re.compile(r"labs/lab\d+\.html")


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


@contextlib.contextmanager
def chromium_browser(chromium: str | None = None):
    """The system Chromium, headless, under Playwright (whose own browsers are never used)."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError as exc:
        raise BrowserError("the book check needs Playwright: pip install 'keraslab[book]'") from exc
    executable = find_chromium(chromium)
    with sync_playwright() as p:
        try:
            browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        except Error as exc:
            raise BrowserError(f"Chromium ({executable}) did not start: {exc}") from exc
        try:
            yield browser
        finally:
            browser.close()


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


WAIT_READY = """
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  await document.fonts.ready;
  // Two frames: whatever the page's scripts changed on load has been laid out.
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
}
"""

_INSPECT = """
() => {
  const math = Array.from(document.querySelectorAll('.math'));
  const raw = math.filter(m => !m.querySelector('mjx-container')).map(m => m.textContent.slice(0, 60));
  const imgs = Array.from(document.querySelectorAll('main img, article img'));
  // TeX that reached the page as text (a formula the Markdown parser broke, e.g. by a line that
  // starts with "+ ", which makes a list): outside code and outside typeset math
  const walker = document.createTreeWalker(document.querySelector('article') || document.body,
    NodeFilter.SHOW_TEXT, {acceptNode: n => n.parentElement.closest(
      'pre, code, .math, mjx-container, script, style, .highlight, .Quiz') ? 2 : 1});
  const rawTex = [];
  while (walker.nextNode()) {
    const m = walker.currentNode.textContent.match(/\\\\(frac|sqrt|mathbf|mathrm|hat|lambda|sigma|alpha|sum|left|right|operatorname)\\b.{0,40}/);
    if (m) rawTex.push(m[0]);
  }
  const broken = imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src'));
  // alt text that is missing, empty, or only a file name says nothing about the image
  const unnamed = imgs.filter(i => !/[a-z]{3,}/i.test((i.getAttribute('alt') || '')
      .replace(/\\S*\\.(png|jpe?g|svg|gif|webp)\\b/gi, ''))).map(i => i.getAttribute('src'));
  return {
    math: math.length,
    mathjax: document.querySelectorAll('mjx-container').length,
    raw_math: raw,
    raw_tex: rawTex,
    math_errors: document.querySelectorAll('mjx-merror').length,
    images: imgs.length,
    broken_images: broken,
    images_without_alt: unnamed,
    exercises: document.querySelectorAll('.exercise').length,
    exercises_untitled: Array.from(document.querySelectorAll('.exercise')).filter(
      e => !(e.querySelector('.admonition-title') || {}).textContent).length,
    solutions: document.querySelectorAll('.solution.dropdown').length,
    open_solutions: document.querySelectorAll('.solution:not(.dropdown)').length,
  };
}
"""


@dataclasses.dataclass
class PageResult:
    page: str
    problems: list[str] = dataclasses.field(default_factory=list)
    stats: dict = dataclasses.field(default_factory=dict)
    # axe-core violations: {"rule", "impact", "help", "targets"}, one per rule
    accessibility: list[dict] = dataclasses.field(default_factory=list)


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

    def accessibility_counts(self, impacts=FAILING_IMPACTS) -> tuple[int, Counter, int]:
        """Pages with a violation of these impacts, elements per rule, elements in all."""
        found = [(p.page, v) for p in self.pages for v in p.accessibility if v["impact"] in impacts]
        rules = Counter()
        for _, v in found:
            rules[f"{v['rule']} ({v['impact']})"] += len(v["targets"])
        return len({page for page, _ in found}), rules, sum(rules.values())

    def summary(self) -> str:
        lines = [
            f"book check: {len(self.pages)} pages in {self.browser} ({self.seconds:.0f} s): "
            f"{self.total('mathjax')} formulas typeset, {self.total('images')} images, "
            f"{self.total('quiz_mc') + self.total('quiz_numeric')} quiz questions answered, "
            f"{self.total('exercises')} exercises, {self.total('solutions')} solutions opened, "
            f"{self.total('keyboard_targets')} quiz answers and dropdowns reached with Tab",
        ]
        for label, impacts in (("serious or critical", FAILING_IMPACTS),
                               ("minor or moderate (reported only)", ("minor", "moderate"))):
            pages, rules, elements = self.accessibility_counts(impacts)
            listed = ", ".join(f"{rule}: {n}" for rule, n in sorted(rules.items())) or "none"
            lines.append(f"book check: axe-core, {label}: {elements} element(s) on {pages} "
                         f"page(s) ({listed})")
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


def _watch(page) -> tuple[list[str], list[str]]:
    """Lists that fill with the page's console errors and its requests to other hosts."""
    errors: list[str] = []
    external: list[str] = []
    page.on("console", lambda m: m.type in ("error", "assert") and errors.append(
        f"console.{m.type}: {m.text[:200]} {m.location.get('url', '')}".rstrip()))
    page.on("pageerror", lambda exc: errors.append(f"exception: {str(exc)[:200]}"))
    page.on("request", lambda r: _is_external(r.url) and external.append(r.url))
    page.on("requestfailed", lambda r: not _is_external(r.url) and errors.append(
        f"request failed: {r.url} ({r.failure})"))
    return errors, external


def _inspect(result: PageResult, page, hidden_solutions: bool) -> None:
    stats = page.evaluate(_INSPECT)
    result.stats.update(stats)
    checks = [
        (stats["raw_math"], lambda v: f"{len(v)} formula(s) not typeset, e.g. {v[0]!r}"),
        (stats["math_errors"], lambda v: f"{v} MathJax error(s) in formulas"),
        (stats["raw_tex"], lambda v: f"raw TeX in the text (a formula not parsed as math): {v[:3]}"),
        (stats["broken_images"], lambda v: f"images that did not load: {v[:5]}"),
        (stats["images_without_alt"], lambda v: f"images without alt text: {v[:5]}"),
        (stats["exercises_untitled"], lambda v: f"{v} exercise(s) without a title"),
        (LAB_RESULTS_PAGE.fullmatch(result.page) and not stats["images"],
         lambda v: "a lab results page without figures"),
        (hidden_solutions and stats["open_solutions"],
         lambda v: f"{v} solution(s) shown without a click (give them `:class: dropdown`)"),
    ]
    result.problems.extend(message(value) for value, message in checks if value)


def audit(page) -> list[dict]:
    """axe-core's violations on the page, one entry per rule with the elements it flags."""
    from axe_playwright_python.sync_playwright import Axe

    # No CSSOM preload: axe would fetch @import-ed stylesheets relative to the page instead of
    # the importing stylesheet (a 404 for the theme's ../basic.css); only css-orientation-lock,
    # which this book cannot fail, needs it.
    response = Axe().run(page, options={"resultTypes": ["violations"], "preload": False}).response
    return [{"rule": v["id"], "impact": v.get("impact") or "minor", "help": v.get("help", ""),
             "targets": [" ".join(map(str, n.get("target", []))) for n in v["nodes"]]}
            for v in response["violations"]]


def _accessibility_problems(violations: list[dict]) -> list[str]:
    return [f"accessibility: {v['rule']} ({v['impact']}: {v['help']}) on "
            f"{len(v['targets'])} element(s): {', '.join(v['targets'][:4])}"
            for v in violations if v["impact"] in FAILING_IMPACTS]


def check_page(context, base_url: str, name: str, timeout: float,
               hidden_solutions: bool = True, accessibility: bool = True) -> PageResult:
    result = PageResult(name)
    page = context.new_page()
    page.set_default_timeout(timeout * 1000)
    errors, external = _watch(page)
    try:
        response = page.goto(f"{base_url}/{name}", wait_until="load")
        if response is None or not response.ok:
            result.problems.append(f"did not load ({response.status if response else 'no answer'})")
            return result
        page.evaluate(WAIT_READY)
        _inspect(result, page, hidden_solutions)
        if accessibility:  # before any answer is given: the page as a reader first meets it
            result.accessibility = audit(page)
            result.problems.extend(_accessibility_problems(result.accessibility))
        interact.check(page, result, REACTION_MS)
        page.evaluate("() => 0")  # a round trip: every event sent before now has arrived
    except Exception as exc:  # a page that breaks the checker is a failing page, not a crash
        result.problems.append(f"the check stopped: {type(exc).__name__}: {str(exc)[:300]}")
    finally:
        page.close()
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


def _screenshot(context, base_url: str, report: Report, pages: list[str], path: Path) -> None:
    target = next((p for p in SCREENSHOT_PAGES if p in pages), None)
    target = target or next((r.page for r in report.pages if r.stats.get("images")),
                            pages[0] if pages else None)
    if target:
        page = context.new_page()
        page.goto(f"{base_url}/{target}", wait_until="load")
        page.evaluate(WAIT_READY)
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path))
        page.close()
        report.screenshot = path


def check_site(site: Path, *, screenshot: Path | None = None, chromium: str | None = None,
               timeout: float = 30.0, pages: list[str] | None = None,
               hidden_solutions: bool = True, accessibility: bool = True) -> Report:
    """Open every page of ``site`` in headless Chromium and check it; see the module docstring.

    ``hidden_solutions=False`` accepts solutions shown open (the instructor edition);
    ``accessibility=False`` skips the axe-core audit.
    """
    site = Path(site).resolve()
    if not (site / "index.html").is_file():
        raise BrowserError(f"no built site at {site} (run `keraslab book build` first)")
    pages = list_pages(site) if pages is None else pages
    screenshot = Path(screenshot) if screenshot else site.parent / "screenshots" / "chapter.png"
    report = Report(site)
    started = time.monotonic()
    with chromium_browser(chromium) as browser, serve(site) as base_url:
        report.browser = f"Chromium {browser.version}"
        context = browser.new_context(viewport=VIEWPORT)
        for name in pages:
            report.pages.append(check_page(context, base_url, name, timeout, hidden_solutions,
                                           accessibility))
        _screenshot(context, base_url, report, pages, screenshot)
        context.close()
    report.seconds = time.monotonic() - started
    return report
