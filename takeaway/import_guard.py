"""Put the llmloss import guard at the top of each chapter's first code cell.

    .venv/bin/python takeaway/import_guard.py           # chapters/45*.ipynb, in place
    .venv/bin/python takeaway/import_guard.py --check   # exit 1 if a chapter lacks it
    .venv/bin/python takeaway/import_guard.py FILE ...  # only these notebooks

A notebook downloaded from the book and opened where llmloss is not installed
then stops in its first cell with one sentence that says how to install the
package from the book's wheel, instead of a ModuleNotFoundError traceback.
Nothing is installed from the network. Only the cell's source changes (the
guard prints nothing where llmloss is installed), so the stored outputs stay
valid. Running it twice changes nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
MESSAGE = (
    "This notebook needs llmloss, the book's helper package: "
    "install the wheel from the book's downloads with "
    "`pip install llmloss-*.whl`, then restart the kernel."
)
GUARD = '''try:  # the book's helper package; its wheel is on the book's landing page
    import llmloss  # noqa: F401
except ImportError:
    raise SystemExit(
        "This notebook needs llmloss, the book's helper package: "
        "install the wheel from the book's downloads with "
        "`pip install llmloss-*.whl`, then restart the kernel."
    ) from None
'''
MARKER = "import llmloss  # noqa: F401"


def has_guard(nb) -> bool:
    code = [c for c in nb.cells if c.cell_type == "code"]
    return bool(code) and MARKER in code[0].source


def add_guard(path: Path, write: bool = True) -> bool:
    """Insert the guard into the notebook at ``path``; True if it was missing."""
    nb = nbformat.read(path, as_version=4)
    if has_guard(nb):
        return False
    first = next(c for c in nb.cells if c.cell_type == "code")
    first.source = GUARD + "\n" + first.source
    if write:
        nbformat.write(nb, path)
    return True


def main(argv: list[str]) -> int:
    check = "--check" in argv
    files = [Path(a) for a in argv if not a.startswith("--")] or sorted((ROOT / "chapters").glob("45*.ipynb"))
    missing = [p for p in files if add_guard(p, write=not check)]
    for p in missing:
        print(("no import guard in " if check else "guard added to ") + str(p))
    return 1 if check and missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
