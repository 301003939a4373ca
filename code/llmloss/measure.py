"""Measuring tools for the cost of a loss: peak memory and time (section 4.5.6, ``make bench``).

Kept apart from the losses: what they measure depends on the machine, so they
feed benchmarks and figures, never a unit test's verdict about time.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable

import torch

# Size of the probe allocation that measure_peak_memory makes inside the profiled region to
# check that allocation records are really being collected (an odd size, unlikely to collide).
_PROBE_BYTES = 1_048_583


def measure_peak_memory(fn: Callable[[], object], device: torch.device | str = "cpu") -> int:
    """Peak bytes allocated by PyTorch while ``fn()`` runs, above what was
    allocated before it (the memory side of the cost of eq. (4.5.3) at scale).

    On CUDA: ``torch.cuda.max_memory_allocated`` after one warm-up call of
    ``fn`` (so that one-time allocations such as cuBLAS workspaces are not
    counted). On the CPU PyTorch has no public peak-memory counter, so the
    peak is replayed from the allocation records of ``torch.profiler``
    (``profile_memory=True``), read through the profiler's undocumented
    ``kineto_results``. To fail loudly rather than report nonsense, a probe
    allocation of known size is made inside the profiled region; if this
    PyTorch no longer exposes the records, or they do not show the probe,
    ``RuntimeError`` is raised instead of a number. Allocations outside the
    PyTorch allocator (a library's own ``malloc``) are not seen on either device.
    """
    device = torch.device(device)
    if device.type == "cuda":
        fn()
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        fn()
        torch.cuda.synchronize(device)
        return torch.cuda.max_memory_allocated(device) - before
    if device.type != "cpu":
        raise ValueError(f"device must be cpu or cuda, got {device}")
    if not torch.autograd.kineto_available():
        raise RuntimeError(
            "measure_peak_memory: this PyTorch build has no Kineto profiler, CPU peak memory cannot be measured"
        )
    activities = [torch.profiler.ProfilerActivity.CPU]
    with _quiet_stderr(), torch.profiler.profile(activities=activities, profile_memory=True) as prof:
        probe = torch.empty(_PROBE_BYTES, dtype=torch.uint8)
        del probe
        fn()
    sizes = [nbytes for _, nbytes in _cpu_memory_records(prof)]
    # The probe's allocation and its release must appear as two consecutive records;
    # fn's allocations are the records after them.
    after_probe = next(
        (i + 2 for i in range(len(sizes) - 1) if sizes[i : i + 2] == [_PROBE_BYTES, -_PROBE_BYTES]), None
    )
    if after_probe is None:
        raise RuntimeError(
            "measure_peak_memory: the profiler did not record the probe allocation of "
            f"{_PROBE_BYTES} bytes, so its CPU allocation records cannot be trusted "
            "(is another profiler running, or has torch.profiler changed?)"
        )
    current = peak = 0
    for nbytes in sizes[after_probe:]:
        current += nbytes
        peak = max(peak, current)
    return peak


def _cpu_memory_records(prof) -> list[tuple[int, int]]:
    """(time in ns, +/- bytes) of every CPU allocation and release in time order.

    Relies on ``prof.profiler.kineto_results.events()`` and the ``[memory]``
    events' ``start_ns``, ``nbytes`` and ``device_type`` methods, which are not
    a documented API: any change shows as ``RuntimeError``, never as a number.
    """
    try:
        events = prof.profiler.kineto_results.events()
        records = [
            (e.start_ns(), i, e.nbytes())
            for i, e in enumerate(events)
            if e.name() == "[memory]" and e.device_type() == torch.autograd.DeviceType.CPU
        ]
    except (AttributeError, TypeError) as err:
        raise RuntimeError(
            f"measure_peak_memory: this PyTorch's profiler no longer exposes allocation records ({err})"
        ) from err
    return [(t, nbytes) for t, _, nbytes in sorted(records)]


@contextlib.contextmanager
def _quiet_stderr():
    """Silence file descriptor 2 (the profiler's C++ start/stop log lines)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def measure_time(fn: Callable[[], object], device: torch.device | str = "cpu", repeats: int = 3) -> float:
    """The fastest wall-clock time of ``repeats`` calls of ``fn()`` in seconds
    (after one warm-up call), synchronising CUDA around each call."""
    device = torch.device(device)
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda *_: None)
    fn()
    best = float("inf")
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        fn()
        sync(device)
        best = min(best, time.perf_counter() - start)
    return best


MATMUL_OPS = ("aten::mm", "aten::addmm", "aten::addmm_", "aten::bmm", "aten::baddbmm")
"""The ATen operators that do a matrix product (``aten::matmul`` dispatches to one of them)."""


def count_matmuls(fn: Callable[[], object]) -> int:
    """How many matrix products (``MATMUL_OPS``) PyTorch runs while ``fn()`` runs.

    Counted from the operator events of ``torch.profiler`` (CPU activity, which
    also records the operators that a CUDA device executes), so it counts what
    autograd's backward pass does too. A count, not a time: the same on every
    machine.
    """
    activities = [torch.profiler.ProfilerActivity.CPU]
    with _quiet_stderr(), torch.profiler.profile(activities=activities) as prof:
        fn()
    return sum(event.count for event in prof.key_averages() if event.key in MATMUL_OPS)
