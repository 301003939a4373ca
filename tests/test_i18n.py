"""The Chinese edition never drifts from the English one (issue 18).

- Every message of every catalog in locales/zh_CN is translated, not fuzzy,
  not obsolete, and keeps its maths, role targets, links, inline code and
  emphasis (i18n/catalogs.py).
- The catalogs are current: the English messages, extracted afresh with
  Sphinx's gettext builder, are exactly the catalogs' messages, document by
  document. An English sentence added, changed or removed fails here until
  `python i18n/editions.py catalogs` is run and the new messages translated.
- The two built editions (conftest.built_book) show the same 30 equation
  numbers once each, the same verification cells with the same code and
  outputs, the same figures with translated alt text, and link each page to
  its counterpart; no English paragraph is left in a Chinese chapter.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from conftest import ROOT, editions, toc_files

catalogs = pytest.importorskip("catalogs")  # i18n/ is on sys.path (conftest)

CJK = re.compile(r"[\u4e00-\u9fff]")
ZH = editions.SUBDIR["zh"]
CHAPTERS = [name for name in toc_files() if (ROOT / f"{name}.ipynb").exists()]


def test_every_message_is_translated_and_intact():
    paths = catalogs.catalog_paths()
    assert paths, "no catalog in locales/zh_CN/LC_MESSAGES: run python i18n/editions.py catalogs"
    problems = [problem for path in paths for problem in catalogs.problems(path)]
    assert not problems, f"{len(problems)} problems (python i18n/catalogs.py check):\n" + "\n".join(problems[:40])


def test_the_checks_catch_broken_translations():
    """The catalog checks fail for what a translator can get wrong."""
    english = "The loss $-\\log p$ of {term}`logits <logit (未归一化分数)>`, see [(4.5.3)](#eq-4-5-3) and `lm_loss`."
    good = "{term}`logit <logit (未归一化分数)>` 的损失为 $-\\log p$，见 [(4.5.3)](#eq-4-5-3) 与 `lm_loss`。"
    assert catalogs.translation_problems("chapters/451_language_modelling", english, good) == []
    for broken in (
        good.replace("$-\\log p$", "$-\\ln p$"),  # maths changed
        good.replace("logit (未归一化分数)", "logit"),  # role target changed
        good.replace("#eq-4-5-3", "#eq-4-5-4"),  # link target changed
        good.replace("`lm_loss`", "lm_loss"),  # inline code lost
    ):
        assert catalogs.translation_problems("chapters/451_language_modelling", english, broken), broken
    bold = "**The intuition.** A model."
    assert catalogs.translation_problems("chapters/451_language_modelling", bold, "**直觉。** 模型。") == []
    assert catalogs.translation_problems("chapters/451_language_modelling", bold, "**直觉。**模型。")
    docstring = "Loss, eq. :ref:`(4.5.2) <eq-4-5-2>` (summed)."
    spaced, glued = "损失，式 :ref:`(4.5.2) <eq-4-5-2>` （求和）。", "损失，式:ref:`(4.5.2) <eq-4-5-2>`（求和）。"
    assert catalogs.translation_problems("chapters/api/lm", docstring, spaced) == []
    assert catalogs.translation_problems("chapters/api/lm", docstring, glued)


def test_the_catalogs_hold_exactly_the_current_english_messages(tmp_path):
    pots = editions.extract(tmp_path)
    fresh = {p.relative_to(pots).with_suffix("").as_posix(): catalogs.msgids(p) for p in pots.rglob("*.pot")}
    stored = {catalogs.document(p): catalogs.msgids(p) for p in catalogs.catalog_paths()}
    assert sorted(fresh) == sorted(stored), "documents without a catalog or catalogs without a document"
    drift = []
    for name in sorted(fresh):
        for message in sorted(fresh[name] - stored[name]):
            drift.append(f"{name}: new English message {message[:70]!r}")
        for message in sorted(stored[name] - fresh[name]):
            drift.append(f"{name}: message no longer in the English {message[:70]!r}")
    assert not drift, "run python i18n/editions.py catalogs, then translate:\n" + "\n".join(drift[:40])


# --------------------------------------------------------------------------
# The two built editions side by side.
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(built_book) -> Path:
    html, result = built_book
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-6000:]
    return html


def soup(site: Path, edition: str, name: str) -> BeautifulSoup:
    folder = site / editions.SUBDIR[edition] if editions.SUBDIR[edition] else site
    return BeautifulSoup((folder / f"{name}.html").read_text(encoding="utf-8"), "html.parser")


def tags(page: BeautifulSoup) -> list[int]:
    return [int(n) for n in re.findall(r"\\tag\{4\.5\.(\d+)\}", page.get_text())]


def test_both_editions_show_the_same_thirty_equation_numbers_once(site):
    for edition in editions.EDITIONS:
        numbers = sorted(n for name in toc_files() for n in tags(soup(site, edition, name)))
        assert numbers == list(range(1, 31)), f"{edition} edition: {numbers}"
    for name in toc_files():
        assert tags(soup(site, "en", name)) == tags(soup(site, "zh", name)), name


def cells(page: BeautifulSoup) -> list[tuple[str, str, str]]:
    """(tags, code, output) of each code cell, in order; figure captions,
    which are translated, are left out of the output."""
    found = []
    for caption in page.select("div.cell figcaption"):
        caption.decompose()
    for cell in page.select("div.cell"):
        classes = " ".join(sorted(c for c in cell.get("class", []) if c.startswith("tag_")))
        code = "\n".join(pre.get_text() for pre in cell.select("div.cell_input pre"))
        output = "\n".join(out.get_text() for out in cell.select("div.cell_output"))
        found.append((classes, code, output))
    return found


@pytest.mark.parametrize("name", CHAPTERS)
def test_both_editions_run_the_same_verification_cells(site, name):
    english, chinese = cells(soup(site, "en", name)), cells(soup(site, "zh", name))
    assert len(english) == len(chinese), f"{len(english)} code cells in English, {len(chinese)} in Chinese"
    verifying = [c for c in english if "tag_verifies-4.5." in c[0]]
    assert verifying or name.endswith("summary"), "no verification cell"
    for i, (en, zh) in enumerate(zip(english, chinese, strict=True)):
        assert en == zh, f"code cell {i + 1} differs between the editions (tags, code or output)"


@pytest.mark.parametrize("name", CHAPTERS)
def test_figures_are_shared_and_their_alt_text_translated(site, name):
    def images(page):
        return [(img["src"], img.get("alt", "")) for img in page.select("article img")]

    english, chinese = images(soup(site, "en", name)), images(soup(site, "zh", name))
    assert [src for src, _ in english] == [src for src, _ in chinese]
    for (src, alt_en), (_, alt_zh) in zip(english, chinese, strict=True):
        if alt_en:
            assert CJK.search(alt_zh) and alt_zh != alt_en, f"{src}: alt text not translated: {alt_zh[:60]!r}"


@pytest.mark.parametrize("edition", editions.EDITIONS)
def test_every_page_links_to_itself_in_the_other_edition(site, edition):
    other = next(e for e in editions.EDITIONS if e != edition)
    for name in [*toc_files(), "genindex", "search"]:
        page = soup(site, edition, name)
        links = page.select(".edition-switch a")
        assert len(links) == 1, f"{edition} {name}: {len(links)} language links"
        folder = site / editions.SUBDIR[edition] if editions.SUBDIR[edition] else site
        target = (folder / Path(name).parent / links[0]["href"]).resolve()
        assert target == (site / editions.SUBDIR[other] / f"{name}.html").resolve(), f"{edition} {name} -> {target}"
        assert links[0]["hreflang"] == editions.LANGUAGE[other].replace("_", "-")
        alternate = page.select_one('link[rel="alternate"]')
        assert alternate is not None and alternate["href"] == links[0]["href"]


def test_chinese_pages_are_chinese(site):
    for name in toc_files():
        page = soup(site, "zh", name)
        assert page.html["lang"] == "zh-CN", name
        assert "大语言模型的损失函数" in page.title.get_text(), name
        assert CJK.search(page.select_one("article h1").get_text()), f"{name}: English title"


PROSE = "article p, article li, article h1, article h2, article h3, article td, article th, article figcaption"


@pytest.mark.parametrize("name", toc_files())
def test_no_english_paragraph_is_left_in_the_chinese_edition(site, name):
    """Text that bypassed the catalogs (written by an extension, say) shows up here:
    a Chinese page's prose outside code and outputs has no English run of four
    words or more (such as MyST-NB's "Show code cell source"), and no English
    label for assistive technology."""
    page = soup(site, "zh", name)
    for skipped in page.select("div.cell_input, div.cell_output, pre, .math, code, .citation, dl.py"):
        skipped.decompose()
    english = []
    for element in page.select(PROSE):
        text = " ".join(element.get_text(" ").split())
        if not CJK.search(text) and len(re.findall(r"[A-Za-z]{3,}", text)) >= 4:
            english.append(text[:80])
    assert not english, f"English left in the Chinese {name}: {english[:5]}"


@pytest.mark.parametrize("name", [*toc_files(), "search", "genindex"])
def test_no_english_label_is_left_in_the_chinese_edition(site, name):
    """Labels, tooltips and placeholders that a reader or a screen reader meets
    (the themes write some in English whatever the language) are Chinese;
    a citation's tooltip (the paper's title) and the link to the English
    edition may stay English."""
    page = soup(site, "zh", name)
    english = []
    for attribute in ("aria-label", "title", "placeholder", "data-bs-title"):
        for element in page.find_all(attrs={attribute: True}):
            value = element[attribute]
            if element.get("lang") == "en" or "bibliography.html" in element.get("href", ""):
                continue
            if len(re.findall(r"[A-Za-z]{3,}", value)) >= 1 and not CJK.search(value) and "llmloss" not in value:
                english.append(f"{attribute}={value!r}")
    assert not english, f"English labels in the Chinese {name}: {sorted(set(english))[:8]}"
