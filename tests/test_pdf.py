"""The whole book as a PDF (issue 17), one per edition (issue 18): `make pdf` ->
_build/latex/llmloss-book.pdf and _build/latex-zh/llmloss-book-zh.pdf.

Reads the PDF that `make pdf` built (.ci/run builds it before `make test`):
every equation number (4.5.N) set once as an equation's tag, no wide equation
running into the margin, the Chinese terms present with no missing glyph, every
figure and every exercise solution present. Without a PDF the tests skip, and
under CI they fail.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from conftest import ROOT, editions, toc_notebooks

# A tag in pdftotext -layout: right-aligned, after a wide gap, ending its line.
OVERFULL = re.compile(
    r"Overfull \\hbox \(([\d.]+)pt too wide\) (?:in paragraph at lines|detected at line) (\d+)(?:--(\d+))?"
)
TAG_IN_TEXT = re.compile(r"(?m)^(?P<before>.*?)\s{3,}\(4\.5\.(?P<n>\d+)\)[ \t]*$")


@pytest.fixture(scope="module", params=editions.EDITIONS)
def edition(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def pdf(edition) -> Path:
    return ROOT / editions.PDF[edition]


@pytest.fixture(scope="module")
def pdf_text(pdf) -> str:
    if not pdf.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{pdf.relative_to(ROOT)} is missing: `make pdf` must run before the tests under CI")
        pytest.skip("no PDF: run `make pdf` (needs the TeX packages that .ci/run installs)")
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is missing: install poppler-utils (see .ci/run)")
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout


def test_every_equation_number_is_a_tag_once(pdf, pdf_text):
    # a display's tag line holds maths only; a justified Chinese line that ends
    # in a reference "(4.5.N)" is prose
    tags = Counter(
        int(m.group("n"))
        for m in TAG_IN_TEXT.finditer(pdf_text)
        if len(m.group(0).rstrip()) >= 80 and not re.search(r"[\u4e00-\u9fff]", m.group("before"))
    )
    assert sorted(tags) == list(range(1, 31)), f"missing tags: {sorted(set(range(1, 31)) - set(tags))}"
    assert all(count == 1 for count in tags.values()), {n: c for n, c in tags.items() if c != 1}
    tex = pdf.with_suffix(".tex").read_text(encoding="utf-8")
    source = Counter(int(n) for n in re.findall(r"\\tag\{4\.5\.(\d+)\}", tex))
    assert sorted(source) == list(range(1, 31)) and set(source.values()) == {1}


def test_wide_equations_fit_the_page(pdf, pdf_text):
    """No tagged equation in an overfull line (LaTeX's log names the source lines)."""
    tex = pdf.with_suffix(".tex").read_text(encoding="utf-8").split("\n")
    log = pdf.with_suffix(".log").read_text(encoding="utf-8", errors="replace")
    overfull = [(float(w), int(a), int(b or a)) for w, a, b in OVERFULL.findall(log)]
    start = 0
    for number, line in enumerate(tex, 1):
        if "\\begin{equation*}" in line:
            start = number
        tag = re.search(r"\\tag\{(4\.5\.\d+)\}", line)
        if tag:
            wide = [w for w, a, b in overfull if a <= number + 1 and b >= start and w > 1.0]
            assert not wide, f"({tag.group(1)}) is {max(wide):.0f} pt wider than the text"


def test_chinese_terms_render(pdf, pdf_text):
    for term in ("直接偏好优化", "人类反馈强化学习", "掩码语言建模"):
        assert term in pdf_text.replace(" ", ""), term
    log = pdf.with_suffix(".log").read_text(errors="replace")
    missing = re.findall(r"Missing character: There is no (.+?) in font", log)
    assert not missing, f"glyphs missing in the PDF: {sorted(set(missing))}"


def test_the_chinese_pdf_is_chinese(edition, pdf_text):
    """The Chinese edition's PDF carries the translated text, the English one does not."""
    text = pdf_text.replace(" ", "")
    chinese = ("大语言模型的损失函数", "学习目标", "练习4.5.5.1")
    if edition == "zh":
        assert all(phrase in text for phrase in chinese), [p for p in chinese if p not in text]
    else:
        assert "Exercise 4.5.5.1" in pdf_text and "学习目标" not in text


def test_figures_and_solutions_are_present(pdf, edition, pdf_text):
    figures = solutions = 0
    for _, nb in toc_notebooks():
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                solutions += len(re.findall(r"^:{3,}\{solution-start\}", cell.source, re.MULTILINE))
            elif any("image/png" in out.get("data", {}) for out in cell.get("outputs", [])):
                figures += 1
    solution = "解答" if edition == "zh" else "Solution to Exercise"
    assert pdf_text.count(solution) >= solutions > 0
    images = subprocess.run(["pdfimages", "-list", str(pdf)], check=True, capture_output=True, text=True).stdout
    assert len(images.strip().splitlines()) - 2 >= figures > 0, "a figure is missing from the PDF"
