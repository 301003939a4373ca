"""The whole book as a PDF (issue 17): `make pdf` -> _build/latex/llmloss-book.pdf.

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

import pytest

from conftest import ROOT, toc_notebooks

PDF = ROOT / "_build" / "latex" / "llmloss-book.pdf"
TEX = PDF.with_suffix(".tex")
LOG = PDF.with_suffix(".log")
# A tag in pdftotext -layout: right-aligned, after a wide gap, ending its line.
OVERFULL = re.compile(
    r"Overfull \\hbox \(([\d.]+)pt too wide\) (?:in paragraph at lines|detected at line) (\d+)(?:--(\d+))?"
)
TAG_IN_TEXT = re.compile(r"(?m)^(?P<before>.*?)\s{3,}\(4\.5\.(?P<n>\d+)\)[ \t]*$")


@pytest.fixture(scope="module")
def pdf_text() -> str:
    if not PDF.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{PDF.relative_to(ROOT)} is missing: `make pdf` must run before the tests under CI")
        pytest.skip("no PDF: run `make pdf` (needs the TeX packages that .ci/run installs)")
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is missing: install poppler-utils (see .ci/run)")
    return subprocess.run(["pdftotext", "-layout", str(PDF), "-"], check=True, capture_output=True, text=True).stdout


def test_every_equation_number_is_a_tag_once(pdf_text):
    tags = Counter(int(m.group("n")) for m in TAG_IN_TEXT.finditer(pdf_text) if len(m.group(0).rstrip()) >= 80)
    assert sorted(tags) == list(range(1, 31)), f"missing tags: {sorted(set(range(1, 31)) - set(tags))}"
    assert all(count == 1 for count in tags.values()), {n: c for n, c in tags.items() if c != 1}
    source = Counter(int(n) for n in re.findall(r"\\tag\{4\.5\.(\d+)\}", TEX.read_text(encoding="utf-8")))
    assert sorted(source) == list(range(1, 31)) and set(source.values()) == {1}


def test_wide_equations_fit_the_page(pdf_text):
    """No tagged equation in an overfull line (LaTeX's log names the source lines)."""
    tex = TEX.read_text(encoding="utf-8").split("\n")
    log = LOG.read_text(encoding="utf-8", errors="replace")
    overfull = [(float(w), int(a), int(b or a)) for w, a, b in OVERFULL.findall(log)]
    start = 0
    for number, line in enumerate(tex, 1):
        if "\\begin{equation*}" in line:
            start = number
        tag = re.search(r"\\tag\{(4\.5\.\d+)\}", line)
        if tag:
            wide = [w for w, a, b in overfull if a <= number + 1 and b >= start and w > 1.0]
            assert not wide, f"({tag.group(1)}) is {max(wide):.0f} pt wider than the text"


def test_chinese_terms_render(pdf_text):
    for term in ("直接偏好优化", "人类反馈强化学习", "掩码语言建模"):
        assert term in pdf_text.replace(" ", ""), term
    missing = re.findall(r"Missing character: There is no (.+?) in font", LOG.read_text(errors="replace"))
    assert not missing, f"glyphs missing in the PDF: {sorted(set(missing))}"


def test_figures_and_solutions_are_present(pdf_text):
    figures = solutions = 0
    for _, nb in toc_notebooks():
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                solutions += len(re.findall(r"^:{3,}\{solution-start\}", cell.source, re.MULTILINE))
            elif any("image/png" in out.get("data", {}) for out in cell.get("outputs", [])):
                figures += 1
    assert pdf_text.count("Solution to Exercise") >= solutions > 0
    images = subprocess.run(["pdfimages", "-list", str(PDF)], check=True, capture_output=True, text=True).stdout
    assert len(images.strip().splitlines()) - 2 >= figures > 0, "a figure is missing from the PDF"
