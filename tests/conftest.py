"""Shared fixtures: the repository root and the chapters listed in _toc.yml."""

from __future__ import annotations

import pathlib

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
