"""Shared fixtures: the repository root and the chapters listed in _toc.yml."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import nbformat
import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "i18n"))
import editions  # noqa: E402 - i18n/editions.py: how each edition is built


def toc_files() -> list[str]:
    """Every file named in _toc.yml, root first, without suffix."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [entry["file"] for entry in part.get("chapters", [])]
    return files


def toc_notebooks():
    """(path, notebook) for every notebook named in _toc.yml, in its order."""
    for name in toc_files():
        path = ROOT / f"{name}.ipynb"
        if path.exists():
            yield path, nbformat.read(path, as_version=4)


def markdown(nb) -> str:
    """The Markdown cells of a notebook, joined."""
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


@pytest.fixture(scope="session")
def root() -> pathlib.Path:
    return ROOT


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> tuple[pathlib.Path, subprocess.CompletedProcess]:
    """One clean build of both editions, shared by the build, browser, i18n and takeaway tests.

    i18n/editions.py builds the English and the Chinese edition side by side
    (``jupyter-book build -W --keep-going`` into empty folders: warnings of
    unchanged pages are only reported by a clean build), with notebook
    execution off: the pages show the stored outputs, which nbval compares
    with a fresh run in the same suite. The Chinese edition lands in
    ``html/zh`` (editions.build_site, as for ``make book``). Returns (``html``, one
    process record whose return code is the worse of the two builds).
    """
    html, results = editions.build_site(tmp_path_factory.mktemp("book"))
    record = subprocess.CompletedProcess(
        args=[r.args for r in results.values()],
        returncode=max(r.returncode for r in results.values()),
        stdout="".join(f"--- {e} edition ---\n{r.stdout[-8000:]}" for e, r in results.items()),
        stderr="".join(f"--- {e} edition ---\n{r.stderr[-8000:]}" for e, r in results.items()),
    )
    return html, record
