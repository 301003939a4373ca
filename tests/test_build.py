"""The book builds from scratch with warnings as errors (conftest.built_book), and the HTML is
self-contained: every equation number once, MathJax served from the build,
no asset from another host. Each check runs on both editions (issue 18):
English at the site root, Chinese under zh/."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import editions, toc_files

pytestmark = pytest.mark.build


@pytest.fixture(scope="module", params=editions.EDITIONS)
def html(request, built_book) -> Path:
    """One edition of the clean build of conftest.built_book (both must pass with warnings as errors)."""
    site, result = built_book
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-6000:]
    return site / editions.SUBDIR[request.param]


def pages(html: Path) -> dict[str, str]:
    """Every page of one edition (the English edition's folder holds the Chinese one in zh/)."""
    other = {editions.SUBDIR[e] for e in editions.EDITIONS} - {""}
    return {
        p.relative_to(html).as_posix(): p.read_text(encoding="utf-8")
        for p in html.rglob("*.html")
        if p.relative_to(html).parts[0] not in other
    }


def chinese(html: Path) -> bool:
    return html.name == editions.SUBDIR["zh"]


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
    definition, theorem, bracket = ("定义", "定理", "（") if chinese(html) else ("Definition", "Theorem", " (")
    assert f'<span class="caption-number">{definition} </span>4.5.1{bracket}' in text
    assert f'<span class="caption-number">{theorem} </span>4.5.1{bracket}' in text
    assert not re.search(rf"caption-number\">({definition}|{theorem}) \d+ </span>", text), "a second counter"
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
    """English pages mark their Chinese words; Chinese pages are Chinese as a whole."""
    text = pages(html)["chapters/455_dpo.html"]
    if chinese(html):
        assert re.search(r'<html lang="zh-CN"', text)
        assert '<span lang="zh">' not in text
    else:
        assert re.search(r'<html lang="en"', text)
        assert '<span lang="zh">直接偏好优化</span>' in text
