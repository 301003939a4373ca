"""Small adjustments of the built pages that no theme or extension option makes.

- Each script of a page is written once. Under Jupyter Book 1 (Sphinx 7.4)
  sphinx-thebe's inline configuration script, ``const THEBE_JS_URL = ...``,
  reaches every page twice, and the second copy throws "Identifier
  'THEBE_JS_URL' has already been declared" in the browser. With Thebe off
  (``launch_buttons.thebe: false``) none of sphinx-thebe's files is loaded.
- Exercises are numbered per chapter: the third exercise of 4.5.5 is
  "Exercise 4.5.5.3" in its box, in {numref} references and in solution
  titles (sphinx-exercise numbers them across the whole book otherwise).
- Search finds equation numbers such as "4.5.18" (Sphinx's splitter breaks
  them at the dots, and its query parser drops pure numbers) on top of
  Sphinx's Chinese support (jieba), so that 偏好 finds 直接偏好优化.
- Chinese runs of text carry ``lang="zh"`` (screen readers, fonts, hyphenation)
  in the English edition (the Chinese edition is ``lang="zh-CN"`` as a whole).
- The search index scripts load only on the search page (pydata-sphinx-theme
  loads them everywhere for its search-as-you-type mode, which is off).
- Wide tables (three or more columns) get their column headings on each cell
  (data-label), so that custom.css can lay them out as cards on a phone.
- A bibliography entry is a list item for assistive technology (docutils'
  role="doc-biblioentry" is deprecated in ARIA 1.2).
- The page "Definitions and theorems" lists every proof-domain box ({proof-index}).
"""

from __future__ import annotations

import re
from html import escape as html_escape
from pathlib import Path

import snowballstemmer
from docutils import nodes
from sphinx.search.zh import SearchChinese
from sphinx.util.docutils import SphinxDirective

# ---------------------------------------------------------------------------
# Scripts
# ---------------------------------------------------------------------------


def _thebe_on(app) -> bool:
    launch = (app.config.html_theme_options or {}).get("launch_buttons", {}) or {}
    return bool(launch.get("thebe")) or bool(getattr(app.config, "use_thebe", False))


def _page_assets(app, pagename, templatename, context, doctree):
    """Drop duplicate scripts, and sphinx-thebe's files while Thebe is off."""
    thebe = _thebe_on(app)
    scripts = context.get("script_files")
    if scripts:
        seen, unique = set(), []
        for script in scripts:
            filename = str(getattr(script, "filename", script) or "")
            body = str(getattr(script, "attributes", {}).get("body", ""))
            if not thebe and ("thebe" in filename or "THEBE_JS_URL" in body):
                continue
            # an inline script may carry filename None or "" (one each here)
            attributes = getattr(script, "attributes", {})
            key = (filename, repr(sorted(attributes.items())))
            if key not in seen:
                seen.add(key)
                unique.append(script)
        scripts[:] = unique
    css = context.get("css_files")
    if css and not thebe:
        css[:] = [c for c in css if "thebe" not in str(getattr(c, "filename", c) or "")]


# ---------------------------------------------------------------------------
# Exercises numbered per chapter
# ---------------------------------------------------------------------------


def _chapter_prefix(docname: str) -> tuple[int, ...]:
    """(4, 5, 5) for chapters/455_dpo; () for a page without a number."""
    match = re.match(r"(\d)(\d)(\d)_", Path(docname).name)
    return tuple(int(d) for d in match.groups()) if match else ()


def _number_exercises_per_chapter(app, env):
    """Renumber the exercises of each page 1, 2, ... after Sphinx numbered them
    across the book (its toctree collector runs first, at priority 500)."""
    changed = []
    for docname, numbers in env.toc_fignumbers.items():
        exercises = numbers.get("exercise")
        if not exercises:
            continue
        ordered = sorted(exercises.items(), key=lambda item: item[1])
        prefix = _chapter_prefix(docname)
        renumbered = {key: (*prefix, k) for k, (key, _) in enumerate(ordered, start=1)}
        if renumbered != exercises:
            numbers["exercise"] = renumbered
            changed.append(docname)
    return changed


# ---------------------------------------------------------------------------
# The index of definitions and theorems (a page of the table of contents)
# ---------------------------------------------------------------------------


class proof_index_node(nodes.General, nodes.Element):
    """Placeholder, replaced by the list of all proof-domain boxes."""


class ProofIndexDirective(SphinxDirective):
    """``{proof-index}``: every definition, theorem, proposition ... of the
    book, by chapter, each linked with its heading as the box shows it."""

    def run(self):
        return [proof_index_node()]


def _box_heading(doctree, label: str) -> str:
    for node in doctree.findall(nodes.Element):
        if label in node.get("ids", ()) and "proof" in node.get("classes", ()):
            title = next(iter(node.findall(nodes.title)), None)
            if title is not None:
                return re.sub(r"\s+", " ", title.astext()).strip()
    return label


def _fill_proof_index(app, doctree, fromdocname):
    placeholders = list(doctree.findall(proof_index_node))
    if not placeholders:
        return
    env = app.env
    proofs = getattr(env, "proof_list", {})
    by_doc: dict[str, list[str]] = {}
    for label, values in proofs.items():
        by_doc.setdefault(values["docname"], []).append(label)
    result = []
    for docname in sorted(by_doc):
        tree = env.get_doctree(docname)
        order = {node_id: i for i, node in enumerate(tree.findall(nodes.Element)) for node_id in node.get("ids", ())}
        section = nodes.bullet_list()
        for label in sorted(by_doc[docname], key=lambda lb: order.get(lb, 0)):
            uri = app.builder.get_relative_uri(fromdocname, docname) + "#" + label
            text = _box_heading(tree, label)
            kind = proofs[label]["realtype"].capitalize()
            if not text.lower().startswith(kind.lower()):
                text = f"{kind} {text}"
            ref = nodes.reference("", text, internal=True, refuri=uri)
            section += nodes.list_item("", nodes.paragraph("", "", ref))
        title = env.titles[docname].astext() if docname in env.titles else docname
        heading = nodes.paragraph("", "", nodes.strong("", title))
        result += [heading, section]
    for placeholder in placeholders:
        placeholder.replace_self(result)


# ---------------------------------------------------------------------------
# Search: Chinese words and equation numbers
# ---------------------------------------------------------------------------

_EQUATION_NUMBER = re.compile(r"\d+(?:\.\d+)+")
_CJK_WORD_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{2,}")


class BookSearch(SearchChinese):
    """Sphinx's Chinese search, which also indexes numbers such as 4.5.18."""

    lang = "zh"
    js_splitter_code = r"""
function splitQuery(query) {
  // dotted numbers (equation numbers such as 4.5.18) stay whole
  const numbers = query.match(/\d+(?:\.\d+)+/g) || [];
  const rest = query.replace(/\d+(?:\.\d+)+/g, " ")
    .split(/[^\p{Letter}\p{Number}_\p{Emoji_Presentation}]+/gu)
    .filter((term) => term);
  return numbers.concat(rest);
}
"""

    def init(self, options) -> None:
        super().init(options)
        # The query side (language_data.js) stems with the Porter stemmer;
        # SearchChinese indexes with Porter2 ("bradley" -> "bradley" against
        # "bradlei" in the browser), so no English word with a final y matched.
        self.stemmer = snowballstemmer.stemmer("porter")

    def split(self, input: str) -> list[str]:
        numbers = _EQUATION_NUMBER.findall(input)
        rest = _EQUATION_NUMBER.sub(" ", input)
        # jieba's words, and each whole run of Chinese as the browser splits a
        # query (直接偏好优化 as well as 直接 / 偏好 / 优化)
        runs = [run for run in _CJK_WORD_RUN.findall(rest) if len(run) <= 16]
        return super().split(rest) + runs + numbers

    def stem(self, word: str) -> str:
        if _EQUATION_NUMBER.fullmatch(word):
            return word
        return super().stem(word)


# ---------------------------------------------------------------------------
# The written HTML: lang="zh" on Chinese text, search scripts on the search page
# ---------------------------------------------------------------------------

# CJK ideographs, CJK punctuation and full-width forms; a run may hold spaces
# and ASCII digits between ideographs (e.g. "第 4 章") but starts and ends on one.
_CJK = "\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK_RUN = re.compile(f"[{_CJK}](?:[{_CJK}0-9 ]*[{_CJK}])?")
_TOKEN = re.compile(r"(<!--.*?-->|<script\b.*?</script>|<style\b.*?</style>|<[^>]*>)", re.DOTALL | re.IGNORECASE)
_OPEN = re.compile(r"<(\w+)([^>]*)>")
_SEARCH_SCRIPTS = re.compile(
    r'[ \t]*<script src="[./]*(?:_static/searchtools\.js|_static/language_data\.js|searchindex\.js)"></script>\n?'
)
_THEBE_BODY = re.compile(
    r'[ \t]*<script type="text/x-thebe-config">.*?</script>\n?|[ \t]*<script>kernelName = [^<]*</script>\n?', re.DOTALL
)


def mark_chinese(html: str) -> str:
    """Wrap each run of Chinese text in the body in <span lang="zh">, except
    inside formulas (MathJax reads their TeX), scripts, styles and elements
    that already carry a lang attribute."""
    start = html.find("<body")
    if start < 0:
        return html
    out = [html[:start]]
    skip_tag, depth = None, 0
    for token in _TOKEN.split(html[start:]):
        if not token:
            continue
        if token.startswith("<"):
            out.append(token)
            if token.startswith(("<!--", "<script", "<style", "<SCRIPT", "<STYLE")):
                continue
            if skip_tag:
                if re.match(rf"<{skip_tag}\b", token) and not token.endswith("/>"):
                    depth += 1
                elif token.startswith(f"</{skip_tag}"):
                    depth -= 1
                    if depth == 0:
                        skip_tag = None
                continue
            opened = _OPEN.match(token)
            if opened:
                tag, attributes = opened.group(1).lower(), opened.group(2)
                classes = re.search(r'class="([^"]*)"', attributes)
                is_math = classes and "math" in classes.group(1).split()
                if (is_math or re.search(r"\blang=", attributes) or tag in ("textarea", "title")) and not (
                    token.endswith("/>")
                ):
                    skip_tag, depth = tag, 1
            continue
        if skip_tag:
            out.append(token)
        else:
            out.append(_CJK_RUN.sub(lambda m: f'<span lang="zh">{m.group(0)}</span>', token))
    return "".join(out)


_TABLE = re.compile(r"<table\b[^>]*>.*?</table>", re.DOTALL)


def label_table_cells(html: str) -> str:
    """Give each body cell of a table with three or more columns its column
    heading as data-label, and the table data-stack (custom.css lays such a
    table out as one card per row on a phone)."""

    def one(match):
        table = match.group(0)
        head = re.search(r"<thead>(.*?)</thead>", table, re.DOTALL)
        if not head:
            return table
        headings = re.findall(r"<th\b[^>]*>(.*?)</th>", head.group(1), re.DOTALL)
        labels = [re.sub(r"<[^>]+>", "", th).strip() for th in headings]
        if len(labels) < 3:
            return table

        def row(tr):
            cells = iter(labels)
            return re.sub(
                r"<td\b", lambda td: f'<td data-label="{html_escape(next(cells, ""))}"', tr.group(0)
            )

        table = re.sub(r"<tr\b.*?</tr>", row, table, flags=re.DOTALL)
        return table.replace("<table", "<table data-stack", 1)

    return _TABLE.sub(one, html)


def _rewrite_pages(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    thebe = _thebe_on(app)
    chinese_edition = str(app.config.language or "").startswith("zh")
    for path in outdir.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        new = label_table_cells(text)
        if not chinese_edition:  # the Chinese edition's pages are lang="zh-CN" throughout
            new = mark_chinese(new)
        if path.relative_to(outdir).as_posix() != "search.html":
            new = _SEARCH_SCRIPTS.sub("", new)
        if not thebe:
            new = _THEBE_BODY.sub("", new)
        # docutils marks each entry of a citation list role="doc-biblioentry",
        # which ARIA 1.2 deprecates: the role="list" around it then holds no
        # list item (axe: aria-required-children, critical)
        new = new.replace('role="doc-biblioentry"', 'role="listitem"')
        if new != text:
            path.write_text(new, encoding="utf-8")


def setup(app):
    app.connect("html-page-context", _page_assets, priority=100)
    app.connect("env-get-updated", _number_exercises_per_chapter, priority=900)
    app.connect("build-finished", _rewrite_pages)
    app.add_search_language(BookSearch)
    app.add_node(proof_index_node)
    app.add_directive("proof-index", ProofIndexDirective)
    app.connect("doctree-resolved", _fill_proof_index)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
