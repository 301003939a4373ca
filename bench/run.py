"""`make bench`: how long the book takes to execute, build and test.

Timings are claims for this benchmark, never for a unit test. Prints Markdown
tables: the execution time of every chapter notebook in a fresh kernel
(fastest and median of BENCH_REPEATS runs), the time of a clean book build
(`jupyter-book build` into an empty folder, notebooks executed), and the time
of the whole test suite (`pytest --nbval tests chapters`). BENCH_SKIP may name
"book" and/or "tests" to leave those out.
"""

from __future__ import annotations

import os
import platform
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


if __name__ == "__main__":
    main()
