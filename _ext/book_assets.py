"""Write each script of a page once.

Under Jupyter Book 1 (Sphinx 7.4) sphinx-thebe's inline configuration script,
``const THEBE_JS_URL = ...``, reaches every page twice, and the second copy
throws "Identifier 'THEBE_JS_URL' has already been declared" in the browser.
This drops exact duplicates from a page's script list before it is written
(first among the html-page-context handlers: Sphinx stops at the first one
that returns a template name).
"""


def _unique_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        # an inline script may carry filename None or "" (one each here)
        key = (str(getattr(script, "filename", script) or ""), repr(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def setup(app):
    app.connect("html-page-context", _unique_scripts, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
