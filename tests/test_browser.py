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
- every figure loads, and every content image has real alt text (not empty,
  not a file name, at least three words, or six Chinese characters);
- every equation number (4.5.N) lies inside the visible column at 1280 px
  (not scrolled away inside its box);
- no code or output box is wider than its text at 1280 px (88-column code
  fits, outputs wrap; hidden inputs and solutions are opened to measure);
- solutions are collapsed; no cross-reference prints without its number or
  name ("Theorem ,");
- axe-core finds no serious or critical violation, with the OS in light and
  in dark mode (the book follows the OS);
- the menu and contents buttons show their drawer at 390 and 1024 px and
  collapse the sidebar on a desktop, and one search field shows;
- search finds an equation number and a Chinese sub-word; a link to
  (4.5.18) shows its number.

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

from conftest import ROOT, editions, toc_files

pytestmark = pytest.mark.build

FIXTURES = Path(__file__).resolve().parent / "browser_fixtures"
ARTIFACTS = ROOT / "test-artifacts" / "browser"
VIEWPORTS = {
    "desktop": {"width": 1280, "height": 800},
    "tablet": {"width": 1024, "height": 768},
    "phone": {"width": 390, "height": 844},
}
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
# Both editions (issue 18): the Chinese one is served under zh/, as `make book` lays it out.
PREFIXES = {e: f"{editions.SUBDIR[e]}/" if editions.SUBDIR[e] else "" for e in editions.EDITIONS}
EDITION_PAGES = [f"{prefix}{name}" for prefix in PREFIXES.values() for name in PAGES]
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


def settle(page, typeset_all: bool = True) -> None:
    """Wait until MathJax has typeset the page (every formula, unless not
    ``typeset_all``: then what its lazy typesetting shows first) and fonts are in."""
    page.wait_for_load_state("load", timeout=TIMEOUT_MS)
    page.evaluate(
        """async (all) => {
            if (window.MathJax && window.MathJax.startup && window.MathJax.startup.promise) {
                await window.MathJax.startup.promise;
                // ui/lazy typesets a formula when it scrolls into view: all of them now
                const doc = window.MathJax.startup.document;
                if (all && doc && doc.lazyTypesetAll) await doc.lazyTypesetAll();
            }
            await document.fonts.ready;
        }""",
        typeset_all,
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


_NUMBER_IN_COLUMN_JS = r"""([defect, tol]) => {
    const problems = [];
    const vw = document.documentElement.clientWidth;
    const column = ['article.bd-article', 'article', 'main'].map((s) => document.querySelector(s))
        .find((e) => e) || document.body;
    const cr = column.getBoundingClientRect();
    const unquote = (s) => (s && s !== 'none' && s !== 'normal')
        ? s.replace(/^"|"$/g, '').replace(/\\(.)/g, '$1') : '';
    const rendered = (el) => Array.from(el.querySelectorAll('mjx-c, mjx-utext'))
        .map((c) => c.textContent || unquote(getComputedStyle(c, '::before').content)).join('');
    const px = Math.round;
    document.querySelectorAll('mjx-container[display="true"] mjx-labels mjx-mtd').forEach((label) => {
        const c = label.closest('mjx-container');
        if (!c.getClientRects().length) return;  // hidden (a closed dropdown)
        // what the reader sees of the column: the column, the window and every
        // box between the formula and the column that clips or scrolls
        let left = Math.max(cr.left, 0), right = Math.min(cr.right, vw);
        for (let e = c; e && e !== column; e = e.parentElement) {
            if (getComputedStyle(e).overflowX !== 'visible') {
                const r = e.getBoundingClientRect();
                left = Math.max(left, r.left);
                right = Math.min(right, r.right);
            }
        }
        const r = label.getBoundingClientRect();
        if (r.width < 1 || r.left < left - tol || r.right > right + tol) {
            c.setAttribute(defect, 'number');
            problems.push(`equation number ${rendered(label).trim() || '?'} at ${px(r.left)}..${px(r.right)}px `
                          + `lies outside the visible column ${px(left)}..${px(right)}px`);
        }
    });
    return problems;
}"""


def equation_number_position_problems(page, tolerance_px: int = 1) -> list[str]:
    """Equation numbers that the reader cannot see without scrolling sideways:
    outside the content column, the window, or a box that clips or scrolls."""
    return page.evaluate(_NUMBER_IN_COLUMN_JS, [DEFECT, tolerance_px])


_OVERFLOW_JS = r"""([defect, tol]) => {
    // open what a reader can open (hidden inputs, dropdowns), measure, close again
    const closed = Array.from(document.querySelectorAll('details:not([open])'));
    closed.forEach((d) => { d.open = true; });
    const hidden = Array.from(document.querySelectorAll('.toggle-hidden'));
    hidden.forEach((e) => e.classList.remove('toggle-hidden'));
    const problems = [];
    const boxes = document.querySelectorAll(
        'div.cell_input pre, div.cell_output pre, div.output pre, div.highlight pre, div.cell_output .output');
    boxes.forEach((box) => {
        if (!box.getClientRects().length) return;
        if (box.scrollWidth > box.clientWidth + tol) {
            box.setAttribute(defect, 'overflow');
            const kind = box.closest('.cell_output, .output') ? 'output' : 'code';
            const line = box.textContent.split('\n').reduce((a, b) => (b.length > a.length ? b : a), '').trim();
            const shown = line.length > 90 ? `${line.slice(0, 40)} ... ${line.slice(-45)}` : line;
            problems.push(`${kind} box ${box.scrollWidth}px wide in ${box.clientWidth}px: "${shown}" `
                          + `(${line.length} characters)`);
        }
    });
    closed.forEach((d) => { d.open = false; });
    hidden.forEach((e) => e.classList.add('toggle-hidden'));
    return problems;
}"""


def overflow_problems(page, tolerance_px: int = 1) -> list[str]:
    """Code and output boxes whose text runs past their right edge (a reader
    would have to scroll sideways, and the end of the line is lost on paper)."""
    return page.evaluate(_OVERFLOW_JS, [DEFECT, tolerance_px])


_COLLAPSED_JS = r"""([defect]) => {
    const problems = [];
    document.querySelectorAll('div.solution').forEach((box) => {
        if (!box.getClientRects().length) return;
        const title = box.querySelector('.admonition-title, .solution-title, summary');
        const shown = Array.from(box.children).filter((child) =>
            child !== title && !child.contains(title) && !child.matches('button')
            && child.getClientRects().length && child.getBoundingClientRect().height > 0
            && getComputedStyle(child).visibility !== 'hidden');
        if (shown.length) {
            box.setAttribute(defect, 'solution');
            problems.push(`solution "${(title ? title.textContent : '').replace(/\s+/g, ' ').trim().slice(0, 60)}" `
                          + 'is shown open');
        }
    });
    return problems;
}"""


def open_solution_problems(page) -> list[str]:
    """Solutions that show their content before the reader opens them."""
    return page.evaluate(_COLLAPSED_JS, [DEFECT])


_EMPTY_REFERENCE_JS = r"""([defect]) => {
    const kinds = 'theorem|proposition|definition|lemma|corollary|exercise|solution|figure|table|'
        + 'equation|eq\\.|remark|example|algorithm|section|chapter|property|assumption'
        // the same words in the Chinese edition
        + '|定理|命题|定义|引理|推论|练习|解答|图|表|公式|式|注|例|算法|节|章|性质|假设';
    const bare = new RegExp(`^(${kinds})?\\s*[,.:;，。：；]?$`, 'i');
    const problems = [];
    const article = document.querySelector('article') || document.body;
    article.querySelectorAll('a.reference.internal, a[href^="#"]').forEach((a) => {
        if (a.matches('.headerlink, .toc-backref') || a.closest('nav, .toctree-wrapper')) return;
        if (a.querySelector('img, mjx-container, svg')) return;
        const text = a.textContent.replace(/\s+/g, ' ').trim();
        if (bare.test(text) || /%s|\?\?|\{number\}|\{name\}/.test(text)) {
            a.setAttribute(defect, 'reference');
            // the punctuation after it, as the reader sees it: "Theorem ,"
            const next = (a.nextSibling && a.nextSibling.textContent) || '';
            const after = (next.match(/^\s*([,.:;，。：；])/) || ['', ''])[1];
            problems.push(`reference to ${a.getAttribute('href')} reads "${text}${after}"`);
        }
    });
    return problems;
}"""


def empty_reference_problems(page) -> list[str]:
    """Cross-references that print no number or name ("Theorem ," or "")."""
    return page.evaluate(_EMPTY_REFERENCE_JS, [DEFECT])


_ALT_TEXT_JS = r"""([defect]) => {
    const problems = [];
    const article = document.querySelector('article') || document.body;
    article.querySelectorAll('img').forEach((img) => {
        if (img.getAttribute('role') === 'presentation' || img.getAttribute('aria-hidden') === 'true') return;
        const alt = (img.getAttribute('alt') || '').trim();
        let why = '';
        if (!alt) why = 'no alt text';
        else if (/\.(png|jpe?g|gif|svg|webp)$/i.test(alt) || (/[\\/]/.test(alt) && !/\s/.test(alt))) {
            why = 'the alt text is a file name';
        }
        else if (/^(image|figure|picture|plot|graph|chart|png|output)\s*\d*$/i.test(alt)) why = 'a generic alt text';
        // a Chinese alt text has no spaces: two characters count as a word
        else if (alt.split(/\s+/).filter(Boolean).length + (alt.match(/[\u4e00-\u9fff]/g) || []).length / 2 < 3) {
            why = 'an alt text of fewer than three words';
        }
        if (why) {
            img.setAttribute(defect, 'alt');
            problems.push(`image ${img.getAttribute('src')}: ${why} ("${alt.slice(0, 60)}")`);
        }
    });
    return problems;
}"""


def alt_text_problems(page) -> list[str]:
    """Content images without real alt text (none, a file path, a generic word)."""
    return page.evaluate(_ALT_TEXT_JS, [DEFECT])


# axe-core, bundled by the axe-playwright-python package (no download). It
# runs on the page as it first shows (MathJax's lazy typesetting not forced:
# on the thousands of elements of every typeset formula it takes minutes).
# Its colour-contrast rule, the slow one, skips the inside of formulas and
# every highlighted code block but the first input and the first output of
# the page (the others repeat their colours); the "region" rule (moderate at
# most) is off.
AXE_SAMPLE = "data-axe-sample"
AXE_CONTRAST_CONTEXT = {"exclude": [["mjx-container"], [f".highlight:not([{AXE_SAMPLE}])"]]}
AXE_OPTIONS = {"resultTypes": ["violations"], "rules": {"region": {"enabled": False}}}
AXE_IMPACTS = ("serious", "critical")


@functools.cache
def _axe_script() -> str:
    from axe_playwright_python.sync_playwright import Axe

    return Axe().axe_script


def axe_problems(page) -> list[str]:
    """Serious or critical accessibility violations that axe-core reports."""
    page.evaluate(_axe_script())
    violations = page.evaluate(
        """async ([contrastContext, options, sample, defect]) => {
            for (const s of ['div.cell_input .highlight', 'div.cell_output .highlight', 'div.highlight']) {
                const first = document.querySelector(s);
                if (first) first.setAttribute(sample, '');
            }
            const others = {...options, rules: {...options.rules, 'color-contrast': {enabled: false}}};
            const contrast = {...options, runOnly: ['color-contrast']};
            const found = (await axe.run(document, others)).violations
                .concat((await axe.run(contrastContext, contrast)).violations);
            return found.map((v) => {
                v.nodes.forEach((n) => {
                    const el = document.querySelector(n.target[0]);
                    if (el) el.setAttribute(defect, 'axe');
                });
                return {id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')), count: v.nodes.length};
            });
        }""",
        [AXE_CONTRAST_CONTEXT, AXE_OPTIONS, AXE_SAMPLE, DEFECT],
    )
    return [
        f"{v['impact']} {v['id']} ({v['help']}): {v['count']} elements, e.g. {'; '.join(v['nodes'])}"
        for v in violations
        if v["impact"] in AXE_IMPACTS
    ]


_DRAWERS_JS = r"""() => {
    const vw = document.documentElement.clientWidth;
    const shown = (el) => {
        if (!el || !el.getClientRects().length) return false;
        const r = el.getBoundingClientRect();
        if (r.width < 100 || r.right <= 0 || r.left >= vw || getComputedStyle(el).visibility === 'hidden') return false;
        // and a link in it that the reader can see
        return Array.from(el.querySelectorAll('a')).some((a) => {
            const ar = a.getBoundingClientRect();
            return ar.width > 0 && ar.right > 0 && ar.left < vw && getComputedStyle(a).visibility !== 'hidden';
        });
    };
    const open = (id) => document.querySelector(`dialog#${id}[open]`);
    return {
        primary: shown(open('pst-primary-sidebar-modal'))
            || shown(document.getElementById('pst-primary-sidebar')),
        secondary: shown(open('pst-secondary-sidebar-modal'))
            || shown(document.getElementById('pst-secondary-sidebar')),
        searchFields: Array.from(document.querySelectorAll('.search-button-field, form.bd-search input'))
            .filter((e) => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden'
                     && e.getBoundingClientRect().width > 0).length,
    };
}"""

TOGGLES = {
    "primary": ("button.primary-toggle", "the menu button"),
    "secondary": ("button.secondary-toggle", "the contents button"),
}


def navigation_problems(page) -> list[str]:
    """Tap the menu and the contents button as a reader would: each must show
    (or, on a wide screen, hide) its sidebar; at most one search field shows."""
    problems = []
    state = page.evaluate(_DRAWERS_JS)
    if state["searchFields"] > 1:
        problems.append(f"{state['searchFields']} search fields are shown")
    for kind, (selector, name) in TOGGLES.items():
        buttons = page.locator(f"{selector}:visible")
        if not buttons.count():
            if not state[kind]:
                problems.append(f"{name}: none visible, and its sidebar is not shown either")
            continue
        before = page.evaluate(_DRAWERS_JS)[kind]
        buttons.first.click(timeout=5000)
        page.wait_for_timeout(700)  # the theme's transitions take 0.3 s
        after = page.evaluate(_DRAWERS_JS)[kind]
        if after == before:
            problems.append(f"tapping {name} {'hid' if before else 'showed'} nothing (its sidebar stays "
                            f"{'shown' if before else 'hidden'})")
        # back to where the reader was: close a drawer, re-open a collapsed sidebar
        page.keyboard.press("Escape")
        page.wait_for_timeout(300)
        if page.evaluate(_DRAWERS_JS)[kind] != before and page.locator(f"{selector}:visible").count():
            page.locator(f"{selector}:visible").first.click(timeout=5000)
            page.wait_for_timeout(700)
    return problems


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


# The order matters: "overflow" opens hidden inputs and solutions to measure
# them (and closes them again), so "collapsed" runs before it.
ALL_CHECKS = ("network", "foreign", "mathjax", "display", "numbers", "collapsed", "references", "alt")
ALL_CHECKS += ("overflow", "figures")
BASE_CHECKS = ("network", "foreign", "mathjax", "display", "figures")
RUN = {
    "mathjax": (mathjax_problems, "math"),
    "display": (display_math_problems, "display-math"),
    "numbers": (equation_number_position_problems, "number"),
    "collapsed": (open_solution_problems, "solution"),
    "references": (empty_reference_problems, "reference"),
    "alt": (alt_text_problems, "alt"),
    "axe": (axe_problems, "axe"),
    "overflow": (overflow_problems, "overflow"),
    "figures": (figure_problems, "figure"),
    "navigation": (navigation_problems, None),
}


def inspect(
    browser, url: str, origin: str, viewport: str = "desktop", checks=ALL_CHECKS, scheme: str = "light"
) -> Visit:
    """Open ``url`` as a first-time reader (a fresh browser context) at
    ``viewport`` with the OS colour ``scheme``, run ``checks`` and close it."""
    context = browser.new_context(viewport=VIEWPORTS[viewport], device_scale_factor=1, color_scheme=scheme)
    page = context.new_page()
    try:
        log = watch_network(page, origin)
        page.goto(url, wait_until="load", timeout=TIMEOUT_MS)
        settle(page, typeset_all=tuple(checks) != ("axe",))
        problems, shots = {}, {}
        for check in checks:
            if check in RUN:
                function, kind = RUN[check]
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
        label = f"{size['width']}x{size['height']}" + ("" if scheme == "light" else f" {scheme}")
        return Visit(url, label, problems, numbers, shots)
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
def book_html(request) -> Path:
    """The built HTML: LLMLOSS_BOOK_HTML if given, else conftest.built_book (stored outputs)."""
    given = os.environ.get("LLMLOSS_BOOK_HTML")
    if given:
        html = Path(given).resolve()
        assert (html / "chapters").is_dir(), f"LLMLOSS_BOOK_HTML={given} is not a built book"
        return html
    html, result = request.getfixturevalue("built_book")
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
    """visit(page, viewport, scheme) -> Visit, each page loaded once per viewport
    and colour scheme: at 1280 px in light mode every check but axe; at 390 px
    the display check; visit(page, "desktop", scheme, axe=True): axe alone,
    on the page as it first shows, in light or dark mode."""
    cache: dict[tuple, Visit] = {}

    def get(name: str, viewport: str = "desktop", scheme: str = "light", axe: bool = False) -> Visit:
        key = (name, viewport, scheme, axe)
        if key not in cache:
            if axe:
                checks = ("axe",)
            elif viewport == "desktop":
                checks = ALL_CHECKS
            else:
                checks = ("display",)
            cache[key] = inspect(browser, f"{book_origin}/{name}.html", book_origin, viewport, checks, scheme)
        return cache[key]

    return get


@pytest.fixture(scope="module")
def synthetic(browser, book_html):
    """inspect a page of tests/browser_fixtures, served with the book's _static (MathJax)."""
    with serve(FIXTURES, book_html) as origin:

        def get(name: str, viewport: str = "desktop", checks=BASE_CHECKS, scheme: str = "light") -> Visit:
            return inspect(browser, f"{origin}/{name}.html", origin, viewport, checks, scheme)

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


PAGE_CHECKS = ["network", "foreign", "mathjax", "figures", "numbers", "overflow", "collapsed", "references", "alt"]


@pytest.mark.parametrize("check", PAGE_CHECKS)
@pytest.mark.parametrize("name", EDITION_PAGES)
def test_page(request, visit, name, check):
    """At 1280x800, light. network: no console error or failed request; foreign:
    nothing from another host; mathjax: every formula rendered without error;
    figures: every image loads; numbers: every equation number inside the
    visible column; overflow: no code or output box wider than its text;
    collapsed: solutions closed; references: no reference without its number
    or name; alt: every content image has real alt text."""
    report(request, check, {name: visit(name, "desktop")})


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("name", EDITION_PAGES)
def test_no_serious_accessibility_violation(request, visit, name, scheme):
    """axe-core at 1280x800 with the OS in light and in dark mode (the book follows it)."""
    report(request, "axe", {name: visit(name, "desktop", scheme, axe=True)})


# The toggles are the same on every page of the theme: one chapter and the
# landing page, at a phone, a tablet and a desktop width.
@pytest.mark.parametrize("viewport", ["phone", "tablet", "desktop"])
@pytest.mark.parametrize("name", ["chapters/index", "chapters/455_dpo", "zh/chapters/455_dpo"])
def test_menu_and_contents_buttons_work(request, browser, book_origin, name, viewport):
    visit = inspect(browser, f"{book_origin}/{name}.html", book_origin, viewport, ("navigation",))
    report(request, "navigation", {name: visit})


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
@pytest.mark.parametrize("name", EDITION_PAGES)
def test_no_display_equation_is_cut_off(request, visit, name, viewport):
    report(request, "display", {name: visit(name, viewport)})


@pytest.mark.parametrize("edition", editions.EDITIONS)
def test_each_equation_number_is_shown_once(visit, edition):
    assert EXPECTED_NUMBERS, "no chapter in _toc.yml"
    numbers = {name: visit(f"{PREFIXES[edition]}{name}", "desktop").numbers for name in PAGES}
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


def test_a_hidden_equation_number_is_caught(synthetic):
    problems = synthetic("hidden_number", checks=("numbers",)).problems["numbers"]
    assert len(problems) == 1 and "(4.5.2)" in problems[0] and "outside the visible column" in problems[0], problems


def test_an_overflowing_box_is_caught(synthetic):
    problems = synthetic("overflowing_box", checks=("overflow",)).problems["overflow"]
    assert len(problems) == 2, problems
    assert any(p.startswith("output box") and "proved symbolically" in p for p in problems), problems
    assert any(p.startswith("code box") and "hidden_but_too_long" in p for p in problems), problems


def test_an_open_solution_is_caught(synthetic):
    problems = synthetic("open_solution", checks=("collapsed",)).problems["collapsed"]
    assert problems == ['solution "Solution to Exercise 4.5.1.1" is shown open'], problems


def test_an_empty_reference_is_caught(synthetic):
    problems = synthetic("empty_reference", checks=("references",)).problems["references"]
    assert len(problems) == 3, problems
    assert any('#thm-a reads "Theorem,"' in p for p in problems), problems
    assert any('#prop-b reads "Proposition."' in p for p in problems), problems
    assert any('#ex-c reads ""' in p for p in problems), problems


def test_an_image_without_real_alt_text_is_caught(synthetic):
    problems = synthetic("bad_alt_text", checks=("alt",)).problems["alt"]
    assert len(problems) == 3, problems
    assert any("file name" in p for p in problems) and any("no alt text" in p for p in problems), problems
    assert any("fewer than three words" in p for p in problems), problems


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_an_accessibility_violation_is_caught(synthetic, scheme):
    problems = synthetic("low_contrast", checks=("axe",), scheme=scheme).problems["axe"]
    assert any(p.startswith("serious color-contrast") for p in problems), problems
    assert any(p.startswith("critical image-alt") for p in problems), problems


@pytest.mark.parametrize("viewport", ["phone", "tablet"])
def test_dead_toggles_are_caught(synthetic, viewport):
    problems = synthetic("dead_toggles", viewport, checks=("navigation",)).problems["navigation"]
    assert "2 search fields are shown" in problems, problems
    assert any(p.startswith("tapping the menu button showed nothing") for p in problems), problems
    assert any(p.startswith("tapping the contents button showed nothing") for p in problems), problems


# --------------------------------------------------------------------------
# Search and equation links, as a reader uses them.
# --------------------------------------------------------------------------


def _chapter_of(number: int) -> str:
    """The page of equation (4.5.number), e.g. chapters/454_rlhf."""
    sub = next(s for s in EQUATIONS if number in EQUATIONS[s])
    return next(f for f in toc_files() if Path(f).name.startswith(sub.replace(".", "") + "_"))


SEARCHES = [(e, q) for e in editions.EDITIONS for q in ("4.5.18", "偏好", "直接偏好优化", "Bradley-Terry")]
SEARCHES.append(("zh", "奖励模型"))  # the English edition says "reward model" in English only


@pytest.mark.parametrize(("edition", "query"), SEARCHES)
def test_search_finds(browser, book_origin, edition, query):
    """The search page of each edition lists the chapter that holds the equation
    or the word (the English edition knows the Chinese terms it shows beside
    the English ones; the Chinese edition the English names it keeps)."""
    context = browser.new_context(viewport=VIEWPORTS["desktop"])
    page = context.new_page()
    try:
        page.goto(f"{book_origin}/{PREFIXES[edition]}search.html?q={query}", wait_until="load", timeout=TIMEOUT_MS)
        page.wait_for_function(
            "() => { const s = document.querySelector('#search-results .search-summary, "
            "#search-results p'); return s && s.textContent.trim().length > 0; }",
            timeout=TIMEOUT_MS,
        )
        hits = page.eval_on_selector_all("#search-results li a", "links => links.map(a => a.getAttribute('href'))")
    finally:
        context.close()
    assert hits, f"search for {query} found nothing"
    if query == "4.5.18":
        assert any(_chapter_of(18).split("/")[1] in h for h in hits), hits


@pytest.mark.parametrize("edition", editions.EDITIONS)
def test_a_link_to_an_equation_shows_its_number(browser, book_origin, edition):
    """Following a link to (4.5.18) shows the equation with its number on screen."""
    context = browser.new_context(viewport=VIEWPORTS["desktop"])
    page = context.new_page()
    try:
        url = f"{book_origin}/{PREFIXES[edition]}{_chapter_of(18)}.html#eq-4-5-18"
        page.goto(url, wait_until="load", timeout=TIMEOUT_MS)
        settle(page)
        page.evaluate("() => document.getElementById('eq-4-5-18').scrollIntoView()")
        page.wait_for_timeout(300)
        numbers = page.evaluate(
            _NUMBERS_JS.replace(
                "document.querySelectorAll('mjx-container mjx-labels mjx-mtd')",
                "Array.from(document.querySelectorAll('mjx-container mjx-labels mjx-mtd')).filter((l) => {"
                " const r = l.getBoundingClientRect(); return r.width > 0 && r.top >= 0"
                " && r.bottom <= innerHeight && r.left >= 0 && r.right <= innerWidth; })",
            )
        )
    finally:
        context.close()
    assert "(4.5.18)" in numbers, f"on screen after following the link: {numbers}"


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_the_language_switch_leads_to_the_same_page(browser, book_origin, viewport):
    """The header's language switch is on screen and leads to the same page in
    the other edition, and back (issue 18)."""
    context = browser.new_context(viewport=VIEWPORTS[viewport])
    page = context.new_page()
    visited = []
    try:
        page.goto(f"{book_origin}/chapters/455_dpo.html", wait_until="load", timeout=TIMEOUT_MS)
        for expected_lang, expected_path in (("zh-CN", "/zh/chapters/455_dpo.html"), ("en", "/chapters/455_dpo.html")):
            switch = page.locator(".edition-switch a").first
            box = switch.bounding_box()
            size = VIEWPORTS[viewport]
            assert box and box["width"] > 0 and 0 <= box["x"] and box["x"] + box["width"] <= size["width"], box
            assert 0 <= box["y"] and box["y"] + box["height"] <= size["height"], f"switch off screen: {box}"
            with page.expect_navigation(timeout=TIMEOUT_MS):
                switch.click()
            visited.append((urlsplit(page.url).path, page.evaluate("document.documentElement.lang")))
            assert visited[-1] == (expected_path, expected_lang), visited
    finally:
        context.close()
