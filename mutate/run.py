"""The book's mutation harness (issue 11): does a verifying cell catch a planted bug?

For each selected mutant (``mutate/mutants/<module>.py``): copy ``code/llmloss``
to a scratch folder, replace the mutant's ``old`` text by its ``new`` text
(``old`` must occur exactly once, else the mutant is STALE), put the copy first
on ``PYTHONPATH`` (it then shadows the editable install, also in the notebook
kernel, which inherits the environment), and run the mutant's notebooks under
``pytest --nbval-lax`` (only exceptions fail a cell, not changed outputs).

Verdicts:
  CAUGHT    a cell tagged ``verifies-...`` (outside an exercise solution) raised
  OTHER     only other cells failed: untagged ones, figures, exercise solutions,
            or a NameError after an earlier failure
  HANG      a cell ran past --cell-timeout, or a notebook past --timeout
  SURVIVED  every cell ran and none failed
  STALE     ``old`` does not occur exactly once (the helper changed: update the mutant)
  BROKEN    the notebook fails without any mutant (see the baseline line)
  ERROR     the patched module does not compile, or the run produced no report

Usage (from the repository root):
  .venv/bin/python mutate/run.py [--module M ...] [--only NAME ...] [--jobs N]
                                 [--markdown FILE] [--full] [--list]
Exit status 0 only if every selected mutant is CAUGHT.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import dataclasses
import json
import os
import runpy
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
PACKAGE = ROOT / "code" / "llmloss"
CHAPTERS = ROOT / "chapters"
MUTANTS = HERE / "mutants"
SCRATCH = ROOT / "test-artifacts" / "mutate"  # git-ignored, removed by `make clean`
FIELDS = {"name", "path", "old", "new", "equation", "notebooks", "why"}
VERDICTS = ("CAUGHT", "OTHER", "HANG", "SURVIVED", "STALE", "BROKEN", "ERROR")


@dataclasses.dataclass
class Result:
    mutant: dict
    verdict: str
    where: str = ""  # the catching cell, or what went wrong
    seconds: float = 0.0


# ---------------------------------------------------------------- mutants


def load_mutants(modules=None, only=None) -> list[dict]:
    """The MUTANTS of mutate/mutants/<module>.py, validated; ``only`` selects by name."""
    files = sorted(MUTANTS.glob("*.py"))
    known = [f.stem for f in files if not f.stem.startswith("_")]
    for module in modules or []:
        if module not in known:
            raise SystemExit(f"--module {module}: no mutate/mutants/{module}.py (have {', '.join(known)})")
    selected, names = [], set()
    for path in files:
        if path.stem.startswith("_") or (modules and path.stem not in modules):
            continue
        for mutant in runpy.run_path(str(path))["MUTANTS"]:
            check_mutant(mutant, path)
            if mutant["name"] in names:
                raise SystemExit(f"{path.name}: mutant name {mutant['name']!r} is used twice")
            names.add(mutant["name"])
            selected.append(dict(mutant, module=path.stem))
    if only:
        missing = set(only) - names
        if missing:
            raise SystemExit(f"--only: no mutant named {', '.join(sorted(missing))}")
        selected = [m for m in selected if m["name"] in only]
    return selected


def check_mutant(mutant: dict, source: Path | str = "mutant") -> None:
    """Raise SystemExit unless ``mutant`` is a well-formed record."""
    keys = set(mutant)
    if keys != FIELDS:
        raise SystemExit(
            f"{source}: mutant {mutant.get('name', '?')!r} needs exactly the keys {sorted(FIELDS)}; "
            f"missing {sorted(FIELDS - keys)}, unknown {sorted(keys - FIELDS)}"
        )
    if mutant["old"] == mutant["new"]:
        raise SystemExit(f"{source}: mutant {mutant['name']!r} has new == old")
    if isinstance(mutant["notebooks"], str) or not mutant["notebooks"]:
        raise SystemExit(f"{source}: mutant {mutant['name']!r}: notebooks must be a tuple such as ('451',)")
    for short in mutant["notebooks"]:
        notebook_path(short)


def notebook_path(short: str) -> Path:
    """chapters/<short>*.ipynb, e.g. "451" -> chapters/451_language_modelling.ipynb."""
    found = sorted(CHAPTERS.glob(f"{short}*.ipynb"))
    if len(found) != 1:
        raise SystemExit(f"notebook {short!r}: expected one chapters/{short}*.ipynb, found {len(found)}")
    return found[0]


def apply(mutant: dict, package: Path) -> str | None:
    """Patch the copy of the package in place; return why it cannot be applied, or None."""
    target = package / mutant["path"]
    if not target.is_file():
        return f"no file code/llmloss/{mutant['path']}"
    source = target.read_text(encoding="utf-8")
    count = source.count(mutant["old"])
    if count != 1:
        return f"old text occurs {count} times in {mutant['path']} (must be once)"
    patched = source.replace(mutant["old"], mutant["new"])
    try:
        compile(patched, str(target), "exec")
    except SyntaxError as err:
        return f"SyntaxError after patching: {err}"
    target.write_text(patched, encoding="utf-8")
    return None


# ---------------------------------------------------------------- running notebooks


RUNNING: set[subprocess.Popen] = set()  # live pytest processes, each the leader of its own process group
STOPPING = threading.Event()  # set on SIGTERM / SIGINT: start no further notebook


def kill(proc: subprocess.Popen) -> None:
    """End pytest and the kernel it started (its process group)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _on_signal(signum, frame):
    STOPPING.set()
    for proc in list(RUNNING):
        kill(proc)
    raise SystemExit(128 + signum)


class Runner:
    """One scratch folder: a snapshot of the package and of the notebooks, shared by all mutants."""

    def __init__(self, notebooks: list[str], *, timeout: float, cell_timeout: float, stop_early: bool, keep: bool):
        SCRATCH.mkdir(parents=True, exist_ok=True)
        self.dir = Path(tempfile.mkdtemp(prefix="run-", dir=SCRATCH))
        self.pristine = self.dir / "pristine" / "llmloss"
        shutil.copytree(PACKAGE, self.pristine, ignore=shutil.ignore_patterns("__pycache__"))
        chapters = self.dir / "chapters"
        chapters.mkdir()
        self.notebooks = {}
        for short in notebooks:
            src = notebook_path(short)
            shutil.copy2(src, chapters / src.name)
            self.notebooks[short] = chapters / src.name
        (self.dir / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")  # keep the repo's config out
        self.timeout, self.cell_timeout, self.stop_early, self.keep = timeout, cell_timeout, stop_early, keep

    def close(self) -> None:
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)
            with contextlib.suppress(OSError):
                SCRATCH.rmdir()  # only when no other run is using it

    def package_copy(self, name: str) -> Path:
        """A fresh copy of the snapshot, returned as the folder to put on PYTHONPATH."""
        work = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.dir))
        shutil.copytree(self.pristine, work / "llmloss")
        return work

    def env(self, path_dir: Path, report: Path) -> dict:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(path_dir), str(HERE), env.get("PYTHONPATH")]))
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["MUTATE_REPORT"] = str(report)
        env["MUTATE_STOP_EARLY"] = "1" if self.stop_early else "0"
        return env

    def check_import(self, path_dir: Path) -> None:
        """Fail loudly unless `import llmloss` with this environment finds the copy."""
        env = self.env(path_dir, path_dir / "unused.json")
        found = subprocess.run(
            [sys.executable, "-c", "import llmloss; print(llmloss.__file__)"],
            env=env, cwd=self.dir / "chapters", capture_output=True, text=True, check=True,
        ).stdout.strip()
        if Path(found).resolve() != (path_dir / "llmloss" / "__init__.py").resolve():
            raise SystemExit(f"PYTHONPATH does not shadow the installed llmloss: imported {found}")

    def run_notebook(self, short: str, path_dir: Path) -> dict:
        """Run one notebook under nbval with the package in ``path_dir``; the plugin's report."""
        report = path_dir / f"report-{short}.json"
        report.unlink(missing_ok=True)
        command = [
            sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "nbval_report",
            "--nbval-lax", "--nbval-current-env", f"--nbval-cell-timeout={self.cell_timeout:g}",
            "--rootdir", str(self.dir), "-c", str(self.dir / "pytest.ini"), str(self.notebooks[short]),
        ]
        start = time.monotonic()
        proc = subprocess.Popen(
            command, env=self.env(path_dir, report), cwd=self.dir, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )
        RUNNING.add(proc)
        if STOPPING.is_set():  # interrupted while this one was starting
            kill(proc)
        try:
            output, _ = proc.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            kill(proc)
            proc.communicate()
            return {"hang": f"{short}: notebook ran past --timeout {self.timeout:g} s", "failures": []}
        finally:
            RUNNING.discard(proc)
        seconds = time.monotonic() - start
        if not report.is_file():
            tail = output.strip().splitlines()[-3:]
            return {"error": f"{short}: no report (pytest exit {proc.returncode}): {' | '.join(tail)}"}
        data = json.loads(report.read_text(encoding="utf-8"))
        data["seconds"] = seconds
        complete = data["cells_run"] == data["cells_total"] > 0
        if not data["failures"] and not complete:
            ran = f"{data['cells_run']} of {data['cells_total']} cells ran"
            data["error"] = f"{short}: {ran} (pytest exit {proc.returncode})"
        return data


def describe(short: str, failure: dict) -> str:
    tags = ",".join(t for t in failure["tags"] if t.startswith("verifies-")) or "untagged"
    if failure["solution"]:
        tags += ", exercise solution"
    message = f"{failure['ename']}: {failure['evalue']}" if failure["evalue"] else failure["ename"]
    if failure["timeout"]:
        message = "timed out (--cell-timeout)"
    return f"{short} cell {failure['cell']} [{tags}] {message}"[:200]


def verdict_of(short: str, data: dict) -> tuple[str, str]:
    """(verdict, where) of one notebook run."""
    if "hang" in data:
        return "HANG", data["hang"]
    if "error" in data:
        return "ERROR", data["error"]
    for failure in data["failures"]:
        if failure["timeout"]:
            return "HANG", describe(short, failure)
        if failure["catching"]:
            return "CAUGHT", describe(short, failure)
    if data["failures"]:
        return "OTHER", "; ".join(describe(short, f) for f in data["failures"][:3])
    return "SURVIVED", f"{short}: all {data['cells_total']} cells passed"


def run_mutant(mutant: dict, runner: Runner, broken: dict) -> Result:
    start = time.monotonic()
    bad = [short for short in mutant["notebooks"] if short in broken]
    if bad:
        return Result(mutant, "BROKEN", "; ".join(broken[s] for s in bad))
    work = runner.package_copy(mutant["name"])
    try:
        why = apply(mutant, work / "llmloss")
        if why:
            verdict = "ERROR" if why.startswith("SyntaxError") else "STALE"
            return Result(mutant, verdict, why, time.monotonic() - start)
        outcomes = []
        for short in mutant["notebooks"]:
            verdict, where = verdict_of(short, runner.run_notebook(short, work))
            outcomes.append((verdict, where))
            if verdict in ("CAUGHT", "HANG", "ERROR"):
                break
        rank = {"CAUGHT": 0, "HANG": 1, "ERROR": 2, "OTHER": 3, "SURVIVED": 4}
        verdict, where = min(outcomes, key=lambda o: rank[o[0]])
        if verdict == "SURVIVED":
            where = "; ".join(w for _, w in outcomes)
        return Result(mutant, verdict, where, time.monotonic() - start)
    finally:
        if not runner.keep:
            shutil.rmtree(work, ignore_errors=True)


def baseline(runner: Runner, pool, log) -> dict:
    """Run each needed notebook without a mutant; {short: why} for those that fail."""
    work = runner.package_copy("baseline")
    runner.check_import(work)
    broken = {}
    futures = {short: pool.submit(runner.run_notebook, short, work) for short in runner.notebooks}
    for short, future in futures.items():
        verdict, where = verdict_of(short, future.result())
        log(f"baseline {short}: {'passes' if verdict == 'SURVIVED' else where}")
        if verdict != "SURVIVED":
            broken[short] = f"baseline fails: {where}"
    return broken


def run_all(mutants: list[dict], *, jobs=2, timeout=900.0, cell_timeout=300.0, stop_early=True,
            keep=False, check_baseline=True, log=print) -> list[Result]:
    """Run every mutant; results in the order of ``mutants``."""
    notebooks = sorted({short for m in mutants for short in m["notebooks"]})
    runner = Runner(notebooks, timeout=timeout, cell_timeout=cell_timeout, stop_early=stop_early, keep=keep)
    try:
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs))
        try:
            broken = baseline(runner, pool, log) if check_baseline else {}
            futures = [pool.submit(run_mutant, m, runner, broken) for m in mutants]
            for future in concurrent.futures.as_completed(futures):
                r = future.result()
                log(f"{r.verdict:8} {r.mutant['name']} ({r.seconds:.0f} s) {r.where}")
            return [f.result() for f in futures]
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    finally:
        runner.close()


# ---------------------------------------------------------------- report


def _escape(text: str) -> str:
    """Text for a Markdown table cell."""
    return text.replace("|", "\\|")


def table(results: list[Result], markdown: bool) -> str:
    rows = [(r.mutant["name"], r.mutant["equation"], r.verdict, r.where) for r in results]
    if markdown:
        lines = ["| mutant | equation | verdict | caught by / detail |", "|---|---|---|---|"]
        lines += [f"| `{n}` | ({e}) | {v} | {_escape(w)} |" for n, e, v, w in rows]
        return "\n".join(lines)
    width = max([len(n) for n, *_ in rows] + [6])
    lines = [f"{'mutant':{width}}  {'equation':9}  {'verdict':8}  caught by / detail"]
    lines += [f"{n:{width}}  {e:9}  {v:8}  {w}" for n, e, v, w in rows]
    return "\n".join(lines)


def not_caught(results: list[Result]) -> str:
    """Markdown: the mutants not CAUGHT, grouped by the notebook that must catch them."""
    by_notebook: dict[str, list[Result]] = {}
    for r in results:
        if r.verdict != "CAUGHT":
            by_notebook.setdefault(r.mutant["notebooks"][0], []).append(r)
    lines = []
    for short in sorted(by_notebook):
        lines.append(f"- chapter {short}:")
        for r in by_notebook[short]:
            lines.append(f"  - `{r.mutant['name']}` ({r.mutant['equation']}) {r.verdict}: {r.mutant['why']}")
    return "\n".join(lines) or "Every mutant is caught."


def summary(results: list[Result], seconds: float, jobs: int) -> str:
    counts = {v: sum(r.verdict == v for r in results) for v in VERDICTS}
    parts = ", ".join(f"{counts[v]} {v}" for v in VERDICTS if counts[v])
    return f"{len(results)} mutants: {parts}; {seconds:.0f} s with --jobs {jobs}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--module", action="append", help="only the mutants of mutate/mutants/<module>.py")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="only these mutants")
    parser.add_argument("--jobs", type=int, default=2, help="mutants run in parallel (default 2)")
    parser.add_argument("--markdown", metavar="FILE", help="also write the table as Markdown to FILE")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per notebook run (default 900)")
    parser.add_argument("--cell-timeout", type=float, default=300, help="seconds per cell (default 300)")
    parser.add_argument("--full", action="store_true", help="run every cell, not only up to the first catch")
    parser.add_argument("--no-baseline", action="store_true", help="skip the unmutated run of each notebook")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder under test-artifacts/mutate")
    parser.add_argument("--list", action="store_true", help="list the selected mutants and whether they apply")
    args = parser.parse_args(argv)
    mutants = load_mutants(args.module, args.only)
    if args.list:
        for m in mutants:
            count = (PACKAGE / m["path"]).read_text(encoding="utf-8").count(m["old"])
            state = "applies" if count == 1 else f"STALE (old text found {count} times)"
            print(f"{m['name']:40} ({m['equation']}) {','.join(m['notebooks'])}  {state}")
        return 0
    for signum in (signal.SIGTERM, signal.SIGINT):  # end the notebook runs too, and remove the scratch
        signal.signal(signum, _on_signal)
    start = time.monotonic()
    results = run_all(
        mutants, jobs=args.jobs, timeout=args.timeout, cell_timeout=args.cell_timeout,
        stop_early=not args.full, keep=args.keep, check_baseline=not args.no_baseline,
        log=lambda line: print(line, file=sys.stderr, flush=True),
    )
    line = summary(results, time.monotonic() - start, args.jobs)
    print(table(results, markdown=False))
    print(line)
    if args.markdown:
        text = f"{line}\n\n{table(results, markdown=True)}\n\nNot caught:\n\n{not_caught(results)}\n"
        Path(args.markdown).write_text(text, encoding="utf-8")
    return 0 if all(r.verdict == "CAUGHT" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
