"""Tests of llmloss.device: the choice of device and the seeded CPU generator."""

import pytest
import torch

from llmloss.device import ENV_VAR, cpu_generator, default_device

no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")


def test_env_var_name():
    assert ENV_VAR == "LLMLOSS_DEVICE"


@no_cuda
def test_default_device_is_cpu_without_cuda(monkeypatch):
    monkeypatch.delenv("LLMLOSS_DEVICE", raising=False)
    assert default_device() == torch.device("cpu")


def test_default_device_prefers_cuda_when_available(monkeypatch):
    monkeypatch.delenv("LLMLOSS_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert default_device().type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert default_device() == torch.device("cpu")


@pytest.mark.parametrize("value", ["", "   "])
def test_default_device_blank_variable_means_unset(monkeypatch, value):
    monkeypatch.setenv("LLMLOSS_DEVICE", value)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert default_device() == torch.device("cpu")


@pytest.mark.parametrize("value", ["cpu", " cpu ", "cpu:0"])
def test_default_device_env_cpu(monkeypatch, value):
    monkeypatch.setenv("LLMLOSS_DEVICE", value)
    assert default_device().type == "cpu"


@no_cuda
@pytest.mark.parametrize("value", ["cuda", "cuda:0"])
def test_default_device_env_cuda_without_cuda(monkeypatch, value):
    monkeypatch.setenv("LLMLOSS_DEVICE", value)
    with pytest.raises(ValueError, match="LLMLOSS_DEVICE"):
        default_device()


def test_default_device_env_cuda_when_cuda_is_missing(monkeypatch):
    monkeypatch.setenv("LLMLOSS_DEVICE", "cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="LLMLOSS_DEVICE"):
        default_device()


@pytest.mark.parametrize("value", ["gpu", "banana", "CPU", "cuda:x"])
def test_default_device_env_nonsense(monkeypatch, value):
    monkeypatch.setenv("LLMLOSS_DEVICE", value)
    with pytest.raises(ValueError, match="LLMLOSS_DEVICE"):
        default_device()


@pytest.mark.skipif(torch.backends.mps.is_available(), reason="needs a machine without MPS")
def test_default_device_env_mps_not_present(monkeypatch):
    # The docstring promises a ValueError naming LLMLOSS_DEVICE for a device
    # that is not present, not only for a missing CUDA.
    monkeypatch.setenv("LLMLOSS_DEVICE", "mps")
    with pytest.raises(ValueError, match="LLMLOSS_DEVICE"):
        default_device()


def test_cpu_generator_reproduces_draws():
    a = torch.randn(5, generator=cpu_generator(123))
    b = torch.randn(5, generator=cpu_generator(123))
    c = torch.randn(5, generator=cpu_generator(124))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_cpu_generator_is_on_cpu_and_independent_of_global_seed():
    g = cpu_generator(7)
    assert g.device == torch.device("cpu")
    torch.manual_seed(0)
    a = torch.randint(0, 1000, (8,), generator=cpu_generator(7))
    torch.manual_seed(1)
    b = torch.randint(0, 1000, (8,), generator=cpu_generator(7))
    assert torch.equal(a, b)
