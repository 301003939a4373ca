"""The book builds from scratch with warnings as errors (conftest.built_book), and the HTML is
self-contained: every equation number once, MathJax served from the build,
no asset from another host."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import toc_files

pytestmark = pytest.mark.build


@pytest.fixture(scope="module")
def html(built_book) -> Path:
    """The clean build of conftest.built_book, which must pass with warnings as errors."""
    html, result = built_book
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-6000:]
    return html


def pages(html: Path) -> dict[str, str]:
    return {str(p.relative_to(html)): p.read_text(encoding="utf-8") for p in html.rglob("*.html")}


def test_every_toc_file_is_built(html):
    for name in toc_files():
        assert (html / f"{name}.html").exists(), f"{name}.html missing"


def test_each_equation_number_shown_once(html):
    text = "\n".join(pages(html).values())
    numbers = [int(n) for n in re.findall(r"\\tag\{4\.5\.(\d+)\}", text)]
    assert numbers, "no tagged equation in the book"
    doubled = sorted({n for n in numbers if numbers.count(n) > 1})
    assert not doubled, f"equations shown more than once: {doubled}"
    # Sphinx adds its own "(1)" number only to labelled math; ours carry none.
    assert '<span class="eqno">' not in text, "Sphinx numbered a display equation"


def test_mathjax_is_served_from_the_build(html):
    assert (html / "_static" / "mathjax" / "tex-chtml.js").exists()
    assert (html / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").is_dir()
    for name, text in pages(html).items():
        if 'class="math' in text:
            assert re.search(r'<script[^>]*src="[./]*_static/mathjax/tex-chtml\.js"', text), name


def test_no_asset_from_another_host(html):
    remote = re.compile(r'<(?:script|link|img|iframe)\b[^>]*(?:src|href)="(?:https?:)?//', re.IGNORECASE)
    for name, text in pages(html).items():
        for tag in re.findall(r"<(?:script|link|img|iframe)\b[^>]*>", text, re.IGNORECASE):
            if remote.match(tag) and 'rel="canonical"' not in tag:
                pytest.fail(f"{name} loads {tag} from another host")


def test_proof_headings_read_as_the_text_numbers_them(html):
    text = pages(html)["chapters/451_language_modelling.html"]
    assert '<span class="caption-number">Definition </span>4.5.1 (' in text
    assert '<span class="caption-number">Theorem </span>4.5.1 (' in text
    assert not re.search(r"caption-number\">(Definition|Theorem) \d+ </span>", text), "a second counter"
    assert not re.search(r"caption-number\">(\w+) </span>\1", text), "a doubled word"


def test_every_page_has_an_icon_and_no_thebe(html):
    """A favicon of the book's own (no 404 for /favicon.ico); none of sphinx-thebe's
    files while Thebe is off (launch_buttons.thebe: false)."""
    assert (html / "_static" / "favicon.svg").exists()
    for name, text in pages(html).items():
        if name.startswith("_") or 'http-equiv="Refresh"' in text:
            continue
        assert re.search(r'<link rel="icon" href="[./]*_static/favicon\.svg"', text), name
        assert "thebe" not in text.lower(), f"{name} loads sphinx-thebe"


def test_mathjax_typesets_lazily(html):
    text = pages(html)["chapters/455_dpo.html"]
    assert '"load": ["ui/lazy"]' in text
    assert (html / "_static" / "mathjax" / "ui" / "lazy.js").exists()


def test_search_index_holds_equation_numbers_and_chinese_words(html):
    index = (html / "searchindex.js").read_text(encoding="utf-8")
    terms = json.loads(index[index.index("(") + 1 : index.rindex(")")])["terms"]
    for term in ("4.5.18", "偏好", "直接偏好优化"):
        assert term in terms, f"search finds nothing for {term}"


def test_chinese_text_is_marked(html):
    text = pages(html)["chapters/455_dpo.html"]
    assert '<span lang="zh">直接偏好优化</span>' in text
