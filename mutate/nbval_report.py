"""pytest plugin used by mutate/run.py: what failed in one nbval run of one notebook.

Loaded with ``-p nbval_report`` next to nbval. For every executed notebook
cell it records, in the JSON file named by ``MUTATE_REPORT``:

- the number of code cells and how many were executed;
- each failing cell: its nbval index ("Cell N", code cells only), its cell id,
  its tags, whether it lies in an exercise solution (between
  ``solution-start`` and ``solution-end``), the exception's name and message,
  and whether it timed out;
- whether the failure is one that *catches* a mutant: a cell tagged
  ``verifies-...``, outside a solution, failing with an exception that is not
  the consequence of an earlier failure (a ``NameError`` after an earlier
  failed cell is such a consequence).

With ``MUTATE_STOP_EARLY=1`` the run stops at the first catching failure
or time-out (the verdict is then known; the rest of the notebook is not run).
"""

from __future__ import annotations

import json
import os

import pytest

_state = {"cells_total": 0, "cells_run": 0, "failures": [], "stopped": ""}


def _solution_code_cells(nb) -> set[int]:
    """nbval indices (code cells only) of the code cells inside exercise solutions."""
    inside, index, found = False, 0, set()
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            if "{solution-start}" in cell.source:
                inside = True
            if "{solution-end}" in cell.source:
                inside = False
        elif cell.cell_type == "code":
            if inside:
                found.add(index)
            index += 1
    return found


def _error_output(item) -> tuple[str, str]:
    for out in getattr(item, "test_outputs", None) or []:
        if out.get("output_type") == "error":
            lines = str(out.get("evalue", "")).strip().splitlines()
            return str(out.get("ename", "")), lines[0][:160] if lines else ""
    return "", ""


def pytest_collection_modifyitems(session, config, items):
    cells = [item for item in items if hasattr(item, "cell_num")]
    _state["cells_total"] = len(cells)
    if cells:
        solutions = _solution_code_cells(cells[0].parent.nb)
        for item in cells:
            item.mutate_in_solution = item.cell_num in solutions


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not hasattr(item, "cell_num"):
        return
    if report.when == "call" and not report.skipped:
        _state["cells_run"] += 1
    if not report.failed:
        return
    tags = list(item.cell.metadata.get("tags", []))
    ename, evalue = _error_output(item)
    timed_out = bool(getattr(item.parent, "timed_out", False)) and ename in ("", "KeyboardInterrupt")
    if not ename:
        text = str(report.longrepr).strip()
        ename = "Timeout" if timed_out else ("OutputMismatch" if "Cell outputs differ" in text else report.when)
        if text and not evalue:
            evalue = text.splitlines()[-1][:160]
    verifying = any(tag.startswith("verifies-") for tag in tags)
    solution = bool(getattr(item, "mutate_in_solution", False))
    consequence = bool(_state["failures"]) and ename == "NameError"
    catching = (
        verifying
        and not solution
        and not timed_out
        and not consequence
        and ename not in ("OutputMismatch", "setup", "teardown")
    )
    _state["failures"].append(
        {
            "cell": item.cell_num,
            "id": item.cell.get("id", ""),
            "tags": tags,
            "solution": solution,
            "ename": ename,
            "evalue": evalue,
            "timeout": timed_out,
            "catching": catching,
        }
    )
    if os.environ.get("MUTATE_STOP_EARLY") == "1" and (catching or timed_out):
        item.session.shouldstop = "mutant caught" if catching else "cell timed out"
        _state["stopped"] = item.session.shouldstop


def pytest_sessionfinish(session, exitstatus):
    path = os.environ.get("MUTATE_REPORT")
    if path:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(dict(_state, exitstatus=int(exitstatus)), f, indent=1)
