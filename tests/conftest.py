"""Shared fixtures: the repository root and the chapters listed in _toc.yml."""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import sys

import nbformat
import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent


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
    """One clean build of the book, shared by test_build.py and test_browser.py.

    ``jupyter-book build -W --keep-going`` into an empty folder (warnings of
    unchanged pages are only reported by a clean build), with notebook
    execution off: the pages show the stored outputs, which nbval compares
    with a fresh run in the same suite. Returns (``_build/html``, the process).
    """
    out = tmp_path_factory.mktemp("book")
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    config.setdefault("execute", {})["execute_notebooks"] = "off"
    local = config.get("sphinx", {}).get("local_extensions", {})
    local.update({name: str(ROOT / path) for name, path in local.items()})  # relative to the copied config
    (out / "_config.yml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    jb = shutil.which("jupyter-book", path=str(pathlib.Path(sys.executable).parent)) or shutil.which("jupyter-book")
    assert jb, "jupyter-book is not installed (it is in requirements.txt)"
    command = [jb, "build", str(ROOT), "--config", str(out / "_config.yml"), "--path-output", str(out)]
    result = subprocess.run([*command, "-W", "--keep-going"], capture_output=True, text=True)
    return out / "_build" / "html", result
