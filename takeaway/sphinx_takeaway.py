"""Sphinx extension for issue 17, "take the book with you".

Loaded from _config.yml (``sphinx.local_extensions: {sphinx_takeaway: takeaway}``):

* the API reference part (chapters/api/): turns on ``sphinx.ext.autodoc`` and
  ``sphinx.ext.viewcode``; every "(4.5.N)" in a docstring becomes a link to the
  equation's ``eq-4-5-N`` target; a role such as {py:func}`llmloss.dpo.dpo_loss`
  that names no documented helper is a build warning (so ``-W`` fails on a typo);
* downloads: the directive ``takeaway-downloads`` lists the files that
  ``takeaway/downloads.py`` and ``make pdf`` produced (the wheel, the notebook
  archive, the PDF) and the HTML build copies them to ``_build/html/downloads/``;
* hosting: the repository, issue and Colab buttons appear only when
  ``repository.url`` is set in _config.yml;
* the PDF: a tagged display equation ``... \\tag{4.5.N}`` is set as
  ``equation*`` with the tag outside Sphinx's ``split`` (where amsmath forbids it).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx import addnodes
from sphinx.util import logging

logger = logging.getLogger(__name__)

# Jupyter Book's default repository.url: treated as "no repository set".
JB_DEFAULT_REPOSITORY = "https://github.com/executablebooks/jupyter-book"
COLAB_URL = "https://colab.research.google.com"
DOWNLOAD_DIR = "downloads"  # inside the HTML output
EQ_NUMBER = re.compile(r"\((4\.5\.(\d+))\)")
TAG = re.compile(r"\\tag\{4\.5\.\d+\}")


# --------------------------------------------------------------- API reference
def link_equations(line: str) -> str:
    """Turn each "(4.5.N)" of a docstring line into a link to its equation, outside ``literals``."""
    parts = line.split("``")
    for i in range(0, len(parts), 2):  # even parts lie outside double-backquoted literals
        parts[i] = EQ_NUMBER.sub(lambda m: rf":ref:`({m.group(1)}) <eq-4-5-{m.group(2)}>`", parts[i])
    return "``".join(parts)


BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _escape(line: str) -> str:
    """Plain-text docstrings as reST: ``|`` and ``*`` outside literals are literal characters."""
    parts = line.split("``")
    for i in range(0, len(parts), 2):
        parts[i] = parts[i].replace("*", r"\*").replace("|", r"\|")
    return "``".join(parts)


def plain_docstring_as_rest(lines: list[str]) -> list[str]:
    """The package's docstrings are plain text with ``literals``: make them valid reST.

    A blank line goes wherever the indentation changes between two lines (a
    block quote, or the start and end of a list) except for the continuation
    lines of a list item; ``|`` and ``*`` are escaped; each "(4.5.N)" links to
    its equation. Lines after ``::`` (a literal block) are left as they are.
    """
    out: list[str] = []
    prev = ""
    list_indent = None  # indentation of the bullets of the list being read
    literal_indent = None  # indentation of the paragraph that ended in "::"
    for line in lines:
        if not line.strip():
            out.append(line)
            prev = ""
            list_indent = None
            continue
        if literal_indent is not None:
            if _indent(line) > literal_indent:
                out.append(line)
                prev = line
                continue
            literal_indent = None
            if prev:
                out.append("")
                prev = ""
        ind = _indent(line)
        if BULLET.match(line):
            if prev and list_indent != ind:
                out.append("")
            list_indent = ind
        elif prev:
            continuation = list_indent is not None and ind > list_indent
            if not continuation and ind != _indent(prev):
                out.append("")
                list_indent = None
        out.append(link_equations(_escape(line)))
        if line.rstrip().endswith("::"):
            literal_indent = ind
        prev = line
    return out


def _process_docstring(app, what, name, obj, options, lines):
    if name.startswith("llmloss"):
        lines[:] = plain_docstring_as_rest(lines)


def _missing_reference(app, env, node, contnode):
    """A py role that names an llmloss object which is not documented: warn (``-W`` fails)."""
    if node.get("refdomain") == "py" and str(node.get("reftarget", "")).startswith("llmloss"):
        logger.warning("no llmloss helper %r in the API reference", node["reftarget"], location=node)
    return None


# ------------------------------------------------------------------- hosting
def _repository_url(config) -> str:
    url = (config.html_theme_options or {}).get("repository_url", "") or ""
    return "" if url.rstrip("/") == JB_DEFAULT_REPOSITORY else url


def _config_inited(app, config):
    options = config.html_theme_options
    if options is None or config.html_theme != "sphinx_book_theme":
        return
    hosted = bool(_repository_url(config))
    options["use_repository_button"] = hosted
    options["use_issues_button"] = hosted
    if not hosted:
        options["repository_url"] = ""
        options["use_edit_page_button"] = False
    launch = dict(options.get("launch_buttons") or {})
    launch["colab_url"] = COLAB_URL if hosted else ""
    launch["binderhub_url"] = ""
    launch["jupyterhub_url"] = ""
    launch["thebe"] = False
    options["launch_buttons"] = launch


TOGGLE = '<summary><span class="toctree-toggle" role="presentation">'
LABELLED_TOGGLE = '<summary aria-label="{label}"><span class="toctree-toggle" role="presentation">'
# The few words this extension writes itself, in each edition's language (issue 18).
WORDS = {
    "en": {
        "toggle": "Show or hide the pages below",
        "none": "(The downloads are made by `make book`: none in this build.)",
        ".whl": "the helper package <code>llmloss</code> (install it with <code>pip install {name}</code>)",
        ".zip": "every chapter notebook, <code>requirements.txt</code>, the wheel and a README on how to run them",
        ".pdf": "the whole book as one PDF",
    },
    "zh_CN": {
        "toggle": "显示或隐藏下面的页面",
        "none": "（下载文件由 `make book` 生成：本次构建中没有。）",
        ".whl": "辅助函数包 <code>llmloss</code>（用 <code>pip install {name}</code> 安装）",
        ".zip": "全部章节的 notebook、<code>requirements.txt</code>、wheel，以及一份说明如何运行它们的 README（英文）",
        ".pdf": "整本书的 PDF（中文版）",
    },
}


def words(config) -> dict[str, str]:
    return WORDS.get(config.language or "en", WORDS["en"])


def _label_sidebar_toggles(app, pagename, templatename, context, doctree):
    """The API part nests pages in the sidebar; the theme's expand toggle of such an
    entry is an icon-only <summary> (axe: summary-name). Give it an accessible name."""
    generate = context.get("generate_toctree_html")
    if generate is None or getattr(generate, "takeaway_labelled", False):
        return

    def labelled(*args, **kwargs):
        html = generate(*args, **kwargs)
        text = str(html).replace(TOGGLE, LABELLED_TOGGLE.format(label=words(app.config)["toggle"]))
        return type(html)(text) if type(html) is not str else text

    labelled.takeaway_labelled = True
    context["generate_toctree_html"] = labelled


# ------------------------------------------------------------------ downloads
def downloads(config, srcdir) -> list[Path]:
    """The files to offer: everything in ``takeaway_downloads`` and the PDF, if they exist."""
    found = []
    folder = Path(srcdir, config.takeaway_downloads)
    if folder.is_dir():
        found += sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    pdf = Path(srcdir, config.takeaway_pdf)
    if pdf.is_file() and pdf.name not in {p.name for p in found}:
        found.append(pdf)
    return found


def _human_size(n: int) -> str:
    return f"{n / 2**20:.1f} MB" if n >= 2**20 else f"{max(1, round(n / 2**10))} kB"


class TakeawayDownloads(Directive):
    """``takeaway-downloads``: a list of links to the downloads found at build time (HTML only)."""

    has_content = False

    def run(self):
        env = self.state.document.settings.env
        env.takeaway_docs = getattr(env, "takeaway_docs", set()) | {env.docname}
        files = downloads(env.config, env.srcdir)
        if not files:
            para = nodes.paragraph(text=words(env.config)["none"])
            return [addnodes.only("", para, expr="html")]
        prefix = "../" * env.docname.count("/")
        items = []
        for path in sorted(files, key=lambda p: (p.suffix != ".pdf", p.suffix != ".zip", p.name)):
            what = words(env.config).get(path.suffix, "").format(name=path.name)
            items.append(
                f'<li><a class="reference download" href="{prefix}{DOWNLOAD_DIR}/{path.name}" download>'
                f"<code>{path.name}</code></a> ({_human_size(path.stat().st_size)}): {what}</li>"
            )
        html = '<ul class="takeaway-downloads">\n' + "\n".join(items) + "\n</ul>"
        return [nodes.raw("", html, format="html")]


def _env_get_outdated(app, env, added, changed, removed):
    """The page with the download list is re-read on every build: the files may have changed."""
    return sorted(getattr(env, "takeaway_docs", set()) & set(env.found_docs))


def _env_purge_doc(app, env, docname):
    getattr(env, "takeaway_docs", set()).discard(docname)


def _env_merge_info(app, env, docnames, other):
    env.takeaway_docs = getattr(env, "takeaway_docs", set()) | getattr(other, "takeaway_docs", set())


def _build_finished(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    files = downloads(app.config, app.srcdir)
    if not files:
        return
    target = Path(app.outdir, DOWNLOAD_DIR)
    target.mkdir(parents=True, exist_ok=True)
    for path in files:
        shutil.copy2(path, target / path.name)


# ---------------------------------------------------------------------- LaTeX
def latex_visit_math_block(self, node):
    """Tagged display maths for LaTeX: the tag outside ``split`` (amsmath forbids it inside)."""
    from sphinx.writers.latex import LaTeXTranslator

    text = node.astext()
    if node.get("nowrap") or not TAG.search(text):
        return LaTeXTranslator.visit_math_block(self, node)
    tag = TAG.search(text).group(0)
    body = TAG.sub("", text).strip()
    self.body.append("\n\\begin{equation*}\n\\begin{split}" + body + "\\end{split}" + tag + "\n\\end{equation*}\n")
    raise nodes.SkipNode


def _depart_nothing(self, node):
    pass


def _space_after_proof_type(app):
    """sphinx-proof sets an unnumbered heading as "Definition" + title with no space in
    LaTeX ("Definition4.5.12 (PPO loss)"); the HTML has the space. Add it."""
    try:
        from sphinx_proof import nodes as proof_nodes
    except ImportError:
        return
    original = proof_nodes.depart_unenumerable_node

    def depart(self, node):
        original(self, node)
        realtyp = node.attributes.get("realtype", "").title()
        start = proof_nodes.list_rindex(self.body, proof_nodes.latex_admonition_start)
        for i in range(start, min(start + 4, len(self.body))):
            if self.body[i] == realtyp:
                self.body[i] = realtyp + " "
                break

    for name in dir(proof_nodes):
        cls = getattr(proof_nodes, name)
        if isinstance(cls, type) and name.startswith("unenumerable"):
            app.add_node(cls, override=True, latex=(proof_nodes.visit_unenumerable_node, depart))


def setup(app):
    app.setup_extension("sphinx.ext.autodoc")
    app.setup_extension("sphinx.ext.viewcode")
    app.setup_extension("sphinx.ext.autosummary")
    app.add_config_value("takeaway_downloads", "_build/downloads", "env")
    app.add_config_value("takeaway_pdf", "_build/latex/llmloss-book.pdf", "env")
    app.add_directive("takeaway-downloads", TakeawayDownloads)
    app.add_node(nodes.math_block, override=True, latex=(latex_visit_math_block, _depart_nothing))
    app.connect("config-inited", _config_inited, priority=900)
    app.connect("autodoc-process-docstring", _process_docstring)
    app.connect("missing-reference", _missing_reference, priority=900)
    app.connect("env-get-outdated", _env_get_outdated)
    app.connect("env-purge-doc", _env_purge_doc)
    app.connect("env-merge-info", _env_merge_info)
    app.connect("build-finished", _build_finished)
    app.connect("html-page-context", _label_sidebar_toggles, priority=900)
    app.connect("builder-inited", _space_after_proof_type)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
