"""Build the whole book as one PDF per edition: ``make pdf`` ->
_build/latex/llmloss-book.pdf (English) and _build/latex-zh/llmloss-book-zh.pdf
(Chinese, issue 18).

Jupyter Book's LaTeX builder with XeLaTeX (the settings are in _config.yml:
``latex:`` and ``sphinx.config.latex_*``; i18n/editions.py sets each edition's
language, file name and title), from the notebooks' stored outputs (execution
off: ``make test`` checks with nbval that a fresh run reproduces them). Needs
Debian's texlive-xetex, texlive-latex-extra, texlive-lang-chinese,
texlive-fonts-recommended, latexmk and fonts-noto-cjk (.ci/run installs
them). The two editions build side by side (XeLaTeX uses one core each).
After each build the LaTeX log is checked: a missing glyph (a Chinese
character the fonts cannot show) fails it. A later ``make book`` links each
PDF from its edition's landing page.

    python takeaway/build_pdf.py        # both editions
    python takeaway/build_pdf.py zh     # one
"""

from __future__ import annotations

import concurrent.futures
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "i18n"))
import editions  # noqa: E402 - i18n/editions.py: how each edition is built


def build_edition(edition: str) -> tuple[int, str]:
    """Build one edition's PDF; (exit status, one line of report)."""
    pdf = ROOT / editions.PDF[edition]
    latex = pdf.parent
    shutil.rmtree(latex, ignore_errors=True)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"llmloss-pdf-{edition}-") as tmp:
        result = editions.build(edition, Path(tmp), builder="pdflatex", strict=False)
        built = Path(tmp) / "_build" / "latex"
        if built.is_dir():
            shutil.copytree(built, latex)
    seconds = time.perf_counter() - start
    log = pdf.with_suffix(".log")
    if result.returncode != 0 or not pdf.exists():
        print(result.stdout[-6000:], result.stderr[-6000:], sep="\n")
        return 1, f"{edition}: PDF build failed (see {log})"
    missing = sorted(set(re.findall(r"Missing character: There is no (.+?) in font", log.read_text(errors="replace"))))
    if missing:
        return 1, f"{edition}: missing glyphs in the PDF: {' '.join(missing)} (see {log})"
    info = ""
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    count = re.search(r"Pages:\s+(\d+)", info)
    return 0, f"{pdf.relative_to(ROOT)}: {count.group(1) if count else '?'} pages, built in {seconds:.0f} s"


def main(argv: list[str]) -> int:
    for tool in ("xelatex", "latexmk"):
        if shutil.which(tool) is None:
            print(f"{tool} is missing: install texlive-xetex latexmk texlive-lang-chinese "
                  "texlive-latex-extra texlive-fonts-recommended fonts-noto-cjk (see .ci/run)")
            return 1
    wanted = argv or list(editions.EDITIONS)
    unknown = set(wanted) - set(editions.EDITIONS)
    if unknown:
        print(f"unknown edition {sorted(unknown)}: choose from {editions.EDITIONS}")
        return 2
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(wanted)) as pool:
        results = list(pool.map(build_edition, wanted))
    for _, line in results:
        print(line)
    return max(status for status, _ in results)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
