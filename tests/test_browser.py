"""The book as a reader meets it: every page opened in a real browser.

Headless Chromium from the system (Debian's ``chromium`` package; ``.ci/run``
installs it when it is missing), driven by Playwright for Python through
``executable_path``: no browser is ever downloaded. The book is built once
into a temporary folder and served on 127.0.0.1; then, for every page of the
table of contents (plus the index and search pages):

- no console error, no uncaught exception, no failed request, no HTTP error;
- no request to any other host: every request is routed, and one that leaves
  the local server is recorded and aborted (the book works offline);
- MathJax has rendered every formula, with no math error, no undefined macro
  and no raw TeX left in the page;
- each equation number (4.5.N) of the chapters in ``_toc.yml`` is rendered
  exactly once in the whole book (read from MathJax's rendered tags);
- no display equation is cut off at 1280x800 or 390x844 (a phone): a wide
  equation scrolls inside its own box, and that box stays in the column;
- every figure loads.

The checks are plain functions of a Playwright page; the tests at the end
show that each one reports its defect on a small synthetic page
(``tests/browser_fixtures``) that uses the book's own MathJax.

On failure a screenshot is saved to ``test-artifacts/browser/<test name>/``.
Without Chromium or Playwright the tests are skipped, saying why; under CI
(``CI=true``) a missing browser fails them.

The book is built with ``execute_notebooks: off``: the pages show the outputs
stored in the notebooks, which nbval checks against a fresh run, and the
build takes seconds instead of re-executing every notebook (test_build.py
does the executing build). ``LLMLOSS_BOOK_HTML=_build/html`` tests an
existing build instead, and ``LLMLOSS_CHROMIUM`` names another browser binary.
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
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from test_equations import CHAPTERS, EQUATIONS

from conftest import ROOT, toc_files

pytestmark = pytest.mark.build

FIXTURES = Path(__file__).resolve().parent / "browser_fixtures"
ARTIFACTS = ROOT / "test-artifacts" / "browser"
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
# Without the background-networking flags Chromium calls Google hosts on its
# own, which would look like failed or foreign requests of the book.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 60_000
PAGES = [*toc_files(), "genindex", "search"]
EXPECTED_NUMBERS = sorted(n for sub in CHAPTERS for n in EQUATIONS[sub])
DEFECT = "data-browser-test-defect"


# --------------------------------------------------------------------------
# The checks: plain functions of a Playwright page (or of what it recorded).
# Each returns a list of problems, empty when the page is fine.
# --------------------------------------------------------------------------


@dataclasses.dataclass
class NetworkLog:
    """Everything a page asked of the network, and what went wrong."""

    origin: str
    console_errors: list[str] = dataclasses.field(default_factory=list)
    failed_requests: list[str] = dataclasses.field(default_factory=list)
    foreign_requests: list[str] = dataclasses.field(default_factory=list)

    def is_local(self, url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme in ("data", "blob", "about") or f"{parts.scheme}://{parts.netloc}" == self.origin


def watch_network(page, origin: str) -> NetworkLog:
    """Record console errors and requests of ``page``; abort any request that
    leaves ``origin`` (so it is caught here, never by the network failing)."""
    log = NetworkLog(origin)

    def route(route):
        request = route.request
        if log.is_local(request.url):
            route.continue_()
        else:
            log.foreign_requests.append(f"{request.resource_type} {request.url}")
            route.abort("blockedbyclient")

    def console(message):
        if message.type != "error":
            return
        url = message.location.get("url", "") if message.location else ""
        if not log.is_local(url):
            return  # a foreign request that route() aborted: reported as foreign
        if urlsplit(url).path == "/favicon.ico" and "Failed to load resource" in message.text:
            return  # the browser's own guess at an icon, not a request of the page
        log.console_errors.append(f"console error: {message.text} ({url})")

    def failed(request):
        if log.is_local(request.url):
            log.failed_requests.append(f"request failed: {request.url} ({request.failure})")

    def response(resp):
        if resp.status >= 400 and log.is_local(resp.url):
            log.failed_requests.append(f"HTTP {resp.status}: {resp.url}")

    page.route("**/*", route)
    page.on("console", console)
    page.on("pageerror", lambda error: log.console_errors.append(f"uncaught exception: {error}"))
    page.on("requestfailed", failed)
    page.on("response", response)
    return log


def network_problems(log: NetworkLog) -> list[str]:
    """Console errors, uncaught exceptions, failed requests, HTTP errors."""
    return log.console_errors + log.failed_requests


def foreign_problems(log: NetworkLog) -> list[str]:
    """Requests to any host other than the local server."""
    return [f"request to another host: {r}" for r in log.foreign_requests]


def settle(page) -> None:
    """Wait until MathJax has typeset the page, fonts are in and the network is idle."""
    page.wait_for_load_state("load", timeout=TIMEOUT_MS)
    page.evaluate(
        """async () => {
            if (window.MathJax && window.MathJax.startup && window.MathJax.startup.promise) {
                await window.MathJax.startup.promise;
            }
            await document.fonts.ready;
        }"""
    )


_MATHJAX_JS = r"""([defect]) => {
    const problems = [];
    const short = (s) => s.replace(/\s+/g, ' ').trim().slice(0, 100);
    const mark = (el) => el.setAttribute(defect, 'math');
    const maths = Array.from(document.querySelectorAll('.math'));
    const mj = window.MathJax;
    if (maths.length && !(mj && mj.startup && mj.startup.document)) {
        maths.forEach(mark);
        return [`${maths.length} formulas, but MathJax did not start`];
    }
    // every formula element holds a rendered formula and no TeX source
    for (const el of maths) {
        if (!el.querySelector('mjx-container')) {
            mark(el);
            problems.push(`not rendered: ${short(el.textContent)}`);
            continue;
        }
        const rest = el.cloneNode(true);
        rest.querySelectorAll('mjx-container, .headerlink, .eqno').forEach((e) => e.remove());
        if (/\\[()[\]]|\$\$|\\[A-Za-z]{2,}/.test(rest.textContent)) {
            mark(el);
            problems.push(`raw TeX left beside the rendered formula: ${short(rest.textContent)}`);
        }
    }
    // no math error and no undefined macro (MathJax draws those in red, not as an error)
    for (const item of (mj && mj.startup.document ? mj.startup.document.math : [])) {
        const root = item.typesetRoot;
        if (!root) continue;
        const error = root.querySelector('mjx-merror');
        if (error) {
            mark(root);
            const what = error.getAttribute('data-mjx-error') || short(error.textContent);
            problems.push(`math error "${what}" in ${short(item.math)}`);
        }
        const mml = mj.startup.toMML(item.root);
        for (const m of mml.matchAll(/<mtext[^>]*mathcolor="red"[^>]*>(\\[^<]*)<\/mtext>/g)) {
            mark(root);
            problems.push(`undefined macro ${m[1]} in ${short(item.math)}`);
        }
    }
    // no TeX left in the prose (outside code, which may quote it)
    const article = document.querySelector('main') || document.body;
    const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT, {
        acceptNode: (node) => node.parentElement.closest(
            'pre, code, script, style, textarea, .highlight, .math, mjx-container, .tex2jax_ignore .output_area'
        ) ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT,
    });
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const tex = node.textContent.match(
            /\$\$|\\[()[\]]|\\(begin|end)\{|\\(frac|sum|prod|log|mathbb|mathcal|mathrm|left|right)\b/
        );
        if (tex) {
            mark(node.parentElement);
            problems.push(`raw TeX "${tex[0]}" in the text: ${short(node.textContent)}`);
        }
    }
    return problems;
}"""


def mathjax_problems(page) -> list[str]:
    """Formulas MathJax did not render, math errors, undefined macros, raw TeX."""
    return page.evaluate(_MATHJAX_JS, [DEFECT])


_NUMBERS_JS = r"""() => {
    const unquote = (s) => (s && s !== 'none' && s !== 'normal')
        ? s.replace(/^"|"$/g, '').replace(/\\(.)/g, '$1') : '';
    const rendered = (el) => Array.from(el.querySelectorAll('mjx-c, mjx-utext'))
        .map((c) => c.textContent || unquote(getComputedStyle(c, '::before').content)).join('');
    const numbers = Array.from(document.querySelectorAll('mjx-container mjx-labels mjx-mtd')).map(rendered);
    // a number Sphinx adds beside an equation (it never should: ours carry \tag)
    document.querySelectorAll('.math .eqno')
        .forEach((e) => numbers.push(e.firstChild ? e.firstChild.textContent : e.textContent));
    return numbers.map((n) => n.trim()).filter((n) => n);
}"""


def rendered_equation_numbers(page) -> list[str]:
    """The equation numbers the reader sees, as rendered, e.g. ``["(4.5.1)"]``."""
    return page.evaluate(_NUMBERS_JS)


def equation_number_problems(numbers: dict[str, list[str]], expected) -> list[str]:
    """Each number in ``expected`` (integers N of (4.5.N)) shown exactly once
    over all pages (``numbers``: page -> rendered numbers); no other number."""
    where: dict[str, list[str]] = {}
    for page, shown in numbers.items():
        for n in shown:
            where.setdefault(n, []).append(page)
    wanted = [f"(4.5.{n})" for n in expected]
    problems = [f"{n} is not shown on any page" for n in wanted if n not in where]
    problems += [f"{n} is shown {len(p)} times: {', '.join(p)}" for n, p in where.items() if n in wanted and len(p) > 1]
    problems += [f"unexpected equation number {n} on {', '.join(p)}" for n, p in where.items() if n not in wanted]
    return problems


_DISPLAY_JS = r"""([defect, tol]) => {
    const problems = [];
    const vw = document.documentElement.clientWidth;
    const column = ['article.bd-article', 'article', 'main'].map((s) => document.querySelector(s))
        .find((e) => e) || document.body;
    const cr = column.getBoundingClientRect();
    const left = Math.max(cr.left, 0), right = Math.min(cr.right, vw);
    const tex = new Map();
    for (const item of (window.MathJax && MathJax.startup && MathJax.startup.document
                        ? MathJax.startup.document.math : [])) {
        if (item.typesetRoot) tex.set(item.typesetRoot, item.math.replace(/\s+/g, ' ').trim().slice(0, 60));
    }
    const px = (x) => Math.round(x);
    document.querySelectorAll('mjx-container[display="true"]').forEach((c, i) => {
        if (!c.getClientRects().length) return;  // hidden (e.g. a closed dropdown)
        // the boxes that scroll, from the formula's container up to the column;
        // the formula is readable in the innermost one that lies inside the column
        const scrollers = [];
        for (let e = c; e && e !== column; e = e.parentElement) {
            const ox = getComputedStyle(e).overflowX;
            if (ox === 'auto' || ox === 'scroll') scrollers.push(e);
        }
        const inside = (r) => r.left >= left - tol && r.right <= right + tol;
        const span = (r) => `${px(r.left)}..${px(r.right)}px`;
        const why = [];
        let box = scrollers.find((e) => inside(e.getBoundingClientRect()));
        if (!box) {
            box = scrollers.length ? scrollers[0] : c;
            if (!scrollers.length && c.scrollWidth > c.clientWidth + tol) {
                why.push(`${c.scrollWidth}px of content in a ${c.clientWidth}px box that does not scroll`);
            }
            if (!inside(box.getBoundingClientRect())) {
                why.push(`${scrollers.length ? 'its scroll box' : 'it'} spans ${span(box.getBoundingClientRect())}, `
                         + `beyond the content column ${px(left)}..${px(right)}px`);
            }
        }
        const r = box.getBoundingClientRect();
        for (let a = box.parentElement; a && a !== document.documentElement; a = a.parentElement) {
            const ox = getComputedStyle(a).overflowX;
            if (ox !== 'hidden' && ox !== 'clip') continue;
            const ar = a.getBoundingClientRect();
            if (r.left < ar.left - tol || r.right > ar.right + tol) {
                why.push(`cut off by <${a.tagName.toLowerCase()} class="${a.className}"> `
                         + `(overflow-x: ${ox}, ${span(ar)})`);
                break;
            }
        }
        // what overflows a scroll box to the left cannot be scrolled to
        const math = c.querySelector('mjx-math');
        const mathLeft = math ? math.getBoundingClientRect().left : Infinity;
        const leftmost = box === c ? mathLeft : Math.min(c.getBoundingClientRect().left, mathLeft);
        if (scrollers.includes(box) && leftmost < r.left - box.scrollLeft - tol) {
            why.push(`${px(r.left - box.scrollLeft - leftmost)}px of it lie left of its scroll box, `
                     + 'where scrolling cannot reach');
        }
        if (why.length) {
            c.setAttribute(defect, 'display-math');
            problems.push(`display equation ${i + 1} "${tex.get(c) || ''}": ${why.join('; ')}`);
        }
    });
    return problems;
}"""


def display_math_problems(page, tolerance_px: int = 1) -> list[str]:
    """Display equations that are cut off: content wider than a box that does
    not scroll, or a box beyond the content column or clipped by an ancestor."""
    return page.evaluate(_DISPLAY_JS, [DEFECT, tolerance_px])


_FIGURES_JS = r"""async ([defect]) => {
    const images = Array.from(document.images);
    await Promise.all(images.map((img) => {
        img.loading = 'eager';
        if (img.complete) return null;
        return new Promise((done) => {
            img.addEventListener('load', done, {once: true});
            img.addEventListener('error', done, {once: true});
            setTimeout(done, 15000);
        });
    }));
    return images.filter((img) => !(img.complete && img.naturalWidth > 0)).map((img) => {
        img.setAttribute(defect, 'figure');
        return `figure ${img.getAttribute('src')} (alt "${img.alt}") did not load`;
    });
}"""


def figure_problems(page) -> list[str]:
    """Images that did not load (naturalWidth 0)."""
    return page.evaluate(_FIGURES_JS, [DEFECT])


def screenshot(page, kind: str | None = None) -> bytes:
    """The viewport, scrolled to the first element marked with a defect of ``kind``."""
    if kind:
        marked = page.locator(f'[{DEFECT}="{kind}"]').first
        with contextlib.suppress(Exception):
            marked.scroll_into_view_if_needed(timeout=5000)
    return page.screenshot(timeout=TIMEOUT_MS)


@dataclasses.dataclass
class Visit:
    """What one page showed at one viewport: the problems found by each check
    and a screenshot for each check that found any."""

    url: str
    viewport: str
    problems: dict[str, list[str]]
    numbers: list[str]
    screenshots: dict[str, bytes]


ALL_CHECKS = ("network", "foreign", "mathjax", "display", "figures")


def inspect(browser, url: str, origin: str, viewport: str = "desktop", checks=ALL_CHECKS) -> Visit:
    """Open ``url`` as a first-time reader (a fresh browser context) at
    ``viewport``, run ``checks`` and close it."""
    context = browser.new_context(viewport=VIEWPORTS[viewport], device_scale_factor=1)
    page = context.new_page()
    try:
        log = watch_network(page, origin)
        page.goto(url, wait_until="load", timeout=TIMEOUT_MS)
        settle(page)
        run = {
            "mathjax": (mathjax_problems, "math"),
            "display": (display_math_problems, "display-math"),
            "figures": (figure_problems, "figure"),
        }
        problems, shots = {}, {}
        for check in checks:
            if check in run:
                function, kind = run[check]
                problems[check] = function(page)
                if problems[check]:
                    shots[check] = screenshot(page, kind)
        numbers = rendered_equation_numbers(page)
        page.wait_for_load_state("networkidle", timeout=TIMEOUT_MS)
        problems["network"] = network_problems(log)
        problems["foreign"] = foreign_problems(log)
        for check in ("network", "foreign"):
            if problems[check]:
                page.evaluate("window.scrollTo(0, 0)")
                shots[check] = screenshot(page)
        size = VIEWPORTS[viewport]
        return Visit(url, f"{size['width']}x{size['height']}", problems, numbers, shots)
    finally:
        context.close()


# --------------------------------------------------------------------------
# Fixtures: the browser, the built book, local servers.
# --------------------------------------------------------------------------


def _unavailable(reason: str):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; under CI (CI=true) the browser suite must run", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is not installed (pip install -r requirements.txt)")
    executable = os.environ.get("LLMLOSS_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not executable or not os.access(executable, os.X_OK):
        _unavailable("Chromium is not installed (Debian: apt-get install chromium; .ci/run does it)")
    with sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        except Exception as error:  # noqa: BLE001 - any launch failure means no browser
            _unavailable(f"Chromium at {executable} does not start: {error}")
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def book_html(built_book) -> Path:
    """The built HTML: LLMLOSS_BOOK_HTML if given, else conftest.built_book (stored outputs)."""
    given = os.environ.get("LLMLOSS_BOOK_HTML")
    if given:
        html = Path(given).resolve()
        assert (html / "chapters").is_dir(), f"LLMLOSS_BOOK_HTML={given} is not a built book"
        return html
    html, result = built_book
    # A warning fails test_build.py; here only pages that were not written fail.
    missing = [name for name in toc_files() if not (html / f"{name}.html").exists()]
    assert not missing, f"not built: {missing}\n" + result.stdout[-6000:] + result.stderr[-6000:]
    return html


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the first of ``roots`` that holds the requested path."""

    roots: tuple[Path, ...] = ()

    def translate_path(self, path):
        found = None
        for root in self.roots:
            self.directory = str(root)
            found = super().translate_path(path)
            if os.path.exists(found):
                break
        return found

    def log_message(self, format, *args):  # noqa: A002 - the signature of the base class
        pass


@contextlib.contextmanager
def serve(*roots: Path):
    """A threaded HTTP server on 127.0.0.1 and a free port; yields its origin."""
    handler = type("Handler", (_QuietHandler,), {"roots": tuple(roots)})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(roots[0])))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def book_origin(book_html):
    with serve(book_html) as origin:
        yield origin


@pytest.fixture(scope="module")
def visit(browser, book_origin):
    """visit(page, viewport) -> Visit, each page loaded once per viewport."""
    cache: dict[tuple[str, str], Visit] = {}

    def get(name: str, viewport: str = "desktop") -> Visit:
        if (name, viewport) not in cache:
            checks = ALL_CHECKS if viewport == "desktop" else ("display",)
            cache[name, viewport] = inspect(browser, f"{book_origin}/{name}.html", book_origin, viewport, checks)
        return cache[name, viewport]

    return get


@pytest.fixture(scope="module")
def synthetic(browser, book_html):
    """inspect a page of tests/browser_fixtures, served with the book's _static (MathJax)."""
    with serve(FIXTURES, book_html) as origin:

        def get(name: str, viewport: str = "desktop") -> Visit:
            return inspect(browser, f"{origin}/{name}.html", origin, viewport)

        yield get


def _slug(text: str) -> str:
    return re.sub(r"[^\w.-]+", "_", text)


def report(request, check: str, visits: dict[str, Visit]) -> None:
    """Fail with every problem of ``check``; save the screenshots under the test's name."""
    failing = {name: v for name, v in visits.items() if v.problems.get(check)}
    if not failing:
        return
    folder = ARTIFACTS / _slug(request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    lines = []
    for name, v in failing.items():
        lines.append(f"{name} at {v.viewport}:")
        lines += [f"  - {p}" for p in v.problems[check]]
        if check in v.screenshots:
            path = folder / f"{_slug(name)}-{v.viewport}.png"
            path.write_bytes(v.screenshots[check])
            lines.append(f"  screenshot: {path.relative_to(ROOT)}")
    pytest.fail("\n".join(lines), pytrace=False)


# --------------------------------------------------------------------------
# The book, page by page.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("check", ["network", "foreign", "mathjax", "figures"])
@pytest.mark.parametrize("name", PAGES)
def test_page(request, visit, name, check):
    """network: no console error or failed request; foreign: nothing from another
    host; mathjax: every formula rendered without error; figures: every image loads."""
    report(request, check, {name: visit(name, "desktop")})


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("name", PAGES)
def test_no_display_equation_is_cut_off(request, visit, name, viewport):
    report(request, "display", {name: visit(name, viewport)})


def test_each_equation_number_is_shown_once(visit):
    assert EXPECTED_NUMBERS, "no chapter in _toc.yml"
    numbers = {name: visit(name, "desktop").numbers for name in PAGES}
    problems = equation_number_problems(numbers, EXPECTED_NUMBERS)
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------
# Each check reports its defect (synthetic pages in tests/browser_fixtures).
# --------------------------------------------------------------------------


def test_a_broken_formula_is_caught(synthetic):
    problems = synthetic("broken_formula").problems["mathjax"]
    # an unclosed brace hides the closing delimiter: MathJax leaves the TeX as it is
    assert any(p.startswith("not rendered") and r"\frac{a}{b} = \frac{" in p for p in problems), problems
    assert any(p.startswith("math error") and "Double exponent" in p for p in problems), problems
    assert any(r"undefined macro \notamacro" in p for p in problems), problems
    assert len(problems) == 3, problems
    assert not any("y^2" in p for p in problems), "the good formula was reported"


def test_a_missing_equation_number_is_caught(synthetic):
    shown = synthetic("missing_tag").numbers
    assert shown == ["(4.5.1)"], shown
    assert equation_number_problems({"missing_tag": shown}, [1]) == []
    assert equation_number_problems({"missing_tag": shown}, [1, 2]) == ["(4.5.2) is not shown on any page"]
    twice = equation_number_problems({"a": shown, "b": shown, "c": ["(1)"]}, [1])
    assert twice == ["(4.5.1) is shown 2 times: a, b", "unexpected equation number (1) on c"], twice


def test_a_script_from_another_host_is_caught(synthetic):
    visit = synthetic("foreign_script")
    assert visit.problems["foreign"] == ["request to another host: script https://example.invalid/x.js"]
    # routed and aborted here, so the rest of the page is unaffected
    assert visit.problems["network"] == [] and visit.problems["mathjax"] == []
    assert visit.numbers == ["(4.5.1)"]


def test_a_cut_off_equation_is_caught(synthetic):
    assert synthetic("wide_equation", "desktop").problems["display"] == []
    problems = synthetic("wide_equation", "phone").problems["display"]
    assert len(problems) == 1 and "cut off" in problems[0], problems


def test_a_missing_figure_is_caught(synthetic):
    visit = synthetic("missing_figure")
    assert visit.problems["figures"] == ['figure _images/no-such-figure.png (alt "a missing figure") did not load']
    assert any("HTTP 404" in p and "no-such-figure.png" in p for p in visit.problems["network"])
