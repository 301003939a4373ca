"""Measuring tools (``llmloss.measure``): what they report, and that they fail loudly."""

import pytest
import torch

from llmloss.measure import _cpu_memory_records, count_matmuls, measure_peak_memory, measure_time


def test_measure_peak_memory_is_the_peak_not_the_total():
    def allocate():
        x = torch.ones(1_000_000)  # 4 MB
        y = torch.ones(500_000)  # 2 MB while x is alive: peak 6 MB
        del x, y
        z = torch.ones(1_250_000)  # 5 MB after both are freed
        return float(z.sum())

    assert 6_000_000 <= measure_peak_memory(allocate) < 6_100_000
    assert measure_peak_memory(lambda: None) < 1000
    with pytest.raises(ValueError, match="device"):
        measure_peak_memory(allocate, device="meta")


def test_measure_peak_memory_fails_loudly_without_allocation_records(monkeypatch):
    profile = torch.profiler.profile

    def without_memory(*args, **kwargs):
        return profile(*args, **(kwargs | {"profile_memory": False}))

    monkeypatch.setattr(torch.profiler, "profile", without_memory)
    with pytest.raises(RuntimeError, match="probe"):
        measure_peak_memory(lambda: torch.ones(10))


def test_measure_peak_memory_fails_loudly_if_the_profiler_api_changes():
    class NoRecords:
        profiler = None

    with pytest.raises(RuntimeError, match="allocation records"):
        _cpu_memory_records(NoRecords())


def test_measure_time_arguments():
    assert measure_time(lambda: None, repeats=1) >= 0
    with pytest.raises(ValueError, match="repeats"):
        measure_time(lambda: None, repeats=0)


def test_count_matmuls_counts_forward_and_backward():
    a = torch.randn(3, 4, requires_grad=True)
    b = torch.randn(4, 5)
    assert count_matmuls(lambda: a @ b) == 1
    assert count_matmuls(lambda: torch.autograd.grad((a @ b).sum(), a)) == 2  # forward and d/da
    c = torch.zeros(3, 5)
    assert count_matmuls(lambda: c.addmm_(a.detach(), b)) == 1
    assert count_matmuls(lambda: a + 1) == 0
