"""The two editions of the book, English and Chinese, from one source (issue 18).

The notebooks and pages are written once, in English. Sphinx's own
internationalisation makes the Chinese edition: the ``gettext`` builder
extracts every message (paragraph, heading, caption, docstring) into one
catalog per document, translators fill ``locales/zh_CN/LC_MESSAGES/*.po``,
and a build with ``language = zh_CN`` replaces each message by its
translation. Code, stored outputs, equations and figures exist once.

    python i18n/editions.py html      # both editions: _build/html, _build/html/zh
    python i18n/editions.py html en   # one edition
    python i18n/editions.py catalogs  # extract afresh, update the .po files (sphinx-intl)

The English edition is built as before (execution cache: a notebook re-runs
only when its code changed); the Chinese edition shows the same stored
outputs (execution off), which nbval checks against a fresh run.
"""

from __future__ import annotations

import concurrent.futures
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "locales"
EDITIONS = ("en", "zh")
#: Sphinx's language code of each edition, and where its HTML goes under _build/html.
LANGUAGE = {"en": "en", "zh": "zh_CN"}
SUBDIR = {"en": "", "zh": "zh"}
#: `make pdf`: one PDF per edition; each edition's landing page offers its own.
PDF = {"en": "_build/latex/llmloss-book.pdf", "zh": "_build/latex-zh/llmloss-book-zh.pdf"}


def edition_config(edition: str, *, execute: str = "off", extra: dict | None = None) -> dict:
    """The book's _config.yml, set up for one edition.

    ``execute`` is Jupyter Book's ``execute_notebooks`` (``off``: stored
    outputs). Local extensions get absolute paths, so that the config can be
    written anywhere. ``extra`` is merged into ``sphinx.config``.
    """
    if edition not in EDITIONS:
        raise ValueError(f"edition must be one of {EDITIONS}, got {edition!r}")
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    config.setdefault("execute", {})["execute_notebooks"] = execute
    sphinx = config.setdefault("sphinx", {})
    local = sphinx.setdefault("local_extensions", {})
    local.update({name: str(ROOT / path) for name, path in local.items()})
    settings = sphinx.setdefault("config", {})
    settings["language"] = LANGUAGE[edition]
    settings["locale_dirs"] = [str(LOCALES)]  # absolute: the config is written elsewhere
    settings["takeaway_pdf"] = PDF[edition]
    own = settings.get("editions", {}).get(LANGUAGE[edition], {})
    if edition != "en":  # the site's and the PDF's title, author and file name in this edition
        config["title"] = own.get("title", config.get("title"))
        config["author"] = own.get("author", config.get("author"))
        tex = Path(PDF[edition]).with_suffix(".tex").name
        config.setdefault("latex", {}).setdefault("latex_documents", {})["targetname"] = tex
        documents = settings.get("latex_documents")
        if documents:
            start, _, _, _, *rest = documents[0]
            settings["latex_documents"] = [[start, tex, config["title"], config["author"], *rest]]
    settings.update(own.get("settings", {}))
    if own.get("latex_preamble"):
        latex = dict(settings.get("latex_elements", {}))
        latex["preamble"] = latex.get("preamble", "") + own["latex_preamble"]
        settings["latex_elements"] = latex
    settings.update(extra or {})
    return config


def jupyter_book() -> str:
    found = shutil.which("jupyter-book", path=str(Path(sys.executable).parent)) or shutil.which("jupyter-book")
    if not found:
        raise RuntimeError("jupyter-book is not installed (it is in requirements.txt)")
    return found


def build(edition: str, out: Path, *, builder: str = "html", execute: str = "off",
          strict: bool = True, extra: dict | None = None) -> subprocess.CompletedProcess:
    """Build one edition with Jupyter Book into ``out/_build/<builder>``.

    ``strict``: warnings are errors (``-W``); the build always goes on after
    an error (``--keep-going``) to report them all. Returns the process; its
    output says what went wrong.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"llmloss-{edition}-") as tmp:
        cfg = Path(tmp, "_config.yml")
        config = edition_config(edition, execute=execute, extra=extra)
        cfg.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        command = [jupyter_book(), "build", str(ROOT), "--config", str(cfg), "--path-output", str(out)]
        if builder in ("html", "pdflatex", "latex"):
            command += ["--builder", builder]
        else:
            command += ["--builder", "custom", "--custom-builder", builder]
        command += ["-W", "--keep-going"] if strict else ["--keep-going"]
        return subprocess.run(command, capture_output=True, text=True)


def extract(out: Path) -> Path:
    """Extract the English messages afresh: one .pot per document under ``out``."""
    result = build("en", out, builder="gettext", strict=True)
    pots = Path(out) / "_build" / "gettext"
    if result.returncode != 0 or not pots.is_dir():
        raise RuntimeError(f"gettext extraction failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return pots


def update_catalogs() -> int:
    """Extract afresh and merge into locales/zh_CN (sphinx-intl keeps translations)."""
    # Extracted inside the repository, so that the catalogs' "#:" comments
    # name sources relative to it (the same on every clone).
    scratch = ROOT / "_build" / "i18n"
    shutil.rmtree(scratch, ignore_errors=True)
    pots = extract(scratch)
    intl = shutil.which("sphinx-intl", path=str(Path(sys.executable).parent)) or "sphinx-intl"
    result = subprocess.run([intl, "update", "-p", str(pots), "-d", str(LOCALES), "-l", LANGUAGE["zh"]],
                            capture_output=True, text=True)
    print(result.stdout[-4000:], result.stderr[-4000:], sep="")
    if result.returncode == 0:
        drop_obsolete()
    return result.returncode


def drop_obsolete() -> None:
    """Remove the messages that left the English (sphinx-intl keeps them as
    ``#~`` entries): a changed message comes back fuzzy with its old
    translation, to be revised and unmarked; the old one is noise."""
    from catalogs import catalog_paths, load, save

    for path in catalog_paths():
        catalog = load(path)
        if catalog.obsolete:
            catalog.obsolete.clear()
            save(catalog, path)


def build_site(out: Path, *, execute: str = "off", editions=EDITIONS) -> tuple[Path, dict]:
    """Both editions side by side (one core each), laid out as one site:
    English at ``out/_build/html``, Chinese in its ``zh/``.

    ``execute`` applies to the English build (``make book``: the execution
    cache); the Chinese one shows the stored outputs. Returns (the site's
    html folder, {edition: process}).
    """
    out = Path(out)
    html = out / "_build" / "html"
    with tempfile.TemporaryDirectory(prefix="llmloss-editions-") as tmp:
        places = {e: out if e == "en" else Path(tmp, e) for e in editions}
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(editions)) as pool:
            jobs = {e: pool.submit(build, e, places[e], execute=execute if e == "en" else "off") for e in editions}
            results = {e: job.result() for e, job in jobs.items()}
        for edition in editions:
            if SUBDIR[edition]:
                target = html / SUBDIR[edition]
                shutil.rmtree(target, ignore_errors=True)
                built = places[edition] / "_build" / "html"
                if built.is_dir():
                    shutil.copytree(built, target)
    return html, results


def build_html(editions=EDITIONS) -> int:
    """``make book``: both editions into the repository's _build/html."""
    html, results = build_site(ROOT, execute="cache", editions=editions)
    for edition, result in results.items():
        print(result.stdout[-3000:], result.stderr[-3000:], sep="")
        print(f"{edition} edition: {'built' if result.returncode == 0 else 'FAILED'} -> {html / SUBDIR[edition]}")
    return max(r.returncode for r in results.values())


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("html", "catalogs"):
        print(__doc__)
        return 2
    if argv[0] == "catalogs":
        return update_catalogs()
    return build_html(tuple(argv[1:]) or EDITIONS)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
