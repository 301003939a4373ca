"""Smoke test of the mutation harness (mutate/run.py, `make mutate`): it can fail.

Three mutants of llmloss.multitask, run against chapter 4.5.3 (the fastest
notebook): one planted bug that a verifying cell must catch (which also proves
that the notebook kernel imports the patched copy, not the editable install),
one whose text no longer occurs (STALE, never silently skipped), and one that
changes nothing observable (a comment), which must SURVIVE.
"""

from __future__ import annotations

import importlib.util
import sys

from conftest import ROOT

spec = importlib.util.spec_from_file_location("mutate_run", ROOT / "mutate" / "run.py")
harness = importlib.util.module_from_spec(spec)
sys.modules["mutate_run"] = harness  # dataclasses look their module up there
spec.loader.exec_module(harness)

SMOKE = [
    dict(
        name="smoke-weighted-loss-doubled",
        path="multitask.py",
        old="def weighted_loss(losses, weights) -> torch.Tensor:",
        new=(
            "def weighted_loss(losses, weights) -> torch.Tensor:\n"
            "    return 2 * _weighted_loss(losses, weights)\n\n\n"
            "def _weighted_loss(losses, weights) -> torch.Tensor:"
        ),
        equation="4.5.11",
        notebooks=("453",),
        why="L_MTL doubled",
    ),
    dict(
        name="smoke-stale",
        path="multitask.py",
        old="this text does not occur in multitask.py",
        new="neither does this",
        equation="4.5.11",
        notebooks=("453",),
        why="a patch that no longer applies",
    ),
    dict(
        name="smoke-comment-only",
        path="multitask.py",
        old="from __future__ import annotations",
        new="from __future__ import annotations  # a comment changes nothing",
        equation="4.5.11",
        notebooks=("453",),
        why="an equivalent mutant: nothing can catch it",
    ),
]


def test_every_mutant_record_is_well_formed():
    mutants = harness.load_mutants()
    assert len(mutants) >= 40
    assert {m["module"] for m in mutants} >= {"lm", "mlm", "multitask", "rlhf", "dpo", "frontiers", "attention"}


def test_harness_tells_caught_stale_and_survived_apart():
    for mutant in SMOKE:
        harness.check_mutant(mutant)
    results = harness.run_all(SMOKE, jobs=2, check_baseline=False, log=lambda line: None)
    verdicts = {r.mutant["name"]: (r.verdict, r.where) for r in results}
    assert verdicts["smoke-weighted-loss-doubled"][0] == "CAUGHT", verdicts
    assert "[verifies-" in verdicts["smoke-weighted-loss-doubled"][1], verdicts
    assert verdicts["smoke-stale"][0] == "STALE", verdicts
    assert verdicts["smoke-comment-only"][0] == "SURVIVED", verdicts
