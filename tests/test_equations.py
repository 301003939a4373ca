"""Equation coverage: every equation of every chapter in _toc.yml is shown
once with the text's own number and verified by an executed, asserting cell.

A chapter is a notebook whose title starts with its subsection number
("# 4.5.1 ..."); the table below says which equations and which definitions
and theorems of the text belong to it.
"""

from __future__ import annotations

import ast
import re

import nbformat
import pytest

from conftest import ROOT, markdown, toc_notebooks

EQUATIONS = {
    "4.5.1": range(1, 6),
    "4.5.2": range(6, 11),
    "4.5.3": range(11, 13),
    "4.5.4": range(13, 21),
    "4.5.5": range(21, 27),
    "4.5.6": range(27, 31),
}
STATEMENTS = {
    "4.5.1": ["definition 4.5.1", "definition 4.5.2", "definition 4.5.3", "theorem 4.5.1"],
    "4.5.2": [f"definition 4.5.{i}" for i in range(4, 8)],
    "4.5.3": ["definition 4.5.8", "definition 4.5.9"],
    "4.5.4": [f"definition 4.5.{i}" for i in range(10, 13)],
    "4.5.5": ["definition 4.5.13", "definition 4.5.14", "theorem 4.5.2"],
    "4.5.6": ["definition 4.5.15"],
}
TAG = re.compile(r"\\tag\{4\.5\.(\d+)\}")
PROOF = re.compile(r"^:::+\{prf:(definition|theorem)\}\s+(4\.5\.\d+)\s+\(", re.MULTILINE)


def chapters() -> dict[str, nbformat.NotebookNode]:
    """The chapter notebooks of the table of contents, by subsection number."""
    found = {}
    for path, nb in toc_notebooks():
        title = "".join(nb.cells[0].source).lstrip("# ").split()[0]
        assert title in EQUATIONS, f"{path.name}: title must start with a subsection number, got {title!r}"
        found[title] = nb
    return found


CHAPTERS = chapters()


def _is_assertion(stmt: ast.stmt) -> bool:
    """An assert, a call to a check function, or a loop/block whose last statement is one."""
    if isinstance(stmt, ast.Assert):
        return True
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        func = stmt.value.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        return name.startswith(("check", "assert", "gradcheck"))
    if isinstance(stmt, (ast.For, ast.While, ast.With)):
        return bool(stmt.body) and _is_assertion(stmt.body[-1])
    return False


def ends_in_assertion(source: str) -> bool:
    """The cell's last statement is an assertion (see ``_is_assertion``)."""
    body = ast.parse("\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))))
    return bool(body.body) and _is_assertion(body.body[-1])


def test_toc_lists_chapters():
    assert "4.5.1" in CHAPTERS, "the table of contents must list the chapter of 4.5.1"


def test_each_number_shown_once_in_the_book():
    seen: dict[int, list[str]] = {}
    for sub, nb in CHAPTERS.items():
        for n in TAG.findall(markdown(nb)):
            seen.setdefault(int(n), []).append(sub)
    doubled = {n: where for n, where in seen.items() if len(where) > 1}
    assert not doubled, f"equations shown more than once: {doubled}"
    strays = {n: where for n, where in seen.items() if not any(n in EQUATIONS[s] for s in where)}
    assert not strays, f"equations shown outside their own chapter: {strays}"


@pytest.mark.parametrize("sub", sorted(CHAPTERS))
def test_chapter_shows_and_verifies_its_equations(sub):
    nb = CHAPTERS[sub]
    text = markdown(nb)
    shown = [int(n) for n in TAG.findall(text)]
    for n in EQUATIONS[sub]:
        assert shown.count(n) == 1, f"(4.5.{n}) must be shown exactly once in {sub}, found {shown.count(n)}"
        target = re.search(rf"^\(eq-4-5-{n}\)=\s*\n\$\$(?P<body>.*?)\$\$", text, re.MULTILINE | re.DOTALL)
        assert target, f"(4.5.{n}) needs the target (eq-4-5-{n})= right above its $$ block"
        # Sphinx wraps a display containing \\ in a split environment, where \tag is an error
        assert "\\\\" not in target["body"], f"(4.5.{n}): use \\cr, not \\\\, for a line break beside \\tag"
        cells = [c for c in nb.cells if c.cell_type == "code" and f"verifies-4.5.{n}" in c.metadata.get("tags", [])]
        assert cells, f"no cell tagged verifies-4.5.{n}"
        for cell in cells:
            assert cell.execution_count is not None, f"a verifies-4.5.{n} cell was never executed"
            assert not any(o.output_type == "error" for o in cell.outputs), f"a verifies-4.5.{n} cell stores an error"
            assert ends_in_assertion(cell.source), f"a verifies-4.5.{n} cell must end in an assertion:\n{cell.source}"


@pytest.mark.parametrize("sub", sorted(CHAPTERS))
def test_chapter_states_definitions_and_theorems(sub):
    text = markdown(CHAPTERS[sub])
    found = [f"{kind} {num}" for kind, num in PROOF.findall(text)]
    for statement in STATEMENTS[sub]:
        assert statement in found, f"{sub}: missing '{{prf:{statement.split()[0]}}} {statement.split()[1]} (...)'"
    for match in re.finditer(r"^:::+\{prf:(?:definition|theorem)\}[^\n]*\n((?::\w+:[^\n]*\n)*)", text, re.MULTILINE):
        assert ":nonumber:" in match.group(1), f"{sub}: a prf directive lacks :nonumber: (it would add a 2nd number)"


@pytest.mark.parametrize("sub", sorted(CHAPTERS))
def test_verification_cells_ignore_only_device_specific_output(sub):
    for cell in CHAPTERS[sub].cells:
        tags = cell.metadata.get("tags", [])
        if cell.cell_type == "code" and any(t.startswith("verifies-") for t in tags):
            assert "NBVAL_IGNORE_OUTPUT" not in cell.source, "a verification cell must have its output compared"


def test_errata_page_links_every_erratum():
    errata = (ROOT / "chapters" / "errata.md").read_text(encoding="utf-8")
    labels = set()
    for nb in CHAPTERS.values():
        labels |= set(re.findall(r"^\((erratum-[\w-]+)\)=", markdown(nb), re.MULTILINE))
    linked = set(re.findall(r"<(erratum-[\w-]+)>", errata))
    assert labels, "no erratum found in the chapters"
    assert labels - linked == set(), f"errata not linked from errata.md: {labels - linked}"
    assert linked - labels == set(), f"errata.md links labels that no chapter defines: {linked - labels}"
