"""Build the whole book as one PDF: ``make pdf`` -> _build/latex/llmloss-book.pdf.

Jupyter Book's LaTeX builder with XeLaTeX (the settings are in _config.yml:
``latex:`` and ``sphinx.config.latex_*``), from the notebooks' stored outputs
(execution off: ``make test`` checks with nbval that a fresh run reproduces
them). Needs Debian's texlive-xetex, texlive-latex-extra, texlive-lang-chinese,
texlive-fonts-recommended, latexmk and fonts-noto-cjk (.ci/run installs them).
After the build the LaTeX log is checked: a missing glyph (a Chinese term the
fonts cannot show) fails the build. A later ``make book`` links the PDF from
the landing page.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def latex_dir() -> Path:
    return ROOT / "_build" / "latex"


def main() -> int:
    for tool in ("xelatex", "latexmk"):
        if shutil.which(tool) is None:
            print(f"{tool} is missing: install texlive-xetex latexmk texlive-lang-chinese "
                  "texlive-latex-extra texlive-fonts-recommended fonts-noto-cjk (see .ci/run)")
            return 1
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    config.setdefault("execute", {})["execute_notebooks"] = "off"
    local = config.get("sphinx", {}).get("local_extensions", {})
    local.update({name: str(ROOT / path) for name, path in local.items()})
    target = config.get("latex", {}).get("latex_documents", {}).get("targetname", "book.tex")
    pdf = latex_dir() / target.replace(".tex", ".pdf")
    shutil.rmtree(latex_dir(), ignore_errors=True)
    jb = Path(sys.executable).parent / "jupyter-book"
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="llmloss-pdf-") as tmp:
        cfg = Path(tmp, "_config.yml")
        cfg.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        cmd = [str(jb), "build", str(ROOT), "--builder", "pdflatex", "--config", str(cfg)]
        result = subprocess.run([*cmd, "--path-output", str(ROOT), "--keep-going"], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    log = pdf.with_suffix(".log")
    if result.returncode != 0 or not pdf.exists():
        print(result.stdout[-6000:], result.stderr[-6000:], sep="\n")
        print(f"PDF build failed (see {log})")
        return 1
    missing = sorted(set(re.findall(r"Missing character: There is no (.+?) in font", log.read_text(errors="replace"))))
    if missing:
        print(f"missing glyphs in the PDF: {' '.join(missing)} (see {log})")
        return 1
    info = ["pdfinfo", str(pdf)]
    pages = subprocess.run(info, capture_output=True, text=True).stdout if shutil.which("pdfinfo") else ""
    count = re.search(r"Pages:\s+(\d+)", pages)
    print(f"{pdf.relative_to(ROOT)}: {count.group(1) if count else '?'} pages, built in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
