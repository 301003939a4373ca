"""The Chinese edition's message catalogs: read, check, fill (issue 18).

The catalogs live in ``locales/zh_CN/LC_MESSAGES/``, one ``.po`` file per
document of the book (``chapters/455_dpo.po`` translates
``chapters/455_dpo.ipynb``). ``python i18n/editions.py catalogs`` extracts
the English messages afresh and merges them in with sphinx-intl; this module
is what a translator and the test suite use on them:

    python i18n/catalogs.py check                  # every problem, all catalogs
    python i18n/catalogs.py todo chapters/455_dpo  # JSON of the messages still to translate
    python i18n/catalogs.py fill chapters/455_dpo done.json   # {"id": "译文", ...}

A message is translated when its ``msgstr`` is non-empty, not fuzzy, and
keeps every piece of markup that the build or the reader relies on
verbatim: maths (``$...$``, ``$$...$$``), the target of each role
(``{numref}`fig-x```, ``{term}`text <target>``` may change its text, never
its target), link targets (``[(4.5.3)](#eq-4-5-3)``) and inline code. On
the reST pages of the API part (docstrings), inline markup is also set off
from Chinese text by a space, as docutils requires.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

from babel.messages.pofile import read_po, write_po
from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = ROOT / "locales" / "zh_CN" / "LC_MESSAGES"
_MARKDOWN = MarkdownIt("commonmark").use(dollarmath_plugin)

# MyST roles {name}`content` and reST roles :name:`content` (docstrings).
_ROLE = re.compile(r"(?:\{([\w:.-]+)\}|(?<![\w`]):([\w:.-]+):)`([^`]*)`")
_EXPLICIT = re.compile(r"^(.*?)\s*<([^<>]+)>$", re.S)
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_DISPLAY_MATH = re.compile(r"\$\$(.+?)\$\$", re.S)
_INLINE_MATH = re.compile(r"(?<![\\$])\$(?!\$)(.+?)(?<![\\$])\$", re.S)
_DOUBLE_CODE = re.compile(r"``(.+?)``", re.S)
_CODE = re.compile(r"`([^`]+)`")
_REST_EMPHASIS = re.compile(r"\*\*[^*\s][^*]*\*\*|(?<!\*)\*[^*\s][^*]*\*(?!\*)")


def emphasis(text: str) -> Counter:
    """How many bold and italic spans CommonMark (MyST) sees in a message.

    CommonMark ignores ``**`` that closes after punctuation and runs into a
    letter: ``**直觉。**语言模型`` stays literal, ``**直觉。** 语言模型`` is bold.
    """
    counts: Counter = Counter()
    for token in _MARKDOWN.parse(text):
        for child in token.children or ():
            if child.type in ("strong_open", "em_open"):
                counts[child.type] += 1
    return counts


def markup(text: str) -> Counter:
    """The markup of a message that a translation must keep, as a multiset.

    Roles count by (role, target): ``{term}`logits <logit (未归一化分数)>``` and
    ``{term}`对数几率 <logit (未归一化分数)>``` are the same reference.
    """
    found: Counter = Counter()

    def role(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        content = match.group(3)
        explicit = _EXPLICIT.match(content)
        target = explicit.group(2) if explicit else content
        found[f"role {name}:{target.strip()}"] += 1
        return " "

    rest = _ROLE.sub(role, text)
    # code before maths: a code span may show a dollar sign (`$$ $\mathcal{L}`)
    for pattern, kind in ((_DOUBLE_CODE, "code"), (_CODE, "code"),
                          (_DISPLAY_MATH, "math"), (_INLINE_MATH, "math")):
        for match in pattern.finditer(rest):
            found[f"{kind} {match.group(1).strip()}"] += 1
        rest = pattern.sub(" ", rest)
    for match in _LINK.finditer(rest):
        found[f"link {match.group(1)}"] += 1
    return found


def is_rest(name: str) -> bool:
    """Whether document ``name`` is a reST page (the API part): its translated
    messages are parsed as reST, where inline markup needs a space or ASCII
    punctuation on both sides."""
    return (ROOT / f"{name}.rst").exists()


def rest_spacing(text: str) -> list[str]:
    """Inline markup of a reST message glued to Chinese text (docutils then
    does not see it as markup): ``式:ref:`(4.5.2) <eq-4-5-2>`（`` must read
    ``式 :ref:`(4.5.2) <eq-4-5-2>` （``; ``，`` ``。`` ``）`` may follow directly."""
    glued = []
    for pattern in (_ROLE, _DOUBLE_CODE, _REST_EMPHASIS):
        for match in pattern.finditer(text):
            before = text[match.start() - 1] if match.start() else " "
            after = text[match.end()] if match.end() < len(text) else " "
            # docutils: before a start-string whitespace or opening/other
            # punctuation （“，; after an end-string closing/other punctuation ）”，。
            if not (before.isascii() or unicodedata.category(before) in ("Ps", "Pi", "Pf", "Pd", "Po")) or not (
                after.isascii() or unicodedata.category(after) in ("Pe", "Pi", "Pf", "Pd", "Po")
            ):
                glued.append(match.group(0))
    return glued


def translation_problems(name: str, msgid: str, msgstr: str) -> list[str]:
    """Why a translation of ``msgid`` cannot be used (empty list: it can)."""
    found = []
    lost, added = markup(msgid) - markup(msgstr), markup(msgstr) - markup(msgid)
    if lost or added:
        found.append(f"markup changed: lost {sorted(lost)}, added {sorted(added)}")
    if is_rest(name):
        glued = rest_spacing(msgstr)
        if glued:
            found.append(f"reST page: put a space between Chinese text and {glued}")
    elif emphasis(msgid) != emphasis(msgstr):
        found.append(f"bold/italic spans {dict(emphasis(msgid))} in English but {dict(emphasis(msgstr))} here"
                     " (a closing ** or * after punctuation needs a space before the next character)")
    return found


def message_id(msgid: str) -> str:
    """A short, stable name of a message (for translators' JSON files)."""
    return hashlib.sha1(msgid.encode("utf-8")).hexdigest()[:10]


def catalog_paths() -> list[Path]:
    return sorted(CATALOGS.rglob("*.po"))


def document(path: Path) -> str:
    """``chapters/455_dpo`` for ``.../LC_MESSAGES/chapters/455_dpo.po``."""
    return path.relative_to(CATALOGS).with_suffix("").as_posix()


def load(path: Path):
    with open(path, "rb") as handle:
        return read_po(handle, locale="zh_CN")


def save(catalog, path: Path) -> None:
    with open(path, "wb") as handle:
        write_po(handle, catalog, width=76, include_previous=True)


def problems(path: Path) -> list[str]:
    """What is wrong with one catalog: untranslated, fuzzy, obsolete, broken markup."""
    catalog = load(path)
    name = document(path)
    found = [f"{name}: obsolete message {m.id[:60]!r}" for m in catalog.obsolete.values()]
    for message in catalog:
        if not message.id:
            continue
        text = message.id[:60]
        if not message.string:
            found.append(f"{name}: untranslated {text!r}")
        elif message.fuzzy:
            found.append(f"{name}: fuzzy {text!r}")
        else:
            found += [f"{name}: {why} in {text!r}" for why in translation_problems(name, message.id, message.string)]
    return found


def msgids(path: Path) -> set[str]:
    """The message ids of a catalog or template (header excluded)."""
    return {m.id for m in load(path) if m.id}


def todo(name: str, everything: bool = False) -> list[dict]:
    """The messages of one catalog still to translate (all with ``everything``)."""
    catalog = load(CATALOGS / f"{name}.po")
    return [{"id": message_id(m.id), "en": m.id, **({"zh": m.string} if m.string else {})}
            for m in catalog if m.id and (everything or not m.string or m.fuzzy)]


def fill(name: str, translations: dict[str, str]) -> list[str]:
    """Write translations (message id -> Chinese) into a catalog.

    A translation that loses or adds markup is not written; the returned
    list says which and why.
    """
    path = CATALOGS / f"{name}.po"
    catalog = load(path)
    by_id = {message_id(m.id): m for m in catalog if m.id}
    rejected = []
    for key, text in translations.items():
        message = by_id.get(key)
        if message is None:
            rejected.append(f"{key}: no such message in {name}")
            continue
        why = translation_problems(name, message.id, text)
        if why:
            rejected.append(f"{key}: {'; '.join(why)}")
            continue
        message.string = text
        message.flags.discard("fuzzy")
        message.previous_id = []
    save(catalog, path)
    return rejected


def main(argv: list[str]) -> int:
    if argv[:1] == ["check"]:
        found = [p for path in catalog_paths() for p in problems(path)]
        print("\n".join(found) or f"{len(catalog_paths())} catalogs: every message translated, markup intact")
        return 1 if found else 0
    if argv[:1] == ["todo"] and len(argv) >= 2:
        print(json.dumps(todo(argv[1], everything="--all" in argv), ensure_ascii=False, indent=1))
        return 0
    if argv[:1] == ["fill"] and len(argv) == 3:
        rejected = fill(argv[1], json.loads(Path(argv[2]).read_text(encoding="utf-8")))
        print("\n".join(rejected) or "all written")
        return 1 if rejected else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
