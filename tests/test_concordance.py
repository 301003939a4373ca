"""The concordance of chapters/457_summary.md cannot drift from the book.

Every column but "what it says" is generated: the chapter from the notebook
that shows ``\\tag{4.5.N}``, the helpers from the first docstring line of the
public functions of ``llmloss`` that name the equation, the number of cells
tagged ``verifies-4.5.N``. The test regenerates the table and compares.
After changing a notebook or a helper, rewrite the table with
``python tests/test_concordance.py`` (the "what it says" column is kept).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import sys

import llmloss

from conftest import ROOT, markdown, toc_notebooks

SUMMARY = ROOT / "chapters" / "457_summary.md"
TAG = re.compile(r"\\tag\{4\.5\.(\d+)\}")
ROW = re.compile(r"^\| \{ref\}`\(4\.5\.(\d+)\) <eq-4-5-\d+>` \| (?P<meaning>.*?) \| .*\|$", re.MULTILINE)
HEADER = "| equation | what it says | chapter | helpers in `llmloss` | verification cells |\n|---|---|---|---|---|\n"
REF = re.compile(r"\(4\.5\.(\d+)\)(?:\s*-\s*\(4\.5\.(\d+)\))?")


def equation_chapters() -> dict[int, tuple[str, int]]:
    """N -> (chapter docname, number of executed cells tagged verifies-4.5.N)."""
    found = {}
    for path, nb in toc_notebooks():
        for n in map(int, TAG.findall(markdown(nb))):
            cells = [c for c in nb.cells if c.cell_type == "code" and f"verifies-4.5.{n}" in c.metadata.get("tags", [])]
            found[n] = (path.stem, sum(c.execution_count is not None for c in cells))
    return found


def equation_helpers() -> dict[int, list[str]]:
    """N -> the public helpers whose docstring's first line implements (4.5.N)."""
    helpers: dict[int, list[str]] = {}
    for info in pkgutil.iter_modules(llmloss.__path__):
        module = importlib.import_module(f"llmloss.{info.name}")
        for name, obj in sorted(vars(module).items()):
            if name.startswith(("_", "check_")) or getattr(obj, "__module__", None) != module.__name__:
                continue
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            first = (inspect.getdoc(obj) or "").splitlines()[:1]
            if not first or "compar" in first[0]:
                continue
            for start, stop in REF.findall(first[0]):
                for n in range(int(start), int(stop or start) + 1):
                    helpers.setdefault(n, []).append(f"{{py:obj}}`{info.name}.{name} <llmloss.{info.name}.{name}>`")
    return helpers


def render(meanings: dict[int, str]) -> str:
    chapters, helpers = equation_chapters(), equation_helpers()
    rows = []
    for n in range(1, 31):
        doc, cells = chapters.get(n, ("", 0))
        chapter = f"{{doc}}`{'.'.join(doc[:3])} <{doc}>`" if doc else "not yet in the book"  # 451_... -> 4.5.1
        rows.append(
            f"| {{ref}}`(4.5.{n}) <eq-4-5-{n}>` | {meanings.get(n, '')} | {chapter} | "
            f"{', '.join(helpers.get(n, [])) or '—'} | {cells} |"
        )
    return HEADER + "\n".join(rows) + "\n"


def current() -> tuple[str, dict[int, str]]:
    text = SUMMARY.read_text(encoding="utf-8")
    return text, {int(m.group(1)): m.group("meaning") for m in ROW.finditer(text)}


def table_span(text: str) -> tuple[int, int]:
    start = text.index(HEADER)
    end = text.index("\n\n", start)
    return start, end + 1


def test_concordance_lists_all_30_equations_with_a_meaning():
    _, meanings = current()
    assert sorted(meanings) == list(range(1, 31)), f"rows for {sorted(meanings)}"
    assert all(m.strip() for m in meanings.values()), "every equation needs its one-line meaning"


def test_concordance_matches_the_book():
    text, meanings = current()
    start, end = table_span(text)
    expected = render(meanings)
    assert text[start:end] == expected, "the concordance drifted: run `python tests/test_concordance.py`"


def test_every_equation_is_in_the_book_and_verified():
    chapters = equation_chapters()
    missing = [n for n in range(1, 31) if chapters.get(n, ("", 0))[1] == 0]
    assert not missing, f"equations without an executed verifying cell: {missing}"


if __name__ == "__main__":
    text, meanings = current()
    start, end = table_span(text)
    SUMMARY.write_text(text[:start] + render(meanings) + text[end:], encoding="utf-8")
    sys.exit(0)
