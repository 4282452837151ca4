"""Sphinx extension for the keraslab book: editions and offline fixes.

- ``keraslab_edition`` (``"student"`` or ``"instructor"``) adds the Sphinx tag of the same name,
  so chapters can hold ``{only} instructor`` blocks that never reach the student site.
- In the instructor edition, sphinx-exercise solutions are shown open instead of as dropdowns.
- sphinx-thebe (loaded by Jupyter Book, unused here: no live code) is switched off; it declares
  its script twice per page, which is an error in the browser, and points at a CDN.
- ``{{ repository_url }}`` and ``{{ repository_branch }}`` in a page, code blocks included, become
  the book's ``repository`` setting (``_config.yml``), so install commands follow a fork.
- jupyterquiz's JavaScript falls back to MathJax from a CDN on a page without MathJax; the
  address is rewritten to the MathJax copy that ships with the site, so no page can reach out.
- Accessibility fixes for what other projects write (``keraslab book check`` audits every page
  with axe-core; each fix should go upstream, where it is named): the navigation's expand
  buttons, a ``<summary>`` holding only an icon, get a name (pydata-sphinx-theme); the
  bibliography's entries get the role their ``role="list"`` requires, ``listitem`` instead of the
  deprecated ``doc-biblioentry`` (docutils); quiz answer boxes get a label, answers Enter and a
  visible focus (jupyterquiz; ``static/keraslab-quiz-a11y.js``); the quiz box's colours (1.7:1,
  jupyterquiz) and links in admonitions (4.3:1, sphinx-book-theme) get AA contrast
  (``static/keraslab-a11y.css``).
- The single-page build (``keraslab book pdf``) renders every node the site does: sphinx-exercise
  registers its nodes for ``singlehtml`` by name, and Sphinx then looks up no ``html`` handler for
  that builder, so myst-nb's nodes (hidden code cells) had none (upstream: sphinx-exercise).
- A figure a page's code displays gets its alt text from the description stored in its PNG
  (``keraslab.plots.show`` writes what the figure shows there); myst-nb itself gives a cell's
  image no alt text, so the HTML would show the file's path to a screen reader.
"""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

EDITIONS = ("student", "instructor")
QUIZ_CDN_MATHJAX = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-svg.js"


def _add_edition_tag(app, config):
    edition = config.keraslab_edition
    if edition not in EDITIONS:
        raise ValueError(f"keraslab_edition must be one of {EDITIONS}, not {edition!r}")
    app.tags.add(edition)


def _open_solutions(app, doctree, docname):
    if app.config.keraslab_edition != "instructor":
        return
    from sphinx_exercise.nodes import solution_node

    for node in doctree.findall(solution_node):
        node["classes"] = [c for c in node["classes"] if c != "dropdown"]


def _localize_quiz_mathjax(text: str, page: Path, outdir: Path) -> str:
    static = os.path.relpath(outdir / "_static" / "mathjax" / "tex-svg.js", page.parent)
    return text.replace(QUIZ_CDN_MATHJAX, static)


# pydata-sphinx-theme's navigation: a page link, then <details> whose <summary> holds only an icon.
_NAV_TOGGLE = re.compile(
    r'(<a class="[^"]*\breference\b[^"]*"[^>]*>(?P<name>(?:(?!</a>).)*)</a>\s*<details(?:\s[^>]*)?>\s*)'
    r'<summary>(?=\s*<span class="toctree-toggle")', re.S)


def _name_nav_toggles(text: str, page: Path, outdir: Path) -> str:
    def named(match):
        name = html.escape(html.unescape(re.sub(r"<[^>]+>", "", match["name"])).strip())
        return f'{match[1]}<summary aria-label="Pages under {name}">'

    return _NAV_TOGGLE.sub(named, text)


def _citation_roles(text: str, page: Path, outdir: Path) -> str:
    # docutils writes <div role="list"> holding role="doc-biblioentry" entries: ARIA wants a
    # list's children to be list items, and DPUB-ARIA 1.1 deprecates doc-biblioentry.
    return text.replace('role="doc-biblioentry"', 'role="listitem"')


_HTML_FIXES = (_localize_quiz_mathjax, _name_nav_toggles, _citation_roles)


def _fix_html(app, exc):
    if exc is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    for page in outdir.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        fixed = text
        for fix in _HTML_FIXES:
            fixed = fix(fixed, page, outdir)
        if fixed != text:
            page.write_text(fixed, encoding="utf-8")


def _singlehtml_handlers(app):
    if app.builder.name != "singlehtml":
        return
    handlers = app.registry.translation_handlers
    single = handlers.setdefault("singlehtml", {})
    for node, pair in handlers.get("html", {}).items():
        single.setdefault(node, pair)


def _add_static_files(app, config):
    config.html_static_path.append(str(Path(__file__).parent / "static"))


def _png_description(path: Path) -> str:
    if path.suffix.lower() != ".png" or not path.is_file():
        return ""
    from PIL import Image

    from keraslab.plots import DESCRIPTION_KEY

    with Image.open(path) as image:
        return image.text.get(DESCRIPTION_KEY, "").strip()


def _describe_images(app, doctree):
    from docutils import nodes

    for node in doctree.findall(nodes.image):
        if node.get("alt"):
            continue
        _, path = app.env.relfn2path(node["uri"], app.env.docname)
        description = _png_description(Path(path))
        if description:
            node["alt"] = description


def _read_repository(app, config):
    # A config value (not just a file read) so that changing the setting re-reads every page.
    if not config.keraslab_repository:
        from keraslab import _project

        repository = _project.read_repository(Path(app.srcdir) / "_config.yml")
        config.keraslab_repository = f"{repository.url} {repository.branch}"


def _fill_repository(app, docname, source):
    # Before MyST parses the page, so the address also reaches code blocks.
    url, branch = app.config.keraslab_repository.split()
    source[0] = (source[0].replace("{{ repository_url }}", url)
                 .replace("{{ repository_branch }}", branch))


def _switch_off_thebe(app):
    for event in ("env-before-read-docs", "doctree-resolved"):
        listeners = app.events.listeners.get(event, [])
        listeners[:] = [
            listener for listener in listeners
            if not getattr(listener.handler, "__module__", "").startswith("sphinx_thebe")
        ]


def setup(app):
    _switch_off_thebe(app)
    app.add_config_value("keraslab_edition", "student", "env")
    app.add_config_value("keraslab_repository", "", "env")
    app.connect("config-inited", _add_edition_tag)
    app.connect("config-inited", _read_repository)
    app.connect("config-inited", _add_static_files)
    app.connect("builder-inited", _singlehtml_handlers)
    app.add_css_file("keraslab-a11y.css")
    app.add_js_file("keraslab-quiz-a11y.js")
    app.connect("doctree-resolved", _open_solutions)
    app.connect("doctree-read", _describe_images, priority=400)
    app.connect("source-read", _fill_repository)
    # After sphinx-mathjax-offline (priority 500) has copied MathJax into _static.
    app.connect("build-finished", _fix_html, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
