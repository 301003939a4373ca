"""Turn helper names in the chapters' prose into links to the API reference.

    .venv/bin/python takeaway/link_helpers.py            # rewrite chapters/45*.ipynb in place
    .venv/bin/python takeaway/link_helpers.py --check    # exit 1 if a name is left unlinked
    .venv/bin/python takeaway/link_helpers.py FILE ...   # only these notebooks / Markdown files

In Markdown cells only (code cells, outputs and metadata are left alone), an
inline-code name of an object of llmloss, written as ``dpo.dpo_loss``,
``llmloss.dpo.dpo_loss``, with or without ``()``, or a module ``llmloss.dpo``,
becomes a role, e.g. {py:func}`dpo.dpo_loss <llmloss.dpo.dpo_loss>`: the text
stays as written and links to the helper's entry in chapters/api/. Names that
the package does not define are left as they are; fenced code and display
maths are skipped. Running it twice changes nothing.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
CODE_NAME = re.compile(r"(?<![`}\w\[])`((?:llmloss\.)?[a-z_]+(?:\.[A-Za-z_][A-Za-z0-9_]*)?)(\(\))?`(?!`)")
FENCE = re.compile(r"^\s*(```|~~~|:::|\$\$)")


def package_objects() -> dict[str, str]:
    """Full dotted name -> py role ('func', 'class', 'mod') of every public object of llmloss."""
    import llmloss

    objects = {}
    for info in pkgutil.iter_modules(llmloss.__path__):
        if info.name.startswith("_"):
            continue
        name = f"llmloss.{info.name}"
        module = importlib.import_module(name)
        objects[name] = "mod"
        for attr, obj in vars(module).items():
            if attr.startswith("_") or getattr(obj, "__module__", None) != name:
                continue
            if inspect.isclass(obj):
                objects[f"{name}.{attr}"] = "class"
            elif inspect.isfunction(obj):
                objects[f"{name}.{attr}"] = "func"
    return objects


def link_text(text: str, objects: dict[str, str]) -> str:
    """Rewrite the inline-code names of llmloss objects in Markdown ``text`` into roles."""

    def replace(match: re.Match) -> str:
        written, parens = match.group(1), match.group(2) or ""
        full = written if written.startswith("llmloss") else f"llmloss.{written}"
        role = objects.get(full)
        if role is None or (role == "mod" and parens):
            return match.group(0)
        if written == full and not parens:
            return f"{{py:{role}}}`{full}`"
        return f"{{py:{role}}}`{written}{parens} <{full}>`"

    out, skipping, fence = [], False, ""
    for line in text.split("\n"):
        m = FENCE.match(line)
        if m and not skipping:
            opener = m.group(1)
            closes_itself = opener == "$$" and line.strip() != "$$" and line.strip().endswith("$$")
            if not closes_itself:
                skipping, fence = True, opener
            out.append(line)
            continue
        if skipping:
            if line.strip().startswith(fence):
                skipping = False
            out.append(line)
            continue
        out.append(CODE_NAME.sub(replace, line))
    return "\n".join(out)


def process(path: Path, objects: dict[str, str], write: bool) -> bool:
    """Link the helpers of one notebook or Markdown file; True if anything changed."""
    if path.suffix == ".ipynb":
        nb = nbformat.read(path, as_version=4)
        changed = False
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                new = link_text(cell.source, objects)
                if new != cell.source:
                    cell.source, changed = new, True
        if changed and write:
            nbformat.write(nb, path)
        return changed
    text = path.read_text(encoding="utf-8")
    new = link_text(text, objects)
    if new != text and write:
        path.write_text(new, encoding="utf-8")
    return new != text


def main(argv: list[str]) -> int:
    check = "--check" in argv
    files = [Path(a) for a in argv if not a.startswith("--")] or sorted((ROOT / "chapters").glob("45*.ipynb"))
    objects = package_objects()
    changed = [str(p) for p in files if process(p, objects, write=not check)]
    for name in changed:
        print(("unlinked helper names in " if check else "linked helpers in ") + name)
    return 1 if check and changed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
