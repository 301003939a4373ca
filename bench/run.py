"""`make bench`: how long the book takes to execute, build and test.

Timings are claims for this benchmark, never for a unit test. Prints Markdown
tables: the execution time of every chapter notebook in a fresh kernel
(fastest and median of BENCH_REPEATS runs), the time of a clean book build
(`jupyter-book build` into an empty folder, notebooks executed), and the time
of the whole test suite (`pytest --nbval tests chapters`), and what a reader's
browser loads for the largest chapter: its page weight (bytes and requests)
and when MathJax is ready, on a phone-sized window with the CPU throttled 4x
(Chromium's own throttling; the system Chromium, as in tests/test_browser.py).
The page is measured on `_build/html` if it exists (BENCH_HTML names another
build), else on a build with notebook execution off. BENCH_SKIP may name
"book", "tests" and/or "browser" to leave those out.
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import torch
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
SKIP = os.environ.get("BENCH_SKIP", "")


def run_notebook(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    return time.perf_counter() - start


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def built_html(out: Path) -> Path:
    """BENCH_HTML, else _build/html, else a build into ``out`` with execution off."""
    given = os.environ.get("BENCH_HTML")
    if given:
        return Path(given)
    if (ROOT / "_build" / "html" / "chapters").is_dir():
        return ROOT / "_build" / "html"
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    config.setdefault("execute", {})["execute_notebooks"] = "off"
    local = config.get("sphinx", {}).get("local_extensions", {})
    local.update({name: str(ROOT / path) for name, path in local.items()})
    (out / "_config.yml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    command = [str(BIN / "jupyter-book"), "build", str(ROOT), "--config", str(out / "_config.yml")]
    subprocess.run([*command, "--path-output", str(out)], check=True, capture_output=True)
    return out / "_build" / "html"


# Resolves with performance.now() (ms since navigation) once MathJax has
# typeset the page (with ui/lazy: what the first screen shows).
_MATHJAX_READY = """
window.__mathjaxReady = new Promise((resolve) => {
  const poll = setInterval(() => {
    const mj = window.MathJax;
    if (mj && mj.startup && mj.startup.promise) {
      clearInterval(poll);
      mj.startup.promise.then(() => resolve(performance.now()));
    }
  }, 5);
});
"""


def page_weight(html: Path, name: str, throttle: float = 4.0) -> tuple[int, int, float]:
    """(bytes, requests, MathJax-ready ms) of ``name`` in a fresh 390x844 Chromium window."""
    import functools
    import http.server
    import threading

    from playwright.sync_api import sync_playwright

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(html)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    chromium = os.environ.get("LLMLOSS_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"]
    sizes: list[int] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=args)
            context = browser.new_context(viewport={"width": 390, "height": 844})
            page = context.new_page()
            cdp = context.new_cdp_session(page)
            cdp.send("Emulation.setCPUThrottlingRate", {"rate": throttle})
            # bytes on the wire per request, as Chromium's network panel counts them
            cdp.send("Network.enable")
            cdp.on("Network.loadingFinished", lambda event: sizes.append(event["encodedDataLength"]))
            page.add_init_script(_MATHJAX_READY)
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/{name}", wait_until="load")
            ready = page.evaluate("() => window.__mathjaxReady")
            page.wait_for_load_state("networkidle")
            browser.close()
    finally:
        server.shutdown()
    return sum(sizes), len(sizes), ready


def main() -> None:
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"torch {torch.__version__}, LLMLOSS_DEVICE={os.environ.get('LLMLOSS_DEVICE', '(default)')}"
    )
    print(f"\n| notebook | fastest of {REPEATS} (s) | median (s) |\n|---|---|---|")
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        times = [run_notebook(path) for _ in range(REPEATS)]
        print(f"| {path.name} | {min(times):.1f} | {statistics.median(times):.1f} |", flush=True)
    print("\n| step | time (s) |\n|---|---|")
    if "book" not in SKIP:
        with tempfile.TemporaryDirectory() as out:
            seconds = timed([str(BIN / "jupyter-book"), "build", ".", "--path-output", out, "-W", "--keep-going"])
        print(f"| clean book build (`jupyter-book build`, notebooks executed) | {seconds:.0f} |", flush=True)
    if "tests" not in SKIP:
        seconds = timed([sys.executable, "-m", "pytest", "--nbval", "--nbval-current-env", "tests", "chapters", "-q"])
        print(f"| test suite (`pytest --nbval tests chapters`) | {seconds:.0f} |", flush=True)
    if "browser" not in SKIP:
        browser_table()


def browser_table() -> None:
    with tempfile.TemporaryDirectory() as out:
        html = built_html(Path(out))
        largest = max((html / "chapters").glob("*.html"), key=lambda p: p.stat().st_size)
        name = largest.relative_to(html).as_posix()
        weight, requests, ready = page_weight(html, name)
    print("\n| largest chapter, 390x844, CPU 4x throttled | page weight | requests | MathJax ready (s) |")
    print("|---|---|---|---|")
    print(f"| {name} | {weight / 2**20:.2f} MiB | {requests} | {ready / 1000:.2f} |", flush=True)


if __name__ == "__main__":
    main()
