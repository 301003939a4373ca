"""`make bench`: execution time of every chapter notebook, as a Markdown table.

Timings are claims for this benchmark, never for a unit test. Each notebook is
executed REPEATS times in a fresh kernel; the table gives the fastest and the
median wall-clock time, so a reader can compare with the README.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from pathlib import Path

import nbformat
import torch
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))


def run_once(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    return time.perf_counter() - start


def main() -> None:
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"torch {torch.__version__}, device {os.environ.get('LLMLOSS_DEVICE', 'default')}")
    print(f"\n| notebook | fastest of {REPEATS} (s) | median (s) |\n|---|---|---|")
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        times = [run_once(path) for _ in range(REPEATS)]
        print(f"| {path.name} | {min(times):.1f} | {statistics.median(times):.1f} |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
