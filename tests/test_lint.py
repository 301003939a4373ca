"""ruff over the helpers, the tests and the notebooks (settings in pyproject.toml),
and the notebooks' code at most 88 columns: a code cell of the book shows 88
columns without a sideways scroll at a 1280-px window (tests/test_browser.py
measures it); code/ and tests/ keep pyproject.toml's 120."""

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from conftest import ROOT

NOTEBOOK_LINE_LENGTH = 88


def _ruff() -> str:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff, "ruff is not installed (it is in requirements.txt)"
    return ruff


def test_ruff_check_passes():
    ruff = _ruff()
    result = subprocess.run([ruff, "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _long_lines(*notebooks: str, cwd=ROOT) -> subprocess.CompletedProcess:
    # --isolated: only E501 at 88 columns, whatever pyproject.toml says for *.ipynb
    command = [_ruff(), "check", "--isolated", "--select", "E501", "--output-format", "concise"]
    command += ["--line-length", str(NOTEBOOK_LINE_LENGTH), *notebooks]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True)


def test_notebook_code_lines_fit_the_page():
    notebooks = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "chapters").glob("*.ipynb"))
    assert notebooks, "no notebook in chapters/"
    result = _long_lines(*notebooks)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_long_notebook_line_is_caught(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1\n" + "y = " + " + ".join(["x"] * 30))]
    nbformat.write(nb, tmp_path / "wide.ipynb")
    result = _long_lines("wide.ipynb", cwd=tmp_path)
    assert result.returncode == 1 and "E501 Line too long (121 > 88)" in result.stdout, result.stdout
