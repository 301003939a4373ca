"""Sphinx side of the two editions (issue 18): what gettext alone does not do.

- A language switch in every page's header links to the same page in the
  other edition (``edition-switch.html``, placed by ``article_header_end``
  in _config.yml), with ``<link rel="alternate" hreflang>`` for the same pair.
- The labels and tooltips that the themes and MyST-NB write in English
  whatever the language (``PAGE_WORDS``).
- The table of contents from _toc.yml is translated too (sphinx-external-toc
  inserts it after Sphinx translated the page).
- Image alt text is translated too: Sphinx's gettext skips attributes, so
  the ``gettext`` build extracts each alt text as a message of its page, and
  the translated build replaces it from the same catalog.
- (``_ext/book_assets.py`` leaves out the ``lang="zh"`` marks around Chinese
  words in the Chinese edition, whose pages are ``lang="zh-CN"`` throughout.)

``editions`` (in _config.yml) maps a Sphinx language to ``{root, label,
switch_title, ...}``: ``root`` is the edition's folder relative to the site
root (``""`` and ``"zh/"``), ``label`` the switch's text; i18n/editions.py
reads the rest (each edition's title, author, settings and PDF preamble).
"""

from __future__ import annotations

from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.locale import init as init_locale
from sphinx.transforms import SphinxTransform
from sphinx.util.i18n import docname_to_domain

TEMPLATES = Path(__file__).resolve().parent / "templates"


def current(config) -> dict:
    return (config.editions or {}).get(config.language or "en", {})


def _config_inited(app, config):
    if str(TEMPLATES) not in config.templates_path:
        config.templates_path.append(str(TEMPLATES))


def _translating(transform: SphinxTransform) -> bool:
    """A build that puts translations in place (not English, not the extraction)."""
    return transform.app.builder.name != "gettext" and (transform.config.language or "en") != "en"


def _catalog(transform: SphinxTransform):
    dirs = [str(Path(transform.env.srcdir, d)) for d in transform.config.locale_dirs]
    domain = docname_to_domain(transform.env.docname, transform.config.gettext_compact)
    catalog, found = init_locale(dirs, transform.config.language, domain)
    return catalog if found else None


class ExtractAltText(SphinxTransform):
    """gettext builder: each image's alt text becomes a message of its page.

    Runs before Sphinx's UIDTransform (880), which gives the new paragraphs
    the ids that the message catalog builder requires.
    """

    default_priority = 870

    def apply(self, **kwargs):
        if self.app.builder.name != "gettext":
            return
        for image in list(self.document.findall(nodes.image)):
            alt = image.get("alt", "").strip()
            if alt:
                message = nodes.paragraph(alt, alt)
                message.source, message.line = image.source or self.document["source"], image.line or 1
                self.document.append(message)


class TranslateAltText(SphinxTransform):
    """Translated builds: alt text from the page's catalog (right after Sphinx's Locale, 20)."""

    default_priority = 21

    def apply(self, **kwargs):
        if not _translating(self):
            return
        images = [image for image in self.document.findall(nodes.image) if image.get("alt", "").strip()]
        catalog = _catalog(self) if images else None
        if catalog is None:
            return
        for image in images:
            translated = catalog.gettext(image["alt"].strip())
            if translated:
                image["alt"] = translated


class TranslateToctrees(SphinxTransform):
    """The table of contents' captions and short titles, as messages.

    sphinx-external-toc inserts the toctrees from _toc.yml (its transform,
    priority 100) after Sphinx's Locale transform has run (20), and without
    ``rawentries``: its short titles would be neither extracted nor
    translated, its captions extracted but not translated.
    """

    default_priority = 101

    def apply(self, **kwargs):
        toctrees = list(self.document.findall(addnodes.toctree))
        for toctree in toctrees:  # the short titles of _toc.yml become messages too
            toctree.setdefault("rawentries", [title for title, _ in toctree["entries"] if title])
        if not _translating(self):
            return
        catalog = _catalog(self) if toctrees else None
        if catalog is None:
            return
        for toctree in toctrees:
            for message in toctree.extract_original_messages():
                translated = catalog.gettext(message)
                if translated and translated != message:
                    toctree.apply_translated_message(message, translated)


def switch_links(config, pagename: str) -> list[dict]:
    """Links from ``pagename`` to the same page in every other edition."""
    editions = config.editions or {}
    own = current(config)
    if not own:
        return []
    up = "../" * (pagename.count("/") + own.get("root", "").count("/"))
    links = []
    for language, edition in editions.items():
        if language == (config.language or "en"):
            continue
        tag = language.replace("_", "-")
        links.append({
            "href": f"{up}{edition.get('root', '')}{pagename}.html",
            "hreflang": tag,
            "label": edition.get("label", tag),
            "title": edition.get("switch_title", edition.get("label", tag)),
        })
    return links


# What the themes and extensions write in English whatever the language (their
# own catalogs lack these strings): replaced in each written page.
PAGE_WORDS = {
    "zh_CN": {
        'title="Link to this heading"': 'title="链接到此标题"',
        'title="Link to this definition"': 'title="链接到此定义"',
        'title="Link to this term"': 'title="链接到此术语"',
        'title="Link to this image"': 'title="链接到此图片"',
        'title="Link to this table"': 'title="链接到此表格"',
        'title="Link to this code"': 'title="链接到此代码"',
        'placeholder="Search this book..."': 'placeholder="搜索本书…"',
        'aria-label="Search this book..."': 'aria-label="搜索本书"',
        'title="Toggle primary sidebar"': 'title="显示或隐藏左侧边栏"',
        'title="Toggle secondary sidebar"': 'title="显示或隐藏右侧边栏"',
        'aria-label="Color mode"': 'aria-label="颜色模式"',
        'data-bs-title="Color mode"': 'data-bs-title="颜色模式"',
        'title="System Settings"': 'title="跟随系统设置"',
        'aria-label="Main"': 'aria-label="主导航"',
        'aria-label="Page"': 'aria-label="本页"',
        '<summary aria-label="Toggle hidden content">': '<summary aria-label="显示或隐藏内容">',
    },
}


def translate_page(html: str, language: str) -> str:
    for english, translated in PAGE_WORDS.get(language, {}).items():
        html = html.replace(english, translated)
    return html


def _translate_pages(app, exception):
    if exception is not None or app.builder.format != "html" or not PAGE_WORDS.get(app.config.language or "en"):
        return
    for path in Path(app.outdir).rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        new = translate_page(text, app.config.language)
        if new != text:
            path.write_text(new, encoding="utf-8")


def _page_context(app, pagename, templatename, context, doctree):
    links = switch_links(app.config, pagename)
    context["edition_links"] = links
    alternates = "".join(
        f'<link rel="alternate" hreflang="{link["hreflang"]}" href="{link["href"]}" />\n' for link in links
    )
    context["metatags"] = context.get("metatags", "") + alternates


def setup(app):
    app.add_config_value("editions", {}, "html", types=[dict])
    app.connect("config-inited", _config_inited)
    app.add_transform(ExtractAltText)
    app.add_transform(TranslateAltText)
    app.add_transform(TranslateToctrees)
    app.connect("html-page-context", _page_context)
    app.connect("build-finished", _translate_pages)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
