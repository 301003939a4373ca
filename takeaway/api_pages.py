"""Write the API reference part, chapters/api/: one page per module of llmloss.

    .venv/bin/python takeaway/api_pages.py          # (re)write the pages
    .venv/bin/python takeaway/api_pages.py --check  # exit 1 if a page is missing or stale

Each page is one ``automodule`` directive in a reST page (Sphinx autodoc): every public
function with its signature and docstring, and a [source] link (viewcode) to
the module's code. _toc.yml picks the pages up with ``glob: chapters/api/*``, so
a new module only needs this script run once (tests/test_takeaway.py checks it).
"""

from __future__ import annotations

import pkgutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
API = ROOT / "chapters" / "api"

# reStructuredText, not MyST: the Chinese edition (issue 18) re-parses each
# translated message with its page's parser, and docstrings are reST
# (``:ref:`` roles), so the pages that show them are reST pages.
INDEX_HEAD = """The helpers: API reference
==========================

Every function that the chapters call lives in the Python package ``llmloss``,
one module per idea. Each page below shows a module's public functions: the
signature, the docstring (whose first line names the equation it implements,
linked to the equation) and, through the *[source]* link, the code itself. In
the chapters, a helper's name links to its entry here.

The package comes with the book: the landing page offers it as a wheel
(``pip install llmloss-*.whl``), together with every chapter notebook.

.. autosummary::

{rows}
"""

PAGE = """{title}
{underline}

.. automodule:: {name}
   :members:
   :member-order: bysource
   :show-inheritance:
"""


def modules() -> list[str]:
    """The public modules of llmloss, sorted."""
    import llmloss

    return sorted(
        f"llmloss.{m.name}" for m in pkgutil.iter_modules(llmloss.__path__) if not m.name.startswith("_")
    )


def wanted() -> dict[Path, str]:
    pages = {}
    rows = []
    for name in modules():
        short = name.split(".", 1)[1]
        title = f"``{name}``"
        pages[API / f"{short}.rst"] = PAGE.format(title=title, underline="=" * len(title), name=name)
        rows.append(f"   {name}")
    pages[API / "index.rst"] = INDEX_HEAD.format(rows="\n".join(rows))
    return pages


def main(argv: list[str]) -> int:
    pages = wanted()
    if "--check" in argv:
        stale = [str(p.relative_to(ROOT)) for p, text in pages.items() if not p.exists() or p.read_text() != text]
        extra = [str(p.relative_to(ROOT)) for p in (*API.glob("*.md"), *API.glob("*.rst")) if p not in pages]
        if stale or extra:
            print("API pages out of date:", stale, "no module for:", extra)
            print("run: .venv/bin/python takeaway/api_pages.py")
            return 1
        return 0
    API.mkdir(parents=True, exist_ok=True)
    for path in API.glob("*.md"):  # the pages were MyST before issue 18
        path.unlink()
    for path, text in pages.items():
        if not path.exists() or path.read_text() != text:
            path.write_text(text, encoding="utf-8")
            print("wrote", path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
