"""Issue 17, "take the book with you": the API reference, the downloads, a notebook
run outside the repository, and the repository buttons.

The helpers of this issue live in takeaway/ (see its module docstrings).
"""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import re
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
import yaml

from conftest import ROOT

TAKEAWAY = ROOT / "takeaway"
sys.path.insert(0, str(TAKEAWAY))

import api_pages  # noqa: E402
import downloads  # noqa: E402
import import_guard  # noqa: E402
import link_helpers  # noqa: E402

# The chapter that the outside-the-repository test runs (one of the quickest).
OUTSIDE_NOTEBOOK = "453_multitask_learning.ipynb"


def public_objects() -> dict[str, list[str]]:
    """module -> names of the public functions and classes that it defines."""
    import llmloss

    found = {}
    for info in pkgutil.iter_modules(llmloss.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"llmloss.{info.name}")
        found[info.name] = [
            name
            for name, obj in vars(module).items()
            if not name.startswith("_")
            and (inspect.isfunction(obj) or inspect.isclass(obj))
            and obj.__module__ == module.__name__
        ]
    return found


# ----------------------------------------------------------- API reference
def test_every_module_has_an_api_page():
    assert api_pages.main(["--check"]) == 0, "run .venv/bin/python takeaway/api_pages.py"


def test_toc_lists_the_api_pages():
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    assert "chapters/api/index" in toc and "glob: chapters/api/*" in toc


def test_docstring_equations_become_links():
    sys.path.insert(0, str(TAKEAWAY))
    from sphinx_takeaway import plain_docstring_as_rest

    lines = plain_docstring_as_rest(
        ["DPO loss, eq. (4.5.21): -log sigmoid(beta h), |h| any.", "", "mode:", "- ``(4.5.3)`` stays", "  literal"]
    )
    assert lines[0] == r"DPO loss, eq. :ref:`(4.5.21) <eq-4-5-21>`: -log sigmoid(beta h), \|h\| any."
    assert lines[3] == "" and lines[4] == "- ``(4.5.3)`` stays"


@pytest.mark.build
def test_api_part_lists_every_public_function(built_book):
    html, result = built_book
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    for module, names in public_objects().items():
        page = html / "chapters" / "api" / f"{module}.html"
        assert page.exists(), f"no API page for llmloss.{module}"
        text = page.read_text(encoding="utf-8")
        for name in names:
            assert f'id="llmloss.{module}.{name}"' in text, f"llmloss.{module}.{name} missing from its API page"
        if names:  # viewcode: the module's source, linked from each entry
            assert (html / "_modules" / "llmloss" / f"{module}.html").exists(), f"no source page for {module}"
            assert "viewcode-link" in text
    dpo = (html / "chapters" / "api" / "dpo.html").read_text(encoding="utf-8")
    assert re.search(r'href="\.\./455_dpo\.html#eq-4-5-21"', dpo), "eq. (4.5.21) is not linked to its equation"


@pytest.mark.build
def test_chapters_link_their_helpers(built_book):
    html, _ = built_book
    for name in sorted((ROOT / "chapters").glob("45*.ipynb")):
        text = (html / "chapters" / f"{name.stem}.html").read_text(encoding="utf-8")
        assert 'href="api/' in text, f"{name.stem} links none of its helpers"


def test_helper_names_in_prose_are_links():
    assert link_helpers.main(["--check"]) == 0, "run .venv/bin/python takeaway/link_helpers.py"


def test_link_helpers_leaves_code_and_unknown_names_alone():
    objects = link_helpers.package_objects()
    text = "Use `dpo.dpo_loss` and `llmloss.lm`, not `sp.lambdify`.\n```python\n`dpo.dpo_loss`\n```"
    linked = link_helpers.link_text(text, objects)
    assert linked.startswith("Use {py:func}`dpo.dpo_loss <llmloss.dpo.dpo_loss>` and {py:mod}`llmloss.lm`")
    assert "`sp.lambdify`" in linked and linked.endswith("```python\n`dpo.dpo_loss`\n```")
    assert link_helpers.link_text(linked, objects) == linked


# ------------------------------------------------------------ run anywhere
def test_every_chapter_stops_clearly_without_llmloss():
    assert import_guard.main(["--check"]) == 0, "run .venv/bin/python takeaway/import_guard.py"


def test_landing_page_lists_what_the_build_produced(tmp_path):
    """The downloads directive offers the files of takeaway_downloads, plus the PDF once it exists."""
    from types import SimpleNamespace

    from sphinx_takeaway import downloads as offered

    (tmp_path / "dl").mkdir()
    (tmp_path / "dl" / "llmloss-0.1.0-py3-none-any.whl").write_bytes(b"w")
    config = SimpleNamespace(takeaway_downloads="dl", takeaway_pdf="latex/llmloss-book.pdf")
    assert [p.name for p in offered(config, tmp_path)] == ["llmloss-0.1.0-py3-none-any.whl"]
    (tmp_path / "latex").mkdir()
    (tmp_path / "latex" / "llmloss-book.pdf").write_bytes(b"%PDF")
    assert [p.name for p in offered(config, tmp_path)][-1] == "llmloss-book.pdf"


def _reader_venv(tmp_path: Path) -> Path:
    """A new virtual environment outside the repository, without llmloss.

    It reuses the packages already installed in the book's .venv (PyTorch and
    the rest: nothing is downloaded) through a folder of links to each of them,
    leaving out llmloss and its editable-install hook; llmloss itself then comes
    only from the wheel.
    """
    venv = tmp_path / "reader-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    shared = tmp_path / "book-packages"
    shared.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if "llmloss" in entry.name or entry.suffix == ".pth":
            continue
        (shared / entry.name).symlink_to(entry)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(purelib, "book_packages.pth").write_text(f"{shared}\n", encoding="utf-8")
    return python


def _run_first_cell(python: Path, notebook: Path) -> list[dict]:
    """Execute the notebook in a kernel of ``python``; return the first code cell's outputs."""
    script = (
        "import json, sys, nbformat, nbclient\n"
        "nb = nbformat.read(sys.argv[1], as_version=4)\n"
        "nb.cells = [c for c in nb.cells if c.cell_type == 'code'][:2]\n"
        "for cell in nb.cells:\n    cell.outputs, cell.execution_count = [], None\n"
        "client = nbclient.NotebookClient(nb, kernel_name='python3', timeout=120)\n"
        "try:\n    client.execute()\nexcept nbclient.exceptions.CellExecutionError:\n    pass\n"
        "print(json.dumps([nb.cells[0].outputs, nb.cells[1].get('execution_count')]))\n"
    )
    result = subprocess.run(
        [str(python), "-c", script, str(notebook)], capture_output=True, text=True, cwd=notebook.parent, timeout=180
    )
    assert result.returncode == 0, result.stderr[-3000:]
    import json

    return json.loads(result.stdout.strip().splitlines()[-1])


def test_notebook_runs_outside_the_repository(tmp_path):
    """The downloads, as a reader gets them: a wheel and an archive; in a new
    environment outside the repository a chapter first stops with the guard's
    sentence, then, with the wheel installed, passes nbval (strict)."""
    out = tmp_path / "downloads"
    assert downloads.main([str(out)]) == 0
    wheel = out / f"llmloss-{downloads.version()}-py3-none-any.whl"
    archive = out / downloads.ARCHIVE
    assert wheel.exists() and archive.exists()
    with zipfile.ZipFile(archive) as zf:
        names = set(zf.namelist())
        zf.extractall(tmp_path)
    reader = tmp_path / downloads.FOLDER
    chapters = {p.name for p in downloads.chapter_notebooks()}
    assert chapters and {f"{downloads.FOLDER}/{n}" for n in chapters} <= names
    for extra in ("requirements.txt", "README.md", wheel.name):
        assert f"{downloads.FOLDER}/{extra}" in names, extra
    readme = (reader / "README.md").read_text(encoding="utf-8")
    assert f"pip install {wheel.name}" in readme and "jupyter lab" in readme

    python = _reader_venv(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env["PIP_NO_INDEX"] = "1"  # nothing from the network
    notebook = reader / OUTSIDE_NOTEBOOK

    # Without llmloss: the first cell stops, with one sentence, and nothing else runs.
    missing = subprocess.run([str(python), "-c", "import llmloss"], capture_output=True, env=env, cwd=reader)
    assert missing.returncode != 0, "llmloss leaked into the reader's environment"
    outputs, second_count = _run_first_cell(python, notebook)
    errors = [o for o in outputs if o["output_type"] == "error"]
    assert errors and errors[0]["ename"] == "SystemExit", outputs
    assert errors[0]["evalue"] == import_guard.MESSAGE
    assert second_count is None, "the notebook went on after the guard"

    # With the wheel and the requirements installed from the local files only.
    pip = [str(python), "-m", "pip", "install", "--quiet", "--no-index", "--find-links", str(reader)]
    subprocess.run([*pip, "-r", str(reader / "requirements.txt"), wheel.name], check=True, env=env, cwd=reader)
    where = [str(python), "-c", "import llmloss; print(llmloss.__file__)"]
    where = subprocess.run(where, capture_output=True, text=True, env=env, cwd=reader)
    assert where.stdout.startswith(str(python.parent.parent)), where.stdout + where.stderr
    run = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval", "--nbval-current-env", notebook.name],
        capture_output=True,
        text=True,
        env=env,
        cwd=reader,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]


# ------------------------------------------------------- hosting-ready
def _buttons(text: str) -> dict[str, bool]:
    return {
        "repository": bool(re.search(r'<a[^>]*href="https://github\.com/example-owner/llmloss-book"', text)),
        "issues": "https://github.com/example-owner/llmloss-book/issues" in text,
        "colab": bool(re.search(r'<a[^>]*href="https://colab\.research\.google\.com/', text)),
    }


@pytest.mark.build
def test_no_repository_buttons_when_no_url_is_set(built_book):
    html, _ = built_book
    text = (html / "chapters" / "455_dpo.html").read_text(encoding="utf-8")
    assert "repository-button" not in text and "colab.research.google.com" not in text
    assert "executablebooks/jupyter-book" not in text, "a button points at Jupyter Book's own repository"


@pytest.mark.build
def test_buttons_appear_when_the_repository_url_is_set(tmp_path):
    """One build (execution off, three pages) with a sample repository URL."""
    url = "https://github.com/example-owner/llmloss-book"
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    config.setdefault("execute", {})["execute_notebooks"] = "off"
    config.setdefault("repository", {})["url"] = url
    local = config.get("sphinx", {}).get("local_extensions", {})
    local.update({name: str(ROOT / path) for name, path in local.items()})
    (tmp_path / "_config.yml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    toc = {"format": "jb-book", "root": "chapters/index", "chapters": [{"file": "chapters/455_dpo"}]}
    (tmp_path / "_toc.yml").write_text(yaml.safe_dump(toc), encoding="utf-8")
    jb = Path(sys.executable).parent / "jupyter-book"
    result = subprocess.run(
        [str(jb), "build", str(ROOT), "--config", str(tmp_path / "_config.yml"), "--toc", str(tmp_path / "_toc.yml")]
        + ["--path-output", str(tmp_path), "--keep-going"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    html = tmp_path / "_build" / "html"
    assert (html / "chapters" / "455_dpo.html").exists(), result.stdout[-4000:] + result.stderr[-4000:]
    chapter = (html / "chapters" / "455_dpo.html").read_text(encoding="utf-8")
    assert _buttons(chapter) == {"repository": True, "issues": True, "colab": True}, _buttons(chapter)
    assert "colab.research.google.com/github/example-owner/llmloss-book/blob/main/chapters/455_dpo.ipynb" in chapter
    # The offline rule still holds: buttons are plain links, nothing is loaded from another host.
    remote = re.compile(r'<(?:script|link|img|iframe)\b[^>]*(?:src|href)="(?:https?:)?//', re.IGNORECASE)
    for page in html.rglob("*.html"):
        for tag in re.findall(r"<(?:script|link|img|iframe)\b[^>]*>", page.read_text(encoding="utf-8"), re.I):
            assert not (remote.match(tag) and 'rel="canonical"' not in tag), f"{page.name} loads {tag}"
